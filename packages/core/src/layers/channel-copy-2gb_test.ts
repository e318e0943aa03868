import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { useNodeBackend } from '../backend/node-backend.js';
import { concatChannels, concatFusesLeakyRelu, splitChannels } from './concat-channels.js';
import { conv2dSame } from './conv.js';
import { conv2dFilterBiasGrad, conv2dSameBias, withFilterGradKernel } from './conv-simd.js';

// A file of its own: it grows the wasm heap past 2 GB, which a process never gets back.
// Above 2 GB, pointers are negative as signed i32, which is what tfjs-wasm's _malloc returns;
// the SIMD channel copy must still find its descriptor and the tensors (a page ran into this
// at x4 on 4 MP images: "Start offset -1500553832 is outside the bounds of the buffer").
interface Heap {
  _malloc(n: number): number;
  _free(p: number): void;
}

describe('the SIMD channel copy and conv kernels above 2 GB of wasm memory', () => {
  before(async () => {
    await useNodeBackend('wasm');
  });

  it('concatenate, split and convolve tensors that live above 2 GB', () => {
    const m = (tf.backend() as unknown as { wasm: Heap }).wasm;
    const held: number[] = [];
    const grab = (bytes: number) => {
      const p = m._malloc(bytes) >>> 0;
      assert.ok(p !== 0, `could not allocate ${bytes} bytes of wasm memory`);
      held.push(p);
      return p;
    };
    try {
      grab(2200 * 2 ** 20);
      // Fill what is left below 2 GB, so that every later allocation (the tensors, the copy
      // kernel's descriptor) lands above it.
      for (const size of [2 ** 20, 2 ** 16, 2 ** 12, 256, 16]) {
        for (let i = 0; i < 100000 && grab(size) < 2 ** 31; i++);
      }
      assert.ok(concatFusesLeakyRelu(), 'the SIMD copy kernel runs (else this test would check the JavaScript path)');
      tf.tidy(() => {
        const ts = [9, 16, 1, 16].map((c, i) => tf.randomNormal([1, 8, 8, c], 0, 1, 'float32', 70 + i));
        const offset = (tf.backend() as unknown as { typedArrayFromHeap(t: tf.TensorInfo): Float32Array }).typedArrayFromHeap(ts[0]).byteOffset;
        assert.ok(offset >= 2 ** 31, `the tensors are above 2 GB (at ${offset})`);
        const leaky = [false, true, false, true];
        const want = tf.concat(ts.map((t, i) => (leaky[i] ? tf.leakyRelu(t, 0.2) : t)), -1);
        const got = concatChannels(ts, { leaky, alpha: 0.2 });
        assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()));
        const plain = tf.concat(ts, -1);
        splitChannels(plain, [9, 16, 1, 16]).forEach((p, i) => {
          assert.deepEqual(Array.from(p.dataSync()), Array.from(ts[i].dataSync()), `part ${i}`);
        });
        // The gradient's split with LeakyReLU's derivative reads its masks up there too.
        const w = tf.randomNormal(want.shape, 0, 1, 'float32', 79);
        const got2 = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(concatChannels(xs, { leaky, alpha: 0.2 }), w)))(ts);
        const want2 = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(xs.map((t, i) => (leaky[i] ? tf.leakyRelu(t, 0.2) : t)), -1), w)))(ts);
        got2.forEach((g, i) => assert.deepEqual(Array.from(g.dataSync()), Array.from(want2[i].dataSync()), `gradient ${i}`));
        // Core's conv kernels (conv-simd.ts) find their tensors, scratch and padded copies up there too.
        const x = tf.randomNormal([1, 6, 5, 19], 0, 1, 'float32', 80) as tf.Tensor4D;
        const f = tf.randomNormal([3, 3, 19, 9], 0, 0.2, 'float32', 81) as tf.Tensor4D;
        const b = tf.randomNormal([9], 0, 1, 'float32', 82) as tf.Tensor1D;
        const conv = conv2dSameBias(x, f, b);
        assert.ok(conv, 'the forward conv kernel runs');
        assert.deepEqual(Array.from(conv.dataSync()), Array.from(tf.fused.conv2d({ x, filter: f, bias: b, strides: 1, pad: 'same' }).dataSync()));
        const dy = tf.randomNormal([1, 6, 5, 9], 0, 1, 'float32', 83) as tf.Tensor4D;
        const grads = conv2dFilterBiasGrad(x, dy, 3);
        assert.ok(grads, 'the filter-gradient kernel runs');
        // The reference: the filter gradient as a conv with the batch in the channel role.
        const ref = withFilterGradKernel(false, () => tf.grads((fi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(conv2dSame(x, fi as tf.Tensor4D, bi as tf.Tensor1D), dy)))([f, b]));
        grads.forEach((g, i) => {
          const a = g.dataSync() as Float32Array;
          const r = ref[i].dataSync() as Float32Array;
          const scale = r.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert.ok(a.length === r.length && a.every((v, j) => Math.abs(v - r[j]) <= 1e-5 * scale), `conv gradient ${i}`);
        });
      });
    } finally {
      held.forEach((p) => m._free(p));
    }
  });
});
