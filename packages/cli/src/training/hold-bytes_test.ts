import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { meanDoublings, nextRateWeight } from './hold-bytes.js';

describe('--hold-bytes rate weight', () => {
  it('measures the files in doublings over the reference', () => {
    assert.equal(meanDoublings([200, 100], [100, 100]), 0.5);
    assert.equal(meanDoublings([50, 400], [100, 100]), 0.5);
    assert.throws(() => meanDoublings([1, 2], [1]), RangeError);
  });

  it('raises the weight when the files grow, lowers it when they shrink, within bounds', () => {
    assert.equal(nextRateWeight(600, 0, 1), 600);
    assert.equal(nextRateWeight(600, 1, 1), 1200);
    assert.equal(nextRateWeight(600, -1, 0.5), 600 / Math.SQRT2);
    assert.equal(nextRateWeight(2, -10, 1), 1);
    assert.equal(nextRateWeight(5e5, 10, 1), 1e6);
  });
});
