import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { channelCopier } from '../../packages/core/src/layers/channel-copy.js';
import { concatChannels, concatFusesLeakyRelu, splitChannels } from '../../packages/core/src/layers/concat-channels.js';
import { assert, WASM_PATHS } from './fixtures/rescaler-fixtures.js';

// Core's wasm kernels in Chromium: the SIMD channel copy (channel-copy.wat) must instantiate on
// tfjs-backend-wasm's memory in a page too, not only in Node, or the concatenations fall back
// to their slower JavaScript path without anyone noticing.
describe('core wasm kernels in the browser', () => {
  before(async () => {
    setWasmPaths(WASM_PATHS);
    if (!(await tf.setBackend('wasm'))) throw new Error('the wasm backend did not start');
    await tf.ready();
  });

  it('the SIMD channel copy runs on the backend memory, and concat/split with it equal tfjs', () => {
    assert(channelCopier((tf.backend() as unknown as { wasm: unknown }).wasm) != null, 'the SIMD copy kernel did not instantiate');
    assert(concatFusesLeakyRelu(), 'concatChannels does not fuse LeakyReLU on wasm');
    tf.tidy(() => {
      const ts = [9, 16, 1, 16].map((c, i) => tf.randomNormal([2, 17, 13, c], 0, 1, 'float32', i));
      const leaky = [false, true, false, true];
      const want = tf.concat(ts.map((t, i) => (leaky[i] ? tf.leakyRelu(t, 0.2) : t)), -1);
      const got = concatChannels(ts, { leaky, alpha: 0.2 });
      const wantData = want.dataSync();
      const gotData = got.dataSync();
      assert(gotData.length === wantData.length && gotData.every((v, i) => v === wantData[i]), 'concat with LeakyReLU differs from tfjs');
      const plain = tf.concat(ts, -1);
      splitChannels(plain, [9, 16, 1, 16]).forEach((part, i) => {
        const a = part.dataSync();
        const b = ts[i].dataSync();
        assert(a.every((v, j) => v === b[j]), `split part ${i} differs`);
      });
    });
  });

  it('the gradient of the concatenation with LeakyReLU equals tfjs (the leaky-gradient split kernel)', () => {
    tf.tidy(() => {
      const ts = [3, 16, 16].map((c, i) => tf.randomNormal([2, 9, 7, c], 0, 1, 'float32', 20 + i));
      const w = tf.randomNormal([2, 9, 7, 35], 0, 1, 'float32', 29);
      const leaky = [false, true, true];
      const got = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(concatChannels(xs, { leaky, alpha: 0.2 }), w)))(ts);
      const want = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(xs.map((t, i) => (leaky[i] ? tf.leakyRelu(t, 0.2) : t)), -1), w)))(ts);
      got.forEach((g, i) => {
        const a = g.dataSync();
        const b = want[i].dataSync();
        assert(a.length === b.length && a.every((v, j) => v === b[j]), `gradient ${i} differs`);
      });
    });
  });
});
