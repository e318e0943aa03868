import type { RasterImage } from './raster.js';

/** Keys' cubic convolution kernel with a = -0.5 (MATLAB's `cubic`). */
function cubic(x: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return 1.5 * ax3 - 2.5 * ax2 + 1;
  if (ax <= 2) return -0.5 * ax3 + 2.5 * ax2 - 4 * ax + 2;
  return 0;
}

/** Sparse rows of a 1-D resampling matrix: for each output index, input indices and weights. */
export interface Contributions {
  indices: Int32Array[];
  weights: Float64Array[];
}

/**
 * MATLAB `imresize(..., 'bicubic')` weights along one axis from `inLen` to `outLen` samples:
 * scale = outLen / inLen; when shrinking, the kernel is widened by 1 / scale (antialiasing);
 * rows normalised to 1; indices outside the image mirrored (`[1:n, n:-1:1]`, so
 * `-1 -> 0`, `n -> n - 1`). Shared by {@link imresize} and the training loss's
 * `bicubicMatrix`, so both resample with the same weights.
 */
export function contributions(inLen: number, outLen: number): Contributions {
  const scale = outLen / inLen;
  const shrink = scale < 1;
  const kernelWidth = shrink ? 4 / scale : 4;
  const taps = Math.ceil(kernelWidth) + 2;
  const indices: Int32Array[] = [];
  const weights: Float64Array[] = [];
  const mirror = (j: number): number => {
    const k = ((j % (2 * inLen)) + 2 * inLen) % (2 * inLen);
    return k < inLen ? k : 2 * inLen - 1 - k;
  };
  for (let i = 1; i <= outLen; i++) {
    // MATLAB's 1-based coordinates: u = x / scale + 0.5 * (1 - 1 / scale).
    const u = i / scale + 0.5 * (1 - 1 / scale);
    const left = Math.floor(u - kernelWidth / 2);
    const idx = new Int32Array(taps);
    const w = new Float64Array(taps);
    let sum = 0;
    for (let p = 0; p < taps; p++) {
      const j = left + p;
      w[p] = shrink ? scale * cubic((u - j) * scale) : cubic(u - j);
      sum += w[p];
      idx[p] = mirror(j - 1);
    }
    for (let p = 0; p < taps; p++) w[p] /= sum;
    indices.push(idx);
    weights.push(w);
  }
  return { indices, weights };
}

/**
 * Resizes an image like MATLAB's `imresize(img, [outHeight outWidth], 'bicubic')` (with its
 * default antialiasing), the reference resampler of the super-resolution literature: the
 * "bicubic" rows of the IRN paper's tables are `imresize` down then up. Values are not
 * rounded or clamped; round to 8 bits as MATLAB does for uint8 images where that matters.
 * Width first, then height, as MATLAB orders the passes when both shrink by the same factor.
 */
export function imresize(img: RasterImage, outWidth: number, outHeight: number): RasterImage {
  const { width, height, channels: c, data } = img;
  if (!Number.isInteger(outWidth) || !Number.isInteger(outHeight) || outWidth < 1 || outHeight < 1) {
    throw new Error(`imresize: output size must be positive integers, got ${outWidth}x${outHeight}`);
  }
  // MATLAB resizes the dimension with the smaller scale first; for equal scales, rows (height) first.
  const sx = outWidth / width;
  const sy = outHeight / height;
  const heightFirst = sy <= sx;
  let cur = { width, height, data: Float64Array.from(data) };
  const passes: Array<'h' | 'w'> = heightFirst ? ['h', 'w'] : ['w', 'h'];
  for (const pass of passes) {
    if (pass === 'h') {
      const { indices, weights } = contributions(cur.height, outHeight);
      const out = new Float64Array(cur.width * outHeight * c);
      for (let y = 0; y < outHeight; y++) {
        const idx = indices[y];
        const w = weights[y];
        for (let x = 0; x < cur.width; x++) {
          for (let ch = 0; ch < c; ch++) {
            let s = 0;
            for (let p = 0; p < idx.length; p++) s += w[p] * cur.data[(idx[p] * cur.width + x) * c + ch];
            out[(y * cur.width + x) * c + ch] = s;
          }
        }
      }
      cur = { width: cur.width, height: outHeight, data: out };
    } else {
      const { indices, weights } = contributions(cur.width, outWidth);
      const out = new Float64Array(outWidth * cur.height * c);
      for (let y = 0; y < cur.height; y++) {
        for (let x = 0; x < outWidth; x++) {
          const idx = indices[x];
          const w = weights[x];
          for (let ch = 0; ch < c; ch++) {
            let s = 0;
            for (let p = 0; p < idx.length; p++) s += w[p] * cur.data[(y * cur.width + idx[p]) * c + ch];
            out[(y * outWidth + x) * c + ch] = s;
          }
        }
      }
      cur = { width: outWidth, height: cur.height, data: out };
    }
  }
  return { width: outWidth, height: outHeight, channels: c, data: Float32Array.from(cur.data) };
}
