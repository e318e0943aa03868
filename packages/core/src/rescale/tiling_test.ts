// Tiled rescaling: with an overlap of at least the receptive field, tiles stitch into
// exactly the untiled result (IRN.md: "tiles need generous overlap"), in both directions,
// at x2 and x4, on perturbed models (a fresh IRN is the Haar transform, which has no
// reach across tiles at all and would pass any tiling).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../backend/node-backend.js';
import type { RasterImage } from '../image/raster.js';
import { IrnModel } from '../model/irn.js';
import { perturbWeights } from '../testing/perturb.js';
import { receptiveField } from './receptive-field.js';
import { downscaleImage, downscaleUnrounded, upscaleImage } from './rescale.js';
import { checkTileWork, TileWorkError, type TileProgress } from './tiled-pass.js';
import { MAX_TILE_WORK } from './tiles.js';

/** The bound for tiled vs untiled before 8-bit rounding; float32 rounding is far below it. */
const TILED_MAX_DIFF = 1e-4;
/** Std of the perturbed weights: large enough that a pixel's influence is still visible in
 *  float32 at the edge of the receptive field (with 0.05 it fades out a few pixels short). */
const REACH_STD = 0.3;

function photoLike(width: number, height: number, channels: 3 | 4 = 3, seed = 1): RasterImage {
  const data = new Float32Array(width * height * channels);
  let s = seed;
  const noise = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 0.2;
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) {
    const v = 0.5 + 0.3 * Math.sin(x * 0.31 + c) * Math.cos(y * 0.23 - c) + noise();
    data[(y * width + x) * channels + c] = Math.min(1, Math.max(0, v));
  }
  return { width, height, channels, data };
}

function perturbedModel(scale: 2 | 4, blocks: number, std = 0.05): IrnModel {
  const model = IrnModel.create({ scale, blocks, growth: 4, seed: 1 });
  tf.tidy(() => void model.forward(tf.zeros([1, scale, scale, 3])));
  perturbWeights(model.flow.trainableWeights, 3, std);
  return model;
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

before(async () => {
  // wasm, as in the CLI: the cpu backend takes several times longer on these convolutions.
  await useNodeBackend('wasm');
});

describe('receptiveField', () => {
  it('is 10 per block at x2, 15 at x4, 17.5 at x8 (80, 120, 140 for the published 8 blocks)', () => {
    assert.deepEqual([2, 4, 8].map((scale) => receptiveField({ scale: scale as 2 | 4 | 8, blocks: 8 })), [80, 120, 140]);
    assert.deepEqual([1, 2, 4].map((blocks) => receptiveField({ scale: 2, blocks })), [10, 20, 40]);
    assert.equal(receptiveField({ scale: 8, blocks: 1 }), 18);
  });

  for (const scale of [2, 4] as const) {
    it(`equals the measured reach of one changed pixel at x${scale}, forward and inverse`, () => {
      const model = perturbedModel(scale, 1, REACH_STD);
      const rf = receptiveField(model.config);
      const n = 2 * rf + 5; // LR side: room for the reach on both sides of the centre
      const c = rf + 2;
      const reach = (a: tf.Tensor4D, b: tf.Tensor4D, factor: number) => {
        const diff = tf.tidy(() => (tf.max(tf.abs(tf.sub(a, b)), 3) as tf.Tensor3D).arraySync()[0]);
        let r = 0;
        diff.forEach((row, y) => row.forEach((d, x) => {
          if (d > 0) r = Math.max(r, Math.abs(Math.floor(y / factor) - c), Math.abs(Math.floor(x / factor) - c));
        }));
        return r;
      };
      tf.tidy(() => {
        const x = tf.randomUniform([1, n * scale, n * scale, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
        const bump = tf.pad(tf.fill([1, scale, scale, 3], 0.5), [[0, 0], [c * scale, (n - c - 1) * scale], [c * scale, (n - c - 1) * scale], [0, 0]]);
        const y = model.forward(x).output;
        assert.equal(reach(y, model.forward(tf.add(x, bump) as tf.Tensor4D).output, 1), rf, 'forward');
        const zc = y.shape[3];
        const lrBump = tf.pad(tf.fill([1, 1, 1, zc], 0.5), [[0, 0], [c, n - c - 1], [c, n - c - 1], [0, 0]]);
        assert.equal(reach(model.inverse(y).output, model.inverse(tf.add(y, lrBump) as tf.Tensor4D).output, scale), rf, 'inverse');
      });
      model.dispose();
    });
  }
});

describe('tiled downscale / upscale', () => {
  // LR 47x39 at x2 (tiles of 7 or 8, crops of up to 28) and 45x41 at x4 (tiles of 8 or 9,
  // crops of up to 39): not multiples of the tile, HR sizes that need edge padding, tiles at
  // every border and inner tiles whose crop reaches no border.
  const cases = [
    { scale: 2 as const, width: 93, height: 77, tileSize: 8 },
    { scale: 4 as const, width: 179, height: 163, tileSize: 10 },
  ];
  for (const { scale, width, height, tileSize } of cases) {
    it(`x${scale}: equals the untiled result with overlap = receptive field, and not with less`, async () => {
      const model = perturbedModel(scale, 1);
      const rf = receptiveField(model.config);
      const img = photoLike(width, height);
      const whole = await downscaleUnrounded(model, img, { tileSize: 0 });
      const tiled = await downscaleUnrounded(model, img, { tileSize, overlap: rf });
      assert.ok(maxDiff(tiled.data, whole.data) < TILED_MAX_DIFF, `downscale differs by ${maxDiff(tiled.data, whole.data)}`);
      // The test can fail: too little context changes the result.
      assert.ok(maxDiff((await downscaleUnrounded(model, img, { tileSize, overlap: 2 })).data, whole.data) > TILED_MAX_DIFF);

      const lr = await downscaleImage(model, img, { tileSize, overlap: rf });
      for (const latent of [{ z: 'zeros' as const }, { z: 'gaussian' as const, seed: 11, temperature: 0.8 }]) {
        const up = { ...latent, width, height };
        const hrWhole = await upscaleImage(model, lr, { ...up, tileSize: 0 });
        const hrTiled = await upscaleImage(model, lr, { ...up, tileSize, overlap: rf });
        assert.deepEqual([hrTiled.width, hrTiled.height], [width, height]);
        assert.ok(maxDiff(hrTiled.data, hrWhole.data) < TILED_MAX_DIFF, `upscale (${latent.z}) differs by ${maxDiff(hrTiled.data, hrWhole.data)}`);
        const hrShort = await upscaleImage(model, lr, { ...up, tileSize, overlap: 2 });
        assert.ok(maxDiff(hrShort.data, hrWhole.data) > TILED_MAX_DIFF, `upscale (${latent.z}) with overlap 2`);
      }
      model.dispose();
    });
  }

  it('untiled, gives exactly model.downscale (the same 8-bit rounding) and model.upscale', async () => {
    const model = perturbedModel(2, 1);
    const img = photoLike(24, 16);
    const lr = await downscaleImage(model, img, { tileSize: 0 });
    const [ref, hrRef] = tf.tidy(() => {
      const y = model.downscale(tf.tensor4d(img.data, [1, 16, 24, 3]));
      return [y.dataSync() as Float32Array, model.upscale(y, { z: 'gaussian', seed: 4 }).dataSync() as Float32Array];
    });
    assert.deepEqual(lr.data, ref);
    assert.ok(maxDiff((await upscaleImage(model, lr, { tileSize: 0, z: 'gaussian', seed: 4 })).data, hrRef) === 0);
    model.dispose();
  });

  it('blends seams when the overlap is short: close to the untiled result, no hard step', async () => {
    const model = perturbedModel(2, 1);
    const img = photoLike(80, 48);
    const whole = await downscaleUnrounded(model, img, { tileSize: 0 });
    const blended = await downscaleUnrounded(model, img, { tileSize: 10, overlap: 4 });
    const d = maxDiff(blended.data, whole.data);
    assert.ok(d > 0 && d < 0.05, `blended differs by ${d}`);
    model.dispose();
  });

  it('keeps peak tensor memory to one tile: a 4x larger image peaks at the same bytes', async () => {
    const model = perturbedModel(2, 1);
    // Tile 4 + 2 x overlap 3: every inner tile is computed on 10x10 LR pixels.
    const peak = async (side: number, tileSize = 4) => {
      const img = photoLike(side, side);
      return (await tf.profile(() => downscaleImage(model, img, { tileSize, overlap: 3 }).then(() => []))).peakBytes;
    };
    const [small, large] = [await peak(32), await peak(64)];
    assert.equal(large, small);
    assert.ok(large < (await peak(64, 0)) / 4, 'the tiled peak is not far below the untiled one');
    model.dispose();
  });

  it('reports progress after each tile and lets timers run between tiles', async () => {
    const model = perturbedModel(2, 1);
    const seen: TileProgress[] = [];
    let timerRan = false;
    setTimeout(() => (timerRan = true), 0);
    let timerRanBeforeLast = false;
    await downscaleImage(model, photoLike(40, 40), {
      tileSize: 10,
      onProgress: (p) => {
        seen.push(p);
        if (p.done === p.total) timerRanBeforeLast = timerRan;
      },
    });
    assert.deepEqual(seen.map((p) => p.done), [1, 2, 3, 4]);
    assert.ok(seen.every((p) => p.total === 4 && p.fraction === p.done / 4));
    assert.ok(timerRanBeforeLast, 'the event loop did not run between tiles');
    model.dispose();
  });

  it('aborts between tiles with the signal\'s reason and leaves no tensors', async () => {
    const model = perturbedModel(2, 1);
    const before = tf.memory().numTensors;
    const controller = new AbortController();
    let tiles = 0;
    await assert.rejects(
      upscaleImage(model, photoLike(20, 20), {
        tileSize: 5,
        z: 'gaussian',
        onProgress: () => {
          if (++tiles === 2) controller.abort();
        },
        signal: controller.signal,
      }),
      (e: unknown) => e instanceof DOMException && e.name === 'AbortError',
    );
    assert.equal(tiles, 2);
    assert.equal(tf.memory().numTensors, before);
    const reason = new Error('user closed the page');
    await assert.rejects(downscaleImage(model, photoLike(8, 8), { signal: AbortSignal.abort(reason) }), (e) => e === reason);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });

  it('rejects bad tile sizes and overlaps', async () => {
    const model = perturbedModel(2, 1);
    const img = photoLike(8, 8);
    await assert.rejects(downscaleImage(model, img, { tileSize: -1 }), /tileSize must be an integer >= 0 \(0: the whole image\), got -1/);
    await assert.rejects(downscaleImage(model, img, { tileSize: 2.5 }), /tileSize must be an integer/);
    await assert.rejects(upscaleImage(model, img, { overlap: -3 }), /overlap must be an integer >= 0, got -3/);
    await assert.rejects(upscaleImage(model, img, { overlap: Number.NaN }), /overlap must be an integer/);
    model.dispose();
  });

  it('counts the pixels a tiling computes, crops clipped to the image, and refuses more than MAX_TILE_WORK times the image', () => {
    // 10 x 10 in two cores of 5, each crop the whole axis: 2 x 2 = 4 times the image.
    checkTileWork({ tileSize: 5, overlap: 5 }, 10, 10);
    // Tile 1, overlap 4 on 100 pixels: 9-pixel crops inside, fewer at the borders: 8.8 per
    // axis, 77 in all, refused; overlap 3: 6.9 per axis, 48, allowed.
    assert.throws(() => checkTileWork({ tileSize: 1, overlap: 4 }, 100, 100), (e: unknown) => {
      assert.ok(e instanceof TileWorkError && e instanceof RangeError);
      assert.equal(Math.round(e.work), 77);
      assert.equal(e.message, `tiles of 1 LR pixels with an overlap of 4 would compute the 100x100 LR image's pixels 77 times over (at most ${MAX_TILE_WORK}); use a larger tile size or a smaller overlap`);
      return true;
    });
    checkTileWork({ tileSize: 1, overlap: 3 }, 30, 30);
    // ... but 10,000 tiles of one pixel are too many, whatever the overlap: each tile costs a
    // fixed time besides its pixels (tile 1 with no overlap took 34 s on a 128x128 LR).
    for (const overlap of [0, 3]) {
      assert.throws(() => checkTileWork({ tileSize: 1, overlap }, 100, 100), (e: unknown) => {
        assert.ok(e instanceof TileWorkError);
        assert.equal(e.tiles, 10_000);
        assert.equal(e.message, `tiles of 1 LR pixels would cut the 100x100 LR image into 10,000 tiles (at most 1,024 or one per 16 of its pixels, whichever is more); use a larger tile size`);
        return true;
      });
    }
    // Up to 1,024 tiles however small, and more at 16 pixels each or more.
    checkTileWork({ tileSize: 1, overlap: 0 }, 32, 32);
    checkTileWork({ tileSize: 4, overlap: 0 }, 1000, 1000);
    assert.throws(() => checkTileWork({ tileSize: 3, overlap: 0 }, 1000, 1000), TileWorkError);
    // The whole image, and an image smaller than a tile: once.
    checkTileWork({ tileSize: 0, overlap: 500 }, 3000, 2000);
    checkTileWork({ tileSize: 8, overlap: 99999 }, 8, 8);
    // The defaults on a large photo (tile 256; x2's overlap 40, the published x4's 120), and
    // tile 64 with 120, stay allowed.
    for (const overlap of [40, 80, 120, 140]) checkTileWork({ tileSize: 256, overlap }, 3000, 2000);
    checkTileWork({ tileSize: 64, overlap: 120 }, 3000, 2000);
    // A huge overlap on small tiles: every crop the whole image.
    assert.throws(() => checkTileWork({ tileSize: 8, overlap: 99999 }, 256, 256), TileWorkError);
  });

  it('refuses a tiling that would compute the image 64 times over before any pass, both ways', async () => {
    const model = perturbedModel(2, 1);
    const img = photoLike(128, 128);
    const before = tf.memory().numTensors;
    const start = performance.now();
    await assert.rejects(downscaleImage(model, img, { tileSize: 1, overlap: 40 }), /tiles of 1 LR pixels with an overlap of 40 would compute the 64x64 LR image's pixels \d+ times over/);
    await assert.rejects(upscaleImage(model, photoLike(64, 64), { tileSize: 2, overlap: 40 }), TileWorkError);
    await assert.rejects(downscaleImage(model, img, { tileSize: 1, overlap: 0 }), /tiles of 1 LR pixels would cut the 64x64 LR image into 4,096 tiles/);
    assert.ok(performance.now() - start < 1000, `took ${performance.now() - start} ms`);
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });
});
