import * as tf from '@tensorflow/tfjs-core';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { channelCopier } from '../../packages/core/src/layers/channel-copy.js';
import { concatChannels, concatFusesLeakyRelu, splitChannels } from '../../packages/core/src/layers/concat-channels.js';
import { conv2dFilterBiasGrad, conv2dSameBias, convForwardKernelRuns, filterGradKernelAvailable, withFilterGradKernel } from '../../packages/core/src/layers/conv-simd.js';
import { conv2dSame } from '../../packages/core/src/layers/conv.js';
import { assert, WASM_PATHS } from './fixtures/rescaler-fixtures.js';

// Core's wasm kernels in Chromium: the SIMD channel copy (channel-copy.wat), the forward conv
// (conv-forward.wat) and the conv filter gradient (filter-grad.wat) must instantiate on tfjs-backend-wasm's memory in a page too, not
// only in Node, or the concatenations and the training fall back to their slower paths without
// anyone noticing.
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

  it('the filter-gradient kernel runs and gives the gradients of the conv2d path', () => {
    assert(filterGradKernelAvailable(), 'the filter-gradient kernel did not instantiate');
    tf.tidy(() => {
      const x = tf.randomNormal([2, 9, 7, 19], 0, 1, 'float32', 40) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 19, 9], 0, 0.2, 'float32', 41) as tf.Tensor4D;
      const b = tf.randomNormal([9], 0, 1, 'float32', 42) as tf.Tensor1D;
      const u = tf.randomNormal([2, 9, 7, 9], 0, 1, 'float32', 43);
      const grads = () => tf.grads((wi: tf.Tensor, bi: tf.Tensor) => tf.sum(tf.mul(conv2dSame(x, wi as tf.Tensor4D, bi as tf.Tensor1D), u)))([w, b]);
      const withKernel = grads();
      const without = withFilterGradKernel(false, grads);
      const direct = conv2dFilterBiasGrad(x, u as tf.Tensor4D, 3);
      assert(direct != null, 'conv2dFilterBiasGrad returned null on wasm');
      [withKernel, direct].forEach((got, g) => {
        got.forEach((t, i) => {
          const a = t.dataSync() as Float32Array;
          const ref = without[i].dataSync() as Float32Array;
          const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          assert(a.length === ref.length && a.every((v, j) => Math.abs(v - ref[j]) <= 1e-5 * scale), `${g === 0 ? 'conv2dSame' : 'direct'} gradient ${i} differs from the conv2d path`);
        });
      });
    });
  });

  it('the forward conv kernel runs and equals tfjs-wasm\'s conv2d bit for bit', () => {
    assert(convForwardKernelRuns(3, 19), 'the forward conv kernel did not instantiate (over 4 KB for a main-thread compile?)');
    tf.tidy(() => {
      for (const [cin, cout] of [[19, 16], [67, 9], [16, 73]]) {
        const x = tf.randomNormal([2, 11, 9, cin], 0, 1, 'float32', cin) as tf.Tensor4D;
        const w = tf.randomNormal([3, 3, cin, cout], 0, 0.2, 'float32', cout) as tf.Tensor4D;
        const b = tf.randomNormal([cout], 0, 1, 'float32', 5) as tf.Tensor1D;
        const got = conv2dSameBias(x, w, b);
        assert(got != null, `conv2dSameBias returned null for ${cin} -> ${cout}`);
        const a = got.dataSync();
        const want = tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' }).dataSync();
        assert(a.length === want.length && a.every((v, i) => v === want[i]), `${cin} -> ${cout} differs from tfjs-wasm's conv2d`);
      }
    });
  });
});
