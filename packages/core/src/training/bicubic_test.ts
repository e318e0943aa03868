import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { bicubicDownscale, bicubicMatrix } from './bicubic.js';

// Golden values: `/usr/bin/python3 scripts/make-bicubic-fixture.py` (run in packages/core),
// a float64 numpy port of the MATLAB imresize of the IRN/BasicSR code bases.
interface Case {
  factor: number;
  input_shape: [number, number, number];
  output_shape: [number, number, number];
  input: number[];
  output: number[];
}
const golden = JSON.parse(
  readFileSync(new URL('../../test-fixtures/bicubic/golden.json', import.meta.url), 'utf8'),
) as { cases: Case[] };

/** float32 evaluation of a float64 reference on values in [0, 1]. */
const TOL = 1e-5;

await tf.setBackend('cpu');

test('bicubicDownscale matches the MATLAB imresize port', () => {
  for (const c of golden.cases) {
    const [h, w, ch] = c.input_shape;
    const x = tf.tensor4d(c.input, [1, h, w, ch]);
    const y = bicubicDownscale(x, c.factor);
    assert.deepEqual(y.shape, [1, ...c.output_shape]);
    const got = y.dataSync();
    for (let i = 0; i < got.length; i++) {
      assert.ok(Math.abs(got[i] - c.output[i]) < TOL, `factor ${c.factor} ${h}x${w}: index ${i}: ${got[i]} vs ${c.output[i]}`);
    }
    tf.dispose([x, y]);
  }
});

test('bicubicDownscale handles a batch like single images and has a gradient', () => {
  const c = golden.cases[0];
  const [h, w, ch] = c.input_shape;
  const one = tf.tensor4d(c.input, [1, h, w, ch]);
  const two = tf.concat([one, tf.mul(one, 0.5)], 0) as tf.Tensor4D;
  const y = bicubicDownscale(two, c.factor);
  const d = y.arraySync();
  const first = bicubicDownscale(one, c.factor).arraySync();
  assert.ok(Math.abs(d[1][2][3][1] - 0.5 * first[0][2][3][1]) < TOL);
  assert.ok(Math.abs(d[0][2][3][1] - first[0][2][3][1]) < 1e-7);
  const before = tf.memory().numTensors;
  const g = tf.grad((t: tf.Tensor) => tf.sum(bicubicDownscale(t as tf.Tensor4D, 2)))(one);
  // d sum(Mh X Mw^T) / dX[j, k] = (column sum j of Mh) * (column sum k of Mw).
  assert.deepEqual(g.shape, one.shape);
  const mh = bicubicMatrix(h, 2);
  const mw = bicubicMatrix(w, 2);
  const colH = (j: number) => Array.from({ length: h / 2 }, (_, i) => mh[i * h + j]).reduce((a, b) => a + b);
  const colW = (j: number) => Array.from({ length: w / 2 }, (_, i) => mw[i * w + j]).reduce((a, b) => a + b);
  const ga = g.arraySync() as number[][][][];
  assert.ok(Math.abs(ga[0][3][5][0] - colH(3) * colW(5)) < TOL);
  g.dispose();
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([one, two, y]);
});

test('bicubicMatrix rows sum to 1 and reject bad sizes', () => {
  const m = bicubicMatrix(10, 2);
  for (let i = 0; i < 5; i++) {
    let s = 0;
    for (let j = 0; j < 10; j++) s += m[i * 10 + j];
    assert.ok(Math.abs(s - 1) < 1e-12);
  }
  assert.throws(() => bicubicMatrix(9, 2), /multiple of the factor 2/);
});
