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
