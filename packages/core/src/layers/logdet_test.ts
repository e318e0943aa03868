import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { AffineCoupling } from './affine-coupling.js';
import type { InvertibleLayer } from './flow.js';
import { HaarDownsampling } from './haar.js';
import { perturbWeights } from '../testing/perturb.js';

/** Central differences with this step; the maps are smooth, so the truncation error is ~eps^2. */
const EPS = 1e-2;
/** float32 evaluation noise / EPS, summed over the 48 pivots of log|det|, stays well below this. */
const LOGDET_TOL = 2e-2;

/** log|det| of a square matrix (row-major, float64) by LU with partial pivoting. */
function logAbsDet(a: Float64Array, n: number): number {
  const m = Float64Array.from(a);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    let p = k;
    for (let i = k + 1; i < n; i++) if (Math.abs(m[i * n + k]) > Math.abs(m[p * n + k])) p = i;
    if (p !== k) for (let j = 0; j < n; j++) [m[k * n + j], m[p * n + j]] = [m[p * n + j], m[k * n + j]];
    const piv = m[k * n + k];
    sum += Math.log(Math.abs(piv));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / piv;
      for (let j = k; j < n; j++) m[i * n + j] -= f * m[k * n + j];
    }
  }
  return sum;
}

/** The Jacobian of the layer's forward map at x, by central differences, as a float64 matrix. */
function numericalLogDet(layer: InvertibleLayer, x: Float32Array, shape: [number, number, number, number]): number {
  const n = x.length;
  const eval1 = (v: Float64Array) =>
    tf.tidy(() => layer.forward(tf.tensor4d(Float32Array.from(v), shape)).output.dataSync()) as Float32Array;
  const jac = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    const plus = Float64Array.from(x);
    const minus = Float64Array.from(x);
    plus[j] += EPS;
    minus[j] -= EPS;
    const fp = eval1(plus);
    const fm = eval1(minus);
    for (let i = 0; i < n; i++) jac[i * n + j] = (fp[i] - fm[i]) / (2 * EPS);
  }
  return logAbsDet(jac, n);
}

before(async () => {
  await tf.setBackend('cpu');
});

describe('log-determinants against a numerical Jacobian (float64 LU)', () => {
  it('HaarDownsampling', () => {
    const shape: [number, number, number, number] = [1, 2, 4, 3];
    const x = tf.randomUniform(shape, 0, 1, 'float32', 1).dataSync() as Float32Array;
    const layer = new HaarDownsampling();
    const analytic = tf.tidy(() => layer.forward(tf.tensor4d(x, shape)).logDet.dataSync()[0]);
    const numeric = numericalLogDet(layer, x, [1, 2, 4, 3]);
    assert.ok(Math.abs(analytic - numeric) < 1e-3, `analytic ${analytic} vs numeric ${numeric}`);
    assert.ok(Math.abs(analytic - 6 * Math.log(1 / 16)) < 1e-4);
  });

  it('AffineCoupling (12 channels, perturbed so that s is far from 0)', () => {
    const shape: [number, number, number, number] = [1, 2, 2, 12];
    const layer = new AffineCoupling({ growth: 4, seed: 2 });
    const x = tf.randomUniform(shape, -1, 1, 'float32', 3).dataSync() as Float32Array;
    tf.tidy(() => {
      layer.forward(tf.tensor4d(x, shape));
    });
    perturbWeights(layer.weights, 4, 0.3);
    const analytic = tf.tidy(() => layer.forward(tf.tensor4d(x, shape)).logDet.dataSync()[0]);
    const numeric = numericalLogDet(layer, x, shape);
    assert.ok(Math.abs(analytic) > 0.1, `log-det ${analytic} is too close to 0 to test anything`);
    assert.ok(Math.abs(analytic - numeric) < LOGDET_TOL, `analytic ${analytic} vs numeric ${numeric}`);
    layer.dispose();
  });
});
