// Rate–distortion benchmark (issue 13, item 1; bench/README.md, "Rate–distortion"): what a page
// downloads (bits per full-size pixel) against the quality of the full-size image it shows
// (Y-PSNR and SSIM, BT.601, shave = scale: the paper's protocol, core's psnrY/ssimY), for
//   - JPEG (MozJPEG), WebP and AVIF of the full photo;
//   - the bicubic LR (core's MATLAB-style imresize) in those codecs, upscaled by bicubic and by
//     UpscalerJS's esrgan-slim;
//   - IRN's LR (shipped weights, z = 0) as lossless PNG and lossless WebP, and in each lossy
//     codec, restored by IRN;
//   - with --decoder-xN, the same lossy LR files (same model, same bytes) restored by a lossy-LR
//     decoder's inverse instead (z = 0);
//   - with --lossy-xN, a lossy preset trained end to end (e.g. through the JPEG stand-in,
//     `irn train --lr-codec jpeg-proxy`): its own forward makes the LR (its own bytes), its
//     inverse restores it;
//   - with --x2-at-x4, an x2 model's own LR (half the photo's size) in AVIF, restored by it and
//     scored on the x4 plot and protocol (shave 4): what a page can ship instead of an x4 LR at
//     the same bytes (reported beside the x4 targets, not in them);
// then BD-rate / BD-PSNR of each IRN curve against each full-photo codec and bicubic +
// esrgan-slim, each decoder's gain on the same bytes, for a codec with two or more decoders
// their curve together (each LR restored by the decoder `irn downscale` names for its quality:
// drawn from the measured curves, and in the plot instead of them), the issue's targets as PASS/FAIL lines
// (over every IRN lossy curve, decoders and lossy presets included, naming the best), and an SVG plot per scale.
//
//   pnpm bench:rd [folder] [--scale 2|4] [--first N] [--shard K/N] [--out bench/out/rd] [--figures DIR] [--avif-max]
//                 [--decoder-x2 [NAME=]DIR ...] [--decoder-x4 [NAME=]DIR ...]
//                 [--lossy-x2 [NAME=]DIR ...] [--lossy-x4 [NAME=]DIR ...] [--x2-at-x4 [NAME=]DIR ...]
//                 [--only PATTERNS] [--fresh]
//   node --import tsx bench/rd.ts ...   (the same)
//
// folder: PNG photos, default $IRN_EVAL_DATA or ../shared/datasets/eval/kodak24. Results are
// cached per photo, scale and method in <out>/cache/ (bench/rd/cache.ts: each keyed by its own
// settings and model files, so a new method or decoder leaves the others' results valid; the
// first version's files are still read), so an interrupted run resumes. --only computes just
// the methods whose ids match (e.g. 'irn-*+*': the decoder curves; 'own-*': the lossy presets') and reports every method
// cached for all the photos; --fresh measures the selected methods again. Codecs:
// bench/rd/codecs.ts; tfjs runs on the wasm backend.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodePng, downscaleImage, encodePng, imresize, IrnModel, lrNotesFrom, psnrY, ssimY, upscaleImage, type PresetLrNotes, type RasterImage } from '@irn/core';
import { logRates, type RdPoint } from './rd/bd.js';
import { bytesHash, legacyKey, modelBytes, modelHash, RdCache, settingsKey } from './rd/cache.js';
import { runtimeBytes, type RuntimeBytes } from './rd/runtime.js';
import { CODEC_SETTINGS, decode, EFFORT_MAX, encode, IRN_LR_SETTINGS, type LossyCodec, type Rgba } from './rd/codecs.js';
import { loadEsrganSlim, type EsrganSlim } from './rd/esrgan.js';
import { modCropRgb, toRaster, toRgba } from './rd/images.js';
import { baseIrnId, codecTag, encoderCheck, encoderOf, LOSSY, lrCodecOf, lrQualityMaxOf, lrQualityMinOf, methodKey, qualityRangeNote, methodsFor, onlyMatcher, parseDecoders, presetsMethod, shardOf, type Decoder, type Method } from './rd/methods.js';
import { bdTable, checkTarget, completeMethods, curvesTable, envelopeAt, meanCurves, modelPayback, paybackCell, presetCurve, rd, sameBytesGain, targetLine, type CurvePoint, type ImageResult, type Measurement, type TargetResult } from './rd/report.js';
import { lineChart, type Series } from './rd/svg.js';
import { fileSystem, useNodeBackend } from '@irn/core/node';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    scale: { type: 'string', multiple: true },
    first: { type: 'string' },
    /** `K/N`: only every N-th photo from the K-th (1-based), to run N processes side by side on one cache; a last run without it reports on all. */
    shard: { type: 'string' },
    out: { type: 'string', default: join(root, 'bench', 'out', 'rd') },
    /** Also write the plots here (the committed copies the README shows). */
    figures: { type: 'string' },
    'model-x2': { type: 'string', default: join(root, 'weights', 'irn-x2') },
    'model-x4': { type: 'string', default: join(root, 'weights', 'irn-x4') },
    /** Lossy-LR decoders, `[NAME=]DIR`, repeatable: their inverse restores --model-xN's lossy LRs. */
    'decoder-x2': { type: 'string', multiple: true },
    'decoder-x4': { type: 'string', multiple: true },
    /** Lossy presets trained end to end, `[NAME=]DIR`, repeatable: their own forward makes the LR (own bytes), their inverse restores it. */
    'lossy-x2': { type: 'string', multiple: true },
    'lossy-x4': { type: 'string', multiple: true },
    /** x2 models, `[NAME=]DIR`, repeatable, measured at x4's rates: their own forward makes an x2 LR, coded AVIF; scored on the x4 protocol. */
    'x2-at-x4': { type: 'string', multiple: true },
    /** Compute only the methods whose ids match these comma-separated patterns (`*` wildcard). */
    only: { type: 'string' },
    fresh: { type: 'boolean', default: false },
    /** Also every AVIF curve coded at effort max (libavif speed 4, `irn downscale --effort max`): methods `*-avif-max*`. */
    'avif-max': { type: 'boolean', default: false },
  },
});

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
  /**
   * An x2 LR in AVIF at x4's rates (--x2-at-x4): from below the lowest x4 point (about 0.07 bpp)
   * to past 0.3 bpp (on Kodak24 irn-x2-avif-v2's LR is 0.03 bpp at quality 8, 0.09 at 25, 0.25
   * at 45; the bicubic x2 thumbnail, smoother, needs 65 to pass 0.3).
   */
  half: { avif: [8, 16, 25, 35, 45, 55, 65] },
  /** AVIF of the photo below its sweep's quality 10 (0.09 bpp on Kodak24), beside the x2 LRs at x4's rates (`photo-avif-low`). */
  photoLow: { avif: [0, 3, 6] },
} as const;
/** The issue's targets: rate ranges (bpp) per scale. */
const TARGET_RANGE: Record<2 | 4, [number, number]> = { 2: [0.2, 0.6], 4: [0.1, 0.3] };

const scales = (args.scale ?? ['2', '4']).flatMap((s) => s.split(',')).map(Number) as (2 | 4)[];
for (const s of scales) if (s !== 2 && s !== 4) throw new Error(`--scale must be 2 or 4, got ${s}`);
const dataDir = resolve(positionals[0] ?? process.env.IRN_EVAL_DATA ?? join(root, '..', 'shared', 'datasets', 'eval', 'kodak24'));
const outDir = resolve(args.out);
const cacheDir = join(outDir, 'cache');
mkdirSync(cacheDir, { recursive: true });
const modelDir: Record<2 | 4, string> = { 2: resolve(args['model-x2']), 4: resolve(args['model-x4']) };
const decoders: Record<2 | 4, Decoder[]> = { 2: parseDecoders(args['decoder-x2'], '--decoder-x2'), 4: parseDecoders(args['decoder-x4'], '--decoder-x4') };
const ownModels: Record<2 | 4, Decoder[]> = { 2: parseDecoders(args['lossy-x2'], '--lossy-x2'), 4: parseDecoders(args['lossy-x4'], '--lossy-x4') };
/** The x2 models measured at x4's rates (their curves are x4 methods: `half-avif+NAME`). */
const halfModels: Decoder[] = parseDecoders(args['x2-at-x4'], '--x2-at-x4');
const only = onlyMatcher(args.only);

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(5)} s, load ${loadavg()[0].toFixed(1)}] ${msg}\n`);
for (const s of [2, 4] as const) if (decoders[s].length + ownModels[s].length > 0 && !scales.includes(s)) log(`--decoder-x${s}/--lossy-x${s} given but x${s} is not measured (--scale): ignored`);
if (halfModels.length > 0 && !scales.includes(4)) log('--x2-at-x4 given but x4 is not measured (--scale): ignored');

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
if (args.shard != null) files = shardOf(files, args.shard);

// What each method's results depend on (bench/rd/cache.ts): its sweep, its codec's settings
// and pinned version, and the hashes of the model files it runs. Nothing else: a new method
// or decoder, or a changed sweep of another codec, leaves its results valid.
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
const deps = { ...pkg.dependencies, ...pkg.devDependencies };
const VERSIONS = { jpeg: deps['@jsquash/jpeg'], webp: deps['@jsquash/webp'], avif: deps['@jsquash/avif'], esrgan: deps['@upscalerjs/esrgan-slim'] };
const hashes = new Map<string, string>();
const hashOf = (dir: string) => hashes.get(dir) ?? (hashes.set(dir, modelHash(dir)), hashes.get(dir)!);
const decoderDir = (s: 2 | 4, name: string) => [...decoders[s], ...ownModels[s], ...(s === 4 ? halfModels : [])].find((d) => d.name === name)!.dir;
const keyOf = (m: Method, s: 2 | 4): string =>
  methodKey(m, s, { sweeps: { photo: SWEEPS.photo, lr: SWEEPS.lr[s], half: SWEEPS.half, photoLow: SWEEPS.photoLow }, codecSettings: CODEC_SETTINGS, irnLrSettings: IRN_LR_SETTINGS, effortMax: EFFORT_MAX, versions: VERSIONS, model: hashOf(modelDir[s]), decoder: (name) => hashOf(decoderDir(s, name)) }, settingsKey);

const avifMax = args['avif-max'] === true;
const methods: Record<2 | 4, Method[]> = { 2: methodsFor(decoders[2], ownModels[2], { avifMax }), 4: methodsFor(decoders[4], ownModels[4], { avifMax, half: halfModels }) };
const LABELS: Record<string, string> = Object.fromEntries([...methods[2], ...methods[4]].map((m) => [m.id, m.label]));
// The first version's cache files hold valid results when their key is what it would compute
// today (same sweeps, codec settings and model.json files).
// (The sweeps and JPEG's settings as they were then: `half` and JPEG's `smallestOf` came later.)
const cache = new RdCache(cacheDir, legacyKey({ photo: SWEEPS.photo, lr: SWEEPS.lr }, { ...CODEC_SETTINGS, jpeg: {} }, modelDir[2], modelDir[4]));

const selected = scales.flatMap((s) => methods[s].filter((m) => only(m.id)).map((m) => `x${s} ${m.id}`));
if (args.only != null && selected.length === 0) throw new Error(`--only ${args.only} matches no method; the ids are: ${[...new Set(scales.flatMap((s) => methods[s].map((m) => m.id)))].join(', ')}`);
log(`${files.length} photos from ${dataDir}, scales ${scales.join(', ')}, ${cpus().length} cores${args.only != null ? `; computing only ${selected.join(', ')}` : ''}${args.fresh ? ' (--fresh: the selected methods are measured again)' : ''}`);

/** The model.json of a --decoder-xN or --lossy-xN model, after checking its scale. */
function modelJsonOf(option: string, d: Decoder, s: 2 | 4): unknown {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(join(d.dir, 'model.json'), 'utf8'));
  } catch {
    throw new Error(`${option} ${d.name}: cannot read ${join(d.dir, 'model.json')}`);
  }
  const declared = (json as { userDefinedMetadata?: { irn?: { scale?: unknown } } }).userDefinedMetadata?.irn?.scale;
  if (typeof declared === 'number' && declared !== s) throw new Error(`${option} ${d.name}: ${d.dir} is a x${declared} model`);
  return json;
}

/** Whether each decoder was trained for the LRs it is measured on, by its metadata; what each lossy preset was trained for. */
const encoderLines: Record<2 | 4, string[]> = { 2: [], 4: [] };
/** Each decoder's lossy notes (its model.json's `irn` metadata, as `irn downscale` reads a sibling's), by scale and name. */
const decoderNotes: Record<2 | 4, Map<string, PresetLrNotes>> = { 2: new Map(), 4: new Map() };
for (const s of scales) {
  for (const d of decoders[s]) {
    const json = modelJsonOf(`--decoder-x${s}`, d, s);
    decoderNotes[s].set(d.name, lrNotesFrom((json as { userDefinedMetadata?: { irn?: unknown } } | null)?.userDefinedMetadata?.irn));
    const line = encoderCheck(d.name, encoderOf(json), basename(modelDir[s]), lrCodecOf(json)).line + qualityRangeNote(lrQualityMinOf(json), lrQualityMaxOf(json), basename(modelDir[s]));
    encoderLines[s].push(line);
    log(`x${s} ${line}`);
  }
  for (const d of ownModels[s]) {
    const json = modelJsonOf(`--lossy-x${s}`, d, s);
    const enc = encoderOf(json);
    if (enc != null) throw new Error(`--lossy-x${s} ${d.name}: its model.json names the encoder ${enc}, so it is a decoder of that preset's LRs: give it as --decoder-x${s}`);
    const codec = lrCodecOf(json);
    const line = `lossy preset ${d.name}: its own forward makes the LRs${codec != null ? `; trained for ${codec} LRs` : ''}`;
    encoderLines[s].push(line);
    log(`x${s} ${line}`);
  }
}
if (scales.includes(4)) {
  for (const d of halfModels) {
    const enc = encoderOf(modelJsonOf('--x2-at-x4', d, 2));
    if (enc != null) throw new Error(`--x2-at-x4 ${d.name}: its model.json names the encoder ${enc}, so it restores that preset's LRs and makes none: give an x2 model that makes its own LRs`);
  }
}

await useNodeBackend('wasm');

// Models are loaded when first needed: a run that finds everything cached loads none.
const loadedModels = new Map<string, Promise<IrnModel>>();
function irnModel(dir: string, scale: 2 | 4, what: string): Promise<IrnModel> {
  let p = loadedModels.get(dir);
  if (p == null) {
    p = IrnModel.load(fileSystem(dir)).then((m) => {
      if (m.scale !== scale) throw new Error(`${what} (${dir}) has scale ${m.scale}, not ${scale}`);
      return m;
    });
    loadedModels.set(dir, p);
  }
  return p;
}
const esrgans = new Map<number, Promise<EsrganSlim>>();
const esrgan = (s: 2 | 4) => esrgans.get(s) ?? (esrgans.set(s, loadEsrganSlim(s)), esrgans.get(s)!);

function score(method: string, quality: number | null, bytes: number, result: RasterImage, reference: RasterImage, shave: number): Measurement {
  return { method, quality, bytes, psnrY: psnrY(result, reference, { shave }), ssimY: ssimY(result, reference, { shave }) };
}

/**
 * One photo at one scale: computes any method's points on demand, sharing what methods have
 * in common (the bicubic LR and its encodes between bicubic and esrgan-slim; IRN's LR and its
 * encodes between the shipped model's curves and every decoder's, which therefore restore
 * the very same bytes).
 */
class Job {
  readonly hr: RasterImage;
  readonly hr8: Rgba;
  readonly ref: RasterImage;
  private memo = new Map<string, Promise<unknown>>();

  constructor(
    readonly name: string,
    photo: RasterImage,
    readonly scale: 2 | 4,
    private photoMemo: Map<string, Promise<{ bytes: number; image: RasterImage }>>,
  ) {
    this.hr = modCropRgb(photo, scale);
    this.hr8 = toRgba(this.hr);
    this.ref = toRaster(this.hr8);
  }

  get w() {
    return this.hr.width;
  }
  get h() {
    return this.hr.height;
  }

  private once<T>(key: string, fn: () => Promise<T>): Promise<T> {
    let p = this.memo.get(key) as Promise<T> | undefined;
    if (p == null) {
      p = fn();
      this.memo.set(key, p);
    }
    return p;
  }

  async compute(m: Method): Promise<Measurement[] | ImageResult['check']> {
    const s = this.scale;
    switch (m.family) {
      case 'photo':
        return this.photoCurve(m);
      case 'bicubic':
      case 'esrgan':
        return this.bicubicCurve(m, m.family);
      case 'half-esrgan':
        return this.bicubicCurve(m, 'esrgan', 2);
      case 'check':
        return this.check();
      case 'irn-lossless':
        return this.irnLossless(m.codec as 'png' | 'webp-lossless');
      case 'irn':
        return this.irnCurve(m, await irnModel(modelDir[s], s, `--model-x${s}`));
      case 'decoder': {
        // A decoder for some qualities only (lrQualityMin to lrQualityMax): outside them the LR
        // names its encoder (irn downscale, when no sibling decoder covers them), which
        // restores it, so the curve is what a page gets with this decoder alone. Two decoders
        // that share the qualities (irn-x2-jpeg, irn-x2-jpeg-q90) each get a curve; where one
        // is the base the other's points are above, and the best IRN curve at each rate takes them.
        // The report draws them together too (presets-*: the decoder of each quality).
        const decoder = await irnModel(decoderDir(s, m.decoder!), s, `decoder ${m.decoder}`);
        const [min, max] = [decoder.lrQualityMin ?? 0, decoder.lrQualityMax ?? 100];
        const base = min > 0 || max < 100 ? await irnModel(modelDir[s], s, `--model-x${s}`) : decoder;
        return this.irnCurve(m, (q) => (q > max || q < min ? base : decoder));
      }
      case 'own':
        return this.irnCurve(m, await irnModel(decoderDir(s, m.decoder!), s, `lossy preset ${m.decoder}`), decoderDir(s, m.decoder!));
      case 'half':
        return this.irnCurve(m, await irnModel(decoderDir(s, m.decoder!), 2, `--x2-at-x4 ${m.decoder}`), decoderDir(s, m.decoder!), 2);
      case 'presets':
        throw new Error(`${m.id} is drawn from other curves in the report, not measured`);
    }
  }

  /** The qualities a method's curve is measured at (the sweeps its cache key names). */
  private sweepOf(m: Method): readonly number[] {
    const c = m.codec as LossyCodec;
    if (m.family === 'photo') return m.lowRates ? SWEEPS.photoLow[c as 'avif'] : SWEEPS.photo[c];
    if (m.family === 'half' || m.family === 'half-esrgan') return SWEEPS.half[c as 'avif'];
    return SWEEPS.lr[this.scale][c];
  }

  /** The full photo in the method's codec (at its effort). The encodes do not depend on the scale, only the crop: shared between x2 and x4 when the crops agree. */
  private async photoCurve(method: Method): Promise<Measurement[]> {
    const [codec, effort] = [method.codec as LossyCodec, method.effort];
    const points: Measurement[] = [];
    const tag = codecTag(codec, effort);
    for (const q of this.sweepOf(method)) {
      const key = `${this.w}x${this.h}/${tag}/${q}`;
      let m = this.photoMemo.get(key);
      if (m == null) {
        m = (async () => {
          const bytes = await timed(`encode ${tag} photo`, () => encode(this.hr8, { codec, quality: q, effort }));
          return { bytes: bytes.length, image: toRaster(await timed(`decode ${codec} photo`, () => decode(bytes, codec, this.w, this.h))) };
        })();
        this.photoMemo.set(key, m);
      }
      const { bytes, image } = await m;
      points.push(await timed('metrics', () => score(method.id, q, bytes, image, this.ref, this.scale)));
    }
    return points;
  }

  private lrBicubic(lrScale: 2 | 4 = this.scale): Promise<Rgba> {
    return this.once(`lr bicubic x${lrScale}`, async () => toRgba(imresize(this.hr, this.w / lrScale, this.h / lrScale)));
  }

  /** The LR of --model-xN, or of the lossy preset in `dir` (its own forward), or at x4 of the x2 model in `dir` (`lrScale` 2). */
  private irnLr(dir = modelDir[this.scale], lrScale: 2 | 4 = this.scale): Promise<Rgba> {
    return this.once(`lr irn ${dir}`, async () => {
      const model = await irnModel(dir, lrScale, dir === modelDir[this.scale] ? `--model-x${this.scale}` : `model ${dir}`);
      // tileSize 0: the whole image in one pass (equal to the tiled result, whose overlap covers the
      // receptive field, without computing the overlaps twice; a Kodak photo fits in memory).
      return toRgba(await timed('irn downscale', () => downscaleImage(model, this.hr, { tileSize: 0 })));
    });
  }

  /** An LR (bicubic, --model-xN's, or a lossy preset's or an x2 model's from its folder, made at `lrScale`) in `codec` at quality `q` (and `effort`): its size and decoded pixels. */
  private lrEncoded(src: 'bicubic' | 'irn' | { dir: string }, codec: LossyCodec, q: number, effort?: 'max', lrScale: 2 | 4 = this.scale): Promise<{ bytes: number; dec: Rgba }> {
    const id = src === 'bicubic' ? `bicubic x${lrScale}` : src === 'irn' ? src : `irn ${src.dir}`;
    const tag = codecTag(codec, effort);
    return this.once(`enc ${id}/${tag}/${q}`, async () => {
      const lr = await (src === 'bicubic' ? this.lrBicubic(lrScale) : this.irnLr(src === 'irn' ? undefined : src.dir, lrScale));
      const bytes = await timed(`encode ${tag} LR`, () => encode(lr, { codec, quality: q, irnLr: src !== 'bicubic', effort }));
      const dec = await timed(`decode ${codec} LR`, () => decode(bytes, codec, this.w / lrScale, this.h / lrScale));
      return { bytes: bytes.length, dec };
    });
  }

  /**
   * The bicubic LR ("thumbnail + super-resolution") in the method's codec, upscaled by bicubic
   * or esrgan-slim; at x4 with `lrScale` 2 the x2 thumbnail on the x2 LRs' sweep at x4's rates.
   */
  private async bicubicCurve(method: Method, up: 'bicubic' | 'esrgan', lrScale: 2 | 4 = this.scale): Promise<Measurement[]> {
    const codec = method.codec as LossyCodec;
    const points: Measurement[] = [];
    for (const q of this.sweepOf(method)) {
      const { bytes, dec } = await this.lrEncoded('bicubic', codec, q, method.effort, lrScale);
      const image =
        up === 'bicubic'
          ? await timed('bicubic up', () => imresize(toRaster(dec), this.w, this.h))
          : toRaster(await timed('esrgan-slim', async () => (await esrgan(lrScale)).upscale(dec)));
      points.push(await timed('metrics', () => score(method.id, q, bytes, image, this.ref, this.scale)));
    }
    return points;
  }

  private async check(): Promise<ImageResult['check']> {
    const lrB = await this.lrBicubic();
    const es = await timed('esrgan-slim', async () => (await esrgan(this.scale)).upscale(lrB));
    return {
      bicubicUp: psnrY(imresize(toRaster(lrB), this.w, this.h), this.ref, { shave: this.scale }),
      esrganUp: psnrY(toRaster(es), this.ref, { shave: this.scale }),
    };
  }

  /** IRN's 8-bit LR as PNG or lossless WebP, restored by the model that made it. */
  private async irnLossless(kind: 'png' | 'webp-lossless'): Promise<Measurement[]> {
    const lr8 = await this.irnLr();
    const lrR = toRaster(lr8);
    let bytes: number;
    if (kind === 'png') {
      bytes = (await timed('encode png max', () => encodePng(lrR, { effort: 'max' }))).length;
    } else {
      const webpL = await timed('encode webp lossless', () => encode(lr8, { codec: 'webp-lossless' }));
      const back = await timed('decode webp lossless', () => decode(webpL, 'webp-lossless', lr8.width, lr8.height));
      if (!back.data.every((v, i) => v === lr8.data[i])) throw new Error(`${this.name}: lossless WebP did not round-trip`);
      bytes = webpL.length;
    }
    const restored = await this.once('irn lossless restored', async () => {
      const model = await irnModel(modelDir[this.scale], this.scale, `--model-x${this.scale}`);
      return timed('irn upscale', () => upscaleImage(model, lrR, { tileSize: 0 }));
    });
    return [await timed('metrics', () => score(`irn-${kind}`, null, bytes, restored, this.ref, this.scale))];
  }

  /**
   * IRN's LR in the method's codec (made by --model-xN, or by the model in `ownDir`: a lossy
   * preset, or at x4 an x2 model, `lrScale` 2, on its own sweep), restored by `model`'s inverse
   * with z = 0; `model` may be chosen per quality (a decoder for some qualities only).
   */
  private async irnCurve(method: Method, model: IrnModel | ((quality: number) => IrnModel), ownDir?: string, lrScale: 2 | 4 = this.scale): Promise<Measurement[]> {
    const codec = method.codec as LossyCodec;
    const points: Measurement[] = [];
    for (const q of this.sweepOf(method)) {
      const { bytes, dec } = await this.lrEncoded(ownDir == null ? 'irn' : { dir: ownDir }, codec, q, method.effort, lrScale);
      const restorer = typeof model === 'function' ? model(q) : model;
      const up = await timed('irn upscale', () => upscaleImage(restorer, toRaster(dec), { tileSize: 0 }));
      points.push(await timed('metrics', () => score(method.id, q, bytes, up, this.ref, this.scale)));
    }
    return points;
  }
}

/** Per scale, per photo: each method's points (only the methods that were measured or cached). */
const found: Record<2 | 4, { name: string; width: number; height: number; points: Map<string, Measurement[]>; check?: ImageResult['check'] }[]> = { 2: [], 4: [] };
const tally = { computed: 0, cache: 0, legacy: 0, renamed: 0, missing: 0, pairs: 0, cachedSeconds: 0 };
/** Seconds per method computed in this run (to size a run of the decoder curves). */
const methodSeconds = new Map<string, number[]>();
const warnings: string[] = [];
for (const [i, file] of files.entries()) {
  const name = file.replace(/\.png$/i, '');
  let photo: RasterImage | null = null;
  const photoMemo = new Map<string, Promise<{ bytes: number; image: RasterImage }>>();
  const bytes = readFileSync(join(dataDir, file));
  const photoHash = bytesHash(bytes);
  for (const s of scales) {
    let job: Job | null = null;
    const entry: (typeof found)[2][number] = { name, width: 0, height: 0, points: new Map() };
    const computed: string[] = [];
    const from = { cache: 0, legacy: 0, renamed: 0 };
    const missing: string[] = [];
    const t = Date.now();
    for (const m of methods[s]) {
      const key = keyOf(m, s);
      const wanted = only(m.id);
      if (!(args.fresh && wanted)) {
        const hit = cache.get<Measurement[] | ImageResult['check']>(name, photoHash, s, m.id, key, (old) => {
          if (m.family === 'check') return (old.check as ImageResult['check']) ?? null;
          // The first-version files coded IRN's LRs with CODEC_SETTINGS; where IRN_LR_SETTINGS
          // differs (AVIF 4:4:4 since), their numbers are of another encoding.
          if ((m.family === 'irn' || m.family === 'decoder') && IRN_LR_SETTINGS[m.codec as LossyCodec] != null) return null;
          // They coded every JPEG progressive only.
          if (m.codec === 'jpeg') return null;
          const pts = (old.points as Measurement[]).filter((p) => p.method === m.id);
          return pts.length > 0 ? pts : null;
        }, (value) => (Array.isArray(value) ? value.map((p) => ({ ...p, method: m.id })) : value));
        if (hit != null) {
          if (m.family === 'check') entry.check = hit.value as ImageResult['check'];
          else entry.points.set(m.id, hit.value as Measurement[]);
          from[hit.from]++;
          if (hit.seconds != null) tally.cachedSeconds += hit.seconds;
          continue;
        }
      }
      if (!wanted) {
        missing.push(m.id);
        continue;
      }
      photo ??= decodePng(bytes);
      job ??= new Job(name, photo, s, photoMemo);
      const tm = Date.now();
      const value = await job.compute(m);
      const secs = (Date.now() - tm) / 1000;
      cache.put(name, photoHash, s, m.id, key, value, secs);
      if (m.family === 'check') entry.check = value as ImageResult['check'];
      else entry.points.set(m.id, value as Measurement[]);
      computed.push(`${m.id} ${secs.toFixed(1)} s`);
      (methodSeconds.get(`x${s} ${m.family}`) ?? methodSeconds.set(`x${s} ${m.family}`, []).get(`x${s} ${m.family}`)!).push(secs);
    }
    // The mod-crop's size, without decoding the photo when everything was cached.
    const any = [...entry.points.values()][0]?.[0];
    if (job != null) [entry.width, entry.height] = [job.w, job.h];
    else if (any != null) {
      const size = readPngSize(bytes);
      [entry.width, entry.height] = [size.width - (size.width % s), size.height - (size.height % s)];
    }
    // A decoder restores the very LR files of the shipped model's curve: the bytes must agree.
    for (const m of methods[s].filter((x) => x.family === 'decoder')) {
      const dec = entry.points.get(m.id);
      const base = entry.points.get(baseIrnId(m));
      if (dec == null || base == null) continue;
      const off = dec.filter((p) => base.find((b) => b.quality === p.quality)?.bytes !== p.bytes);
      if (off.length > 0) warnings.push(`x${s} ${name} ${m.id}: LR sizes differ from ${baseIrnId(m)}'s at quality ${off.map((p) => p.quality).join(', ')} (not the same LR files)`);
    }
    found[s].push(entry);
    tally.computed += computed.length;
    tally.cache += from.cache;
    tally.legacy += from.legacy;
    tally.renamed += from.renamed;
    tally.missing += missing.length;
    if (computed.length > 0) tally.pairs++;
    const lossless = entry.points.get('irn-png')?.[0];
    log(
      `${i + 1}/${files.length} ${name} x${s}: ${computed.length > 0 ? `computed ${computed.join(', ')} (${((Date.now() - t) / 1000).toFixed(1)} s)` : 'nothing computed'}; ` +
        `from the cache ${from.cache + from.legacy + from.renamed} of ${methods[s].length} methods${from.legacy > 0 ? ` (${from.legacy} from the first-version file ${name}.x${s}.json, now copied per method)` : ''}${from.renamed > 0 ? ` (${from.renamed} from the files of methods since renamed, same key)` : ''}` +
        `${missing.length > 0 ? `; not cached and not selected: ${missing.join(', ')}` : ''}` +
        `${lossless != null ? ` (IRN lossless ${lossless.psnrY.toFixed(2)} dB)` : ''}`,
    );
  }
}

/** Width and height from a PNG's IHDR (the photos were all decoded once, when first measured). */
function readPngSize(bytes: Uint8Array): { width: number; height: number } {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: v.getUint32(16), height: v.getUint32(20) };
}

// Colour per codec, line style per method.
const COLOURS: Record<string, string> = { jpeg: '#d9730d', webp: '#2f8a3b', avif: '#6a3fb5', 'avif-max': '#c0399a', png: '#1f5fbf', 'webp-lossless': '#1f5fbf' };
/** Line style of the k-th decoder's curves: thicker, with triangles (the shipped model's are 2.5 px with circles); the second and third dashed. */
const DECODER_STYLES: Partial<Series>[] = [
  { lineWidth: 3.5, marker: 'triangle' },
  { lineWidth: 3, dash: '6 2', marker: 'triangle' },
  { lineWidth: 3, dash: '2 2', marker: 'triangle' },
];
function seriesOf(curves: Map<string, CurvePoint[]>, ms: readonly Method[]): Series[] {
  const out: Series[] = [];
  const decoderNames = [...new Set(ms.filter((m) => m.family === 'decoder' || m.family === 'own').map((m) => m.decoder!))];
  const styleOf = (m: Method): Partial<Series> => {
    switch (m.family) {
      case 'photo':
        return { dash: '7 4', marker: 'square' };
      case 'bicubic':
        return { dash: '2 3', lineWidth: 1, marker: 'circle' };
      case 'esrgan':
        return { dash: '1 2 6 2', marker: 'diamond' };
      case 'irn':
        return { lineWidth: 2.5, marker: 'circle' };
      case 'irn-lossless':
        return { marker: m.codec === 'png' ? 'square' : 'diamond' };
      case 'half':
        // An x2 LR on the x4 plot: thick, in a colour of its own (not one of the codecs'), with diamonds.
        return { lineWidth: 3.5, marker: 'diamond', color: '#0b8a8f' };
      case 'half-esrgan':
        return { dash: '1 2 6 2', marker: 'diamond', color: '#0b8a8f' };
      case 'presets':
        // Drawn instead of its decoders' curves: the first decoder's style.
        return DECODER_STYLES[0];
      default:
        return DECODER_STYLES[decoderNames.indexOf(m.decoder!) % DECODER_STYLES.length];
    }
  };
  for (const m of ms) {
    const c = curves.get(m.id);
    if (c == null || m.family === 'check') continue;
    // Effort max: its family's line, in magenta instead of the codec's colour (or of the
    // family's own, the x2 LR's teal on the x4 plot: its two speeds would look alike).
    const colour = COLOURS[m.effort === 'max' ? `${m.codec}-max` : (m.codec ?? '')] ?? '#333';
    const { color: own, ...style } = styleOf(m);
    out.push({ label: m.label, color: m.effort === 'max' ? colour : (own ?? colour), points: c.map((p) => ({ x: p.bpp, y: p.psnrY })), ...style });
  }
  return out;
}

const report: string[] = [];
// Measured once, at the first payback table.
let runtime: RuntimeBytes | undefined;
const say = (line = '') => {
  report.push(line);
  process.stdout.write(line + '\n');
};
for (const s of scales) {
  const entries = found[s];
  if (entries.length === 0) continue;
  // A curve is a mean over photos: report only the methods measured on every photo of the run.
  const sel = completeMethods(entries, methods[s].filter((m) => m.family !== 'check').map((m) => m.id));
  const complete = methods[s].filter((m) => sel.complete.includes(m.id));
  const partial = sel.partial.map((p) => `${p.id} (${p.photos} of ${entries.length} photos)`);
  const imgs: ImageResult[] = entries.map((e) => ({ name: e.name, width: e.width, height: e.height, scale: s, points: complete.flatMap((m) => e.points.get(m.id)!), check: e.check }));
  if (complete.length === 0) {
    say(`## x${s}: no method measured on all ${entries.length} photos`);
    say();
    continue;
  }
  const curves = meanCurves(imgs);
  const checks = imgs.map((r) => r.check).filter((c) => c != null);
  const mean = (f: (c: NonNullable<ImageResult['check']>) => number) => checks.reduce((a, c) => a + f(c), 0) / checks.length;
  say(`## x${s}: ${imgs.length} photos (${[...new Set(imgs.map((r) => `${r.width}x${r.height}`))].join(', ')}), rates in bits per full-size pixel`);
  say();
  if (partial.length > 0) {
    say(`Not in this report (not measured on every photo; run without --only, or with it matching them): ${partial.join(', ')}.`);
    say();
  }
  for (const line of encoderLines[s]) say(`${line.startsWith('lossy preset') ? 'Lossy preset' : 'Decoder check'}: ${line}.`);
  if (encoderLines[s].length > 0) say();
  // A codec with two or more decoders: their curve together, each LR restored by the decoder
  // irn downscale names for its quality without --model (core's lrPresetFor over the decoders'
  // notes; the encoder where none is named). Drawn from the measured curves, not measured; in
  // the plot it stands for them (one line instead of one per decoder).
  const presetMethods: Method[] = [];
  for (const c of LOSSY) {
    for (const effort of [undefined, 'max'] as const) {
      const ds = complete.filter((m) => m.family === 'decoder' && m.codec === c && m.effort === effort);
      const base = curves.get(`irn-${codecTag(c, effort)}`);
      if (ds.length < 2 || base == null) continue;
      const encoder = basename(modelDir[s]);
      const pc = presetCurve(base, ds.map((m) => ({ name: m.decoder!, notes: decoderNotes[s].get(m.decoder!)!, curve: curves.get(m.id)! })), encoder, c);
      const m = presetsMethod(c, effort);
      curves.set(m.id, pc.map(({ restorer: _, ...p }) => p));
      LABELS[m.id] = m.label;
      presetMethods.push(m);
      say(`${m.label} (as \`irn downscale\` names them without --model; drawn from the curves below): ${pc.map((p) => `q${p.quality} ${p.restorer}`).join(', ')}.`);
    }
  }
  if (presetMethods.length > 0) say();
  say(curvesTable(curves, LABELS));
  say();
  // Like a curve, the check is a mean over every photo or not shown.
  if (checks.length === imgs.length) {
    say(`Check on the 8-bit bicubic LR (no codec): bicubic up ${mean((c) => c.bicubicUp).toFixed(2)} dB, esrgan-slim ${mean((c) => c.esrganUp).toFixed(2)} dB (better on ${checks.filter((c) => c.esrganUp > c.bicubicUp).length} of ${checks.length} photos).`);
    say();
  }
  // Every IRN lossy curve: the shipped model's, each decoder's and each lossy preset's.
  const lossyIrn = complete.filter((m) => m.family === 'irn' || m.family === 'decoder' || m.family === 'own');
  // What the targets take the best of: those, and the decoders of each quality together (read
  // between measured qualities, their curve joins points of two decoders, which can lie above
  // either decoder's own curve there).
  const targetIrn = [...lossyIrn, ...presetMethods];
  const ownCurves = lossyIrn.filter((m) => m.family === 'own');
  const bdRefs = ['photo-jpeg', 'photo-webp', 'photo-avif', 'photo-avif-max', 'esrgan-jpeg', 'esrgan-webp', 'esrgan-avif', 'esrgan-avif-max', 'half-esrgan-avif', 'half-esrgan-avif-max'].filter((id) => curves.has(id));
  if (lossyIrn.length > 0 && bdRefs.length > 0) {
    say('BD-rate / BD-PSNR (Bjøntegaard, cubic fit in log-rate, over the overlap; negative BD-rate and positive BD-PSNR: IRN is better):');
    say();
    say(bdTable(curves, [...targetIrn, ...complete.filter((m) => m.family === 'half')].map((m) => m.id), bdRefs, LABELS));
    say();
  }
  const decoderCurves = lossyIrn.filter((m) => m.family === 'decoder');
  if (decoderCurves.length > 0) {
    say(`Decoder gain on the same LR files (Y-PSNR of the decoder's restore minus ${basename(modelDir[s])}'s own, per LR quality; bpp is the same):`);
    say();
    say('| curve | gain per quality (q: dB) | mean |');
    say('|---|---|---:|');
    for (const m of [...decoderCurves, ...presetMethods]) {
      const g = sameBytesGain(curves.get(baseIrnId(m)) ?? [], curves.get(m.id)!);
      const gains = g.map((x) => x.gain).filter((x) => x != null);
      const sign = (v: number) => `${v >= 0 ? '+' : ''}${v.toFixed(2)}`;
      const cells = g.map((x) => `q${x.quality}: ${x.gain == null ? 'n/a' : sign(x.gain)}`).join(', ');
      const meanGain = gains.length > 0 ? `${sign(gains.reduce((a, x) => a + x, 0) / gains.length)} dB` : 'n/a';
      say(`| ${m.label} | ${cells} | ${meanGain} |`);
    }
    say();
  }
  const [lo, hi] = TARGET_RANGE[s];
  // Every thumbnail + esrgan-slim curve measured (with --avif-max also the speed-4 AVIF one).
  const esrganCurves = complete.filter((m) => m.family === 'esrgan');
  const jpegRd = curves.has('photo-jpeg') ? [rd(curves.get('photo-jpeg')!)] : [];
  const targetsOf = (tests: readonly Method[], anchors: readonly Method[] = esrganCurves) => {
    const esRd = anchors.map((m) => rd(curves.get(m.id)!));
    const testRd = tests.map((m) => rd(curves.get(m.id)!));
    const names = tests.map((m) => m.label);
    return {
      aboveJpeg: jpegRd.length > 0 && testRd.length > 0 ? { r: checkTarget(testRd, jpegRd, lo, hi, 0), names } : null,
      aboveEsrgan: esRd.length > 0 && testRd.length > 0 ? { r: checkTarget(testRd, esRd, lo, hi, 2), names } : null,
    };
  };
  const all = targetsOf(targetIrn);
  const targetLines = (t: ReturnType<typeof targetsOf>, who: string) => {
    if (t.aboveJpeg != null) say('    ' + targetLine(`x${s}: ${who} above JPEG of the full photo across ${lo}-${hi} bpp`, t.aboveJpeg.r, 0, t.aboveJpeg.names));
    if (t.aboveEsrgan != null) say('    ' + targetLine(`x${s}: ${who} >= 2 dB above bicubic LR + esrgan-slim (best codec) at equal bytes, ${lo}-${hi} bpp`, t.aboveEsrgan.r, 2, t.aboveEsrgan.names));
  };
  const lossless = ['irn-png', 'irn-webp-lossless'].map((m) => curves.get(m)?.[0]).filter((p) => p != null);
  const smallest = lossless.reduce((a, p) => (p.bpp < a.bpp ? p : a), lossless[0]);
  const maxCurves = complete.filter((m) => m.effort === 'max');
  if (all.aboveJpeg != null || all.aboveEsrgan != null || (s === 2 && smallest != null)) {
    say(
      `Targets (issue 13; the best IRN lossy curve at each rate${decoderCurves.length + ownCurves.length > 0 ? ', decoders and lossy presets included' : ''}${presetMethods.length > 0 ? ' (and the decoders of each quality together)' : ''}` +
        `${maxCurves.length > 0 ? ', AVIF at speed 4 included on both sides (the thumbnails too)' : ''}, curves read linearly in log-rate between measured points, 9 rates; the curve named is the best there):`,
    );
    say();
    targetLines(all, 'IRN');
    if (s === 2 && smallest != null) {
      say('    ' + `${smallest.bpp <= 3.3 ? 'PASS' : 'FAIL'}  x2 lossless: smallest lossless LR ${smallest.bpp.toFixed(3)} bpp (needs <= 3.3) at ${smallest.psnrY.toFixed(2)} dB`);
    }
    say();
  }
  // --x2-at-x4: an x2 LR (half the photo's size) at x4's rates, against what the x4 targets ask
  // (with the x2 thumbnail + esrgan-slim beside the x4 ones) and against the best x4 curve.
  const halfCurves = complete.filter((m) => m.family === 'half');
  const halfEsrgan = complete.filter((m) => m.family === 'half-esrgan');
  let halfTargets: { targets: ReturnType<typeof targetsOf>; aboveX4: TargetResult | null } | null = null;
  if (halfCurves.length > 0) {
    const halfRd = halfCurves.map((m) => rd(curves.get(m.id)!));
    const x4Rd = targetIrn.map((m) => rd(curves.get(m.id)!));
    const thumbs = [...esrganCurves, ...halfEsrgan];
    say(
      `An x2 LR at these rates (--x2-at-x4; its LR is half the photo's size, an x4 LR a quarter, so these lines are not the x4 targets; ` +
        `same protocol, shave ${s}; the thumbnail + esrgan-slim anchor is the best of the x4 and the x2 thumbnail curves):`,
    );
    say();
    halfTargets = { targets: targetsOf(halfCurves, thumbs), aboveX4: x4Rd.length > 0 ? checkTarget(halfRd, x4Rd, lo, hi, 0) : null };
    targetLines(halfTargets.targets, 'x2 LR');
    if (halfTargets.aboveX4 != null) say('    ' + targetLine(`x${s}: x2 LR above the best x4 IRN curve across ${lo}-${hi} bpp`, halfTargets.aboveX4, 0, halfCurves.map((m) => m.label)));
    say();
    // Rate by rate, from below the x4 range, where a quarter-size LR might win.
    const rates = logRates(lo / 2, hi, 6);
    const cell = (cs: readonly (readonly RdPoint[])[], r: number) => {
      const e = envelopeAt(cs, r);
      return e == null ? 'n/a' : e.quality.toFixed(2);
    };
    const rows: [string, RdPoint[][]][] = [
      ['best x4 IRN curve', x4Rd],
      ['best x2 LR', halfRd],
      ['best x4 thumbnail + esrgan-slim', esrganCurves.map((m) => rd(curves.get(m.id)!))],
      ['x2 thumbnail AVIF + esrgan-slim', halfEsrgan.map((m) => rd(curves.get(m.id)!))],
      ...(['photo-jpeg', 'photo-webp', 'photo-avif'] as const).filter((id) => curves.has(id)).map((id): [string, RdPoint[][]] => [LABELS[id], [rd(curves.get(id)!)]]),
      // AVIF of the photo over both its sweeps, where the low one was measured.
      ...(curves.has('photo-avif') && curves.has('photo-avif-low') ? [['AVIF of the photo, qualities 0-6 and 10-85', [rd([...curves.get('photo-avif-low')!, ...curves.get('photo-avif')!])]] as [string, RdPoint[][]]] : []),
    ];
    say(`| Y-PSNR dB at | ${rates.map((r) => `${r.toFixed(3)} bpp`).join(' | ')} |`);
    say(`|---|${rates.map(() => '---:').join('|')}|`);
    for (const [name, cs] of rows) if (cs.length > 0) say(`| ${name} | ${rates.map((r) => cell(cs, r)).join(' | ')} |`);
    say();
  }
  /** With --avif-max: the same targets over the default-effort curves alone (every AVIF at speed 6, as a run without it). */
  let defaultEffort: ReturnType<typeof targetsOf> | null = null;
  if (maxCurves.length > 0) {
    defaultEffort = targetsOf(
      targetIrn.filter((m) => m.effort == null),
      esrganCurves.filter((m) => m.effort == null),
    );
    say('The same targets at the default effort only (every AVIF at speed 6, the curves of a run without --avif-max):');
    say();
    targetLines(defaultEffort, 'IRN');
    say();
  }
  const byModel: Record<string, ReturnType<typeof targetsOf>> = {};
  if (decoderCurves.length + ownCurves.length > 0 && (jpegRd.length > 0 || esrganCurves.length > 0)) {
    say('The same targets per restoring model:');
    say();
    const groups: [string, Method[]][] = [
      [basename(modelDir[s]), lossyIrn.filter((m) => m.family === 'irn')],
      ...[...new Set(decoderCurves.map((m) => m.decoder!))].map((d): [string, Method[]] => [`${d} decoder`, decoderCurves.filter((m) => m.decoder === d)]),
      ...[...new Set(ownCurves.map((m) => m.decoder!))].map((d): [string, Method[]] => [`${d} (own LRs)`, ownCurves.filter((m) => m.decoder === d)]),
      ['the decoder of each quality', presetMethods],
    ];
    for (const [who, ms] of groups) {
      if (ms.length === 0) continue;
      byModel[who] = targetsOf(ms);
      targetLines(byModel[who], who);
    }
    say();
  }
  // The model is downloaded too, once per visitor: after how many photos does IRN pay it back?
  const photoAnchors = ['photo-jpeg', 'photo-webp', 'photo-avif', 'photo-avif-max'].filter((id) => curves.has(id));
  type Restorer = [name: string, dir: string, curves: Method[]];
  const restorers = ([
    [basename(modelDir[s]), modelDir[s], lossyIrn.filter((m) => m.family === 'irn')] as Restorer,
    ...[...new Set(decoderCurves.map((m) => m.decoder!))].map((d): Restorer => [`${d} (decoder)`, decoderDir(s, d), decoderCurves.filter((m) => m.decoder === d)]),
    ...[...new Set(ownCurves.map((m) => m.decoder!))].map((d): Restorer => [d, decoderDir(s, d), ownCurves.filter((m) => m.decoder === d)]),
    ...[...new Set(halfCurves.map((m) => m.decoder!))].map((d): Restorer => [`${d} (x2 LR)`, decoderDir(s, d), halfCurves.filter((m) => m.decoder === d)]),
  ] as Restorer[]).filter(([, , ms]) => ms.length > 0);
  if (restorers.length > 0 && photoAnchors.length > 0) {
    const pixels = imgs.reduce((n, r) => n + r.width * r.height, 0) / imgs.length;
    const rates = logRates(lo, hi, 3);
    runtime ??= await runtimeBytes();
    say(
      `IRN's first restore downloads the restoring runtime and the model, once per visitor, then cached: the runtime ` +
        `(<irn-image> and its worker with the wasm backend, ${runtime.js.toLocaleString('en-US')} bytes of JavaScript, and the wasm binary, ` +
        `${runtime.wasm.toLocaleString('en-US')}: ${runtime.total.toLocaleString('en-US')} bytes gzipped, bench/rd/runtime.ts) and the model ` +
        `(model.json gzipped, weights as stored: bench/rd/cache.ts, modelBytes). A codec of the full photo needs neither. Photos of this run's mean size ` +
        `(${Math.round(pixels).toLocaleString('en-US')} pixels) after which the bytes IRN saves against a codec of the full photo add up to runtime and model; ` +
        `at each IRN rate, the model's best curve against the bytes that codec needs for the same Y-PSNR (its bpp vs IRN's in brackets; "never": IRN saves nothing there). ` +
        `For the model alone (a page that has the runtime already), scale each count by model / (runtime + model):`,
    );
    say();
    say(`| restoring model | model bytes | with runtime | against | ${rates.map((r) => `at ${r.toFixed(2)} bpp`).join(' | ')} |`);
    say(`|---|---:|---:|---|${rates.map(() => '---').join('|')}|`);
    for (const [who, dir, ms] of restorers) {
      const bytes = modelBytes(dir);
      const tests = ms.map((m) => rd(curves.get(m.id)!));
      for (const a of photoAnchors) {
        const cells = modelPayback(bytes + runtime.total, pixels, tests, rd(curves.get(a)!), rates).map(paybackCell);
        say(`| ${who} | ${bytes.toLocaleString('en-US')} | ${(bytes + runtime.total).toLocaleString('en-US')} | ${LABELS[a] ?? a} | ${cells.join(' | ')} |`);
      }
    }
    say();
  }
  const photos = `${imgs.length} photo${imgs.length === 1 ? '' : 's'}`;
  const plot = (file: string, title: string, ms: readonly Method[]) => {
    const series = seriesOf(curves, ms);
    // e.g. --avif-max with --only '*-avif-max*' in a fresh --out: no speed-6 curve for the main plot.
    if (series.length === 0) {
      log(`x${s}: no curve for ${file}, not written`);
      return;
    }
    const svg = lineChart(series, {
      title,
      xLabel: 'bits per full-size pixel (log)',
      yLabel: 'Y-PSNR (dB)',
      logX: true,
      width: 900,
      // The legend takes 20 px per series beside the plot.
      height: Math.max(560, 120 + 20 * series.length),
      bands: [{ from: lo, to: hi, label: 'target range' }],
    });
    writeFileSync(join(outDir, file), svg);
    if (args.figures != null) {
      mkdirSync(args.figures, { recursive: true });
      writeFileSync(join(args.figures, file), svg);
    }
  };
  // The speed-4 AVIF curves get a plot of their own (beside their speed-6 twins and JPEG of
  // the photo, the targets' anchor): in the main one they would double the AVIF lines.
  // A codec's decoders together (presets-*) stand for their curves in the plot.
  const drawnTogether = (m: Method) => m.family === 'decoder' && presetMethods.some((p) => p.codec === m.codec && p.effort === m.effort);
  plot(`rd-x${s}.svg`, `Rate–distortion, x${s}, ${photos} (Y-PSNR, shave ${s})`, [...complete.filter((m) => !drawnTogether(m)), ...presetMethods].filter((m) => m.effort == null));
  if (maxCurves.length > 0) {
    const avif = complete.filter((m) => (m.codec === 'avif' && m.family !== 'bicubic') || m.id === 'photo-jpeg');
    plot(`rd-x${s}-avif-speed.svg`, `AVIF at speed 6 and 4, x${s}, ${photos} (Y-PSNR, shave ${s})`, avif);
  }
  const plain = (t: ReturnType<typeof targetsOf>) => ({ aboveJpeg: t.aboveJpeg?.r ?? null, aboveEsrgan: t.aboveEsrgan?.r ?? null, curves: t.aboveJpeg?.names ?? t.aboveEsrgan?.names ?? [] });
  writeFileSync(
    join(outDir, `results-x${s}.json`),
    JSON.stringify(
      {
        scale: s,
        data: dataDir,
        photos: imgs.length,
        sweeps: { photo: SWEEPS.photo, lr: SWEEPS.lr[s] },
        codecSettings: CODEC_SETTINGS,
        irnLrSettings: IRN_LR_SETTINGS,
        ...(maxCurves.length > 0 ? { effortMax: EFFORT_MAX } : {}),
        model: modelDir[s],
        decoders: decoders[s].map((d, k) => ({ ...d, check: encoderLines[s][k] })),
        lossyPresets: ownModels[s].map((d, k) => ({ ...d, note: encoderLines[s][decoders[s].length + k] })),
        ...(s === 4 && halfModels.length > 0 ? { x2AtX4: halfModels, halfSweep: SWEEPS.half } : {}),
        labels: Object.fromEntries([...complete, ...presetMethods].map((m) => [m.id, m.label])),
        curves: Object.fromEntries(curves),
        targets: {
          ...plain(all),
          ...(defaultEffort != null ? { defaultEffort: plain(defaultEffort) } : {}),
          byModel: Object.fromEntries(Object.entries(byModel).map(([k, v]) => [k, plain(v)])),
          ...(halfTargets != null ? { x2AtX4: { ...plain(halfTargets.targets), aboveBestX4: halfTargets.aboveX4 } } : {}),
        },
        images: imgs,
      },
      null,
      1,
    ) + '\n',
  );
}
for (const w of warnings) say(`WARNING: ${w}`);
if (warnings.length > 0) say();
say(
  `Wall time ${((Date.now() - t0) / 1000).toFixed(0)} s (${cpus().length} cores, load ${loadavg()[0].toFixed(1)}): ${tally.computed} method curves measured now (on ${tally.pairs} photo-scale pairs), ` +
    `${tally.cache + tally.legacy + tally.renamed} taken from ${cacheDir}${tally.legacy > 0 ? ` (${tally.legacy} of them from first-version files)` : ''}${tally.renamed > 0 ? ` (${tally.renamed} from methods since renamed)` : ''}${tally.cachedSeconds > 0 ? `, measured earlier in ${tally.cachedSeconds.toFixed(0)} s where recorded` : ''}` +
    `${tally.missing > 0 ? `; ${tally.missing} neither cached nor selected` : ''}.`,
);
if (methodSeconds.size > 0) say('Seconds per method and photo (this run): ' + [...methodSeconds].map(([k, v]) => `${k} ${(v.reduce((a, x) => a + x, 0) / v.length).toFixed(1)} (${v.length}x)`).join(', '));
say('Seconds per step (this run, not counting cached results): ' + Object.entries(cost).map(([k, c]) => `${k} ${c.s.toFixed(1)} (${c.n}x)`).join(', '));
writeFileSync(join(outDir, 'report.md'), report.join('\n') + '\n');
log(`wrote ${outDir}/report.md, results-x*.json, rd-x*.svg${avifMax ? ', rd-x*-avif-speed.svg' : ''}`);
