import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { conv2dSame } from '../../packages/core/src/layers/conv.js';
import { useBrowserBackend } from './backend.js';
import { assert } from './fixtures/rescaler-fixtures.js';

// conv2dSame's custom gradient (packages/core/src/layers/conv.ts) against tfjs's built-in
// conv2d + bias gradients (Conv2DBackpropInput/Filter) on the browser's GPU backends, which
// have both. The Node suite does the same on cpu and wasm (conv_test.ts).
const CASES = [
  { x: [2, 7, 5, 3], k: 3, cout: 4 },
  { x: [1, 6, 6, 9], k: 3, cout: 16 },
  { x: [1, 8, 7, 4], k: 5, cout: 2 },
];

function valueAndGrads(conv: (x: tf.Tensor4D, w: tf.Tensor4D, b: tf.Tensor1D) => tf.Tensor, c: (typeof CASES)[number], i: number): Float32Array[] {
  return tf.tidy(() => {
    const x = tf.randomNormal(c.x as [number, number, number, number], 0, 1, 'float32', 10 * i + 1) as tf.Tensor4D;
    const w = tf.randomNormal([c.k, c.k, c.x[3], c.cout], 0, 0.3, 'float32', 10 * i + 2) as tf.Tensor4D;
    const b = tf.randomNormal([c.cout], 0, 1, 'float32', 10 * i + 3) as tf.Tensor1D;
    const u = tf.randomNormal([...c.x.slice(0, 3), c.cout], 0, 1, 'float32', 10 * i + 4);
    const grads = tf.grads((xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
      tf.sum(tf.mul(tf.square(conv(xi as tf.Tensor4D, wi as tf.Tensor4D, bi as tf.Tensor1D)), u)),
    )([x, w, b]);
    return [conv(x, w, b), ...grads].map((t) => t.dataSync() as Float32Array);
  });
}

for (const backend of ['webgl', 'webgpu'] as const) {
  describe(`conv2dSame's gradient on ${backend}`, () => {
    before(async () => {
      await useBrowserBackend(backend);
    });

    it('equals the built-in conv2d gradients (value, dL/dx, dL/dW, dL/db)', () => {
      CASES.forEach((c, i) => {
        const want = valueAndGrads((x, w, b) => tf.add(tf.conv2d(x, w, 1, 'same'), b), c, i);
        const got = valueAndGrads(conv2dSame, c, i);
        ['value', 'dL/dx', 'dL/dW', 'dL/db'].forEach((name, j) => {
          const scale = want[j].reduce((m, v) => Math.max(m, Math.abs(v)), 0);
          const diff = got[j].reduce((m, v, k) => Math.max(m, Math.abs(v - want[j][k])), 0);
          assert(scale > 0 && got[j].length === want[j].length, `${backend} case ${i} ${name}: empty or wrong length`);
          assert(diff <= 1e-4 * scale, `${backend} case ${i} ${name}: max difference ${diff} on values up to ${scale}`);
        });
      });
    });
  });
}
