import * as tf from '@tensorflow/tfjs-core';

/** Murmur3's 32-bit finalizer: a fast, well-mixed hash of one 32-bit word. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Uniform in (0, 1] from the hash of (seed, counter). */
function uniform(seed: number, counter: number): number {
  const h = fmix32((counter ^ fmix32(seed + 0x9e3779b9)) >>> 0);
  return (fmix32(h + Math.imul(counter >>> 0, 0x27d4eb2d)) + 1) / 4294967296;
}

/** Where a block of noise sits in a larger image, and how large that image is. */
export interface NoiseWindow {
  /** Row and column of the block's top-left element in the full field. Default 0, 0. */
  top?: number;
  left?: number;
  /** Width of the full field, in elements. Default: the block's width. */
  fieldWidth?: number;
}

/**
 * Standard-normal noise of shape `[1, H, W, C]` in which every value is a pure function of
 * (seed, row, column, channel) in the full field: the same seed gives the same numbers on
 * every backend and in every tiling of the field (a counter-based generator, Box-Muller).
 *
 * @param seed any 32-bit integer
 * @param shape `[1, H, W, C]` of the block
 */
export function seededNormal(seed: number, shape: [number, number, number, number], window: NoiseWindow = {}): tf.Tensor4D {
  const [b, h, w, c] = shape;
  if (b !== 1) throw new Error(`seededNormal makes one image at a time, got batch ${b}`);
  const top = window.top ?? 0;
  const left = window.left ?? 0;
  const fieldWidth = window.fieldWidth ?? w;
  const s = seed | 0;
  const out = new Float32Array(h * w * c);
  let o = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const base = ((top + y) * fieldWidth + (left + x)) * c;
      for (let ch = 0; ch < c; ch++) {
        const i = base + ch;
        const u1 = uniform(s, 2 * i);
        const u2 = uniform(s, 2 * i + 1);
        out[o++] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
      }
    }
  }
  return tf.tensor4d(out, shape);
}
