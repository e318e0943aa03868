import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { axisWeights, planAxis } from './tiles.js';

/** The weights are normalised in float32: sums are 1 up to its rounding. */
const SUM_TOLERANCE = 1e-6;

describe('planAxis', () => {
  it('splits into nearly equal cores that partition the axis, with overlap clipped at the ends', () => {
    const tiles = planAxis(38, 8, 10);
    assert.equal(tiles.length, 5);
    assert.deepEqual(tiles.map((t) => t.coreEnd - t.coreStart), [7, 8, 7, 8, 8]);
    for (let i = 1; i < tiles.length; i++) assert.equal(tiles[i].coreStart, tiles[i - 1].coreEnd);
    assert.deepEqual([tiles[0].coreStart, tiles[4].coreEnd], [0, 38]);
    assert.deepEqual([tiles[0].cropStart, tiles[0].cropEnd], [0, 17]);
    assert.deepEqual([tiles[2].cropStart, tiles[2].cropEnd], [5, 32]);
    assert.deepEqual([tiles[4].cropStart, tiles[4].cropEnd], [20, 38]);
  });

  it('gives one tile for tileSize 0 or a tile larger than the axis', () => {
    assert.deepEqual(planAxis(20, 0, 5), [{ coreStart: 0, coreEnd: 20, cropStart: 0, cropEnd: 20 }]);
    assert.deepEqual(planAxis(20, 64, 5), [{ coreStart: 0, coreEnd: 20, cropStart: 0, cropEnd: 20 }]);
  });
});

describe('axisWeights', () => {
  const sums = (length: number, factor: number, outLength: number, blend: number, tileSize: number, overlap: number) => {
    const tiles = planAxis(length, tileSize, overlap);
    const weights = axisWeights(tiles, length, factor, outLength, blend);
    const sum = new Float64Array(outLength);
    weights.forEach(({ start, weights: w }, i) => {
      assert.equal(start, tiles[i].cropStart * factor);
      for (let k = 0; k < w.length; k++) sum[start + k] += w[k];
    });
    return { tiles, weights, sum };
  };

  it('cuts seams at the core edges with blend 0', () => {
    const { tiles, weights, sum } = sums(30, 2, 59, 0, 10, 4);
    assert.ok(sum.every((s) => s === 1));
    weights.forEach(({ start, weights: w }, i) => {
      for (let k = 0; k < w.length; k++) {
        const lr = Math.floor((start + k) / 2);
        assert.equal(w[k], lr >= tiles[i].coreStart && lr < tiles[i].coreEnd ? 1 : 0);
      }
    });
  });

  it('ramps linearly across shared edges with blend > 0, summing to 1 everywhere', () => {
    for (const [tileSize, blend] of [[10, 4], [6, 5], [3, 8]]) {
      const { weights, sum } = sums(30, 1, 30, blend, tileSize, blend);
      assert.ok(sum.every((s) => Math.abs(s - 1) < SUM_TOLERANCE), `tile ${tileSize}, blend ${blend}: ${[...sum]}`);
      if (tileSize === 10) {
        // Tile 1 (core 10..20) rises across 6..14: (x + 0.5 - 6) / 8, and is 1 in the middle.
        const { start, weights: w } = weights[1];
        assert.equal(start, 6);
        for (let x = 6; x < 14; x++) assert.ok(Math.abs(w[x - start] - (x + 0.5 - 6) / 8) < SUM_TOLERANCE, `x ${x}`);
        assert.equal(w[15 - start], 1);
      }
    }
  });

  it('needs no ramp at image borders', () => {
    const { weights } = sums(30, 1, 30, 4, 10, 4);
    assert.equal(weights[0].weights[0], 1);
    assert.equal(weights[2].weights.at(-1), 1);
  });
});
