import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, imresize } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { histogram, moments, round8 } from '../images.js';
import { computeLatents, resultBuffers, splitChannels } from './forward.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('splitChannels: the first 3 channels are the LR (RGB, interleaved), each further one a plane', () => {
  // 2 x 1 pixels, 5 channels: pixel 0 is 0..4, pixel 1 is 10..14.
  const { lr, z } = splitChannels(Float32Array.of(0, 1, 2, 3, 4, 10, 11, 12, 13, 14), 2, 1, 5);
  assert.deepEqual(lr, { width: 2, height: 1, channels: 3, data: Float32Array.of(0, 1, 2, 10, 11, 12) });
  assert.deepEqual(z, [Float32Array.of(3, 13), Float32Array.of(4, 14)]);
  assert.throws(() => splitChannels(new Float32Array(9), 2, 1, 5), /^Error: splitChannels: 9 values are not 2x1x5 with at least 3 channels$/);
  assert.throws(() => splitChannels(new Float32Array(4), 2, 1, 2), /at least 3 channels/);
});

test('computeLatents: the forward output split, the LR rounded to 8 bits, the bicubic LR, the z statistics and histograms; no tensor left', async () => {
  await useNodeBackend('cpu');
  const model = await IrnModel.load(fileSystem(`${root}weights/irn-x2`));
  let seed = 3;
  const hr = { width: 16, height: 12, channels: 3 as const, data: Float32Array.from({ length: 16 * 12 * 3 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647)) };
  const before = tf.memory().numTensors;
  const r = await computeLatents(model, hr);
  assert.equal(tf.memory().numTensors, before);
  const out = tf.tidy(() => model.forward(tf.tensor4d(hr.data, [1, 12, 16, 3])).output);
  const full = (await out.data()) as Float32Array;
  out.dispose();
  const split = splitChannels(full, 8, 6, 12);
  assert.deepEqual([r.width, r.height, r.z.length], [8, 6, 9]);
  assert.deepEqual(r.z, split.z);
  assert.deepEqual(r.lr, round8(split.lr));
  assert.deepEqual(r.lrBicubic, round8(imresize(hr, 8, 6)));
  assert.deepEqual(r.stats, split.z.map(moments));
  assert.deepEqual(r.histograms, split.z.map((plane) => histogram(plane, -4, 4, 64)));
  // The z of a trained model on noise are not all zero: the split is not vacuous.
  assert.ok(r.stats.some((s) => s.std > 1e-4));
  // Each array in its own buffer, so that the worker can transfer them all.
  assert.equal(new Set(resultBuffers(r)).size, 11);
  await assert.rejects(computeLatents(model, { ...hr, width: 15, data: hr.data.subarray(0, 15 * 12 * 3) }), /the image must be a multiple of 2 on each side/);
  await assert.rejects(computeLatents(model, { width: 16, height: 12, channels: 4, data: new Float32Array(16 * 12 * 4) }), /the photo must be RGB, got 4 channels/);
  model.dispose();
});
