import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import { useNodeBackend } from '../backend/node-backend.js';
import { CHANNEL_COPY_WASM } from './channel-copy-wasm.js';
import { channelCopier, setChannelCopyEnabled, withChannelCopy, type CopyRecord } from './channel-copy.js';
import { LEAKY_GRAD_SPLIT, concatChannels, concatFusesLeakyRelu, splitChannels } from './concat-channels.js';
import { DenseBlock, setFusedInference } from './dense-block.js';
// @ts-expect-error: a plain .mjs build script without types
import { compileModule } from '../../scripts/build-wasm.mjs';

interface Heap {
  asm: { memory: WebAssembly.Memory };
  _malloc(n: number): number;
  _free(p: number): void;
}
const heapOf = () => (tf.backend() as unknown as { wasm: Heap }).wasm;
const leakyRelu = (v: number, alpha: number) => (v < 0 ? Math.fround(v * alpha) : v);

/** A wasm-heap buffer of `floats` floats between two guard zones of `guard` floats, all set to `fill`. */
interface Guarded {
  ptr: number;
  body: number;
  floats: number;
}
function guarded(m: Heap, floats: number, guard: number, fill: number): Guarded {
  const ptr = m._malloc(4 * (floats + 2 * guard));
  new Float32Array(m.asm.memory.buffer, ptr, floats + 2 * guard).fill(fill);
  return { ptr, body: ptr + 4 * guard, floats };
}
/** Every guard zone still holds `fill`. */
function assertGuards(m: Heap, buffers: Guarded[], guard: number, fill: number, label: string): void {
  const heap = new Float32Array(m.asm.memory.buffer);
  for (const b of buffers) {
    for (let g = 0; g < guard; g++) {
      assert.equal(heap[b.ptr / 4 + g], fill, `${label}: guard before`);
      assert.equal(heap[b.body / 4 + b.floats + g], fill, `${label}: guard after`);
    }
  }
}

describe('channel-copy.wat', () => {
  it('the committed bytes are the .wat compiled (run `pnpm --filter @irn/core run build:wasm` after editing it)', async () => {
    assert.equal(CHANNEL_COPY_WASM, await compileModule('channel-copy'));
  });
});

describe('the SIMD channel copy on wasm', () => {
  before(async () => {
    await useNodeBackend('wasm');
  });

  it('copies exactly the records, writes nothing outside them, and applies LeakyReLU or its derivative where asked', () => {
    const m = heapOf();
    const copier = channelCopier(m);
    assert.ok(copier, 'the kernel instantiates on the backend memory');
    const GUARD = 64; // floats of guard pattern before and after every buffer
    // (channels per input, pixels): the 1- and 2-channel cases make strides below 12 bytes,
    // where the last pixels must copy exactly; one pixel copies exactly only.
    const cases: [number[], number][] = [
      [[9, 16, 16], 37],
      [[1, 2, 3], 11],
      [[1], 5],
      [[3, 1], 1],
      [[5, 7, 4, 13], 2],
      [[2, 2], 3],
    ];
    for (const [channels, pixels] of cases) {
      const total = channels.reduce((a, b) => a + b, 0);
      const alloc = (floats: number) => guarded(m, floats, GUARD, -12345.5);
      const srcs = channels.map((c) => alloc(c * pixels));
      const masks = channels.map((c) => alloc(c * pixels));
      const dst = alloc(total * pixels);
      srcs.forEach((s, i) => {
        const v = new Float32Array(m.asm.memory.buffer, s.body, s.floats);
        for (let j = 0; j < v.length; j++) v[j] = (j % 3 === 0 ? -1 : 1) * (i * 1000 + j + 0.25);
        // The LeakyReLU inputs for the gradient: positive, negative and zero.
        const mk = new Float32Array(m.asm.memory.buffer, masks[i].body, masks[i].floats);
        for (let j = 0; j < mk.length; j++) mk[j] = [1.5, -2, 0, 3][(j * 7 + i) % 4];
      });
      // Inputs cycle through the three modes.
      const modes = ['copy', 'leaky', 'leakyGrad'] as const;
      let offset = 0;
      const records: CopyRecord[] = channels.map((c, i) => {
        const r: CopyRecord = { src: srcs[i].body, srcStride: 4 * c, dst: dst.body + 4 * offset, dstStride: 4 * total, bytes: 4 * c, mode: modes[i % 3] };
        if (r.mode === 'leakyGrad') Object.assign(r, { mask: masks[i].body, maskStride: 4 * c });
        offset += c;
        return r;
      });
      copier.run(records, pixels, 0.2);
      const heap = new Float32Array(m.asm.memory.buffer);
      const label = `channels ${channels}, ${pixels} px`;
      assertGuards(m, [...srcs, ...masks, dst], GUARD, -12345.5, label);
      const alpha = Math.fround(0.2);
      offset = 0;
      channels.forEach((c, i) => {
        for (let p = 0; p < pixels; p++) {
          for (let ch = 0; ch < c; ch++) {
            const v = heap[srcs[i].body / 4 + p * c + ch];
            const mk = heap[masks[i].body / 4 + p * c + ch];
            const want = modes[i % 3] === 'leaky' ? leakyRelu(v, alpha) : modes[i % 3] === 'leakyGrad' && !(mk > 0) ? Math.fround(v * alpha) : v;
            assert.equal(heap[dst.body / 4 + p * total + offset + ch], want, `${label}: input ${i} (${modes[i % 3]}), pixel ${p}, channel ${ch}`);
          }
        }
        offset += c;
      });
      [...srcs, ...masks, dst].forEach((b) => m._free(b.ptr));
    }
  });

  it('concatChannels and splitChannels equal tf.concat and tf.split on both paths (SIMD and JavaScript)', () => {
    const cases: number[][] = [
      [9, 16, 16, 16, 16],
      [1, 1, 2],
      [3, 1],
      [2, 5, 7],
    ];
    for (const simd of [true, false]) {
      withChannelCopy(simd, () => {
        for (const [k, channels] of cases.entries()) {
          for (const lead of [[1, 7, 5], [2, 1, 1], [3, 4]]) {
            tf.tidy(() => {
              const ts = channels.map((c, i) => tf.randomNormal([...lead, c], 0, 1, 'float32', 100 * k + i));
              const want = tf.concat(ts, -1);
              const got = concatChannels(ts);
              const label = `SIMD ${simd}, case ${k}, lead ${lead}`;
              assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()), label);
              splitChannels(want, channels).forEach((part, i) => {
                assert.deepEqual(Array.from(part.dataSync()), Array.from(ts[i].dataSync()), `${label}, part ${i}`);
              });
            });
          }
        }
      });
    }
  });

  it('concatChannels with LeakyReLU equals tf.leakyRelu then tf.concat, in one kernel when the tape is off', async () => {
    const ts = [3, 16, 16, 1].map((c, i) => tf.randomNormal([2, 6, 5, c], 0, 1, 'float32', 40 + i));
    const activation = { leaky: [false, true, false, true], alpha: 0.2 };
    const want = tf.tidy(() => tf.concat(ts.map((t, i) => (activation.leaky[i] ? tf.leakyRelu(t, 0.2) : t)), -1));
    assert.ok(concatFusesLeakyRelu());
    const before = tf.memory().numTensors;
    const got = concatChannels(ts, activation);
    assert.equal(tf.memory().numTensors, before + 1, 'no intermediate tensors');
    assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()));
    const profile = await tf.profile(() => concatChannels(ts, activation));
    assert.deepEqual(profile.kernelNames, ['IrnConcatChannelsLeaky']);
    // Under the tape too; the gradient applies LeakyReLU's derivative as it splits dy.
    const w = tf.randomNormal(want.shape, 0, 1, 'float32', 49);
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(concatChannels([a, b], { leaky: [false, true], alpha: 0.2 }), tf.slice(w, [0, 0, 0, 0], [2, 6, 5, 19]))))([ts[0], ts[1]]);
    const gTf = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.concat([a, tf.leakyRelu(b, 0.2)], -1), tf.slice(w, [0, 0, 0, 0], [2, 6, 5, 19]))))([ts[0], ts[1]]);
    g.forEach((t, i) => assert.deepEqual(Array.from(t.dataSync()), Array.from(gTf[i].dataSync()), `gradient ${i}`));
    const gradProfile = await tf.profile(() =>
      tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(concatChannels([a, b], { leaky: [false, true], alpha: 0.2 })))([ts[0], ts[1]]),
    );
    const gradKernels = gradProfile.kernels.map((k) => k.name);
    assert.ok(gradKernels.includes('IrnConcatChannelsLeaky') && gradKernels.includes('IrnSplitChannelsLeakyGrad'), gradKernels.join(' '));
    assert.ok(!gradKernels.some((n) => ['LeakyRelu', 'Greater', 'Select', 'SelectV2'].includes(n)), gradKernels.join(' '));
    tf.dispose(gradProfile.result as tf.Tensor[]);
    assert.throws(() => concatChannels(ts, { leaky: [true], alpha: 0.2 }), /1 LeakyReLU flags for 4 tensors/);
    tf.dispose([...ts, want, got, profile.result as tf.Tensor, w, ...g, ...gTf]);
  });

  it('a dense block infers with LeakyReLU inside its concatenations: no LeakyRelu kernel, the same output', async () => {
    const block = new DenseBlock({ outChannels: 9, growth: 16, seed: 3 });
    const x = tf.randomNormal([1, 12, 10, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    block.build(x.shape);
    // conv5 starts at zero: give every weight a value so that the output depends on all of them.
    block.weights.forEach((w, i) => w.write(tf.randomNormal(w.shape as number[], 0, 0.2, 'float32', 60 + i)));
    const { kernels, result } = await tf.profile(() => block.apply(x) as tf.Tensor);
    const names = kernels.map((k) => k.name);
    assert.ok(!names.includes('LeakyRelu'), names.join(' '));
    assert.equal(names.filter((n) => n === 'IrnConcatChannelsLeaky').length, 4, names.join(' '));
    // conv + bias in one kernel each: core's SIMD conv where the reduction is large enough
    // (3 x 3 x 19 and up), XNNPACK's FusedConv2D for the first (3 x 3 x 3).
    assert.equal(names.filter((n) => n === 'FusedConv2D').length, 1, names.join(' '));
    assert.equal(names.filter((n) => n === 'IrnConv2D').length, 4, names.join(' '));
    setFusedInference(false);
    try {
      const plain = block.apply(x) as tf.Tensor;
      const [diff, scale] = tf.tidy(() => [tf.max(tf.abs(tf.sub(result as tf.Tensor, plain))).dataSync()[0], tf.max(tf.abs(plain)).dataSync()[0]]);
      assert.ok(scale > 1, `the output has magnitude (${scale})`);
      assert.ok(diff / scale < 1e-6, `max difference ${diff} on values up to ${scale}`);
      plain.dispose();
    } finally {
      setFusedInference(true);
    }
    tf.dispose([x, result as tf.Tensor]);
  });

  it('a dense block trains through the fused concatenations: the same gradients as tfjs ops on cpu', async () => {
    const grads = async (backend: 'wasm' | 'cpu') => {
      await useNodeBackend(backend);
      const block = new DenseBlock({ outChannels: 9, growth: 16, seed: 3 });
      const x = tf.randomNormal([2, 9, 7, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
      block.build(x.shape);
      block.weights.forEach((w, i) => w.write(tf.randomNormal(w.shape as number[], 0, 0.2, 'float32', 60 + i)));
      const u = tf.randomNormal([2, 9, 7, 9], 0, 1, 'float32', 6);
      const vars = block.weights.map((w) => w.read() as tf.Variable);
      const profile = await tf.profile(() => tf.variableGrads(() => tf.sum(tf.mul(block.apply(x) as tf.Tensor, u)) as tf.Scalar, vars).grads);
      const out = vars.map((v) => (profile.result as tf.NamedTensorMap)[v.name].dataSync() as Float32Array);
      const names = profile.kernels.map((k) => k.name);
      tf.dispose([x, u, ...Object.values(profile.result as tf.NamedTensorMap)]);
      return { out, names };
    };
    const wasm = await grads('wasm');
    assert.ok(wasm.names.includes('IrnSplitChannelsLeakyGrad') && !wasm.names.includes('LeakyRelu'), wasm.names.join(' '));
    const cpu = await grads('cpu');
    assert.ok(cpu.names.includes('LeakyRelu'), 'cpu takes tfjs ops');
    await useNodeBackend('wasm');
    assert.equal(wasm.out.length, 10);
    wasm.out.forEach((g, i) => {
      const scale = cpu.out[i].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      const diff = g.reduce((m, v, j) => Math.max(m, Math.abs(v - cpu.out[i][j])), 0);
      assert.ok(scale > 0 && diff <= 1e-5 * scale, `weight ${i}: max difference ${diff} on gradients up to ${scale}`);
    });
  });

  it(`${LEAKY_GRAD_SPLIT} refuses a missing or misshapen LeakyReLU input and leaves no tensor behind`, () => {
    const dy = tf.ones([1, 3, 3, 5]);
    const good = tf.ones([1, 3, 3, 3]);
    const bad = tf.ones([1, 3, 2, 3]);
    tf.tidy(() => void concatChannels([tf.ones([1, 1, 1, 1]), tf.ones([1, 1, 1, 1])])); // registers the kernels
    const before = tf.memory().numTensors;
    const run = (inputs: tf.NamedTensorMap) => tf.engine().runKernel(LEAKY_GRAD_SPLIT, inputs, { channels: [2, 3], leaky: [0, 1], alpha: 0.2 } as unknown as tf.NamedAttrMap);
    assert.throws(() => run({ dy }), /no input of shape \[1,3,3,3\] for part 1/);
    assert.throws(() => run({ dy, m1: bad }), /no input of shape/);
    assert.equal(tf.memory().numTensors, before);
    const parts = run({ dy, m1: good }) as unknown as tf.Tensor[];
    assert.deepEqual(parts.map((p) => p.shape), [[1, 3, 3, 2], [1, 3, 3, 3]]);
    tf.dispose([dy, good, bad, ...parts]);
  });

  it('split layout: strided source, one destination and one mask per record, small strides, guards intact', () => {
    const m = heapOf();
    const copier = channelCopier(m)!;
    const GUARD = 16;
    for (const [channels, pixels] of [[[1, 2, 3], 11], [[2, 1], 3], [[5, 4, 9], 6], [[1], 2]] as [number[], number][]) {
      const total = channels.reduce((a, b) => a + b, 0);
      const alloc = (floats: number) => guarded(m, floats, GUARD, -777.5);
      const src = alloc(total * pixels);
      const outs = channels.map((c) => alloc(c * pixels));
      const masks = channels.map((c) => alloc(c * pixels));
      const sv = new Float32Array(m.asm.memory.buffer, src.body, src.floats);
      for (let j = 0; j < sv.length; j++) sv[j] = (j % 2 ? -1 : 1) * (j + 0.5);
      masks.forEach((mb, i) => new Float32Array(m.asm.memory.buffer, mb.body, mb.floats).forEach((_, j, a) => (a[j] = [1, -1, 0][(j + i) % 3])));
      let offset = 0;
      const modes = ['leakyGrad', 'copy', 'leaky'] as const;
      const records: CopyRecord[] = channels.map((c, i) => {
        const r: CopyRecord = { src: src.body + 4 * offset, srcStride: 4 * total, dst: outs[i].body, dstStride: 4 * c, bytes: 4 * c, mode: modes[i % 3] };
        if (r.mode === 'leakyGrad') Object.assign(r, { mask: masks[i].body, maskStride: 4 * c });
        offset += c;
        return r;
      });
      copier.run(records, pixels, 0.5);
      const heap = new Float32Array(m.asm.memory.buffer);
      const label = `channels ${channels}, ${pixels} px`;
      assertGuards(m, [src, ...outs, ...masks], GUARD, -777.5, label);
      offset = 0;
      channels.forEach((c, i) => {
        for (let p = 0; p < pixels; p++) {
          for (let ch = 0; ch < c; ch++) {
            const v = heap[src.body / 4 + p * total + offset + ch];
            const mk = heap[masks[i].body / 4 + p * c + ch];
            const mode = modes[i % 3];
            const want = mode === 'leaky' ? (v < 0 ? v * 0.5 : v) : mode === 'leakyGrad' && !(mk > 0) ? v * 0.5 : v;
            assert.equal(heap[outs[i].body / 4 + p * c + ch], want, `${label}: part ${i} (${mode}), pixel ${p}, channel ${ch}`);
          }
        }
        offset += c;
      });
      [src, ...outs, ...masks].forEach((b) => m._free(b.ptr));
    }
  });

  it('LeakyReLU in the concatenation is tf.leakyRelu exactly: infinities, NaN, zeros, any slope', () => {
    tf.tidy(() => {
      const special = tf.tensor4d([Infinity, -Infinity, NaN, 0, -0, -3, 2.5, 1e-30], [1, 1, 8, 1]);
      const other = tf.ones([1, 1, 8, 2]);
      for (const alpha of [0, 0.2, 1, 1.5, -0.5]) {
        const got = concatChannels([other, special], { leaky: [false, true], alpha }).dataSync();
        const want = tf.concat([other, tf.leakyRelu(special, alpha)], -1).dataSync();
        assert.deepEqual(Array.from(got), Array.from(want), `alpha ${alpha}`);
      }
    });
  });

  it('without the SIMD kernel (or when it goes away before backward) concatChannels with LeakyReLU still equals tfjs, values and gradients', () => {
    tf.tidy(() => {
      const a = tf.randomNormal([2, 4, 3, 3], 0, 1, 'float32', 81);
      const b = tf.randomNormal([2, 4, 3, 5], 0, 1, 'float32', 82);
      const w = tf.randomNormal([2, 4, 3, 8], 0, 1, 'float32', 83);
      const act = { leaky: [false, true], alpha: 0.2 };
      const loss = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(concatChannels([x, y], act), w));
      const want = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.concat([x, tf.leakyRelu(y, 0.2)], -1), w)))([a, b]);
      withChannelCopy(false, () => {
        assert.ok(!concatFusesLeakyRelu());
        const got = tf.grads(loss)([a, b]);
        got.forEach((g, i) => assert.deepEqual(Array.from(g.dataSync()), Array.from(want[i].dataSync()), `kernel off: gradient ${i}`));
      });
      // Forward with the kernel, backward without it.
      const { value, grads } = tf.valueAndGrads((x: tf.Tensor, y: tf.Tensor) => {
        const l = loss(x, y);
        setChannelCopyEnabled(false);
        return l as tf.Scalar;
      })([a, b]);
      setChannelCopyEnabled(true);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      grads.forEach((g, i) => assert.deepEqual(Array.from(g.dataSync()), Array.from(want[i].dataSync()), `kernel gone before backward: gradient ${i}`));
    });
  });

  it('splitChannels into a single part has a gradient', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([1, 2, 2, 4], 0, 1, 'float32', 90);
      const g = tf.grad((t: tf.Tensor) => tf.sum(tf.square(splitChannels(t, [4])[0])))(x);
      assert.deepEqual(Array.from(g.dataSync()), Array.from(tf.mul(x, 2).dataSync()));
    });
  });
});
