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

  it('prices the rate (rateWeight): the estimated bits in the loss, the real file size in the choice', async () => {
    // A "codec" whose file grows with the horizontal detail of its LR (about what a real one
    // spends bits on), and its differentiable copy.
    const detail = (img: RasterImage): number => {
      let sum = 0;
      for (let y = 0; y < img.height; y++) for (let x = 1; x < img.width; x++) for (let c = 0; c < 3; c++) {
        sum += Math.abs(img.data[(y * img.width + x) * img.channels + c] - img.data[(y * img.width + x - 1) * img.channels + c]);
      }
      return sum;
    };
    const roundTrip = (img: RasterImage) => ({ image: img, bytes: 100 + Math.round(40 * detail(img)) });
    const proxy = (v: tf.Tensor4D) => {
      const [, h, w] = v.shape;
      const dx = tf.sub(tf.slice(v, [0, 0, 1, 0], [1, h, w - 1, 3]), tf.slice(v, [0, 0, 0, 0], [1, h, w - 1, 3]));
      return { image: v, bits: tf.mul(tf.add(tf.mul(tf.sum(tf.abs(dx)), 40), 100), 8) };
    };
    const hr = photo(24, 16);
    const lr = await downscaleImage(model, hr);
    const free = await refineLr(model, hr, lr, { steps: 8, roundTrip, gradientProxy: proxy, learningRate: 0.01 });
    const priced = await refineLr(model, hr, lr, { steps: 8, roundTrip, gradientProxy: proxy, learningRate: 0.01, rateWeight: 0.05 });
    assert.equal(free.initialBpp, priced.initialBpp);
    assert.equal(free.initialBpp, (8 * roundTrip(lr).bytes) / (24 * 16));
    assert.ok(free.history.every((h) => h.bpp !== undefined), 'every step reports its rate');
    assert.ok(priced.bestBpp! < 0.9 * priced.initialBpp!, `priced: ${priced.initialBpp} -> ${priced.bestBpp} bpp`);
    assert.ok(priced.bestBpp! < free.bestBpp!, `best bpp ${priced.bestBpp} priced, ${free.bestBpp} free`);
    // The pick is the least mse + weight * bpp over the measured steps.
    const cost = (h: { psnr: number; bpp?: number }) => 10 ** (-h.psnr / 10) + 0.05 * h.bpp!;
    assert.equal(Math.min(...priced.history.map(cost)), cost(priced.history[priced.bestStep]));
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip, rateWeight: 0.1 }), /needs a gradientProxy that estimates the bits/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip, gradientProxy: (v) => v, rateWeight: 0.1 }), /returns \{ image, bits \}/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip: (img) => img, gradientProxy: proxy, rateWeight: 0.1 }), /round trip that gives the file size/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip: (img) => ({ image: img, bytes: -3 }) }), /file size of -3 bytes/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, rateWeight: -1 }), /rateWeight must be a number >= 0/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip, gradientProxy: proxy, rateWeight: 0.1, relativeRate: 0.5 }), /rateWeight or relativeRate, not both/);
    await assert.rejects(refineLr(model, hr, lr, { steps: 1, roundTrip, relativeRate: 0.5 }), /needs a gradientProxy/);
    // relativeRate: the weight is set by the LR as given (its mse and bpp), whatever its scale.
    const relative = await refineLr(model, hr, lr, { steps: 4, roundTrip, gradientProxy: proxy, learningRate: 0.01, relativeRate: 0.5 });
    const mse0 = 10 ** (-relative.initialPsnr / 10);
    assert.ok(Math.abs(relative.rateWeight! - (0.5 * mse0) / relative.initialBpp!) < 1e-6 * relative.rateWeight!, `weight ${relative.rateWeight}`);
    const relCost = (h: { psnr: number; bpp?: number }) => 10 ** (-h.psnr / 10) + relative.rateWeight! * h.bpp!;
    assert.equal(Math.min(...relative.history.map(relCost)), relCost(relative.history[relative.bestStep]));
    // ...and steps exactly as the same weight given outright: the measured mse is a constant
    // in the step-0 gradient (one pass at step 0, the rate weighed from that pass's mse).
    const same = await refineLr(model, hr, lr, { steps: 4, roundTrip, gradientProxy: proxy, learningRate: 0.01, rateWeight: relative.rateWeight });
    for (const [i, h] of same.history.entries()) {
      assert.ok(Math.abs(h.psnr - relative.history[i].psnr) < 1e-4 && h.bpp === relative.history[i].bpp, `step ${i}: ${h.psnr}/${h.bpp} against ${relative.history[i].psnr}/${relative.history[i].bpp}`);
    }
    assert.equal(free.rateWeight, undefined);
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
