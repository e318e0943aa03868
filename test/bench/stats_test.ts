import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { median } from '../../bench/stats.js';

describe('bench median', () => {
  it('takes the middle of an odd count, in any order', () => {
    assert.equal(median([5]), 5);
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([9, 1, 4, 7, 2]), 4);
  });
  it('takes the mean of the two middle values of an even count', () => {
    assert.equal(median([1, 3]), 2);
    assert.equal(median([10, 1, 4, 2]), 3);
  });
  it('does not sort its argument', () => {
    const xs = [3, 1, 2];
    median(xs);
    assert.deepEqual(xs, [3, 1, 2]);
  });
  it('refuses an empty list and values that are not finite numbers', () => {
    assert.throws(() => median([]), /no values/);
    assert.throws(() => median([1, Number.NaN, 2]), /non-finite/);
    assert.throws(() => median([1, Number.POSITIVE_INFINITY]), /non-finite/);
  });
});
