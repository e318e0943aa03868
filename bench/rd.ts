// Rate–distortion benchmark (issue 13, item 1; bench/README.md, "Rate–distortion"): what a page
// downloads (bits per full-size pixel) against the quality of the full-size image it shows
// (Y-PSNR and SSIM, BT.601, shave = scale: the paper's protocol, core's psnrY/ssimY), for
//   - JPEG (MozJPEG), WebP and AVIF of the full photo;
//   - the bicubic LR (core's MATLAB-style imresize) in those codecs, upscaled by bicubic and by
//     UpscalerJS's esrgan-slim;
//   - IRN's LR (shipped weights, z = 0) as lossless PNG and lossless WebP, and in each lossy
//     codec, restored by IRN;
// then BD-rate / BD-PSNR of each IRN curve against each full-photo codec and bicubic +
// esrgan-slim, the issue's targets as PASS/FAIL lines, and an SVG plot per scale.
//
//   pnpm bench:rd [folder] [--scale 2|4] [--first N] [--out bench/out/rd] [--figures DIR] [--fresh]
//   node --import tsx bench/rd.ts ...   (the same)
//
// folder: PNG photos, default $IRN_EVAL_DATA or ../shared/datasets/eval/kodak24. Results per
// image and scale are cached in <out>/cache/ (keyed by the settings), so an interrupted run
// resumes; --fresh ignores the cache. Codecs: bench/rd/codecs.ts; tfjs runs on the wasm backend.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodePng, downscaleImage, encodePng, imresize, IrnModel, psnrY, ssimY, upscaleImage, type RasterImage } from '@irn/core';
import { CODEC_SETTINGS, decode, encode, type LossyCodec, type Rgba } from './rd/codecs.js';
import { loadEsrganSlim, type EsrganSlim } from './rd/esrgan.js';
import { modCropRgb, toRaster, toRgba } from './rd/images.js';
import { bdTable, checkTarget, curvesTable, meanCurves, rd, targetLine, type CurvePoint, type ImageResult, type Measurement } from './rd/report.js';
import { lineChart, type Series } from './rd/svg.js';
import { fileSystem, useNodeBackend } from '@irn/core/node';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scale: { type: 'string', multiple: true },
    first: { type: 'string' },
    out: { type: 'string', default: join(root, 'bench', 'out', 'rd') },
    /** Also write the plots here (the committed copies the README shows). */
    figures: { type: 'string' },
    'model-x2': { type: 'string', default: join(root, 'weights', 'irn-x2') },
    'model-x4': { type: 'string', default: join(root, 'weights', 'irn-x4') },
    fresh: { type: 'boolean', default: false },
  },
});

const CODECS: LossyCodec[] = ['jpeg', 'webp', 'avif'];
/**
 * The quality sweeps. The full photo: from the lowest rate each codec can reach (MozJPEG
 * quality 1 is about 0.1 bpp on Kodak) to 2-3 bpp. The LRs: four points per codec (the
 * fewest a cubic Bjøntegaard fit takes) around the targets' ranges (x2: 0.2-0.6 bpp, x4:
 * 0.1-0.3 bpp of the full-size image): each LR point costs an IRN and an esrgan-slim pass per
 * photo (about 3-7 s each on the shared 2-core build machine), a full-photo point an encode.
 */
const SWEEPS = {
  photo: { jpeg: [1, 3, 6, 10, 20, 35, 55, 75, 90], webp: [0, 10, 30, 50, 70, 90], avif: [10, 25, 40, 55, 70, 85] },
  lr: {
    2: { jpeg: [30, 55, 80, 93], webp: [20, 45, 70, 90], avif: [25, 45, 62, 80] },
    4: { jpeg: [60, 80, 90, 96], webp: [50, 75, 90, 100], avif: [50, 65, 80, 92] },
  },
} as const;
/** The issue's targets: rate ranges (bpp) per scale. */
const TARGET_RANGE: Record<2 | 4, [number, number]> = { 2: [0.2, 0.6], 4: [0.1, 0.3] };

const LABELS: Record<string, string> = {
  'photo-jpeg': 'JPEG of the photo',
  'photo-webp': 'WebP of the photo',
  'photo-avif': 'AVIF of the photo',
  'bicubic-jpeg': 'bicubic LR JPEG + bicubic',
  'bicubic-webp': 'bicubic LR WebP + bicubic',
  'bicubic-avif': 'bicubic LR AVIF + bicubic',
  'esrgan-jpeg': 'bicubic LR JPEG + esrgan-slim',
  'esrgan-webp': 'bicubic LR WebP + esrgan-slim',
  'esrgan-avif': 'bicubic LR AVIF + esrgan-slim',
  'irn-jpeg': 'IRN LR JPEG',
  'irn-webp': 'IRN LR WebP',
  'irn-avif': 'IRN LR AVIF',
  'irn-png': 'IRN LR PNG (lossless)',
  'irn-webp-lossless': 'IRN LR WebP lossless',
};

const scales = (args.scale ?? ['2', '4']).flatMap((s) => s.split(',')).map(Number) as (2 | 4)[];
for (const s of scales) if (s !== 2 && s !== 4) throw new Error(`--scale must be 2 or 4, got ${s}`);
const dataDir = resolve(positionals[0] ?? process.env.IRN_EVAL_DATA ?? join(root, '..', 'shared', 'datasets', 'eval', 'kodak24'));
const outDir = resolve(args.out);
const cacheDir = join(outDir, 'cache');
mkdirSync(cacheDir, { recursive: true });

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s, load ${loadavg()[0].toFixed(1)}] ${msg}\n`);

/** Seconds spent per kind of step, to size the sweeps (printed at the end). */
const cost: Record<string, { s: number; n: number }> = {};
async function timed<T>(step: string, fn: () => Promise<T> | T): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    const c = (cost[step] ??= { s: 0, n: 0 });
    c.s += (performance.now() - t) / 1000;
    c.n++;
  }
}

let files = readdirSync(dataDir).filter((f) => f.toLowerCase().endsWith('.png')).sort();
if (files.length === 0) throw new Error(`no PNG photos in ${dataDir}`);
if (args.first != null) files = files.slice(0, Number(args.first));

/** What the cached results depend on: change any of it and the cache is not used. */
const cacheKey = createHash('sha256')
  .update(JSON.stringify({ v: 1, SWEEPS, CODEC_SETTINGS, models: { 2: fingerprint(args['model-x2']), 4: fingerprint(args['model-x4']) } }))
  .digest('hex')
  .slice(0, 16);

function fingerprint(dir: string): string {
  try {
    return createHash('sha256').update(readFileSync(join(dir, 'model.json'))).digest('hex');
  } catch {
    return 'missing';
  }
}

log(`${files.length} photos from ${dataDir}, scales ${scales.join(', ')}, ${cpus().length} cores, cache key ${cacheKey}`);
await useNodeBackend('wasm');

const irn: Partial<Record<2 | 4, IrnModel>> = {};
const esrgan: Partial<Record<2 | 4, EsrganSlim>> = {};
for (const s of scales) {
  irn[s] = await IrnModel.load(fileSystem(s === 2 ? args['model-x2'] : args['model-x4']));
  if (irn[s]!.scale !== s) throw new Error(`the x${s} model has scale ${irn[s]!.scale}`);
  esrgan[s] = await loadEsrganSlim(s);
}

function score(method: string, quality: number | null, bytes: number, result: RasterImage, reference: RasterImage, shave: number): Measurement {
  return { method, quality, bytes, psnrY: psnrY(result, reference, { shave }), ssimY: ssimY(result, reference, { shave }) };
}

async function measure(name: string, photo: RasterImage, scale: 2 | 4, photoMemo: Map<string, { bytes: number; image: RasterImage }>): Promise<ImageResult> {
  const hr = modCropRgb(photo, scale);
  const { width: w, height: h } = hr;
  const hr8: Rgba = toRgba(hr);
  const ref = toRaster(hr8);
  const points: Measurement[] = [];
  // The full photo in each codec. The encodes do not depend on the scale (only the crop
  // does), so they are shared between x2 and x4 when the crops agree.
  for (const codec of CODECS) {
    for (const q of SWEEPS.photo[codec]) {
      const key = `${w}x${h}/${codec}/${q}`;
      let m = photoMemo.get(key);
      if (m == null) {
        const bytes = await timed(`encode ${codec} photo`, () => encode(hr8, { codec, quality: q }));
        const image = toRaster(await timed(`decode ${codec} photo`, () => decode(bytes, codec, w, h)));
        m = { bytes: bytes.length, image };
        photoMemo.set(key, m);
      }
      points.push(await timed('metrics', () => score(`photo-${codec}`, q, m.bytes, m.image, ref, scale)));
    }
  }
  // The bicubic LR ("thumbnail + super-resolution"), upscaled by bicubic and by esrgan-slim.
  const lrB = toRgba(imresize(hr, w / scale, h / scale));
  const check = {
    bicubicUp: psnrY(imresize(toRaster(lrB), w, h), ref, { shave: scale }),
    esrganUp: psnrY(toRaster(await timed('esrgan-slim', () => esrgan[scale]!.upscale(lrB))), ref, { shave: scale }),
  };
  for (const codec of CODECS) {
    for (const q of SWEEPS.lr[scale][codec]) {
      const bytes = await timed(`encode ${codec} LR`, () => encode(lrB, { codec, quality: q }));
      const dec = await timed(`decode ${codec} LR`, () => decode(bytes, codec, w / scale, h / scale));
      const bic = await timed('bicubic up', () => imresize(toRaster(dec), w, h));
      points.push(await timed('metrics', () => score(`bicubic-${codec}`, q, bytes.length, bic, ref, scale)));
      const es = toRaster(await timed('esrgan-slim', () => esrgan[scale]!.upscale(dec)));
      points.push(await timed('metrics', () => score(`esrgan-${codec}`, q, bytes.length, es, ref, scale)));
    }
  }
  // IRN's LR (8-bit, z = 0 on the way up).
  const model = irn[scale]!;
  // tileSize 0: the whole image in one pass (equal to the tiled result, whose overlap covers the
  // receptive field, without computing the overlaps twice; a Kodak photo fits in memory).
  const lr8 = toRgba(await timed('irn downscale', () => downscaleImage(model, hr, { tileSize: 0 })));
  const lrR = toRaster(lr8);
  const png = await timed('encode png max', () => encodePng(lrR, { effort: 'max' }));
  const webpL = await timed('encode webp lossless', () => encode(lr8, { codec: 'webp-lossless' }));
  const back = await timed('decode webp lossless', () => decode(webpL, 'webp-lossless', w / scale, h / scale));
  if (!back.data.every((v, i) => v === lr8.data[i])) throw new Error(`${name}: lossless WebP did not round-trip`);
  const restored = await timed('irn upscale', () => upscaleImage(model, lrR, { tileSize: 0 }));
  const lossless = await timed('metrics', () => score('irn-png', null, png.length, restored, ref, scale));
  points.push(lossless, { ...lossless, method: 'irn-webp-lossless', bytes: webpL.length });
  for (const codec of CODECS) {
    for (const q of SWEEPS.lr[scale][codec]) {
      const bytes = await timed(`encode ${codec} LR`, () => encode(lr8, { codec, quality: q }));
      const dec = await timed(`decode ${codec} LR`, () => decode(bytes, codec, w / scale, h / scale));
      const up = await timed('irn upscale', () => upscaleImage(model, toRaster(dec), { tileSize: 0 }));
      points.push(await timed('metrics', () => score(`irn-${codec}`, q, bytes.length, up, ref, scale)));
    }
  }
  return { name, width: w, height: h, scale, points, check };
}

const results: Record<number, ImageResult[]> = { 2: [], 4: [] };
let measured = 0;
let fromCache = 0;
let cachedSeconds = 0;
for (const [i, file] of files.entries()) {
  const name = file.replace(/\.png$/i, '');
  let photo: RasterImage | null = null;
  const memo = new Map<string, { bytes: number; image: RasterImage }>();
  const bytes = readFileSync(join(dataDir, file));
  // The photo's own hash too: the same name in another folder is another photo.
  const photoHash = createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  for (const s of scales) {
    const cached = join(cacheDir, `${name}.x${s}.json`);
    if (!args.fresh && existsSync(cached)) {
      const c = JSON.parse(readFileSync(cached, 'utf8')) as { key: string; photo?: string; seconds?: number; result: ImageResult };
      if (c.key === cacheKey && (c.photo == null || c.photo === photoHash)) {
        results[s].push(c.result);
        fromCache++;
        if (c.seconds != null) cachedSeconds += c.seconds;
        continue;
      }
    }
    photo ??= decodePng(bytes);
    const t = Date.now();
    const r = await measure(name, photo, s, memo);
    measured++;
    writeFileSync(cached, JSON.stringify({ key: cacheKey, photo: photoHash, seconds: (Date.now() - t) / 1000, result: r }));
    results[s].push(r);
    log(`${i + 1}/${files.length} ${name} x${s}: ${((Date.now() - t) / 1000).toFixed(1)} s (IRN lossless ${r.points.find((p) => p.method === 'irn-png')!.psnrY.toFixed(2)} dB; bicubic ${r.check.bicubicUp.toFixed(2)}, esrgan-slim ${r.check.esrganUp.toFixed(2)})`);
  }
}

// Colour per codec, line style per method.
const COLOURS: Record<string, string> = { jpeg: '#d9730d', webp: '#2f8a3b', avif: '#6a3fb5', png: '#1f5fbf', 'webp-lossless': '#1f5fbf' };
function seriesOf(curves: Map<string, CurvePoint[]>): Series[] {
  const out: Series[] = [];
  const add = (method: string, style: Partial<Series>) => {
    const c = curves.get(method);
    if (c == null) return;
    const codec = method.replace(/^[a-z]+-/, '');
    out.push({ label: LABELS[method] ?? method, color: COLOURS[codec] ?? '#333', points: c.map((p) => ({ x: p.bpp, y: p.psnrY })), ...style });
  };
  for (const c of CODECS) add(`photo-${c}`, { dash: '7 4', marker: 'square' });
  for (const c of CODECS) add(`bicubic-${c}`, { dash: '2 3', lineWidth: 1, marker: 'circle' });
  for (const c of CODECS) add(`esrgan-${c}`, { dash: '1 2 6 2', marker: 'diamond' });
  for (const c of CODECS) add(`irn-${c}`, { lineWidth: 2.5, marker: 'circle' });
  add('irn-png', { marker: 'square' });
  add('irn-webp-lossless', { marker: 'diamond' });
  return out;
}

const report: string[] = [];
const say = (line = '') => {
  report.push(line);
  process.stdout.write(line + '\n');
};
for (const s of scales) {
  const imgs = results[s];
  if (imgs.length === 0) continue;
  const curves = meanCurves(imgs);
  const mean = (f: (r: ImageResult) => number) => imgs.reduce((a, r) => a + f(r), 0) / imgs.length;
  say(`## x${s}: ${imgs.length} photos (${[...new Set(imgs.map((r) => `${r.width}x${r.height}`))].join(', ')}), rates in bits per full-size pixel`);
  say();
  say(curvesTable(curves, LABELS));
  say();
  say(`Check on the 8-bit bicubic LR (no codec): bicubic up ${mean((r) => r.check.bicubicUp).toFixed(2)} dB, esrgan-slim ${mean((r) => r.check.esrganUp).toFixed(2)} dB (better on ${imgs.filter((r) => r.check.esrganUp > r.check.bicubicUp).length} of ${imgs.length} photos).`);
  say();
  say('BD-rate / BD-PSNR (Bjøntegaard, cubic fit in log-rate, over the overlap; negative BD-rate and positive BD-PSNR: IRN is better):');
  say();
  const irnCurves = CODECS.map((c) => `irn-${c}`);
  say(bdTable(curves, irnCurves, ['photo-jpeg', 'photo-webp', 'photo-avif', 'esrgan-jpeg', 'esrgan-webp', 'esrgan-avif'], LABELS));
  say();
  const [lo, hi] = TARGET_RANGE[s];
  const irnRd = irnCurves.map((m) => curves.get(m)).filter((c) => c != null).map((c) => rd(c));
  const esRd = CODECS.map((c) => curves.get(`esrgan-${c}`)).filter((c) => c != null).map((c) => rd(c));
  const jpegRd = [rd(curves.get('photo-jpeg')!)];
  const t1 = checkTarget(irnRd, jpegRd, lo, hi, 0);
  const t2 = checkTarget(irnRd, esRd, lo, hi, 2);
  say('Targets (issue 13; the best IRN lossy curve at each rate, curves read linearly in log-rate between measured points, 9 rates):');
  say();
  say('    ' + targetLine(`x${s}: IRN above JPEG of the full photo across ${lo}-${hi} bpp`, t1, 0));
  say('    ' + targetLine(`x${s}: IRN >= 2 dB above bicubic LR + esrgan-slim (best codec) at equal bytes, ${lo}-${hi} bpp`, t2, 2));
  const best = (ms: string[]) => ms.map((m) => curves.get(m)?.[0]).filter((p) => p != null);
  const lossless = best(['irn-png', 'irn-webp-lossless']);
  const smallest = lossless.reduce((a, p) => (p.bpp < a.bpp ? p : a), lossless[0]);
  if (s === 2 && smallest != null) {
    say('    ' + `${smallest.bpp <= 3.3 ? 'PASS' : 'FAIL'}  x2 lossless: smallest lossless LR ${smallest.bpp.toFixed(3)} bpp (needs <= 3.3) at ${smallest.psnrY.toFixed(2)} dB`);
  }
  say();
  const svg = lineChart(seriesOf(curves), {
    title: `Rate–distortion, x${s}, ${imgs.length} photo${imgs.length === 1 ? '' : 's'} (Y-PSNR, shave ${s})`,
    xLabel: 'bits per full-size pixel (log)',
    yLabel: 'Y-PSNR (dB)',
    logX: true,
    width: 900,
    height: 560,
    bands: [{ from: lo, to: hi, label: 'target range' }],
  });
  writeFileSync(join(outDir, `rd-x${s}.svg`), svg);
  if (args.figures != null) {
    mkdirSync(args.figures, { recursive: true });
    writeFileSync(join(args.figures, `rd-x${s}.svg`), svg);
  }
  writeFileSync(
    join(outDir, `results-x${s}.json`),
    JSON.stringify({ scale: s, data: dataDir, photos: imgs.length, sweeps: { photo: SWEEPS.photo, lr: SWEEPS.lr[s] }, codecSettings: CODEC_SETTINGS, curves: Object.fromEntries(curves), targets: { aboveJpeg: t1, aboveEsrgan: t2 }, images: imgs }, null, 1) + '\n',
  );
}
say(`Wall time ${((Date.now() - t0) / 1000).toFixed(0)} s (${cpus().length} cores, load ${loadavg()[0].toFixed(1)}): ${measured} photo-scale pairs measured now, ${fromCache} taken from ${cacheDir}${cachedSeconds > 0 ? ` (measured earlier in ${cachedSeconds.toFixed(0)} s, where recorded)` : ''}.`);
say('Seconds per step (this run, not counting cached images): ' + Object.entries(cost).map(([k, c]) => `${k} ${c.s.toFixed(1)} (${c.n}x)`).join(', '));
writeFileSync(join(outDir, 'report.md'), report.join('\n') + '\n');
log(`wrote ${outDir}/report.md, results-x*.json, rd-x*.svg`);
