import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own bundle registers no op gradients; tfjs-layers registers them on import.
import '@tensorflow/tfjs-layers';
import { useNodeBackend } from '../backend/node-backend.js';
import { conv2dSame } from './conv.js';
import { CONV2D_BACKPROP_FILTER_BIAS, filterGradKernelAvailable, withFilterGradKernel } from './conv-simd.js';

/**
 * conv2dSame's value and its custom gradient (input gradient from a conv with the flipped
 * kernel, filter gradient from a 'valid' conv with the channels in the batch role) against
 * tfjs's built-in conv2d + bias and their built-in gradients (Conv2DBackpropInput,
 * Conv2DBackpropFilter). tfjs-wasm has no Conv2DBackpropFilter, so the reference is always
 * computed on cpu, from the same numbers; conv2dSame runs on the backend under test, on wasm
 * with core's filter-gradient kernel (conv-simd.ts) and without it.
 * The browser suite checks the same on WebGL and WebGPU (test/browser/conv-grad.test.ts).
 */
const CASES: { x: number[]; k: number; cout: number }[] = [
  { x: [2, 7, 5, 3], k: 3, cout: 4 },
  { x: [1, 6, 6, 9], k: 3, cout: 16 },
  { x: [3, 4, 9, 2], k: 1, cout: 3 },
  { x: [1, 8, 7, 4], k: 5, cout: 2 },
  // The wasm filter-gradient kernel's tiles: output channels in 1 to 4 vectors of 4 and
  // partial vectors, input channels not a multiple of the tile, images smaller than the kernel.
  { x: [2, 5, 6, 67], k: 3, cout: 9 },
  { x: [1, 4, 3, 13], k: 3, cout: 45 },
  { x: [2, 3, 4, 73], k: 3, cout: 3 },
  { x: [1, 1, 1, 5], k: 3, cout: 7 },
  { x: [3, 2, 1, 1], k: 5, cout: 1 },
];

interface Arrays {
  value: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  db: Float32Array;
}

function inputs(c: (typeof CASES)[number], i: number) {
  const x = tf.randomNormal(c.x as [number, number, number, number], 0, 1, 'float32', 10 * i + 1) as tf.Tensor4D;
  const w = tf.randomNormal([c.k, c.k, c.x[3], c.cout], 0, 0.3, 'float32', 10 * i + 2) as tf.Tensor4D;
  const b = tf.randomNormal([c.cout], 0, 1, 'float32', 10 * i + 3) as tf.Tensor1D;
  // A loss that weighs every output element differently, so a misplaced gradient shows.
  const u = tf.randomNormal([...c.x.slice(0, 3), c.cout], 0, 1, 'float32', 10 * i + 4);
  return { x, w, b, u };
}

function run(conv: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor4D, c: (typeof CASES)[number], i: number): Arrays {
  return tf.tidy(() => {
    const { x, w, b, u } = inputs(c, i);
    const value = conv(x, w, b);
    const [dx, dw, db] = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(conv(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D)), u)),
    )([x, w, b]);
    return { value: value.dataSync() as Float32Array, dx: dx.dataSync() as Float32Array, dw: dw.dataSync() as Float32Array, db: db.dataSync() as Float32Array };
  });
}

const builtIn = (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.add(tf.conv2d(x, w, 1, 'same'), b) as tf.Tensor4D;

function assertClose(got: Float32Array, want: Float32Array, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < want.length; i++) {
    scale = Math.max(scale, Math.abs(want[i]));
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
  }
  assert.ok(scale > 0, `${label}: the reference is all zeros`);
  assert.ok(diff <= 1e-5 * scale, `${label}: max difference ${diff} on values up to ${scale}`);
}

describe('conv2dSame against tfjs built-in conv2d and its gradients', () => {
  const reference: Arrays[] = [];
  before(async () => {
    await useNodeBackend('cpu');
    CASES.forEach((c, i) => reference.push(run(builtIn, c, i)));
  });

  for (const [backend, kernel] of [['cpu', false], ['wasm', true], ['wasm', false]] as const) {
    it(`on ${backend}${backend === 'wasm' ? (kernel ? ', filter-gradient kernel' : ', filter gradient from conv2d') : ''}: the value and the gradients of x, the kernel and the bias`, async () => {
      await useNodeBackend(backend);
      assert.equal(withFilterGradKernel(kernel, filterGradKernelAvailable), kernel, 'the filter-gradient kernel runs on wasm only');
      CASES.forEach((c, i) => {
        const got = withFilterGradKernel(kernel, () => run(conv2dSame, c, i));
        const label = `${backend}${kernel ? ' (kernel)' : ''}, x ${c.x}, ${c.k}x${c.k} -> ${c.cout}`;
        assertClose(got.value, reference[i].value, `${label}: value`);
        assertClose(got.dx, reference[i].dx, `${label}: dL/dx`);
        assertClose(got.dw, reference[i].dw, `${label}: dL/dW`);
        assertClose(got.db, reference[i].db, `${label}: dL/db`);
      });
    });
  }

  it('runs no Conv2DBackpropFilter or Conv2DBackpropInput kernel (wasm has none)', async () => {
    await useNodeBackend('wasm');
    const { x, w, b } = tf.tidy(() => inputs(CASES[0], 0));
    const profile = await tf.profile(() => tf.grads((xi: tf.Tensor, wi: tf.Tensor) => tf.sum(conv2dSame(xi as tf.Tensor4D, wi as tf.Tensor4D, b)))([x, w]));
    const names = profile.kernels.map((k) => k.name);
    assert.ok(names.includes('Conv2D') || names.includes('FusedConv2D'), names.join(' '));
    assert.ok(!names.some((n) => n.startsWith('Conv2DBackprop')), names.join(' '));
    // The filter and bias gradients in one kernel call: no pad, the only transpose is the
    // flipped kernel's (for dL/dx), and the only sum the loss's.
    assert.equal(names.filter((n) => n === CONV2D_BACKPROP_FILTER_BIAS).length, 1, names.join(' '));
    assert.ok(!names.includes('PadV2'), names.join(' '));
    assert.equal(names.filter((n) => n === 'Sum').length, 1, names.join(' '));
    assert.equal(names.filter((n) => n === 'Transpose').length, 1, names.join(' '));
    tf.dispose([x, w, b, ...(profile.result as tf.Tensor[])]);
  });
});
