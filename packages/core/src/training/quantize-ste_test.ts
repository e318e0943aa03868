import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantize8 } from '../model/quantize.js';
import { quantizeSTE } from './quantize-ste.js';

await tf.setBackend('cpu');

test('quantizeSTE has the value of quantize8 and an identity gradient, clamp included', () => {
  const y = tf.tensor1d([-0.3, 0.1234, 0.5, 0.99, 1.7]);
  const w = tf.tensor1d([1, -2, 3, 0.5, 7]);
  assert.deepEqual(Array.from(quantizeSTE(y).dataSync()), Array.from(quantize8(y).dataSync()));
  const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(quantizeSTE(t), w)))(y);
  assert.deepEqual(Array.from(g.dataSync()), [1, -2, 3, 0.5, 7]);
  // The plain quantizer's gradient is zero (round), which is why the STE exists.
  const g0 = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(quantize8(t), w)))(y);
  assert.ok(Array.from(g0.dataSync()).every((v) => v === 0));
  tf.dispose([y, w, g, g0]);
});
