// The pure half of the rate–distortion benchmark: per-image measurements to mean curves,
// Bjøntegaard deltas between them, the issue's targets, and the Markdown tables.
import { lrPresetFor, type PresetLrNotes } from '@irn/core';
import { bdPsnr, bdRate, logRates, qualityAt, rateAt, type RdPoint } from './bd.js';

/** One measured point of one method on one image. */
export interface Measurement {
  /** e.g. `photo-jpeg`, `bicubic-webp`, `esrgan-avif`, `irn-jpeg`, `irn-png`, `irn-webp-lossless`. */
  method: string;
  /** The codec's quality setting; null for the lossless ones. */
  quality: number | null;
  /** The file's size in bytes (what a page downloads). */
  bytes: number;
  psnrY: number;
  ssimY: number;
}

/** Everything measured on one image at one scale. */
export interface ImageResult {
  name: string;
  /** Size after the mod-crop: the full-size image the rate is counted against. */
  width: number;
  height: number;
  scale: number;
  points: Measurement[];
  /** Sanity check: the 8-bit bicubic LR upscaled by bicubic and by esrgan-slim (Y-PSNR); absent when not measured (`--only`). */
  check?: { bicubicUp: number; esrganUp: number };
}

/** A point of a mean curve: bits per full-size pixel, Y-PSNR and SSIM averaged over images. */
export interface CurvePoint {
  quality: number | null;
  bpp: number;
  psnrY: number;
  ssimY: number;
}

/** Mean curve of each method over images: at each quality, the mean bpp, Y-PSNR and SSIM. */
export function meanCurves(images: readonly ImageResult[]): Map<string, CurvePoint[]> {
  const acc = new Map<string, Map<string, { quality: number | null; n: number; bpp: number; psnrY: number; ssimY: number }>>();
  for (const img of images) {
    for (const p of img.points) {
      const byQ = acc.get(p.method) ?? new Map();
      acc.set(p.method, byQ);
      const key = String(p.quality);
      const a = byQ.get(key) ?? { quality: p.quality, n: 0, bpp: 0, psnrY: 0, ssimY: 0 };
      byQ.set(key, a);
      a.n++;
      a.bpp += (p.bytes * 8) / (img.width * img.height);
      a.psnrY += p.psnrY;
      a.ssimY += p.ssimY;
    }
  }
  const out = new Map<string, CurvePoint[]>();
  for (const [method, byQ] of acc) {
    const pts = [...byQ.values()].map((a) => ({ quality: a.quality, bpp: a.bpp / a.n, psnrY: a.psnrY / a.n, ssimY: a.ssimY / a.n }));
    out.set(method, pts.sort((a, b) => a.bpp - b.bpp));
  }
  return out;
}

/** The curve as rate–quality points for bd.ts (quality = Y-PSNR, or SSIM). */
export function rd(curve: readonly CurvePoint[], metric: 'psnrY' | 'ssimY' = 'psnrY'): RdPoint[] {
  return curve.map((p) => ({ rate: p.bpp, quality: p[metric] }));
}

/** The best (highest) of several curves at `rate`, over those that cover it; null if none does. */
export function envelopeAt(curves: readonly (readonly RdPoint[])[], rate: number): { quality: number; index: number } | null {
  let best: { quality: number; index: number } | null = null;
  curves.forEach((c, index) => {
    const q = qualityAt(c, rate);
    if (q != null && (best == null || q > best.quality)) best = { quality: q, index };
  });
  return best;
}

/** Outcome of a target: the worst margin over the rate range and where it is. */
export interface TargetResult {
  pass: boolean;
  /** Smallest margin (dB) over the sampled rates; null when some rate is not covered by both sides. */
  minMargin: number | null;
  meanMargin: number | null;
  /** Sampled rates where a side is not measured, if any. */
  uncovered: number[];
  /** Sampled rates below the lowest rate any anchor curve reaches: no anchor file is that small, so the test wins there. */
  belowAnchors: number[];
  /** Margin at each sampled rate (null: not covered); `best`: which test curve is the best there (its index in `tests`). */
  samples: { bpp: number; test: number | null; best: number | null; anchor: number | null; margin: number | null }[];
}

/** The lowest rate any of `curves` reaches. */
function lowestRate(curves: readonly (readonly RdPoint[])[]): number {
  return Math.min(...curves.flatMap((c) => c.map((p) => p.rate)));
}

/**
 * Whether the best of `tests` is at least `minDb` above the best of `anchors` at every rate
 * of [lo, hi] (9 rates spaced in log, both curves read by linear interpolation in log-rate
 * between measured points, never extrapolated). A rate that the tests do not cover fails the
 * target: no claim without a measurement. A rate below the lowest any anchor reaches (MozJPEG
 * at quality 1 still spends about 0.1 bpp) counts as a win when a test curve is measured
 * there: the anchor has no file that small to offer; it is listed in `belowAnchors`.
 */
export function checkTarget(tests: readonly (readonly RdPoint[])[], anchors: readonly (readonly RdPoint[])[], lo: number, hi: number, minDb: number): TargetResult {
  const floor = lowestRate(anchors);
  const belowAnchors: number[] = [];
  const samples = logRates(lo, hi, 9).map((bpp) => {
    const e = envelopeAt(tests, bpp);
    const t = e?.quality ?? null;
    const best = e?.index ?? null;
    const a = envelopeAt(anchors, bpp)?.quality ?? null;
    if (t != null && a == null && bpp < floor) {
      belowAnchors.push(bpp);
      return { bpp, test: t, best, anchor: null, margin: Infinity };
    }
    return { bpp, test: t, best, anchor: a, margin: t != null && a != null ? t - a : null };
  });
  const uncovered = samples.filter((s) => s.margin == null).map((s) => s.bpp);
  const margins = samples.map((s) => s.margin).filter((m): m is number => m != null && Number.isFinite(m));
  const minMargin = uncovered.length === 0 && margins.length > 0 ? Math.min(...margins) : null;
  const meanMargin = margins.length > 0 ? margins.reduce((a, m) => a + m, 0) / margins.length : null;
  const pass = uncovered.length === 0 && (margins.length === 0 || Math.min(...margins) >= minDb);
  return { pass, minMargin, meanMargin, uncovered, belowAnchors, samples };
}

/** BD-rate and BD-PSNR of `test` against `anchor` (null where the curves do not overlap). */
export function bdPair(anchor: readonly CurvePoint[], test: readonly CurvePoint[]): { bdRate: number | null; bdPsnr: number | null; bdSsim: number | null } {
  return { bdRate: bdRate(rd(anchor), rd(test)), bdPsnr: bdPsnr(rd(anchor), rd(test)), bdSsim: bdPsnr(rd(anchor, 'ssimY'), rd(test, 'ssimY')) };
}

const f = (v: number | null, digits: number, suffix = '') => (v == null || !Number.isFinite(v) ? 'n/a' : `${v.toFixed(digits)}${suffix}`);
const signed = (v: number | null, digits: number, suffix = '') => (v == null || !Number.isFinite(v) ? 'n/a' : `${v >= 0 ? '+' : ''}${v.toFixed(digits)}${suffix}`);

/** A Markdown table of every curve: method, quality, bpp, Y-PSNR, SSIM. */
export function curvesTable(curves: Map<string, CurvePoint[]>, labels: Record<string, string>): string {
  const rows = ['| method | quality | bpp | Y-PSNR dB | SSIM |', '|---|---:|---:|---:|---:|'];
  for (const [method, pts] of curves) {
    for (const p of pts) rows.push(`| ${labels[method] ?? method} | ${p.quality ?? 'lossless'} | ${p.bpp.toFixed(3)} | ${p.psnrY.toFixed(2)} | ${p.ssimY.toFixed(4)} |`);
  }
  return rows.join('\n');
}

/** A Markdown table of BD-rate / BD-PSNR of each test curve (rows) against each anchor (columns). */
export function bdTable(curves: Map<string, CurvePoint[]>, tests: readonly string[], anchors: readonly string[], labels: Record<string, string>): string {
  const present = anchors.filter((a) => curves.has(a));
  const rows = [`| IRN curve | ${present.map((a) => `vs ${labels[a] ?? a}`).join(' | ')} |`, `|---|${present.map(() => '---:').join('|')}|`];
  for (const t of tests) {
    const tc = curves.get(t);
    if (tc == null) continue;
    const cells = present.map((a) => {
      const r = bdPair(curves.get(a)!, tc);
      return `${signed(r.bdRate == null ? null : 100 * r.bdRate, 1, ' %')} / ${signed(r.bdPsnr, 2, ' dB')}`;
    });
    rows.push(`| ${labels[t] ?? t} | ${cells.join(' | ')} |`);
  }
  return rows.join('\n');
}

/**
 * Which test curve is the best over which sampled rates, e.g. `IRN LR AVIF 0.200-0.346 bpp,
 * IRN LR WebP + jpeg decoder 0.400-0.600 bpp` (`names[i]` names `tests[i]`), and the curve at
 * the worst margin.
 */
export function bestCurves(r: TargetResult, names: readonly string[]): { runs: string; worst: string | null } {
  const runs: { name: string; from: number; to: number }[] = [];
  for (const s of r.samples) {
    if (s.best == null) continue;
    const name = names[s.best] ?? `curve ${s.best}`;
    const last = runs[runs.length - 1];
    if (last != null && last.name === name) last.to = s.bpp;
    else runs.push({ name, from: s.bpp, to: s.bpp });
  }
  const finite = r.samples.filter((s) => s.margin != null && Number.isFinite(s.margin) && s.best != null);
  const w = finite.reduce<(typeof finite)[number] | null>((a, s) => (a == null || s.margin! < a.margin! ? s : a), null);
  return {
    runs: runs.map((x) => `${x.name} ${x.from.toFixed(3)}${x.to !== x.from ? `-${x.to.toFixed(3)}` : ''} bpp`).join(', '),
    worst: w == null ? null : `${names[w.best!] ?? `curve ${w.best}`} at ${w.bpp.toFixed(3)} bpp`,
  };
}

/**
 * One line per target: PASS/FAIL, the worst and mean margins, what is not covered; with
 * `names` (one per test curve), also which curve is the best where, and where the worst margin is.
 */
export function targetLine(name: string, r: TargetResult, minDb: number, names?: readonly string[]): string {
  const cover = r.uncovered.length > 0 ? `; not measured at ${r.uncovered.map((b) => b.toFixed(3)).join(', ')} bpp` : '';
  const below = r.belowAnchors.length > 0 ? `; the anchor has no file as small as ${r.belowAnchors.map((b) => b.toFixed(3)).join(', ')} bpp (counted as won)` : '';
  const b = names != null ? bestCurves(r, names) : null;
  const worstAt = b?.worst != null ? ` (${b.worst})` : '';
  const which = b != null && b.runs !== '' ? `; best curve: ${b.runs}` : '';
  return `${r.pass ? 'PASS' : 'FAIL'}  ${name}: worst margin ${signed(r.minMargin, 2, ' dB')}${worstAt} (needs >= ${minDb > 0 ? '+' : ''}${minDb} dB), mean ${signed(r.meanMargin, 2, ' dB')} (over the rates both reach)${cover}${below}${which}`;
}

/**
 * The gain of a decoder over the shipped model on the same LR files: per quality, the Y-PSNR
 * difference of two curves measured on the same bytes (null where a quality is missing from
 * one, or the mean bytes differ, which would mean the LRs are not the same).
 */
export function sameBytesGain(base: readonly CurvePoint[], test: readonly CurvePoint[]): { quality: number | null; bpp: number; gain: number | null }[] {
  return test.map((p) => {
    const b = base.find((q) => q.quality === p.quality);
    const same = b != null && Math.abs(b.bpp - p.bpp) <= 1e-9 * Math.max(1, p.bpp);
    return { quality: p.quality, bpp: p.bpp, gain: same ? p.psnrY - b.psnrY : null };
  });
}

/** A decoder's curve on a base curve's LR files, with its lossy notes (core's `lrNotesFrom` of its model.json's `irn` metadata). */
export interface DecoderCurve {
  name: string;
  notes: PresetLrNotes;
  curve: readonly CurvePoint[];
}

/**
 * The curve several decoders of one encoder's LRs give together, each LR restored by the model
 * `irn downscale` names for its quality without `--model` (core's `lrPresetFor`: the decoder
 * whose range holds it, the narrowest first, else the encoder itself): at each quality of
 * `base` (the encoder's own restore), that decoder's point at the same quality, or `base`'s.
 * `restorer` says whose point it is. The LR files are the same in every curve, so are the bytes.
 * @throws Error when a decoder named for a quality has no point there (a curve of other LRs).
 */
export function presetCurve(base: readonly CurvePoint[], decoders: readonly DecoderCurve[], encoder: string, codec: 'jpeg' | 'webp' | 'avif'): (CurvePoint & { restorer: string })[] {
  const notes = Object.fromEntries(decoders.map((d) => [d.name, d.notes]));
  return base.map((p) => {
    const name = p.quality == null ? encoder : lrPresetFor(notes, encoder, codec, p.quality);
    if (name === encoder) return { ...p, restorer: encoder };
    const q = decoders.find((d) => d.name === name)!.curve.find((x) => x.quality === p.quality);
    if (q == null) throw new Error(`the ${name} decoder's curve has no point at quality ${p.quality}, which it is named for`);
    return { ...q, restorer: name };
  });
}

export { f as formatNumber };

/**
 * Which methods a report can show: those measured on every photo (a mean curve over another
 * set of photos would not compare), in the order of `ids`; and the others, with on how many
 * photos each was measured.
 */
export function completeMethods(photos: readonly { points: ReadonlyMap<string, unknown> }[], ids: readonly string[]): { complete: string[]; partial: { id: string; photos: number }[] } {
  const complete: string[] = [];
  const partial: { id: string; photos: number }[] = [];
  for (const id of ids) {
    const n = photos.filter((p) => p.points.has(id)).length;
    if (n === photos.length && n > 0) complete.push(id);
    else partial.push({ id, photos: n });
  }
  return { complete, partial };
}

/** What {@link modelPayback} finds at one rate. */
export interface Payback {
  /** The IRN rate (bpp) looked at. */
  bpp: number;
  /** The anchor's rate for the quality the best test curve reaches at `bpp`; null where either curve does not reach. */
  anchorBpp: number | null;
  /** Photos (of `pixels` each) per visitor after which the bytes saved add up to the model's: Infinity where IRN saves nothing, null where not measured. */
  photos: number | null;
}

/**
 * A restoring model is downloaded once per visitor (then cached): after how many photos do the
 * bytes that IRN saves pay for it? At each IRN rate, the best of `tests` reaches some quality;
 * the anchor (a codec of the full photo) needs `anchorBpp` for that quality ({@link rateAt});
 * each photo of `pixels` saves `(anchorBpp - bpp) * pixels / 8` bytes, and the model is
 * `modelBytes`. Infinity where the anchor needs no more than IRN.
 */
export function modelPayback(modelBytes: number, pixels: number, tests: readonly (readonly RdPoint[])[], anchor: readonly RdPoint[], rates: readonly number[]): Payback[] {
  return rates.map((bpp) => {
    const q = envelopeAt(tests, bpp)?.quality ?? null;
    const anchorBpp = q == null ? null : rateAt(anchor, q);
    if (anchorBpp == null) return { bpp, anchorBpp, photos: null };
    const saved = ((anchorBpp - bpp) * pixels) / 8;
    return { bpp, anchorBpp, photos: saved > 0 ? modelBytes / saved : Infinity };
  });
}

/** A payback cell: `88 (0.42 vs 0.30)`, `never (0.25 vs 0.30)`, or `n/a`. */
export function paybackCell(p: Payback): string {
  if (p.photos == null || p.anchorBpp == null) return 'n/a';
  const rates = `(${p.anchorBpp.toFixed(2)} vs ${p.bpp.toFixed(2)} bpp)`;
  return `${Number.isFinite(p.photos) ? Math.ceil(p.photos).toLocaleString('en-US') : 'never'} ${rates}`;
}

