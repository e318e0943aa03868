import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IrnModel } from '../model/irn.js';
import { psnrY, roundTripPsnrY } from './validate.js';

await tf.setBackend('cpu');

test('psnrY uses BT.601 luma on 0..255 values and shaves borders', () => {
  const a = tf.zeros([1, 6, 6, 3]) as tf.Tensor4D;
  // A uniform offset of 1/255 in every channel moves Y by (65.481 + 128.553 + 24.966) / 255 = 219/255.
  const b = tf.fill([1, 6, 6, 3], 1 / 255) as tf.Tensor4D;
  const expected = 10 * Math.log10((255 * 255) / (219 / 255) ** 2);
  assert.ok(Math.abs(psnrY(a, b, 2) - expected) < 1e-3);
  // Differences only on the border do not count once shaved.
  const c = tf.pad(tf.zeros([1, 2, 2, 3]), [[0, 0], [2, 2], [2, 2], [0, 0]], 0.5) as tf.Tensor4D;
  const d = tf.add(c, tf.pad(tf.fill([1, 2, 2, 3], 0.1), [[0, 0], [2, 2], [2, 2], [0, 0]])) as tf.Tensor4D;
  assert.ok(Math.abs(psnrY(c, d, 2) - 10 * Math.log10((255 * 255) / ((0.1 * 219) ** 2))) < 1e-3);
  tf.dispose([a, b, c, d]);
});

test('roundTripPsnrY of a fresh model on a smooth image is finite and high', () => {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 1 });
  const x = tf.tidy(() => tf.tile(tf.reshape(tf.linspace(0.2, 0.8, 16), [1, 1, 16, 1]), [1, 16, 1, 3])) as tf.Tensor4D;
  const p = roundTripPsnrY(model, x);
  assert.ok(Number.isFinite(p) && p > 30, `PSNR ${p}`);
  x.dispose();
  model.dispose();
});
