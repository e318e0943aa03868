import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../backend/node-backend.js';
import { CONV_FORWARD_WASM } from './conv-forward-wasm.js';
import { FILTER_GRAD_WASM } from './filter-grad-wasm.js';
import {
  CONV2D_BACKPROP_FILTER_BIAS,
  CONV2D_SAME_BIAS,
  MIN_FORWARD_REDUCTION,
  conv2dFilterBiasGrad,
  conv2dSameBias,
  convForwardKernelRuns,
  readable,
  withConvForwardKernel,
} from './conv-simd.js';
import { heapModule, type HeapModule } from './wasm-heap.js';
// @ts-expect-error: a plain .mjs build script without types
import { MODULES, compileModule, watOf } from '../../scripts/build-wasm.mjs';

/**
 * Calls `f(p, q, tap)` for every output pixel p of a stride-1 'same' conv over [n, h, w],
 * every kernel tap (kh k + kw) and the input pixel q that the tap reads, where q is inside
 * the image (zero padding). Pixels are flat indices over [n, h, w].
 */
function forEachTap(n: number, h: number, w: number, k: number, f: (p: number, q: number, tap: number) => void): void {
  const pad = (k - 1) / 2;
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        for (let kh = 0; kh < k; kh++) {
          const ii = i + kh - pad;
          if (ii < 0 || ii >= h) continue;
          for (let kw = 0; kw < k; kw++) {
            const jj = j + kw - pad;
            if (jj >= 0 && jj < w) f((b * h + i) * w + j, (b * h + ii) * w + jj, kh * k + kw);
          }
        }
}

/** dw [k, k, cin, cout] and db [cout] of a stride-1 'same' conv, in float64, from the definition. */
function reference(x: Float32Array, dy: Float32Array, [n, h, w, cin]: number[], cout: number, k: number) {
  const dw = new Float64Array(k * k * cin * cout);
  const db = new Float64Array(cout);
  for (let p = 0; p < n * h * w; p++) for (let co = 0; co < cout; co++) db[co] += dy[p * cout + co];
  forEachTap(n, h, w, k, (p, q, tap) => {
    for (let ci = 0; ci < cin; ci++)
      for (let co = 0; co < cout; co++) dw[(tap * cin + ci) * cout + co] += x[q * cin + ci] * dy[p * cout + co];
  });
  return { dw, db };
}

function assertClose(got: Float32Array, want: Float64Array, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-5 * scale + 1e-6, `${label}: element ${i} is ${got[i]}, want ${v}`));
}

const CASES: { shape: [number, number, number, number]; cout: number; k: number }[] = [
  { shape: [2, 6, 5, 16], cout: 16, k: 3 }, // 4 vectors, whole tiles
  { shape: [1, 5, 7, 67], cout: 9, k: 3 }, // 3 vectors, last partial
  { shape: [2, 4, 4, 73], cout: 3, k: 3 }, // 1 partial vector
  { shape: [1, 3, 5, 6], cout: 22, k: 3 }, // 4 + 2 vectors
  { shape: [1, 4, 3, 109], cout: 45, k: 3 }, // 4 + 4 + 3 vectors
  { shape: [3, 7, 6, 5], cout: 13, k: 5 },
  { shape: [2, 3, 3, 7], cout: 5, k: 1 },
  { shape: [1, 1, 1, 2], cout: 1, k: 3 }, // one pixel: only the kernel's centre
  { shape: [1, 2, 1, 3], cout: 2, k: 5 }, // an image smaller than the kernel
];

describe('conv-forward.wat and filter-grad.wat', () => {
  it('the committed .wat files are the generator output and the committed bytes are them compiled (run `pnpm --filter @irn/core run build:wasm`)', async () => {
    for (const [name, bytes] of [['conv-forward', CONV_FORWARD_WASM], ['filter-grad', FILTER_GRAD_WASM]]) {
      assert.equal(readFileSync(MODULES[name].wat, 'utf8'), watOf(name), name);
      assert.equal(bytes, await compileModule(name), name);
      // Chromium compiles at most 4 KB synchronously on a page's main thread.
      assert.ok(atob(bytes).length <= 4096, `${name}: ${atob(bytes).length} bytes`);
    }
  });
});

/** conv2d(x, w, 'same') + b in float64, from the definition. */
function forwardReference(x: Float32Array, wt: Float32Array, bias: Float32Array, [n, h, w, cin]: number[], cout: number, k: number): Float64Array {
  const out = new Float64Array(n * h * w * cout);
  for (let p = 0; p < n * h * w; p++) for (let co = 0; co < cout; co++) out[p * cout + co] = bias[co];
  forEachTap(n, h, w, k, (p, q, tap) => {
    for (let ci = 0; ci < cin; ci++)
      for (let co = 0; co < cout; co++) out[p * cout + co] += x[q * cin + ci] * wt[(tap * cin + ci) * cout + co];
  });
  return out;
}

const FORWARD_CASES: { shape: [number, number, number, number]; cout: number; k: number }[] = [
  { shape: [2, 7, 9, 19], cout: 16, k: 3 }, // 4 vectors, 2-pixel tiles with a leftover column
  { shape: [1, 5, 6, 67], cout: 9, k: 3 }, // 3 vectors, the last with one channel
  { shape: [2, 4, 5, 73], cout: 3, k: 3 }, // 1 partial vector, 4-pixel tiles
  { shape: [1, 3, 11, 16], cout: 73, k: 3 }, // 4 + 4 + 4 + 4 + 3 vectors, partial
  { shape: [1, 6, 5, 25], cout: 22, k: 3 }, // 4 + 2 vectors, the last with two channels
  { shape: [2, 9, 8, 6], cout: 7, k: 5 }, // a 5x5 kernel: two edge columns each side
  { shape: [1, 2, 3, 130], cout: 5, k: 1 },
  { shape: [1, 1, 1, 20], cout: 6, k: 3 }, // one pixel
  { shape: [1, 1, 7, 15], cout: 1, k: 5 }, // one row, one output channel
];

describe('the wasm forward conv kernel', () => {
  before(async () => {
    await useNodeBackend('wasm');
  });

  it('writes exactly the output, equal to the definition, and leaves the bytes around it as they were', () => {
    const heap = heapModule((tf.backend() as unknown as { wasm: unknown }).wasm, CONV_FORWARD_WASM);
    assert.ok(heap, 'the kernel instantiates on the backend memory');
    const GUARD = 64;
    const FILL = -12345.5;
    for (const { shape, cout, k } of FORWARD_CASES) {
      const [n, h, w, cin] = shape;
      const x = Float32Array.from({ length: n * h * w * cin }, (_, i) => Math.sin(i * 1.3) * 2);
      const wt = Float32Array.from({ length: k * k * cin * cout }, (_, i) => Math.cos(i * 0.7) * 0.3);
      const bias = Float32Array.from({ length: Math.ceil(cout / 4) * 4 }, (_, i) => (i < cout ? i - 2.5 : 0));
      const want = forwardReference(x, wt, bias, shape, cout, k);
      const sizes = { x: x.length, wt: wt.length, bias: bias.length, out: want.length };
      const ptrs = Object.fromEntries(Object.entries(sizes).map(([name, f]) => [name, heap.malloc(4 * (f + 2 * GUARD))])) as Record<keyof typeof sizes, number>;
      try {
        const body = (name: keyof typeof sizes) => ptrs[name] + 4 * GUARD;
        const f32 = (): Float32Array => new Float32Array(heap.memory.buffer);
        for (const name of Object.keys(sizes) as (keyof typeof sizes)[]) f32().fill(FILL, body(name) / 4 - GUARD, body(name) / 4 + sizes[name] + GUARD);
        f32().set(x, body('x') / 4);
        f32().set(wt, body('wt') / 4);
        f32().set(bias, body('bias') / 4);
        (heap.exports.conv2d as (...a: number[]) => void)(body('x'), body('wt'), body('bias'), body('out'), n, h, w, cin, cout, k);
        const label = `x [${shape}], ${k}x${k} -> ${cout}`;
        const got = f32().slice(body('out') / 4, body('out') / 4 + want.length);
        const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-5 * scale, `${label}: element ${i} is ${got[i]}, want ${v}`));
        for (let g = 1; g <= GUARD; g++) {
          assert.equal(f32()[body('out') / 4 - g], FILL, `${label}: guard before`);
          assert.equal(f32()[body('out') / 4 + want.length + g - 1], FILL, `${label}: guard after`);
        }
      } finally {
        for (const p of Object.values(ptrs)) heap.free(p);
      }
    }
  });

  it('equals tfjs-wasm\'s conv2d (XNNPACK) bit for bit on the models\' shapes, with and without bias', () => {
    // Every forward and input-gradient conv shape of the default x2 and x4 models that the
    // kernel takes (reduction k k cin >= 128).
    const shapes = [[19, 16], [25, 16], [35, 16], [41, 16], [51, 16], [57, 16], [67, 9], [73, 3], [16, 9], [16, 25], [16, 41], [16, 57], [16, 19], [16, 35], [16, 51], [16, 67], [16, 73], [61, 45], [109, 45], [16, 45], [16, 61], [16, 109]];
    tf.tidy(() => {
      for (const [cin, cout] of shapes) {
        assert.ok(convForwardKernelRuns(3, cin), `the kernel takes ${cin} channels`);
        const x = tf.randomNormal([2, 13, 10, cin], 0, 1, 'float32', cin) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, cin, cout], 0, 0.2, 'float32', cout) as tf.Tensor4D;
        const b = tf.randomNormal([cout], 0, 1, 'float32', 7) as tf.Tensor1D;
        const got = conv2dSameBias(x, w, b)!;
        const gotNoBias = conv2dSameBias(x, w)!;
        assert.deepEqual(got.dataSync(), tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' }).dataSync(), `${cin} -> ${cout} with bias`);
        assert.deepEqual(gotNoBias.dataSync(), tf.conv2d(x, w, 1, 'same').dataSync(), `${cin} -> ${cout} without bias`);
      }
    });
  });

  it('runs only where the reduction is 128 or more, on wasm, and when on; clear errors for bad inputs', () => {
    assert.equal(MIN_FORWARD_REDUCTION, 128);
    assert.ok(convForwardKernelRuns(3, 15) && !convForwardKernelRuns(3, 14) && convForwardKernelRuns(1, 128) && !convForwardKernelRuns(1, 127));
    assert.ok(!withConvForwardKernel(false, () => convForwardKernelRuns(3, 64)));
    tf.tidy(() => {
      const x = tf.randomNormal([1, 4, 4, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
      assert.equal(conv2dSameBias(x, tf.zeros([3, 3, 8, 4]) as tf.Tensor4D), null, '3 x 3 x 8 is below the threshold');
      const run = (inputs: tf.NamedTensorMap) => tf.engine().runKernel(CONV2D_SAME_BIAS, inputs);
      assert.throws(() => run({ x, filter: tf.zeros([3, 3, 7, 4]) }), /expects 7 input channels, x has 8/);
      assert.throws(() => run({ x, filter: tf.zeros([2, 2, 8, 4]) }), /k x k with k odd/);
      assert.throws(() => run({ x, filter: tf.zeros([3, 3, 8, 4]), bias: tf.zeros([5]) }), /bias \[5\] for 4 output channels/);
      assert.throws(() => run({ x: tf.zeros([4, 4, 8]), filter: tf.zeros([3, 3, 8, 4]) }), /rank 4/);
      // Small shapes the kernel is not chosen for still compute right when asked directly.
      const direct = run({ x, filter: tf.ones([3, 3, 8, 4]), bias: tf.fill([4], 0.5) }) as tf.Tensor;
      const want = tf.fused.conv2d({ x, filter: tf.ones([3, 3, 8, 4]) as tf.Tensor4D, bias: tf.fill([4], 0.5), strides: 1, pad: 'same' });
      const d = direct.dataSync();
      want.dataSync().forEach((v, i) => assert.ok(Math.abs(d[i] - v) <= 1e-5 * Math.abs(v) + 1e-6, `element ${i}`));
      // No input channels: the bias everywhere.
      assert.deepEqual([...(run({ x: tf.zeros([1, 2, 2, 0]), filter: tf.zeros([3, 3, 0, 3]), bias: tf.tensor1d([1, 2, 3]) }) as tf.Tensor).dataSync()], [1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3]);
    });
  });
});

describe('the wasm filter-gradient kernel', () => {
  before(async () => {
    await useNodeBackend('wasm');
  });

  it('writes exactly dw and db, equal to the definition, and nothing around them or its scratch', () => {
    const heap = heapModule((tf.backend() as unknown as { wasm: unknown }).wasm, FILTER_GRAD_WASM);
    assert.ok(heap, 'the kernel instantiates on the backend memory');
    const GUARD = 64; // floats of guard pattern before and after every written buffer
    const FILL = -12345.5;
    for (const { shape, cout, k } of CASES) {
      const [n, h, w, cin] = shape;
      const pixels = n * h * w;
      const x = Float32Array.from({ length: pixels * cin }, (_, i) => Math.sin(i * 1.7) * 2);
      const dy = Float32Array.from({ length: pixels * cout }, (_, i) => Math.cos(i * 0.9));
      const want = reference(x, dy, shape, cout, k);
      const scratchFloats = k * k * Math.ceil(cin / 4) * 4 * Math.ceil(cout / 4) * 4;
      const sizes = { x: x.length, dy: dy.length, dw: want.dw.length, db: cout, scratch: scratchFloats };
      const ptrs = Object.fromEntries(Object.entries(sizes).map(([name, f]) => [name, heap.malloc(4 * (f + 2 * GUARD) + 16)])) as Record<keyof typeof sizes, number>;
      try {
        const body = (name: keyof typeof sizes) => (((ptrs[name] + 15) & ~15) >>> 0) + 4 * GUARD;
        const f32 = (): Float32Array => new Float32Array(heap.memory.buffer);
        for (const name of Object.keys(sizes) as (keyof typeof sizes)[]) f32().fill(FILL, body(name) / 4 - GUARD, body(name) / 4 + sizes[name] + GUARD);
        f32().set(x, body('x') / 4);
        f32().set(dy, body('dy') / 4);
        (heap.exports.filterGrad as (...a: number[]) => void)(body('x'), body('dy'), body('scratch'), body('dw'), n, h, w, cin, cout, k);
        (heap.exports.columnSums as (...a: number[]) => void)(body('dy'), body('db'), pixels, cout);
        const label = `x [${shape}], ${k}x${k} -> ${cout}`;
        assertClose(f32().slice(body('dw') / 4, body('dw') / 4 + want.dw.length), want.dw, `${label}: dw`);
        assertClose(f32().slice(body('db') / 4, body('db') / 4 + cout), want.db, `${label}: db`);
        for (const name of ['dw', 'db', 'scratch'] as const) {
          const at = body(name) / 4;
          for (let g = 1; g <= GUARD; g++) {
            assert.equal(f32()[at - g], FILL, `${label}: ${name} guard before`);
            assert.equal(f32()[at + sizes[name] + g - 1], FILL, `${label}: ${name} guard after`);
          }
        }
        // Inputs are read only.
        assert.deepEqual(f32().slice(body('x') / 4, body('x') / 4 + x.length), x, `${label}: x changed`);
      } finally {
        for (const p of Object.values(ptrs)) heap.free(p);
      }
    }
  });

  it('as a tfjs kernel: the same gradients, and clear errors for bad inputs', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 4, 11], 0, 1, 'float32', 1) as tf.Tensor4D;
      const dy = tf.randomNormal([2, 5, 4, 6], 0, 1, 'float32', 2) as tf.Tensor4D;
      const got = conv2dFilterBiasGrad(x, dy, 3);
      assert.ok(got, 'the kernel runs on wasm');
      const want = reference(x.dataSync() as Float32Array, dy.dataSync() as Float32Array, x.shape, 6, 3);
      assert.deepEqual(got[0].shape, [3, 3, 11, 6]);
      assert.deepEqual(got[1].shape, [6]);
      assertClose(got[0].dataSync() as Float32Array, want.dw, 'dw');
      assertClose(got[1].dataSync() as Float32Array, want.db, 'db');
      const run = (inputs: tf.NamedTensorMap, k: number) => tf.engine().runKernel(CONV2D_BACKPROP_FILTER_BIAS, inputs, { k } as unknown as tf.NamedAttrMap);
      assert.throws(() => run({ x, dy: tf.zeros([2, 5, 3, 6]) }, 3), /same n, h, w/);
      assert.throws(() => run({ x, dy }, 2), /kernel size 2/);
      assert.throws(() => run({ x: tf.zeros([2, 5, 4, 11], 'int32'), dy }, 3), /float32 only/);
      // Empty batch: zero gradients, no call into the kernel.
      const [dw0, db0] = run({ x: tf.zeros([0, 5, 4, 3]), dy: tf.zeros([0, 5, 4, 2]) }, 3) as tf.Tensor[];
      assert.deepEqual([...dw0.dataSync(), ...db0.dataSync()], new Array(3 * 3 * 3 * 2 + 2).fill(0));
    });
  });

  it('reads a tensor in place when 16 bytes after it are inside the memory, else from a padded copy', () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    let next = 1024;
    const fake: HeapModule = {
      exports: {},
      memory,
      malloc: (bytes) => {
        const p = next;
        next += bytes + 64;
        return p;
      },
      free: () => {},
    };
    new Uint8Array(memory.buffer).set([1, 2, 3, 4, 5, 6, 7, 8], 65536 - 8);
    const copies: number[] = [];
    assert.equal(readable(fake, 4096, 400, copies), 4096);
    assert.equal(readable(fake, 65536 - 400 - 16, 400, copies), 65536 - 416);
    assert.deepEqual(copies, []);
    const at = readable(fake, 65536 - 8, 8, copies);
    assert.notEqual(at, 65536 - 8);
    assert.deepEqual(copies, [at]);
    assert.ok(at + 8 + 16 <= memory.buffer.byteLength);
    assert.deepEqual([...new Uint8Array(memory.buffer, at, 8)], [1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
