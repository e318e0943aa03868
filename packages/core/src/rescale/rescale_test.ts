import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../model/irn.js';
import type { RasterImage } from '../image/raster.js';
import { perturbWeights } from '../testing/perturb.js';
import { downscaleImage, upscaleImage } from './rescale.js';

function gradient(width: number, height: number, channels: 1 | 2 | 3 | 4, freq = 0.7): RasterImage {
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) for (let c = 0; c < channels; c++) {
    data[(y * width + x) * channels + c] = (0.5 + 0.4 * Math.sin(x * freq + c) * Math.cos(y * freq * 0.65 - c)) * (c === 3 ? 0.9 : 1);
  }
  return { width, height, channels, data };
}

function psnr(a: Float32Array, b: Float32Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10(1 / (se / a.length));
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('downscaleImage / upscaleImage', () => {
  it('pads sizes that are not multiples of the scale and crops back', async () => {
    const model = IrnModel.create({ scale: 4, blocks: 1, growth: 4, seed: 1 });
    const img = gradient(13, 10, 3);
    const lr = await downscaleImage(model, img);
    assert.equal(lr.width, 4);
    assert.equal(lr.height, 3);
    assert.equal(lr.channels, 3);
    for (const v of lr.data) assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-4, 'LR values are 8-bit levels');
    const hr = await upscaleImage(model, lr, { width: 13, height: 10 });
    assert.equal(hr.width, 13);
    assert.equal(hr.height, 10);
    const full = await upscaleImage(model, lr);
    assert.equal(full.width, 16);
    await assert.rejects(upscaleImage(model, lr, { width: 12, height: 10 }), /restores to between 13x9 and 16x12, not 12x10/);
    model.dispose();
  });

  it('a fresh (Haar) model restores a smooth image far better than dropping detail would', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4 });
    const img = gradient(32, 24, 3, 0.15);
    const hr = await upscaleImage(model, await downscaleImage(model, img));
    // z = 0 on a smooth image loses only the small Haar detail bands.
    assert.ok(psnr(hr.data, img.data) > 25, `PSNR ${psnr(hr.data, img.data)}`);
    model.dispose();
  });

  it('carries alpha through: box-averaged down, bilinear up', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 2 });
    perturbWeights(model.flow.weights, 5, 0.02);
    const img = gradient(10, 8, 4);
    const lr = await downscaleImage(model, img);
    assert.equal(lr.channels, 4);
    // LR alpha at (0, 0) is the 8-bit mean of the 2x2 block.
    const a = [0, 1, 10, 11].map((i) => img.data[i * 4 + 3]);
    const mean = (a[0] + a[1] + a[2] + a[3]) / 4;
    assert.equal(Math.round(lr.data[3] * 255), Math.round(mean * 255));
    const hr = await upscaleImage(model, lr);
    assert.equal(hr.channels, 4);
    assert.equal(hr.width, 10);
    let err = 0;
    for (let i = 0; i < 80; i++) err = Math.max(err, Math.abs(hr.data[i * 4 + 3] - img.data[i * 4 + 3]));
    assert.ok(err < 0.2, `alpha error ${err}`);
    model.dispose();
  });

  it('takes grey and grey + alpha images (as RGB)', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4 });
    assert.equal((await downscaleImage(model, gradient(8, 8, 1))).channels, 3);
    assert.equal((await downscaleImage(model, gradient(8, 8, 2))).channels, 4);
    model.dispose();
  });

  it('rejects images smaller than the scale and malformed images', async () => {
    const model = IrnModel.create({ scale: 4, blocks: 1, growth: 4 });
    await assert.rejects(downscaleImage(model, gradient(3, 8, 3)), /3x8; IRN x4 needs at least 4x4 pixels/);
    await assert.rejects(downscaleImage(model, { width: 4, height: 4, channels: 3, data: new Float32Array(5) }), /Float32Array of 48 values/);
    model.dispose();
  });

  it('leaks no tensors, tiled or not', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4 });
    const before = tf.memory().numTensors;
    for (const tileSize of [0, 2]) {
      const lr = await downscaleImage(model, gradient(9, 7, 4), { tileSize });
      await upscaleImage(model, lr, { z: 'gaussian', seed: 1, width: 9, height: 7, tileSize });
    }
    assert.equal(tf.memory().numTensors, before);
    model.dispose();
  });

  it('takes an explicit z tensor and slices it per tile', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
    perturbWeights(model.flow.weights, 5, 0.05);
    const lr = await downscaleImage(model, gradient(64, 24, 3));
    const z = tf.randomNormal([1, 12, 32, 9], 0, 1, 'float32', 2) as tf.Tensor4D;
    const whole = await upscaleImage(model, lr, { z, tileSize: 0 });
    // Inner tiles' crops (6 + 2 x 10 columns) start and end inside the 32 LR columns.
    const tiled = await upscaleImage(model, lr, { z, tileSize: 6 });
    assert.ok(whole.data.every((v, i) => Math.abs(v - tiled.data[i]) < 1e-4));
    assert.ok(psnr(whole.data, (await upscaleImage(model, lr, { tileSize: 0 })).data) < 60, 'z was ignored');
    await assert.rejects(upscaleImage(model, lr, { z: tf.zeros([1, 12, 32, 3]) }), /z must have shape \[1, 12, 32, 9\], got \[1, 12, 32, 3\]/);
    z.dispose();
    model.dispose();
  });

  it('bilinear alpha matches tf.image.resizeBilinear (half-pixel centres)', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4 });
    const lr = gradient(5, 4, 4);
    const hr = await upscaleImage(model, lr);
    const alpha = lr.data.filter((_, i) => i % 4 === 3);
    const ref = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor4d(alpha, [1, 4, 5, 1]), [8, 10], false, true).dataSync(),
    );
    for (let i = 0; i < 80; i++) assert.ok(Math.abs(hr.data[i * 4 + 3] - ref[i]) < 1e-6, `pixel ${i}`);
    model.dispose();
  });
});
