import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-cpu';
import { seededNormal } from './noise.js';

describe('seededNormal', () => {
  it('is N(0, 1): mean, variance and tails of 200k draws', () => {
    const t = seededNormal(42, [1, 200, 250, 4]);
    const v = t.dataSync();
    t.dispose();
    let sum = 0;
    let sq = 0;
    let beyond2 = 0;
    for (const x of v) {
      sum += x;
      sq += x * x;
      if (Math.abs(x) > 2) beyond2++;
    }
    const n = v.length;
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    // Standard errors at n = 2e5: mean 0.0022, variance 0.0032, tail fraction 0.0005.
    assert.ok(Math.abs(mean) < 0.01, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1) < 0.015, `variance ${variance}`);
    assert.ok(Math.abs(beyond2 / n - 0.0455) < 0.003, `P(|x| > 2) = ${beyond2 / n}`);
  });

  it('depends only on (seed, position): a window of the field equals the same part of the whole', () => {
    const whole = seededNormal(7, [1, 10, 12, 3]);
    const part = seededNormal(7, [1, 4, 5, 3], { top: 3, left: 6, fieldWidth: 12 });
    const w = whole.dataSync();
    const p = part.dataSync();
    for (let y = 0; y < 4; y++) for (let x = 0; x < 5; x++) for (let c = 0; c < 3; c++) {
      assert.equal(p[(y * 5 + x) * 3 + c], w[((y + 3) * 12 + x + 6) * 3 + c]);
    }
    const other = seededNormal(8, [1, 10, 12, 3]).dataSync();
    assert.notDeepEqual(Array.from(other), Array.from(w));
    whole.dispose();
    part.dispose();
  });

  it('has no correlation between neighbouring values', () => {
    const v = seededNormal(3, [1, 100, 100, 9]).dataSync();
    let c = 0;
    for (let i = 1; i < v.length; i++) c += v[i] * v[i - 1];
    assert.ok(Math.abs(c / v.length) < 0.01, `lag-1 correlation ${c / v.length}`);
  });
});
