import type { RasterImage } from '../image/raster.js';

/**
 * Image-quality metrics with the protocol of the IRN paper's test code (IRN.md, "Test
 * protocol"; /work/shared/datasets/README.md): both images rounded to 8 bits, BT.601 luma
 * `Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255` on 0..255 values (not rounded), `shave`
 * pixels dropped from every border, PSNR with peak 255, SSIM with an 11x11 Gaussian window
 * (sigma 1.5, 'valid' filtering), K1 = 0.01, K2 = 0.03.
 */

/** Options of the metrics. */
export interface MetricOptions {
  /** Pixels dropped from every border before measuring (the paper: the scale). Default 0. */
  shave?: number;
}

/** A single plane of values on the 0..255 scale. */
interface Plane {
  width: number;
  height: number;
  data: Float64Array;
}

function round8(v: number): number {
  return Math.round(Math.min(1, Math.max(0, v)) * 255);
}

/** BT.601 luma (0..255, float) of an image after rounding it to 8 bits; grey images are their own luma. */
export function lumaPlane(img: RasterImage): Plane {
  const n = img.width * img.height;
  const c = img.channels;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = i * c;
    if (c <= 2) {
      const g = round8(img.data[s]);
      out[i] = 16 + ((65.481 + 128.553 + 24.966) * g) / 255;
    } else {
      out[i] = 16 + (65.481 * round8(img.data[s]) + 128.553 * round8(img.data[s + 1]) + 24.966 * round8(img.data[s + 2])) / 255;
    }
  }
  return { width: img.width, height: img.height, data: out };
}

function checkPair(a: RasterImage, b: RasterImage, shave: number): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new Error(`images differ in size: ${a.width}x${a.height} vs ${b.width}x${b.height}`);
  }
  if (!Number.isInteger(shave) || shave < 0 || 2 * shave >= Math.min(a.width, a.height)) {
    throw new Error(`shave ${shave} leaves nothing of a ${a.width}x${a.height} image`);
  }
}

function shaved(p: Plane, shave: number): Plane {
  if (shave === 0) return p;
  const w = p.width - 2 * shave;
  const h = p.height - 2 * shave;
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) out.set(p.data.subarray((y + shave) * p.width + shave, (y + shave) * p.width + shave + w), y * w);
  return { width: w, height: h, data: out };
}

function psnrOf(a: Float64Array, b: Float64Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 20 * Math.log10(255 / Math.sqrt(mse));
}

/** PSNR (dB) of the Y channel, the paper's headline metric. */
export function psnrY(result: RasterImage, reference: RasterImage, options: MetricOptions = {}): number {
  const shave = options.shave ?? 0;
  checkPair(result, reference, shave);
  return psnrOf(shaved(lumaPlane(result), shave).data, shaved(lumaPlane(reference), shave).data);
}

/** PSNR (dB) over the R, G and B values after 8-bit rounding (grey images: over grey). */
export function psnrRgb(result: RasterImage, reference: RasterImage, options: MetricOptions = {}): number {
  const shave = options.shave ?? 0;
  checkPair(result, reference, shave);
  const colour = (img: RasterImage, ch: number): Plane => {
    const c = img.channels;
    const src = c <= 2 ? 0 : ch;
    const data = new Float64Array(img.width * img.height);
    for (let i = 0; i < data.length; i++) data[i] = round8(img.data[i * c + src]);
    return { width: img.width, height: img.height, data };
  };
  const planes = result.channels <= 2 && reference.channels <= 2 ? [0] : [0, 1, 2];
  const a = planes.map((ch) => shaved(colour(result, ch), shave).data);
  const b = planes.map((ch) => shaved(colour(reference, ch), shave).data);
  const cat = (xs: Float64Array[]) => {
    const out = new Float64Array(xs.reduce((n, x) => n + x.length, 0));
    let o = 0;
    for (const x of xs) {
      out.set(x, o);
      o += x.length;
    }
    return out;
  };
  return psnrOf(cat(a), cat(b));
}

/** The normalised 11-tap Gaussian (sigma 1.5) of the SSIM paper and MATLAB's ssim_index. */
function gaussianTaps(): Float64Array {
  const taps = new Float64Array(11);
  let sum = 0;
  for (let i = 0; i < 11; i++) {
    taps[i] = Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
    sum += taps[i];
  }
  for (let i = 0; i < 11; i++) taps[i] /= sum;
  return taps;
}

/** Separable 'valid' filtering with an 11x11 Gaussian. */
function filterValid(p: Plane, taps: Float64Array): Plane {
  const w = p.width - 10;
  const h = p.height - 10;
  const tmp = new Float64Array(w * p.height);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += taps[k] * p.data[y * p.width + x + k];
      tmp[y * w + x] = s;
    }
  }
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let k = 0; k < 11; k++) s += taps[k] * tmp[(y + k) * w + x];
      out[y * w + x] = s;
    }
  }
  return { width: w, height: h, data: out };
}

function ssimOf(a: Plane, b: Plane): number {
  if (a.width < 11 || a.height < 11) throw new Error(`SSIM needs at least 11x11 pixels after shaving, got ${a.width}x${a.height}`);
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  const taps = gaussianTaps();
  const mul = (x: Plane, y: Plane): Plane => ({ ...x, data: x.data.map((v, i) => v * y.data[i]) });
  const muA = filterValid(a, taps);
  const muB = filterValid(b, taps);
  const sAA = filterValid(mul(a, a), taps);
  const sBB = filterValid(mul(b, b), taps);
  const sAB = filterValid(mul(a, b), taps);
  let sum = 0;
  for (let i = 0; i < muA.data.length; i++) {
    const ma = muA.data[i];
    const mb = muB.data[i];
    const va = sAA.data[i] - ma * ma;
    const vb = sBB.data[i] - mb * mb;
    const cov = sAB.data[i] - ma * mb;
    sum += ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
  }
  return sum / muA.data.length;
}

/** SSIM of the Y channel (the paper's protocol). */
export function ssimY(result: RasterImage, reference: RasterImage, options: MetricOptions = {}): number {
  const shave = options.shave ?? 0;
  checkPair(result, reference, shave);
  return ssimOf(shaved(lumaPlane(result), shave), shaved(lumaPlane(reference), shave));
}
