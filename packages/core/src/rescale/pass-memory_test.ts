import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../backend/node-backend.js';
import { IrnModel } from '../model/irn.js';
import type { RasterImage } from '../image/raster.js';
import { perturbWeights } from '../testing/perturb.js';
import { checkPassMemory, largestTileFitting, passBytesPerHrPixel, TileMemoryError, WASM_HEAP_MAX_BYTES } from './pass-memory.js';
import { withPeakMemory } from './peak-memory.js';
import { checkFinite } from './pixels.js';
import { downscaleImage, upscaleImage } from './rescale.js';
import { checkTileWork } from './tiled-pass.js';
import { MAX_TILE_WORK, tileWork } from './tiles.js';

/** The estimate may lie above the measured peak by this much at most (it is meant to be safe, not wasteful). */
const ESTIMATE_MAX_OVER = 1.5;

function flat(width: number, height: number, v = 0.5): RasterImage {
  return { width, height, channels: 3, data: new Float32Array(width * height * 3).fill(v) };
}

before(async () => {
  await useNodeBackend('wasm');
});

describe('passBytesPerHrPixel', () => {
  for (const [scale, growth] of [[2, 32], [4, 16], [8, 4], [2, 1]] as const) {
    it(`is at least the measured peak of an untiled pass, and not far above (x${scale}, growth ${growth})`, async () => {
      const model = IrnModel.create({ scale, blocks: 1, growth, seed: 1 });
      const side = 64;
      const down = await withPeakMemory(() => downscaleImage(model, flat(side, side), { tileSize: 0 }));
      const up = await withPeakMemory(() => upscaleImage(model, down.result, { tileSize: 0 }));
      const estimate = passBytesPerHrPixel(model.config) * side * side;
      for (const m of [down, up]) {
        const peak = m.peakBytes - m.startBytes;
        assert.ok(estimate >= peak, `estimate ${estimate} B below the measured peak ${peak} B`);
        assert.ok(estimate <= ESTIMATE_MAX_OVER * peak, `estimate ${estimate} B far above the measured peak ${peak} B`);
      }
      model.dispose();
    });
  }
});

describe('checkPassMemory', () => {
  const x2 = { scale: 2 as const, growth: 16 };

  it('refuses the whole 6000x4000 photo at once on wasm with a tile size that fits (issue 15, item 13)', () => {
    assert.throws(
      () => checkPassMemory(x2, { tileSize: 0, overlap: 40 }, 3000, 2000, '6000x4000'),
      (e: unknown) =>
        e instanceof TileMemoryError &&
        e.suggestedTileSize === 256 &&
        /^processing the whole 6000x4000 image at once needs about 8\.2 GB of tensor memory, more than the 4\.0 GB available; use a tile size of 256 or less$/.test(e.message),
    );
    // The default tiling of that photo fits.
    checkPassMemory(x2, { tileSize: 256, overlap: 40 }, 3000, 2000, '6000x4000');
  });

  it('takes a memoryBudget, and suggests the largest tile that fits when the default does not', () => {
    const perLr = passBytesPerHrPixel(x2) * 4;
    const budget = 100 * 100 * perLr;
    try {
      checkPassMemory(x2, { tileSize: 256, overlap: 10 }, 1000, 1000, '2000x2000', budget);
      assert.fail('no error');
    } catch (e) {
      assert.ok(e instanceof TileMemoryError);
      assert.match(e.message, /^a tile of 256 LR pixels \(overlap 10\) needs about/);
      assert.equal(e.suggestedTileSize, 64); // 80 + 2 x 10 = 100 fits; rounded down to a multiple of 64
    }
    assert.equal(largestTileFitting(budget, perLr, 10, 1000, 1000), 64);
    assert.equal(largestTileFitting(budget, perLr, 60, 1000, 1000), 0);
    assert.equal(largestTileFitting(budget, perLr, 0, 1000, 30), 320); // rows are 30 high: 333 wide fit
  });

  it('suggests no tile that checkTileWork would refuse: with a large overlap and a tiny budget, a smaller overlap', () => {
    const perLr = passBytesPerHrPixel(x2) * 4;
    const refusal = (budget: number, overlap: number) => {
      try {
        checkPassMemory(x2, { tileSize: 256, overlap }, 1000, 1000, '2000x2000', budget);
      } catch (e) {
        assert.ok(e instanceof TileMemoryError);
        return e;
      }
      return assert.fail('no error');
    };
    // 2 + 2 x 40 = 82 fits, but tiles of 2 with an overlap of 40 compute the image ~1,700 times.
    const tiny = refusal(82 * 82 * perLr, 40);
    assert.ok(largestTileFitting(82 * 82 * perLr, perLr, 40, 1000, 1000) > 0);
    assert.equal(tiny.suggestedTileSize, 0);
    assert.match(tiny.message, /; use a smaller overlap$/);
    // Wherever a tile is suggested, checkTileWork takes it.
    for (const side of [100, 150, 200, 250]) {
      for (const overlap of [10, 40, 120]) {
        const e = refusal(side * side * perLr, overlap);
        if (e.suggestedTileSize > 0) checkTileWork({ tileSize: e.suggestedTileSize, overlap }, 1000, 1000);
        else assert.ok(largestTileFitting(side * side * perLr, perLr, overlap, 1000, 1000) === 0 || tileWork({ tileSize: largestTileFitting(side * side * perLr, perLr, overlap, 1000, 1000), overlap }, 1000, 1000) > MAX_TILE_WORK);
      }
    }
  });

  it('refuses before making any tensor, in downscaleImage and upscaleImage', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 1 });
    const tensors = tf.memory().numTensors;
    await assert.rejects(downscaleImage(model, flat(64, 64), { tileSize: 0, memoryBudget: 1000 }), TileMemoryError);
    await assert.rejects(upscaleImage(model, flat(32, 32), { tileSize: 0, memoryBudget: 1000 }), TileMemoryError);
    assert.equal(tf.memory().numTensors, tensors);
    model.dispose();
  });

  it('knows the wasm heap cap of tfjs-backend-wasm 4.22', () => {
    assert.equal(WASM_HEAP_MAX_BYTES, 4 * 1024 ** 3 - 65536);
  });
});

describe('non-finite results (issue 15, item 14)', () => {
  it('checkFinite names the first bad pixel', () => {
    const img = flat(4, 3);
    checkFinite(img, 'x');
    img.data[(2 * 4 + 1) * 3 + 2] = Number.NaN;
    assert.throws(() => checkFinite(img, 'the LR image'), /^Error: the model produced NaN values \(the LR image, first at pixel 1, 2\); its weights may be damaged$/);
    img.data[0] = Number.POSITIVE_INFINITY;
    assert.throws(() => checkFinite(img, 'x'), /infinite values \(x, first at pixel 0, 0\)/);
  });

  it('downscaleImage and upscaleImage refuse what a model with overflowing weights produces', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 1 });
    tf.tidy(() => void model.forward(tf.zeros([1, 2, 2, 3])));
    perturbWeights(model.flow.trainableWeights, 5, 1e30);
    await assert.rejects(downscaleImage(model, flat(8, 8)), /the model produced (NaN|infinite) values \(the LR image/);
    await assert.rejects(upscaleImage(model, flat(4, 4)), /the model produced (NaN|infinite) values \(the restored image/);
    model.dispose();
  });
});

describe('withPeakMemory', () => {
  it('reports the peak, also inside a call of its own', async () => {
    const outer = await withPeakMemory(async () => {
      const inner = await withPeakMemory(async () => {
        const a = tf.zeros([1000]);
        a.dispose();
      });
      assert.equal(inner.peakBytes - inner.startBytes, 4000);
      tf.zeros([500]).dispose();
    });
    assert.equal(outer.peakBytes - outer.startBytes, 4000);
    assert.equal(Object.getOwnPropertyDescriptor(tf.engine().state, 'numBytes')?.writable, true, 'the counter was not restored');
    const t = tf.zeros([10]);
    assert.equal(tf.memory().numBytes - outer.startBytes, 40, 'the counter no longer counts');
    t.dispose();
  });

  it('rejects with the error of a kernel that fails to allocate (tf.profile lost it in a stray rejection)', async () => {
    // 2^31 floats: 8 GiB, beyond the wasm heap.
    const error = await withPeakMemory(async () => tf.zeros([1, 1 << 15, 1 << 15, 2])).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(error instanceof Error);
    assert.doesNotMatch(error.message, /reading 'map'/);
    // Give a stray rejection the chance to surface: node --test fails the file on one.
    await new Promise((resolve) => setTimeout(resolve, 50));
  });
});
