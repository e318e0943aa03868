import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IrnModel } from '../model/irn.js';
import { irnLoss } from './loss.js';

await tf.setBackend('cpu');

test('a fresh (Haar) model reconstructs a constant image exactly with z = 0', () => {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
  const b = 2;
  const h = 8;
  const w = 6;
  // 51/255 survives 8-bit quantization exactly.
  const x = tf.fill([b, h, w, 3], 51 / 255) as tf.Tensor4D;
  const before = tf.memory().numTensors;
  const t = irnLoss(model, x);
  // Every residual is 0, so each of the h*w*3 terms per image is sqrt(1e-6) = 1e-3.
  assert.ok(Math.abs(t.rec.dataSync()[0] - h * w * 3 * 1e-3) < 1e-4, `rec ${t.rec.dataSync()[0]}`);
  // bicubic of a constant is the constant (rows of its matrix sum to 1); z of a constant is 0.
  assert.ok(t.fit.dataSync()[0] < 1e-9, `fit ${t.fit.dataSync()[0]}`);
  assert.equal(t.dist.dataSync()[0], 0);
  // Published weights: total = 4 fit + rec + dist.
  assert.ok(Math.abs(t.total.dataSync()[0] - (4 * t.fit.dataSync()[0] + t.rec.dataSync()[0])) < 1e-5);
  tf.dispose([t.total, t.fit, t.rec, t.dist]);
  assert.equal(tf.memory().numTensors, before, 'irnLoss leaked tensors');
  x.dispose();
  model.dispose();
});

test('the latent term is the sum of squared Haar details per image, and weights apply', () => {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
  const values = Array.from({ length: 2 * 4 * 4 * 3 }, (_, i) => ((i * 37) % 29) / 29);
  const x = tf.tensor4d(values, [2, 4, 4, 3]);
  // Plain-TS Haar details (IRN.md): k1..k3 of each 2x2 block and channel.
  let expected = 0;
  const at = (n: number, r: number, c: number, ch: number) => values[((n * 4 + r) * 4 + c) * 3 + ch];
  for (let n = 0; n < 2; n++) {
    for (let r = 0; r < 4; r += 2) {
      for (let c = 0; c < 4; c += 2) {
        for (let ch = 0; ch < 3; ch++) {
          const [a, bb, cc, d] = [at(n, r, c, ch), at(n, r, c + 1, ch), at(n, r + 1, c, ch), at(n, r + 1, c + 1, ch)];
          expected += ((a - bb + cc - d) / 4) ** 2 + ((a + bb - cc - d) / 4) ** 2 + ((a - bb - cc + d) / 4) ** 2;
        }
      }
    }
  }
  const t = irnLoss(model, x, { lambdaFit: 0, lambdaRec: 0, lambdaDist: 2 });
  assert.ok(Math.abs(t.dist.dataSync()[0] - expected / 2) < 1e-5);
  assert.ok(Math.abs(t.total.dataSync()[0] - expected) < 1e-5);
  // z drawn with zScale > 0 makes the reconstruction worse than z = 0 on a fresh model.
  const noisy = irnLoss(model, x, { zScale: 1, zSeed: 5 });
  assert.ok(noisy.rec.dataSync()[0] > t.rec.dataSync()[0]);
  tf.dispose([x, t.total, t.fit, t.rec, t.dist, noisy.total, noisy.fit, noisy.rec, noisy.dist]);
  model.dispose();
});

test('lrCodec: the JPEG proxy between the LR and the inverse, a rate term, and shards that agree with the batch', () => {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
  const x = tf.randomUniform([4, 32, 32, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
  const lrCodec = { kind: 'jpeg-proxy' as const, quality: [20, 95] as [number, number], lambdaRate: 0.5 };
  const plain = irnLoss(model, x, { zSeed: 77 });
  assert.equal(plain.rate, undefined, 'a rate term without lrCodec');
  const coded = irnLoss(model, x, { zSeed: 77, lrCodec });
  const [rate, rec, total] = [coded.rate!, coded.rec, coded.total].map((t) => t.dataSync()[0]);
  // Noise of random pixels costs bits: well above 0.1 bpp at any quality, below 24 (raw RGB at x2 is 6).
  assert.ok(rate > 0.1 && rate < 24, `rate ${rate} bits per full-size pixel`);
  assert.ok(rec > plain.rec.dataSync()[0], 'the codec did not change the reconstruction');
  const wantTotal = 4 * coded.fit.dataSync()[0] + rec + coded.dist.dataSync()[0] + 0.5 * rate;
  assert.ok(Math.abs(total - wantTotal) < 1e-3 * wantTotal, `total ${total}, expected ${wantTotal}`);
  // Two shards of 2 draw the qualities of samples 0-1 and 2-3 of the whole batch.
  const [a, b] = tf.split(x, 2, 0) as tf.Tensor4D[];
  const sa = irnLoss(model, a, { zSeed: 77, lrCodec, zSampleOffset: 0 });
  const sb = irnLoss(model, b, { zSeed: 77, lrCodec, zSampleOffset: 2 });
  const shardRate = (sa.rate!.dataSync()[0] + sb.rate!.dataSync()[0]) / 2;
  assert.ok(Math.abs(shardRate - rate) < 1e-4 * rate, `shards' rate ${shardRate}, batch ${rate}`);
  const shardRec = (sa.rec.dataSync()[0] + sb.rec.dataSync()[0]) / 2;
  assert.ok(Math.abs(shardRec - rec) < 1e-4 * rec, `shards' rec ${shardRec}, batch ${rec}`);
  // Another step's seed draws other qualities.
  const other = irnLoss(model, x, { zSeed: 78, lrCodec }).rate!.dataSync()[0];
  assert.notEqual(other, rate);
  assert.throws(() => irnLoss(model, x, { lrCodec: { kind: 'jpeg-proxy', quality: [90, 50] } }), /quality range/);
  model.dispose();
});

test('realLr: the reconstruction sees the real decoded LR, the gradient comes through the stand-in or straight through', () => {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
  const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  // A "codec" outside the tape: the model's own 8-bit LR, posterized to 8 levels.
  const real = tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(model.downscale(x), 0, 1), 7)), 7)) as tf.Tensor4D;
  const plain = irnLoss(model, x);
  const withReal = irnLoss(model, x, { realLr: real });
  // The forward pass used the real LR: the reconstruction is exactly the inverse of it (z = 0).
  const expected = tf.tidy(() => {
    const { output } = model.inverse(tf.concat([real, tf.zeros([2, 8, 8, model.zChannels])], 3) as tf.Tensor4D);
    return tf.div(tf.sum(tf.sqrt(tf.add(tf.square(tf.sub(x, output)), 1e-6))), 2).dataSync()[0];
  });
  assert.ok(Math.abs(withReal.rec.dataSync()[0] - expected) < 1e-4 * expected, `rec ${withReal.rec.dataSync()[0]} vs ${expected}`);
  assert.equal(withReal.fit.dataSync()[0], plain.fit.dataSync()[0], 'the LR guidance term is of the model LR');
  // Gradients reach the weights before the codec (the encoder side), with and without a stand-in.
  const vars = model.flow.trainableWeights.map((w) => w.read() as tf.Variable);
  for (const options of [{ realLr: real }, { realLr: real, lrCodec: { kind: 'jpeg-proxy' as const, quality: 90, lambdaRate: 0.1 } }]) {
    const { grads } = tf.variableGrads(() => irnLoss(model, x, options).total, vars);
    const norm = tf.tidy(() => Math.sqrt(Object.values(grads).reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0], 0)));
    assert.ok(Number.isFinite(norm) && norm > 0, `gradient norm ${norm}`);
    tf.dispose(grads);
  }
  assert.throws(() => irnLoss(model, x, { realLr: tf.zeros([2, 4, 4, 3]) as tf.Tensor4D }), /realLr is \[2, 4, 4, 3\], the LR \[2, 8, 8, 3\]/);
  tf.dispose([x, real]);
  model.dispose();
});
