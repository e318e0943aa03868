import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own bundle registers no op gradients; tfjs-layers registers them on import.
import '@tensorflow/tfjs-layers';
import { quantizeSTE } from './quantize-ste.js';
import { Rng } from './rng.js';

/**
 * How {@link jpegProxy} rounds the quantized DCT coefficients `x = F / Q`:
 * - `'ste'`: `round(x)` forward, identity gradient (straight-through);
 * - `'cubic'`: `round(x) + (x - round(x))^3` forward and backward (Shin & Song 2017,
 *   "JPEG-resistant adversarial images"): close to rounding, gradient `3 (x - round(x))^2`;
 * - `'noise'`: `x + u`, u uniform in [-0.5, 0.5) drawn per sample from a seed (Ballé et al.'s
 *   training proxy for quantization), identity gradient;
 * - `'none'`: no rounding at all (only colour conversion and chroma subsampling remain).
 */
export type JpegRounding = 'ste' | 'cubic' | 'noise' | 'none';

/**
 * Coefficients of the rate proxy (see {@link jpegProxy}): bits of a file =
 * `logY * Σ log2(1 + |q|) over luma AC + nzY * #(luma AC != 0) + logC * ... chroma AC +
 * nzC * #(chroma AC != 0) + dc * Σ log2(1 + |ΔDC|) + block * #blocks + file`, where q are
 * the quantized coefficients, ΔDC each block's DC minus the previous block's (in raster
 * order, per plane, as DC is coded) and #blocks the 8x8 blocks of all three planes.
 */
export interface JpegRateCoefficients {
  logY: number;
  nzY: number;
  logC: number;
  nzC: number;
  dc: number;
  block: number;
  file: number;
}

/**
 * The rate proxy fitted by least squares against the file sizes of the real codec (MozJPEG
 * as `@jsquash/jpeg` 1.6.0 builds it, what `irn downscale --format jpeg` writes: the smaller
 * of its progressive and baseline files) on the x2 LRs (core's imresize, 384x256) of the
 * first 12 Kodak photos, whole and two centre crops (192x128, 64x64: so that the per-file cost
 * separates from the per-block one), at qualities 30-95, with the default dead zone:
 * `node --import tsx bench/jpeg-proxy.ts --first 12`. On those 360 files: Pearson r 0.9998,
 * mean relative error 2.4 % (worst 13.8 %); held out, kodim13-24 (`--first 12 --skip 12`):
 * 2.7 % (worst 15.4 %). `file` (about 280 bytes of headers and tables) is a constant per
 * sample: it prices nothing in training, only makes the estimate a file size. (Fitted again
 * 2026-12-03, when the CLI began to keep the smaller file. The coefficients fitted before on
 * progressive files alone, 0.437 / 4.427 / 0.207 / 5.917 / 1.796 / 5.771 / 3204, were 24 % off
 * the new files; a fit on 6 photos, 2.1 % on its own, was 13 % off the next 6.)
 */
export const MOZJPEG_RATE: Readonly<JpegRateCoefficients> = Object.freeze({
  logY: 0.5066,
  nzY: 4.246,
  logC: 0,
  nzC: 6.184,
  dc: 2.526,
  block: 4.882,
  file: 2239,
});

/**
 * The dead zone that brings the proxy's decoded images closest to MozJPEG's (trellis
 * quantization on), measured by bench/jpeg-proxy.ts (6 Kodak x2 LRs, mean PSNR between the
 * two decoded images at q30 / q50 / q90: dead zone 0: 31.5 / 33.0 / 38.6 dB; 0.1: 34.8 / 36.1
 * / 41.1; 0.2: 34.8 / 36.2 / 41.0; 0.3: 33.5 / 34.9 / 39.8; the files as the CLI writes them
 * since 2026-12-03, the smaller of progressive and baseline).
 */
export const MOZJPEG_DEAD_ZONE = 0.2;

/** Options of {@link jpegProxy}. */
export interface JpegProxyOptions {
  /** How coefficients are rounded (default `'ste'`). */
  rounding?: JpegRounding;
  /** Seed of the `'noise'` draws: sample i uses `seed + (sampleOffset + i) * 7919`. Default 0. */
  seed?: number;
  /** Index of the first sample in a whole batch that this is a shard of (default 0). */
  sampleOffset?: number;
  /**
   * Dead zone of the rounding (default {@link MOZJPEG_DEAD_ZONE}): `|x|` must reach
   * `1/2 + deadZone` not to round to 0, a crude model of MozJPEG's trellis quantization,
   * which drops coefficients not worth their bits. 0 is plain rounding.
   */
  deadZone?: number;
  /** Rate proxy coefficients (default {@link MOZJPEG_RATE}). */
  rate?: JpegRateCoefficients;
}

/** What {@link jpegProxy} returns. */
export interface JpegProxyResult {
  /** The decoded image `[B, H, W, 3]`, 8-bit values in [0, 1] (straight-through gradient). */
  image: tf.Tensor4D;
  /** Estimated file size of each sample in bits, `[B]`. */
  bits: tf.Tensor1D;
  /** The rate features of each sample, `[B, 7]` in {@link JpegRateCoefficients} order. */
  features: tf.Tensor2D;
}

/** The order of the features in {@link JpegProxyResult.features}. */
export const JPEG_RATE_FEATURES = ['logY', 'nzY', 'logC', 'nzC', 'dc', 'block', 'file'] as const;

/**
 * MozJPEG's default base table (`quant_tbl_master_idx` 3, which `@jsquash/jpeg`'s
 * `quant_table: 3` selects and MozJPEG's JCP_MAX_COMPRESSION profile defaults to: N.
 * Robidoux's table from the ImageMagick forum, jcparam.c), natural (row-major) order. MozJPEG
 * uses it for chroma too. It is not libjpeg's Annex K table.
 */
export const MOZJPEG_BASE_TABLE: readonly number[] = Object.freeze([
  16, 16, 16, 18, 25, 37, 56, 85,
  16, 17, 20, 27, 34, 40, 53, 75,
  16, 20, 24, 31, 43, 62, 91, 135,
  18, 27, 31, 40, 53, 74, 106, 156,
  25, 34, 43, 53, 69, 94, 131, 189,
  37, 40, 62, 74, 94, 124, 169, 238,
  56, 53, 91, 106, 131, 169, 226, 311,
  85, 75, 135, 156, 189, 238, 311, 418,
]);

/**
 * The quantization table of the JPEG file `irn downscale` writes for `quality` (1-100),
 * luma and chroma alike: libjpeg's quality scaling (`5000 / q` below 50, `200 - 2 q` from 50)
 * of {@link MOZJPEG_BASE_TABLE}, `(t * s + 50) / 100` in integers, clamped to [1, 255]. The
 * clamp is baseline's (`baseline: true`): the CLI keeps the smaller of MozJPEG's progressive
 * and baseline files (`lrEncoderVariants`), and below quality 70, where the table passes 255,
 * that is the baseline file on LR-sized images (every Kodak x4 thumbnail, 18-24 of the 24 x2
 * ones; `bench:jpeg-modes`); from 70 up no entry passes 255 and both files share the table.
 * A progressive file below 70 (a large image) keeps its few entries above 255. Natural order.
 */
export function mozjpegQuantTable(quality: number): Int32Array {
  if (!(quality >= 1 && quality <= 100)) throw new RangeError(`JPEG quality must be 1 to 100, got ${quality}`);
  const q = Math.round(quality);
  const scale = q < 50 ? Math.floor(5000 / q) : 200 - 2 * q;
  return Int32Array.from(MOZJPEG_BASE_TABLE, (t) => Math.min(255, Math.max(1, Math.floor((t * scale + 50) / 100))));
}

/**
 * The orthonormal 8x8 DCT-II as a `[64, 64]` matrix `D` (row-major): a block `x` flattened
 * row-major (`x[8 r + c]`) has the coefficients `x D`, `F[8 u + v]`, which are JPEG's
 * (ITU T.81 A.3.3: `F(u, v) = C(u) C(v) / 4 ΣΣ f cos cos`). `D` is orthogonal, so the inverse
 * is `F D^T`.
 */
export function dctMatrix(): Float32Array {
  const c = new Float64Array(64);
  for (let u = 0; u < 8; u++) {
    for (let x = 0; x < 8; x++) c[u * 8 + x] = (u === 0 ? Math.SQRT1_2 : 1) * 0.5 * Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  }
  const d = new Float32Array(64 * 64);
  for (let r = 0; r < 8; r++) {
    for (let col = 0; col < 8; col++) {
      for (let u = 0; u < 8; u++) {
        for (let v = 0; v < 8; v++) d[(r * 8 + col) * 64 + u * 8 + v] = c[u * 8 + r] * c[v * 8 + col];
      }
    }
  }
  return d;
}

let dctCache: Float32Array | undefined;

/** `[N, H, W]` (H, W multiples of 8) -> `[N, H/8 * W/8, 64]` block coefficients. */
export function blockDct(x: tf.Tensor3D): tf.Tensor3D {
  const [n, h, w] = x.shape;
  const bh = h / 8;
  const bw = w / 8;
  dctCache ??= dctMatrix();
  return tf.tidy(() => {
    const blocks = tf.reshape(tf.transpose(tf.reshape(x, [n, bh, 8, bw, 8]), [0, 1, 3, 2, 4]), [n * bh * bw, 64]);
    return tf.reshape(tf.matMul(blocks as tf.Tensor2D, tf.tensor2d(dctCache!, [64, 64])), [n, bh * bw, 64]) as tf.Tensor3D;
  });
}

/** The inverse of {@link blockDct}: `[N, h * w, 64]` coefficients -> `[N, 8 h, 8 w]`. */
export function blockIdct(f: tf.Tensor3D, h: number, w: number): tf.Tensor3D {
  const n = f.shape[0];
  const bh = h / 8;
  const bw = w / 8;
  dctCache ??= dctMatrix();
  return tf.tidy(() => {
    // An explicit transpose of the basis, not matMul(..., transposeB): cheap, and the same on
    // every backend.
    const inv = tf.transpose(tf.tensor2d(dctCache!, [64, 64]));
    const px = tf.matMul(tf.reshape(f, [n * bh * bw, 64]) as tf.Tensor2D, inv as tf.Tensor2D);
    return tf.reshape(tf.transpose(tf.reshape(px, [n, bh, bw, 8, 8]), [0, 1, 3, 2, 4]), [n, h, w]) as tf.Tensor3D;
  });
}

/** Pads `[B, H, W, C]` at the bottom and right by repeating the last row and column (libjpeg's edge expansion). */
function padEdge(x: tf.Tensor4D, ph: number, pw: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  let out = x;
  if (ph > 0) out = tf.concat([out, tf.tile(tf.slice(out, [0, h - 1, 0, 0], [-1, 1, -1, -1]), [1, ph, 1, 1])], 1);
  if (pw > 0) out = tf.concat([out, tf.tile(tf.slice(out, [0, 0, w - 1, 0], [-1, -1, 1, -1]), [1, 1, pw, 1])], 2);
  return out;
}

/**
 * libjpeg's "fancy" h2v2 upsampling along one axis of `[N, H, W]` (axis 1 or 2): each output
 * sample is 3/4 of the nearer input sample and 1/4 of the next one on the far side, the edge
 * sample repeated (jdsample.c h2v2_fancy_upsample, a triangular filter; the integer rounding
 * bias of +8/+7 >> 4 is left out).
 */
function fancyUp(x: tf.Tensor3D, axis: 1 | 2): tf.Tensor3D {
  const n = x.shape[axis];
  const [a, h, w] = x.shape;
  const sl = (start: number, size: number) => (axis === 1 ? tf.slice(x, [0, start, 0], [-1, size, -1]) : tf.slice(x, [0, 0, start], [-1, -1, size]));
  const prev = n > 1 ? tf.concat([sl(0, 1), sl(0, n - 1)], axis) : x;
  const next = n > 1 ? tf.concat([sl(1, n - 1), sl(n - 1, 1)], axis) : x;
  const even = tf.add(tf.mul(x, 0.75), tf.mul(prev, 0.25));
  const odd = tf.add(tf.mul(x, 0.75), tf.mul(next, 0.25));
  // Interleave: stack on a new axis right after `axis`, then merge the two.
  const both = tf.stack([even, odd], axis + 1);
  return tf.reshape(both, axis === 1 ? [a, 2 * h, w] : [a, h, 2 * w]) as tf.Tensor3D;
}

/**
 * Rounding with a dead zone `dz` (0: plain rounding): `round(x)`, but 0 where `|x| < 1/2 + dz`.
 * (Shifting every step by dz instead, `sign(x) floor(|x| + 1/2 - dz)`, matched MozJPEG's
 * output less well: 40.7 against 41.3 dB at q90 on the astronaut sample.) No gradient.
 */
function roundDz(x: tf.Tensor, dz: number): tf.Tensor {
  if (dz === 0) return tf.round(x);
  return tf.mul(tf.round(x), tf.cast(tf.greaterEqual(tf.abs(x), 0.5 + dz), 'float32'));
}

/** Straight-through rounding: {@link roundDz} forward, identity backward. */
function roundSTE(x: tf.Tensor, dz: number): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const [v] = args as [tf.Tensor];
    return { value: roundDz(v, dz), gradFunc: (dy: tf.Tensor) => [tf.clone(dy)] };
  });
  return op(x);
}

/**
 * `[round(x) != 0]` forward (a coefficient the codec must code); backward the gradient of
 * the smooth step `(1 - exp(-2 x^2)) / 4`, `x exp(-2 x^2)`, so that coefficients near zero
 * are pulled to it. Continuous everywhere on purpose: with the gradient of `min(|x|, 1)`,
 * whose sign flips at 0 (where the coefficients of flat blocks sit, at +-1e-7) and which
 * jumps at 1, the rate gradient depended on float rounding: 5 % apart between the cpu and
 * wasm backends.
 */
function nonZeroSTE(x: tf.Tensor, dz: number): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const [v, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([v]);
    return {
      value: tf.cast(tf.greaterEqual(tf.abs(v), 0.5 + dz), 'float32'),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s] = saved;
        return [tf.mul(dy, tf.mul(s, tf.exp(tf.mul(tf.square(s), -2))))];
      },
    };
  });
  return op(x);
}

/**
 * `log2(1 + |x|)` with the gradient `sign(x) / ((1 + |x|) ln 2)`, 0 at x = 0. (tfjs's `abs`
 * has the gradient -1 at 0, which would push every zero coefficient the same way.)
 */
function log2OnePlusAbs(x: tf.Tensor): tf.Tensor {
  const op = tf.customGrad((...args: unknown[]) => {
    const [v, save] = args as [tf.Tensor, tf.GradSaveFunc];
    save([v]);
    return {
      value: tf.div(tf.log1p(tf.abs(v)), Math.LN2),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [s] = saved;
        return [tf.div(tf.mul(dy, tf.sign(s)), tf.mul(tf.add(tf.abs(s), 1), Math.LN2))];
      },
    };
  });
  return op(x);
}

/** Seeded uniform noise in [-0.5, 0.5) of `count` values per sample, `[B, ...shape]`. */
function seededNoise(seed: number, first: number, b: number, shape: number[]): tf.Tensor {
  const per = shape.reduce((p, s) => p * s, 1);
  const out = new Float32Array(b * per);
  for (let i = 0; i < b; i++) {
    const rng = new Rng((seed + (first + i) * 7919) | 0);
    for (let j = 0; j < per; j++) out[i * per + j] = rng.next() - 0.5;
  }
  return tf.tensor(out, [b, ...shape]);
}

function round(x: tf.Tensor, mode: JpegRounding, dz: number, noise: () => tf.Tensor): tf.Tensor {
  switch (mode) {
    case 'ste':
      return roundSTE(x, dz);
    case 'cubic': {
      const r = roundDz(x, dz); // zero gradient in tfjs: the cube carries it
      return tf.add(r, tf.pow(tf.sub(x, r), 3));
    }
    case 'noise':
      return tf.add(x, noise());
    case 'none':
      return x;
    default:
      throw new Error(`unknown JPEG rounding '${mode as string}' (ste, cubic, noise or none)`);
  }
}

/** Per-sample qualities as an array of B numbers, checked. */
function qualities(quality: number | readonly number[], b: number): number[] {
  const qs = typeof quality === 'number' ? new Array<number>(b).fill(quality) : [...quality];
  if (qs.length !== b) throw new Error(`jpegProxy: ${qs.length} qualities for a batch of ${b}`);
  for (const q of qs) if (!(q >= 1 && q <= 100)) throw new RangeError(`JPEG quality must be 1 to 100, got ${q}`);
  return qs;
}

/** Σ over blocks of a channel's rate features: [N, blocks, 64] -> log-AC [N], nz-AC [N], |ΔDC| [N]. */
function rateFeatures(x: tf.Tensor3D, dz: number): [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] {
  const [n, blocks] = x.shape;
  const q = roundSTE(x, dz) as tf.Tensor3D;
  const ac = tf.slice(q, [0, 0, 1], [-1, -1, 63]);
  const acRaw = tf.slice(x, [0, 0, 1], [-1, -1, 63]);
  const log = tf.sum(log2OnePlusAbs(ac), [1, 2]) as tf.Tensor1D;
  const nz = tf.sum(nonZeroSTE(acRaw, dz), [1, 2]) as tf.Tensor1D;
  // DC is coded as the difference to the block before it in scan order (rows of blocks,
  // the first block against 0): Σ log2(1 + |ΔDC|).
  const dc = tf.reshape(tf.slice(q, [0, 0, 0], [-1, -1, 1]), [n, blocks]);
  const prev = tf.concat([tf.zeros([n, 1]), tf.slice(dc, [0, 0], [-1, blocks - 1])], 1);
  const dDc = tf.sum(log2OnePlusAbs(tf.sub(dc, prev)), 1) as tf.Tensor1D;
  return [log, nz, dDc];
}

/**
 * The chroma subsampling MozJPEG picks for a quality when none is asked for (`@jsquash/jpeg`'s
 * `auto_subsample`, MozJPEG's set_quality_ratings): 4:4:4 from quality 90, 4:2:2 (2x1) from
 * 80, 4:2:0 (2x2) below. Checked against the files' SOF sampling factors in the tests.
 */
export function mozjpegSubsampling(quality: number): '444' | '422' | '420' {
  const q = Math.round(quality);
  return q >= 90 ? '444' : q >= 80 ? '422' : '420';
}

/**
 * Chroma `[n, H, W, 2]` (level-shifted) through downsampling, DCT, quantization by `q`
 * (`[n, 1, 64]`), rounding, the inverse and upsampling, for one subsampling mode: the
 * decoded planes `[n, H, W, 2]` and the rate features `[n]` x 3.
 */
function chromaPath(
  c: tf.Tensor4D,
  mode: '444' | '422' | '420',
  q: tf.Tensor3D,
  rnd: (x: tf.Tensor3D, noise: () => tf.Tensor) => tf.Tensor,
  noise: (shape: number[]) => tf.Tensor,
  dz: number,
): { out: tf.Tensor4D; feats: [tf.Tensor1D, tf.Tensor1D, tf.Tensor1D] } {
  const [n, h, w] = c.shape;
  const fh = mode === '420' ? 2 : 1;
  const fw = mode === '444' ? 1 : 2;
  const hc = h / fh;
  const wc = w / fw;
  // Box means (jcsample.c h2v2_downsample / h2v1_downsample), then the two planes as samples.
  const down = fh * fw === 1 ? c : tf.mean(tf.reshape(c, [n, hc, fh, wc, fw, 2]), [2, 4]);
  const planes = tf.reshape(tf.transpose(down, [0, 3, 1, 2]), [2 * n, hc, wc]) as tf.Tensor3D;
  const q2 = tf.reshape(tf.tile(q, [1, 2, 1]), [2 * n, 1, 64]);
  const f = tf.div(blockDct(planes), q2) as tf.Tensor3D;
  const [log, nz, dc] = rateFeatures(f, dz);
  const perSample = (t: tf.Tensor1D) => tf.sum(tf.reshape(t, [n, 2]), 1) as tf.Tensor1D;
  const blocks = f.shape[1];
  const r = rnd(f, () => tf.reshape(noise([2, blocks, 64]), [2 * n, blocks, 64]));
  let up = blockIdct(tf.mul(r, q2) as tf.Tensor3D, hc, wc);
  if (fh === 2) up = fancyUp(up, 1);
  if (fw === 2) up = fancyUp(up, 2);
  const out = tf.transpose(tf.reshape(up, [n, 2, h, w]), [0, 2, 3, 1]) as tf.Tensor4D;
  return { out, feats: [perSample(log), perSample(nz), perSample(dc)] };
}

/**
 * A differentiable stand-in for a JPEG round trip through MozJPEG at its `@jsquash/jpeg`
 * defaults (what `irn downscale --format jpeg` writes): RGB -> YCbCr (JFIF, full range);
 * chroma subsampled as MozJPEG chooses by quality ({@link mozjpegSubsampling}: 4:2:0 below
 * 80, 4:2:2 below 90, else 4:4:4) by box means, as libjpeg downsamples; 8x8 block DCT;
 * quantization by {@link mozjpegQuantTable} with a differentiable rounding
 * (`options.rounding`); then the decoder's path: dequantization, inverse DCT, libjpeg's
 * "fancy" (triangular) chroma upsampling, which MozJPEG's decoder uses by default, YCbCr ->
 * RGB, clamping and 8-bit rounding (straight-through). What it leaves out: trellis
 * quantization (MozJPEG zeroes coefficients whose bits are not worth their error), overshoot
 * deringing, the integer DCT's rounding.
 *
 * Also a rate proxy: the estimated size of each sample's file in bits (see
 * {@link JpegRateCoefficients}, {@link MOZJPEG_RATE}), from the coefficients rounded exactly
 * (straight-through), whatever `rounding` is, so that it prices what the codec will spend.
 *
 * @param y `[B, H, W, 3]` in [0, 1]; H and W not multiples of 16 are padded by repeating the
 *   edge (as libjpeg does) and cropped back
 * @param quality JPEG quality 1-100 (rounded to a whole number), one for all samples or one
 *   per sample
 * @example
 * const { image, bits } = jpegProxy(lr, [50, 90], { rounding: 'cubic' });
 */
export function jpegProxy(y: tf.Tensor4D, quality: number | readonly number[], options: JpegProxyOptions = {}): JpegProxyResult {
  const [b, h0, w0, c0] = y.shape;
  if (c0 !== 3) throw new Error(`jpegProxy: expected 3 channels, got ${c0}`);
  const qs = qualities(quality, b).map((q) => Math.round(q));
  const mode = options.rounding ?? 'ste';
  const seed = options.seed ?? 0;
  const first = options.sampleOffset ?? 0;
  const coef = options.rate ?? MOZJPEG_RATE;
  const h = Math.ceil(h0 / 16) * 16;
  const w = Math.ceil(w0 / 16) * 16;
  const nY = (h / 8) * (w / 8);
  const dz = options.deadZone ?? MOZJPEG_DEAD_ZONE;
  const rnd = (x: tf.Tensor, noise: () => tf.Tensor) => round(x, mode, dz, noise);
  return tf.tidy(() => {
    const x = tf.mul(padEdge(y, h - h0, w - w0), 255);
    // JFIF YCbCr (jccolor.c), level-shifted by -128 (the DCT's input): Cb and Cr's +128 cancels.
    const toYcc = tf.tensor2d([0.299, -0.168735892, 0.5, 0.587, -0.331264108, -0.418687589, 0.114, 0.5, -0.081312411], [3, 3]);
    const ycc = tf.reshape(tf.matMul(tf.reshape(x, [b * h * w, 3]) as tf.Tensor2D, toYcc), [b, h, w, 3]);
    const lum = tf.sub(tf.reshape(tf.slice(ycc, [0, 0, 0, 0], [-1, -1, -1, 1]), [b, h, w]), 128) as tf.Tensor3D;
    const chroma = tf.slice(ycc, [0, 0, 0, 1], [-1, -1, -1, 2]) as tf.Tensor4D;

    const tables = qs.map((q) => [...mozjpegQuantTable(q)]);
    const qAll = tf.tensor3d(Float32Array.from(tables.flat()), [b, 1, 64]);
    const fY = tf.div(blockDct(lum), qAll) as tf.Tensor3D;
    const [logY, nzY, dcY] = rateFeatures(fY, dz);
    const rY = rnd(fY, () => seededNoise(seed, first, b, [nY, 64]));
    const lumOut = tf.add(blockIdct(tf.mul(rY, qAll) as tf.Tensor3D, h, w), 128);

    // Chroma by subsampling mode: the samples of each mode together, then back in order.
    const modes = qs.map(mozjpegSubsampling);
    const perSample: { out: tf.Tensor4D; feats: tf.Tensor1D[] }[] = new Array(b);
    for (const m of ['420', '422', '444'] as const) {
      const idx = modes.flatMap((mm, i) => (mm === m ? [i] : []));
      if (idx.length === 0) continue;
      const take = <T extends tf.Tensor>(t: T) => (idx.length === b ? t : (tf.concat(idx.map((i) => tf.slice(t, i, 1)), 0) as T));
      const noise = (shape: number[]) =>
        tf.concat(idx.map((i) => seededNoise(seed ^ 0x5bd1e995, first + i, 1, shape)), 0);
      const { out, feats } = chromaPath(take(chroma), m, take(qAll), rnd, noise, dz);
      const outs = idx.length === 1 ? [out] : tf.split(out, idx.length, 0);
      const fs = feats.map((f) => (idx.length === 1 ? [f] : tf.split(f, idx.length, 0)));
      idx.forEach((i, k) => (perSample[i] = { out: outs[k] as tf.Tensor4D, feats: fs.map((f) => f[k] as tf.Tensor1D) }));
    }
    const cbcr = b === 1 ? perSample[0].out : tf.concat(perSample.map((p) => p.out), 0);
    const cFeat = (j: number) => (b === 1 ? perSample[0].feats[j] : tf.concat(perSample.map((p) => p.feats[j]), 0));
    // Blocks coded per sample: luma plus two chroma planes of 1/4, 1/2 or all of its blocks.
    const blocks = tf.tensor1d(modes.map((m) => nY * (1 + 2 / (m === '420' ? 4 : m === '422' ? 2 : 1))));
    const features = tf.stack([logY, nzY, cFeat(0), cFeat(1), tf.add(dcY, cFeat(2)), blocks, tf.ones([b])], 1) as tf.Tensor2D;
    const weights = tf.tensor2d(JPEG_RATE_FEATURES.map((k) => coef[k]), [7, 1]);
    const bits = tf.reshape(tf.matMul(features, weights), [b]) as tf.Tensor1D;

    const yccOut = tf.concat([tf.reshape(lumOut, [b, h, w, 1]), cbcr], 3);
    // jdcolor.c: R = Y + 1.402 Cr, G = Y - 0.344136 Cb - 0.714136 Cr, B = Y + 1.772 Cb.
    const toRgb = tf.tensor2d([1, 1, 1, 0, -0.344136286, 1.772, 1.402, -0.714136286, 0], [3, 3]);
    let rgb = tf.reshape(tf.matMul(tf.reshape(yccOut, [b * h * w, 3]) as tf.Tensor2D, toRgb), [b, h, w, 3]) as tf.Tensor4D;
    if (h !== h0 || w !== w0) rgb = tf.slice(rgb, [0, 0, 0, 0], [-1, h0, w0, -1]);
    const image = quantizeSTE(tf.div(rgb, 255)) as tf.Tensor4D;
    return { image, bits, features };
  });
}

/**
 * The real codec in the loop with a better gradient than the identity: `real` forward (e.g.
 * MozJPEG's decoded image of the same LR, made outside the tape, as `irn downscale --format
 * jpeg` would write it), the gradient of `proxy` (the {@link jpegProxy} image of the LR)
 * backward. Training then sees exactly the codec's output and learns through the proxy's
 * Jacobian: chroma subsampling, quantization by the codec's tables.
 *
 * @example
 * const p = jpegProxy(lr, qualities);
 * const coded = realWithProxyGradient(await mozjpegRoundTrip(lr, qualities), p.image);
 */
export function realWithProxyGradient(real: tf.Tensor4D, proxy: tf.Tensor4D): tf.Tensor4D {
  if (real.shape.join() !== proxy.shape.join()) {
    throw new Error(`realWithProxyGradient: the real image is [${real.shape.join(', ')}], the proxy's [${proxy.shape.join(', ')}]`);
  }
  const op = tf.customGrad((...args: unknown[]) => {
    void args;
    return { value: tf.clone(real), gradFunc: (dy: tf.Tensor) => [tf.clone(dy)] };
  });
  return op(proxy) as tf.Tensor4D;
}
