// Calibration of core's differentiable JPEG stand-in (training/jpeg-proxy.ts) against the real
// codec, MozJPEG through @jsquash/jpeg at its defaults (what `irn downscale --format jpeg`
// writes): for every photo (downscaled x2 by core's imresize to LR size, 8-bit) and quality,
// the real file's bytes against the proxy's features (the whole LR and two centre crops, 1/4
// of it and 64x64); fits the rate proxy's coefficients by
// non-negative least squares, and prints them, Pearson's r and the mean relative error of the
// fitted bits, and the PSNR between the proxy's decoded image and MozJPEG's (RGB, 8-bit).
//
//   node --import tsx bench/jpeg-proxy.ts [folder] [--first N] [--skip K] [--dead-zone D[,D...]]
//
// folder: PNG photos, default $IRN_EVAL_DATA or ../shared/datasets/eval/kodak24; --first 6 by
// default (keep runs small), after skipping the first K (default 0: --skip 6 checks the
// shipped coefficients on photos they were not fitted on). --dead-zone: the dead zones whose decoded-image PSNR to compare
// (the fit uses the first); default core's MOZJPEG_DEAD_ZONE. Uses @irn/cli's built codecs
// (@irn/core built: pnpm build) and tfjs's cpu backend.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodePng, imresize, type RasterImage } from '@irn/core';
import { decodeLr, encodeLr } from '../packages/cli/src/image/lr-codecs.js';
import { modCropRgb } from './rd/images.js';
import {
  JPEG_RATE_FEATURES,
  jpegProxy,
  MOZJPEG_DEAD_ZONE,
  MOZJPEG_RATE,
  type JpegRateCoefficients,
} from '../packages/core/src/training/jpeg-proxy.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { first: { type: 'string', default: '6' }, skip: { type: 'string', default: '0' }, 'dead-zone': { type: 'string' } },
});
const dataDir = positionals[0] ?? process.env.IRN_EVAL_DATA ?? join(root, '..', 'shared', 'datasets', 'eval', 'kodak24');
const first = Number(args.first);
const deadZones = (args['dead-zone'] ?? String(MOZJPEG_DEAD_ZONE)).split(',').map(Number);
const QUALITIES = [30, 40, 50, 60, 70, 75, 80, 85, 90, 95];

await tf.setBackend('cpu');
await tf.ready();

interface Row {
  photo: string;
  /** The whole LR, not a crop. */
  whole: boolean;
  quality: number;
  bytes: number;
  features: number[];
  psnr: number[];
}

const psnr = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return 10 * Math.log10(a.length / se);
};

/** The centre `w` x `h` of an RGB raster. */
function crop(img: RasterImage, w: number, h: number): RasterImage {
  const left = Math.floor((img.width - w) / 2);
  const top = Math.floor((img.height - h) / 2);
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((top + y) * img.width + left) * 3, ((top + y) * img.width + left + w) * 3), y * w * 3);
  return { width: w, height: h, channels: 3, data };
}

const files = readdirSync(dataDir).filter((f) => f.toLowerCase().endsWith('.png')).sort().slice(Number(args.skip), Number(args.skip) + first);
const rows: Row[] = [];
for (const file of files) {
  const png = decodePng(readFileSync(join(dataDir, file)));
  const hr = modCropRgb({ width: png.width, height: png.height, channels: png.channels, data: png.data }, 2);
  const lr = imresize(hr, hr.width / 2, hr.height / 2);
  const full = { ...lr, data: Float32Array.from(lr.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255) / 255) };
  // The whole LR and two centre crops: files of three sizes, so that the fit can tell the
  // per-file cost (headers, tables) from the per-block one.
  for (const [cw, ch] of [[full.width, full.height], [Math.round(full.width / 2), Math.round(full.height / 2)], [64, 64]]) {
    const lr8 = crop(full, cw, ch);
    const x = tf.tensor4d(lr8.data, [1, lr8.height, lr8.width, 3]);
    for (const quality of QUALITIES) {
      const jpeg = await encodeLr(lr8, { format: 'jpeg', quality });
      const real = (await decodeLr(jpeg)).image.data;
      const psnrs: number[] = [];
      let features: number[] = [];
      deadZones.forEach((deadZone, k) => {
        const p = jpegProxy(x, quality, { deadZone });
        psnrs.push(psnr(p.image.dataSync(), real));
        if (k === 0) features = Array.from(p.features.dataSync());
        tf.dispose([p.image, p.bits, p.features]);
      });
      rows.push({ photo: `${file} ${cw}x${ch}`, whole: cw === full.width, quality, bytes: jpeg.length, features, psnr: psnrs });
    }
    x.dispose();
  }
  process.stderr.write(`${file} `);
}
process.stderr.write('\n');

/** Least squares on the columns in `active` (normal equations, Gaussian elimination). */
function leastSquares(a: number[][], y: number[], active: number[]): number[] {
  const k = active.length;
  const m = Array.from({ length: k }, () => new Float64Array(k + 1));
  for (let r = 0; r < a.length; r++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) m[i][j] += a[r][active[i]] * a[r][active[j]];
      m[i][k] += a[r][active[i]] * y[r];
    }
  }
  for (let c = 0; c < k; c++) {
    let p = c;
    for (let r = c + 1; r < k; r++) if (Math.abs(m[r][c]) > Math.abs(m[p][c])) p = r;
    [m[c], m[p]] = [m[p], m[c]];
    for (let r = 0; r < k; r++) {
      if (r === c) continue;
      const f = m[r][c] / m[c][c];
      for (let j = c; j <= k; j++) m[r][j] -= f * m[c][j];
    }
  }
  const out = new Array<number>(a[0].length).fill(0);
  active.forEach((col, i) => (out[col] = m[i][k] / m[i][i]));
  return out;
}

/** Non-negative least squares by dropping the most negative coefficient until none is. */
function nnls(a: number[][], y: number[]): number[] {
  let active = a[0].map((_, i) => i);
  for (;;) {
    const c = leastSquares(a, y, active);
    const worst = active.reduce((w, i) => (c[i] < c[w] ? i : w), active[0]);
    if (c[worst] >= 0) return c;
    active = active.filter((i) => i !== worst);
  }
}

const bits = rows.map((r) => r.bytes * 8);
const coef = nnls(rows.map((r) => r.features), bits);
const fitted: JpegRateCoefficients = Object.fromEntries(JPEG_RATE_FEATURES.map((k, i) => [k, Number(coef[i].toPrecision(4))])) as unknown as JpegRateCoefficients;
const predict = (c: JpegRateCoefficients, f: number[]) => JPEG_RATE_FEATURES.reduce((s, k, i) => s + c[k] * f[i], 0);

function stats(c: JpegRateCoefficients) {
  const p = rows.map((r) => predict(c, r.features));
  const n = p.length;
  const mp = p.reduce((s, v) => s + v, 0) / n;
  const mb = bits.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (p[i] - mp) * (bits[i] - mb);
    sxx += (p[i] - mp) ** 2;
    syy += (bits[i] - mb) ** 2;
  }
  const rel = p.reduce((s, v, i) => s + Math.abs(v - bits[i]) / bits[i], 0) / n;
  const worst = p.reduce((s, v, i) => Math.max(s, Math.abs(v - bits[i]) / bits[i]), 0);
  return { p, r: sxy / Math.sqrt(sxx * syy), rel, worst };
}

const fit = stats(fitted);
const shipped = stats(MOZJPEG_RATE);
console.log(`JPEG proxy vs MozJPEG (@jsquash/jpeg defaults), ${files.length} photos from ${dataDir}, x2 LR (imresize), dead zone ${deadZones.join(', ')}`);
console.log(['photo', 'q', 'real bytes', 'proxy bytes (fit)', 'rel err', ...deadZones.map((d) => `PSNR proxy-real dz ${d}`)].join('\t'));
rows.forEach((r, i) => {
  const pb = fit.p[i] / 8;
  console.log([r.photo, r.quality, r.bytes, pb.toFixed(0), `${(((pb - r.bytes) / r.bytes) * 100).toFixed(1)}%`, ...r.psnr.map((v) => v.toFixed(2))].join('\t'));
});
console.log('\nmean PSNR (dB) between the proxy\'s decoded image and MozJPEG\'s, by quality (whole LRs):');
for (const q of QUALITIES) {
  const sel = rows.filter((r) => r.quality === q && r.whole);
  console.log(`  q${q}\t${deadZones.map((d, k) => `dz ${d}: ${(sel.reduce((s, r) => s + r.psnr[k], 0) / sel.length).toFixed(2)}`).join('\t')}`);
}
console.log(`\nfitted rate coefficients (bits): ${JSON.stringify(fitted)}`);
console.log(`fit: Pearson r ${fit.r.toFixed(4)}, mean relative error ${(fit.rel * 100).toFixed(1)} %, worst ${(fit.worst * 100).toFixed(1)} %`);
console.log(`shipped MOZJPEG_RATE: Pearson r ${shipped.r.toFixed(4)}, mean relative error ${(shipped.rel * 100).toFixed(1)} %, worst ${(shipped.worst * 100).toFixed(1)} %`);
