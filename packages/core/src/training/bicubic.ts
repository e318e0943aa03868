import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own bundle registers no op gradients; tfjs-layers registers them on import.
import '@tensorflow/tfjs-layers';
import { contributions } from '../image/imresize.js';

/**
 * The `[n / factor, n]` matrix (row-major, float64) of MATLAB's `imresize(x, 1/factor,
 * 'bicubic')` along one axis of length n: the antialiased cubic kernel `cubic(d / f) / f`
 * with support `4 f`, each row normalised to sum 1, and indices outside `[0, n)` mirrored
 * symmetrically. The weights are those of `imresize` (image/imresize.ts), made dense.
 */
export function bicubicMatrix(n: number, factor: number): Float64Array {
  if (!Number.isInteger(factor) || factor < 1) throw new Error(`bicubic factor must be a positive integer, got ${factor}`);
  if (!Number.isInteger(n) || n < factor || n % factor !== 0) {
    throw new Error(`bicubic: length ${n} must be a positive multiple of the factor ${factor}`);
  }
  const out = n / factor;
  const { indices, weights } = contributions(n, out);
  const m = new Float64Array(out * n);
  for (let i = 0; i < out; i++) {
    const idx = indices[i];
    const w = weights[i];
    // Mirrored taps can land on the same input index; their weights add up.
    for (let p = 0; p < idx.length; p++) m[i * n + idx[p]] += w[p];
  }
  return m;
}

const matrixCache = new Map<string, Float32Array>();

function cachedMatrix(n: number, factor: number): Float32Array {
  const key = `${n}/${factor}`;
  let m = matrixCache.get(key);
  if (m == null) {
    m = Float32Array.from(bicubicMatrix(n, factor));
    matrixCache.set(key, m);
  }
  return m;
}

/**
 * MATLAB-style antialiased bicubic downscaling by an integer factor (IRN's LR guidance
 * target): `[B, H, W, C] -> [B, H / factor, W / factor, C]`, values not clamped. A fixed
 * separable linear map (two matrix products), so it has a gradient.
 *
 * @example
 * const lr = bicubicDownscale(hr, 2); // [1, 64, 64, 3] from [1, 128, 128, 3]
 */
export function bicubicDownscale(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  const [b, h, w, c] = x.shape;
  const mh = cachedMatrix(h, factor);
  const mw = cachedMatrix(w, factor);
  const oh = h / factor;
  const ow = w / factor;
  return tf.tidy(() => {
    // Rows: [H, B*W*C] -> [oh, B*W*C].
    const rows = tf.reshape(tf.transpose(x, [1, 0, 2, 3]), [h, b * w * c]);
    const r = tf.matMul(tf.tensor2d(mh, [oh, h]), rows as tf.Tensor2D);
    // Columns: [oh, B, W, C] -> [W, B*oh*C] -> [ow, B*oh*C].
    const cols = tf.reshape(tf.transpose(tf.reshape(r, [oh, b, w, c]), [2, 1, 0, 3]), [w, b * oh * c]);
    const s = tf.matMul(tf.tensor2d(mw, [ow, w]), cols as tf.Tensor2D);
    // [ow, B, oh, C] -> [B, oh, ow, C]
    return tf.transpose(tf.reshape(s, [ow, b, oh, c]), [1, 2, 0, 3]) as tf.Tensor4D;
  });
}
