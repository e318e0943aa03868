import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../backend/node-backend.js';
import { FILTER_GRAD_WASM } from './filter-grad-wasm.js';
import { CONV2D_BACKPROP_FILTER_BIAS, conv2dFilterBiasGrad, readable } from './filter-grad.js';
import { heapModule, type HeapModule } from './wasm-heap.js';
// @ts-expect-error: a plain .mjs build script without types
import { MODULES, compileModule, watOf } from '../../scripts/build-wasm.mjs';

/** dw [k, k, cin, cout] and db [cout] of a stride-1 'same' conv, in float64, from the definition. */
function reference(x: Float32Array, dy: Float32Array, [n, h, w, cin]: number[], cout: number, k: number) {
  const pad = (k - 1) / 2;
  const dw = new Float64Array(k * k * cin * cout);
  const db = new Float64Array(cout);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++) {
        const d = ((b * h + i) * w + j) * cout;
        for (let co = 0; co < cout; co++) db[co] += dy[d + co];
        for (let kh = 0; kh < k; kh++) {
          const ii = i + kh - pad;
          if (ii < 0 || ii >= h) continue;
          for (let kw = 0; kw < k; kw++) {
            const jj = j + kw - pad;
            if (jj < 0 || jj >= w) continue;
            const xo = ((b * h + ii) * w + jj) * cin;
            for (let ci = 0; ci < cin; ci++)
              for (let co = 0; co < cout; co++) dw[((kh * k + kw) * cin + ci) * cout + co] += x[xo + ci] * dy[d + co];
          }
        }
      }
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

describe('filter-grad.wat', () => {
  it('the committed .wat is the generator output and the committed bytes are it compiled (run `pnpm --filter @irn/core run build:wasm`)', async () => {
    assert.equal(readFileSync(MODULES['filter-grad'].wat, 'utf8'), watOf('filter-grad'));
    assert.equal(FILTER_GRAD_WASM, await compileModule('filter-grad'));
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
