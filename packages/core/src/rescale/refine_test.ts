import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../model/irn.js';
import type { RasterImage } from '../image/raster.js';
import { perturbWeights } from '../testing/perturb.js';
import { downscaleImage, upscaleImage } from './rescale.js';
import { refineLr } from './refine.js';

function photo(width: number, height: number, channels: 3 | 4 = 3): RasterImage {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) {
    data[(y * width + x) * channels + c] = c === 3 ? 0.8 : 0.5 + 0.35 * Math.sin(x * 0.9 + c) * Math.cos(y * 0.55 - c) + 0.1 * Math.sin(x * y * 0.31);
  }
  return { width, height, channels, data };
}

function rgbPsnr(a: RasterImage, b: RasterImage): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < a.width * a.height; i++) for (let c = 0; c < 3; c++) {
    se += (a.data[i * a.channels + c] - b.data[i * b.channels + c]) ** 2;
    n++;
  }
  return 10 * Math.log10(1 / (se / n));
}

/** A coarse codec stand-in: 12 levels per channel (an LR the model was not trained for). */
const posterize = (img: RasterImage): RasterImage => ({ ...img, data: img.data.map((v) => Math.round(v * 11) / 11) });

let model: IrnModel;
before(async () => {
  await tf.setBackend('cpu');
  model = IrnModel.create({ scale: 2, blocks: 2, growth: 4, seed: 3 });
  perturbWeights(model.flow.trainableWeights, 5, 0.05);
});

describe('refineLr', () => {
  it('never returns an LR worse than the one given, and its PSNR is what upscaleImage gives', async () => {
    const hr = photo(18, 14);
    const lr = await downscaleImage(model, hr);
    const result = await refineLr(model, hr, lr, { steps: 6 });
    assert.equal(result.history.length, 7);
    assert.ok(result.bestPsnr >= result.initialPsnr);
    assert.equal(result.initialPsnr, result.history[0].psnr);
    for (const v of result.lr.data) assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-4, 'the refined LR is 8-bit');
    const restored = await upscaleImage(model, result.lr);
    assert.ok(Math.abs(rgbPsnr(restored, hr) - result.bestPsnr) < 0.01, `${rgbPsnr(restored, hr)} vs ${result.bestPsnr}`);
    const before = await upscaleImage(model, lr);
    assert.ok(Math.abs(rgbPsnr(before, hr) - result.initialPsnr) < 0.01);
  });

  it('learns to pre-compensate a lossy round trip (straight-through gradient)', async () => {
    const hr = photo(20, 16);
    const lr = await downscaleImage(model, hr);
    const result = await refineLr(model, hr, lr, { steps: 12, roundTrip: posterize, learningRate: 0.01 });
    assert.ok(result.bestStep > 0, 'some step improved on the plain LR');
    assert.ok(result.bestPsnr > result.initialPsnr + 0.3, `gain ${(result.bestPsnr - result.initialPsnr).toFixed(2)} dB`);
    // The measurement went through the codec: restoring the posterized refined LR gives bestPsnr.
    const restored = await upscaleImage(model, posterize(result.lr));
    assert.ok(Math.abs(rgbPsnr(restored, hr) - result.bestPsnr) < 0.01);
  });

  it('takes the gradient of a codec stand-in instead of the identity (gradientProxy)', async () => {
    // A "codec" that averages horizontal pixel pairs (as chroma subsampling does), and its exact
    // differentiable copy as the stand-in.
    const pairs = (img: RasterImage): RasterImage => {
      const data = img.data.slice();
      for (let y = 0; y < img.height; y++) for (let x = 0; x + 1 < img.width; x += 2) for (let c = 0; c < img.channels; c++) {
        const i = (y * img.width + x) * img.channels + c;
        const j = i + img.channels;
        data[i] = data[j] = Math.round(((img.data[i] + img.data[j]) / 2) * 255) / 255;
      }
      return { ...img, data };
    };
    const pairsTf = (v: tf.Tensor4D): tf.Tensor4D => {
      const [, h, w] = v.shape;
      const mean = tf.avgPool(v, [1, 2], [1, 2], 'valid');
      return tf.reshape(tf.tile(tf.reshape(mean, [h, w / 2, 1, 3]), [1, 1, 2, 1]), [1, h, w, 3]);
    };
    const hr = photo(24, 16);
    const lr = await downscaleImage(model, hr);
    let calls = 0;
    const proxy = (v: tf.Tensor4D) => (calls++, pairsTf(v));
    const result = await refineLr(model, hr, lr, { steps: 10, roundTrip: pairs, gradientProxy: proxy, learningRate: 0.01 });
    assert.equal(calls, 10, 'the stand-in runs once per gradient step');
    assert.ok(result.bestPsnr > result.initialPsnr + 0.3, `gain ${(result.bestPsnr - result.initialPsnr).toFixed(2)} dB`);
    const restored = await upscaleImage(model, pairs(result.lr));
    assert.ok(Math.abs(rgbPsnr(restored, hr) - result.bestPsnr) < 0.01, 'the forward pass used the real round trip');
    // A stand-in with no gradient moves nothing: the identity is not used behind its back.
    const frozen = await refineLr(model, hr, lr, { steps: 3, roundTrip: pairs, gradientProxy: (v) => tf.mul(v, 0) as tf.Tensor4D, learningRate: 0.01 });
    assert.deepEqual(frozen.history.map((h) => h.psnr), Array(4).fill(frozen.initialPsnr));
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip: pairs, gradientProxy: (v) => tf.slice(v, [0, 0, 0, 0], [1, 4, 4, 3]) }), /gradientProxy must return the LR's shape \[1, 8, 12, 3\], got \[1, 4, 4, 3\]/);
  });

  it('keeps alpha, cleans up its tensors and refuses bad input', async () => {
    const hr = photo(8, 6, 4);
    const lr = await downscaleImage(model, hr);
    const before = tf.memory().numTensors;
    const result = await refineLr(model, hr, lr, { steps: 2 });
    assert.equal(tf.memory().numTensors, before);
    assert.equal(result.lr.channels, 4);
    for (let i = 0; i < 12; i++) assert.equal(result.lr.data[4 * i + 3], lr.data[4 * i + 3]);
    await assert.rejects(refineLr(model, hr, lr, { steps: -1 }), /integer >= 0/);
    await assert.rejects(refineLr(model, hr, { ...lr, width: 3, data: new Float32Array(3 * 3 * 4) }, { steps: 1 }), /LR of a 8x6 image at x2 is 4x3/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, maxPixels: 40 }), /limited to 40 pixels/);
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(refineLr(model, hr, lr, { steps: 3, signal: controller.signal }), /stop/);
  });
});
