import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import '@tensorflow/tfjs-backend-cpu';
import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { jpegProxy, type JpegRounding } from '../../packages/core/src/training/jpeg-proxy.js';
import { useBrowserBackend } from './backend.js';
import { assert } from './fixtures/rescaler-fixtures.js';

// core's differentiable JPEG stand-in (training/jpeg-proxy.ts) on the browser's GPU backends,
// against the cpu backend: the decoded image, the rate and both gradients. Three samples at
// qualities that take each chroma subsampling (4:2:0, 4:2:2, 4:4:4), 36x40: edge padding too.
// (Node: jpeg-proxy_test.ts on cpu and wasm.)
const SHAPE = [3, 36, 40, 3] as const;
const QUALITIES = [40, 85, 95];

function input(): Float32Array {
  const [b, h, w] = SHAPE;
  const out = new Float32Array(b * h * w * 3);
  for (let i = 0; i < out.length; i++) {
    const px = Math.floor(i / 3) % (h * w);
    const y = Math.floor(px / w);
    const x = px % w;
    out[i] = Math.round((0.5 + 0.3 * Math.sin(x / 3 + (i % 3)) * Math.cos(y / 5) + 0.15 * Math.sin(x * y + i)) * 255) / 255;
  }
  return out;
}

function run(rounding: JpegRounding): { image: Float32Array; bits: Float32Array; gImage: Float32Array; gRate: Float32Array } {
  return tf.tidy(() => {
    const x = tf.tensor4d(input(), [...SHAPE]);
    const target = tf.fill([...SHAPE], 0.5);
    const p = jpegProxy(x, QUALITIES, { rounding, seed: 3 });
    const gImage = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.sub(jpegProxy(v as tf.Tensor4D, QUALITIES, { rounding, seed: 3 }).image, target))))(x);
    const gRate = tf.grad((v: tf.Tensor) => tf.sum(jpegProxy(v as tf.Tensor4D, QUALITIES, { rounding }).bits))(x);
    return {
      image: p.image.dataSync() as Float32Array,
      bits: p.bits.dataSync() as Float32Array,
      gImage: gImage.dataSync() as Float32Array,
      gRate: gRate.dataSync() as Float32Array,
    };
  });
}

/** ||a - b|| / ||b||. */
function relative(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let n = 0;
  for (let i = 0; i < b.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

for (const backend of ['webgl', 'webgpu'] as const) {
  describe(`jpegProxy on ${backend}`, () => {
    for (const rounding of ['ste', 'cubic', 'noise'] as JpegRounding[]) {
      it(`matches the cpu backend with '${rounding}' rounding (image, bits, gradients)`, async () => {
        await tf.setBackend('cpu');
        const want = run(rounding);
        await useBrowserBackend(backend);
        const got = run(rounding);
        // Rounding can flip a coefficient whose value sits on a .5 boundary in float32 on one
        // backend and not the other, so the comparison is of norms, not of every value.
        for (const key of ['image', 'bits', 'gImage', 'gRate'] as const) {
          assert(got[key].length === want[key].length, `${backend} ${key}: ${got[key].length} values, cpu ${want[key].length}`);
          const r = relative(got[key], want[key]);
          assert(r < 2e-3, `${backend} '${rounding}' ${key}: relative difference ${r} from cpu`);
        }
      });
    }
  });
}
