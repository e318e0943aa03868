import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own bundle registers no op gradients; tfjs-layers registers them on import.
import '@tensorflow/tfjs-layers';
import { useNodeBackend } from '../backend/node-backend.js';
import { CONCAT_CHANNELS, SPLIT_CHANNELS, concatChannels, splitChannels } from './concat-channels.js';

const kernelsOf = async (f: () => tf.TensorContainer): Promise<string[]> => (await tf.profile(f)).kernelNames;

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`concatChannels on ${backend}`, () => {
    before(async () => {
      await useNodeBackend(backend);
      assert.equal(tf.getBackend(), backend);
    });

    it('equals tf.concat on the last axis for the shapes of the dense blocks and odd ones', () => {
      const cases: number[][][] = [
        [[1, 5, 7, 3], [1, 5, 7, 16]],
        [[2, 6, 4, 9], [2, 6, 4, 16], [2, 6, 4, 16], [2, 6, 4, 16], [2, 6, 4, 16]],
        [[1, 3, 3, 1], [1, 3, 3, 1], [1, 3, 3, 2]],
        [[4, 3], [4, 5]],
      ];
      for (const [k, shapes] of cases.entries()) {
        tf.tidy(() => {
          const ts = shapes.map((s, i) => tf.randomNormal(s, 0, 1, 'float32', 10 * k + i));
          const want = tf.concat(ts, -1);
          const got = concatChannels(ts);
          assert.deepEqual(got.shape, want.shape);
          assert.deepEqual(Array.from(got.dataSync()), Array.from(want.dataSync()), `case ${k}`);
        });
      }
    });

    it(`runs the ${CONCAT_CHANNELS} kernel on wasm only, and frees what it makes`, async () => {
      const a = tf.ones([1, 8, 8, 3]);
      const b = tf.zeros([1, 8, 8, 16]);
      const before = tf.memory().numTensors;
      const names = await kernelsOf(() => concatChannels([a, b]));
      assert.deepEqual(names, [backend === 'wasm' ? CONCAT_CHANNELS : 'Concat']);
      tf.tidy(() => {
        concatChannels([a, b]);
      });
      assert.equal(tf.memory().numTensors, before + 1, 'only the profiled result is left'); // tf.profile keeps its result
      tf.dispose([a, b]);
    });

    it('has the gradient of tf.concat', () => {
      tf.tidy(() => {
        const xs = [[1, 4, 5, 3], [1, 4, 5, 16], [1, 4, 5, 7]].map((s, i) => tf.randomNormal(s, 0, 1, 'float32', i));
        const w = tf.randomNormal([1, 4, 5, 26], 0, 1, 'float32', 9);
        // A loss that weighs every output element differently, so a misplaced slice shows.
        const viaFast = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.square(concatChannels([a, b, c])), w)))(xs);
        const viaTf = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.concat([a, b, c], -1)), w)))(xs);
        for (let i = 0; i < xs.length; i++) {
          assert.deepEqual(viaFast[i].shape, xs[i].shape);
          assert.deepEqual(Array.from(viaFast[i].dataSync()), Array.from(viaTf[i].dataSync()), `input ${i}`);
        }
      });
    });

    it(`splits like tf.split on the last axis, through ${SPLIT_CHANNELS} on wasm`, async () => {
      const cases: [number[], number[]][] = [
        [[2, 5, 3, 73], [9, 16, 16, 16, 16]],
        [[1, 4, 4, 12], [3, 9]],
        [[6, 4], [1, 1, 2]],
      ];
      for (const [k, [shape, sizes]] of cases.entries()) {
        const x = tf.randomNormal(shape, 0, 1, 'float32', 50 + k);
        const want = tf.split(x, sizes, -1);
        const got = splitChannels(x, sizes);
        assert.equal(got.length, sizes.length);
        got.forEach((g, i) => {
          assert.deepEqual(g.shape, want[i].shape);
          assert.deepEqual(Array.from(g.dataSync()), Array.from(want[i].dataSync()), `case ${k} part ${i}`);
        });
        tf.dispose([x, ...want, ...got]);
      }
      const x = tf.ones([1, 2, 2, 5]);
      assert.deepEqual(await kernelsOf(() => splitChannels(x, [2, 3])), [backend === 'wasm' ? SPLIT_CHANNELS : 'SplitV']);
      if (backend === 'wasm') assert.throws(() => splitChannels(x, [2, 2]), /parts of 4 channels for 5/);
      x.dispose();
    });

    it('the split has the gradient of tf.split, also when only some parts reach the loss', () => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, 3, 4, 12], 0, 1, 'float32', 21);
        const w = tf.randomNormal([2, 3, 4, 9], 0, 1, 'float32', 22);
        const both = (parts: tf.Tensor[]) => tf.add(tf.sum(tf.mul(tf.square(parts[1]), w)), tf.sum(tf.exp(parts[0])));
        const second = (parts: tf.Tensor[]) => tf.sum(tf.mul(tf.square(parts[1]), w));
        for (const f of [both, second]) {
          const viaFast = tf.grad((t: tf.Tensor) => f(splitChannels(t, [3, 9])))(x);
          const viaTf = tf.grad((t: tf.Tensor) => f(tf.split(t, [3, 9], -1)))(x);
          assert.deepEqual(Array.from(viaFast.dataSync()), Array.from(viaTf.dataSync()));
        }
      });
    });

    it('leaves other dtypes, one input, and mismatched shapes to tf.concat', async () => {
      const i32 = [tf.tensor2d([[1, 2]], undefined, 'int32'), tf.tensor2d([[3]], undefined, 'int32')];
      assert.deepEqual(await concatChannels(i32).array(), [[1, 2, 3]]);
      assert.deepEqual(await kernelsOf(() => concatChannels(i32)), ['Concat']);
      const one = tf.ones([2, 2, 2]);
      const copy = concatChannels([one]);
      assert.notEqual(copy, one, 'a single input is cloned, so the caller may dispose either');
      assert.throws(() => concatChannels([tf.ones([1, 2, 3]), tf.ones([1, 3, 3])]), /./);
      assert.throws(() => concatChannels([]), /no tensors/);
      tf.dispose([...i32, one, copy]);
    });
  });
}
