// The methods of the rate–distortion benchmark (bench/rd.ts) as data: their ids, labels and
// families, in report order; the lossy-LR decoders named on the command line
// (`--decoder-x2 [NAME=]DIR`) and the lossy presets with their own encoder (`--lossy-x2
// [NAME=]DIR`); and `--only`, the subset of methods a run computes.
import { basename, resolve } from 'node:path';

/** The lossy codecs swept (the same list as codecs.ts's `LossyCodec`). */
export const LOSSY = ['jpeg', 'webp', 'avif'] as const;
export type Lossy = (typeof LOSSY)[number];

/**
 * What a method is. `photo`: the full photo in a codec; `bicubic`/`esrgan`: the bicubic LR in
 * a codec, upscaled by bicubic or esrgan-slim; `irn`: IRN's LR in a lossy codec restored by the
 * model that made it; `irn-lossless`: the same LR lossless; `decoder`: IRN's LR (same model,
 * same bytes as `irn`) restored by another model's inverse; `own`: a lossy preset trained end
 * to end (its own forward makes the LR, its inverse restores it: other LR files, other bytes);
 * `half`: at x4, an x2 model's own LR (half the photo's size, where x4's is a quarter) in AVIF,
 * restored by its inverse and scored like the x4 curves, because a page can ship that instead
 * at the same bytes (`--x2-at-x4`; not an x4 curve, so not in the x4 targets); `half-esrgan`:
 * beside it, the bicubic x2 thumbnail in AVIF upscaled by esrgan-slim's x2 model, the same
 * route at half size;
 * `presets`: not measured but drawn from the `irn` curve and its `decoder` curves of one codec
 * (two or more decoders): each LR restored by the decoder `irn downscale` names for its quality
 * (report.ts, `presetCurve`; {@link presetsMethod});
 * `check`: the no-codec sanity check, not a curve.
 */
export type Family = 'photo' | 'bicubic' | 'esrgan' | 'irn' | 'irn-lossless' | 'decoder' | 'own' | 'half' | 'half-esrgan' | 'presets' | 'check';

/** One method: the unit that is computed, cached and reported on its own. */
export interface Method {
  /** e.g. `photo-jpeg`, `irn-avif`, `irn-webp-lossless`, `irn-jpeg+NAME` (a decoder), `own-jpeg+NAME` (a lossy preset), `check`. */
  id: string;
  label: string;
  family: Family;
  /** The file format of the bytes counted: a lossy codec, `png` or `webp-lossless`. */
  codec: Lossy | 'png' | 'webp-lossless' | null;
  /** For `decoder`, `own` and `half`: which model (its name). */
  decoder?: string;
  /**
   * `'max'`: coded at the codec's slowest shipped setting instead of the benchmark's default
   * (AVIF only: libavif speed 4, what `irn downscale --effort max` writes; `--avif-max`). Its id
   * ends in `-max` after the codec: `photo-avif-max`, `irn-avif-max+NAME`.
   */
  effort?: 'max';
  /**
   * A `photo` method on the low-rate sweep (`sweeps.photoLow`) instead of the photo sweep: AVIF
   * of the photo below its quality-10 point, beside the x2 LRs at x4's rates (`photo-avif-low`).
   */
  lowRates?: true;
}

/** A lossy-LR decoder to measure: a model whose inverse restores the LR made by the scale's `--model-xN`. */
export interface Decoder {
  /** Names its curves ("IRN LR JPEG + NAME decoder") and their cache files. */
  name: string;
  /** Its folder (model.json and the weight files). */
  dir: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/**
 * The decoders of one `--decoder-xN` option, given as `NAME=DIR` or `DIR` (the name is then
 * the folder's own name, e.g. `irn-x2-jpeg`). Names must be file-name safe (letters, digits,
 * `.`, `_`, `-`) and distinct: they key the cache files.
 */
export function parseDecoders(values: readonly string[] | undefined, option: string): Decoder[] {
  const out: Decoder[] = [];
  for (const v of values ?? []) {
    const eq = v.indexOf('=');
    // NAME=DIR only when what precedes '=' is a valid name: a folder may contain '=' too.
    const named = eq > 0 && NAME.test(v.slice(0, eq));
    const dir = named ? v.slice(eq + 1) : v;
    if (dir === '') throw new Error(`${option} ${v}: no folder given`);
    const name = named ? v.slice(0, eq) : basename(resolve(dir));
    if (!NAME.test(name)) throw new Error(`${option} ${v}: the name '${name}' must be letters, digits, '.', '_' or '-' (give NAME=DIR)`);
    if (out.some((d) => d.name === name)) throw new Error(`${option}: two decoders are named '${name}' (give NAME=DIR to tell them apart)`);
    out.push({ name, dir: resolve(dir) });
  }
  return out;
}

const CODEC_NAME: Record<Lossy, string> = { jpeg: 'JPEG', webp: 'WebP', avif: 'AVIF' };

/** The codec part of a method id: `avif`, or `avif-max` for a curve coded at effort max. */
export function codecTag(codec: Lossy, effort?: 'max'): string {
  return effort === 'max' ? `${codec}-max` : codec;
}

/**
 * Every method of a scale, in report order, with the given decoders' curves, then the lossy
 * presets' (`own`), last. With `avifMax`, every AVIF curve (the photo's, the thumbnails',
 * IRN's, each decoder's and lossy preset's) also at effort max (libavif speed 4), each right
 * after its default-effort twin: a slower encode is a delivery choice a page owner can make
 * for the photo as well as for the LR, so both sides get it.
 */
export function methodsFor(decoders: readonly Decoder[], own: readonly Decoder[] = [], options: { avifMax?: boolean; half?: readonly Decoder[] } = {}): Method[] {
  const m: Method[] = [];
  const withMax = options.avifMax === true;
  const push = (x: Method) => {
    m.push(x);
    if (withMax && x.codec === 'avif') {
      // The codec follows the family's prefix in the id (`half-esrgan-` has two parts), and starts the label or follows "LR" (names have no spaces).
      m.push({ ...x, id: x.id.replace(/^([a-z-]+?-)avif/, '$1avif-max'), label: x.label.replace(/^AVIF| LR AVIF/, '$& (speed 4)'), effort: 'max' });
    }
  };
  for (const c of LOSSY) push({ id: `photo-${c}`, label: `${CODEC_NAME[c]} of the photo`, family: 'photo', codec: c });
  for (const c of LOSSY) {
    push({ id: `bicubic-${c}`, label: `bicubic LR ${CODEC_NAME[c]} + bicubic`, family: 'bicubic', codec: c });
    push({ id: `esrgan-${c}`, label: `bicubic LR ${CODEC_NAME[c]} + esrgan-slim`, family: 'esrgan', codec: c });
  }
  for (const c of LOSSY) push({ id: `irn-${c}`, label: `IRN LR ${CODEC_NAME[c]}`, family: 'irn', codec: c });
  push({ id: 'irn-png', label: 'IRN LR PNG (lossless)', family: 'irn-lossless', codec: 'png' });
  push({ id: 'irn-webp-lossless', label: 'IRN LR WebP lossless', family: 'irn-lossless', codec: 'webp-lossless' });
  for (const d of decoders) {
    for (const c of LOSSY) push({ id: decoderMethodId(d.name, c), label: `IRN LR ${CODEC_NAME[c]} + ${d.name} decoder`, family: 'decoder', codec: c, decoder: d.name });
  }
  for (const d of own) {
    if (decoders.some((x) => x.name === d.name)) throw new Error(`'${d.name}' names both a decoder and a lossy preset: give NAME=DIR to tell them apart`);
    for (const c of LOSSY) push({ id: ownMethodId(d.name, c), label: `${d.name} LR ${CODEC_NAME[c]}`, family: 'own', codec: c, decoder: d.name });
  }
  // Where an x2 LR reaches (0.03 bpp), AVIF of the photo is measured too: its sweep stops at 0.09.
  if ((options.half ?? []).length > 0) {
    m.push({ id: 'photo-avif-low', label: 'AVIF of the photo, quality 0-6', family: 'photo', codec: 'avif', lowRates: true });
    push({ id: 'half-esrgan-avif', label: 'bicubic x2 LR AVIF + esrgan-slim', family: 'half-esrgan', codec: 'avif' });
  }
  for (const d of options.half ?? []) {
    if ([...decoders, ...own].some((x) => x.name === d.name)) throw new Error(`'${d.name}' names both an x2 model at x4's rates and a decoder or lossy preset: give NAME=DIR to tell them apart`);
    push({ id: halfMethodId(d.name, 'avif'), label: `${d.name} x2 LR AVIF`, family: 'half', codec: 'avif', decoder: d.name });
  }
  m.push({ id: 'check', label: 'check: 8-bit bicubic LR, bicubic and esrgan-slim up', family: 'check', codec: null });
  return m;
}

/** The id of an x2 model's curve at x4's rates (`--x2-at-x4`): `half-avif+NAME`. */
export function halfMethodId(name: string, codec: Lossy, effort?: 'max'): string {
  return `half-${codecTag(codec, effort)}+${name}`;
}

/** The id of a lossy preset's curve in `codec` (its own LR and restore): `own-jpeg+NAME`. */
export function ownMethodId(name: string, codec: Lossy, effort?: 'max'): string {
  return `own-${codecTag(codec, effort)}+${name}`;
}

/** The id of a decoder's curve in `codec`: `irn-jpeg+NAME`. */
export function decoderMethodId(name: string, codec: Lossy, effort?: 'max'): string {
  return `irn-${codecTag(codec, effort)}+${name}`;
}

/**
 * The curve of `codec`'s decoders together, each LR restored by the one named for its quality
 * (family `presets`): id `presets-jpeg` (`presets-avif-max` at effort max).
 */
export function presetsMethod(codec: Lossy, effort?: 'max'): Method {
  const label = `IRN LR ${CODEC_NAME[codec]}${effort === 'max' ? ' (speed 4)' : ''} + the decoder of each quality`;
  return { id: `presets-${codecTag(codec, effort)}`, label, family: 'presets', codec, ...(effort != null ? { effort } : {}) };
}

/** The id of the shipped model's curve whose LR files a decoder's curve `m` restores: `irn-avif-max` for `irn-avif-max+NAME`. */
export function baseIrnId(m: Method): string {
  return `irn-${codecTag(m.codec as Lossy, m.effort)}`;
}

/**
 * Whether `--only` selects method `id`: a comma-separated list of patterns matched against
 * the whole id, `*` standing for any run of characters (`irn-*+*`: every decoder curve;
 * `*+irn-x2-jpeg`: one decoder's; `photo-*,check`). No pattern (undefined): every method.
 */
export function onlyMatcher(patterns: string | undefined): (id: string) => boolean {
  if (patterns == null) return () => true;
  const res = patterns
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
    .map((p) => new RegExp(`^${p.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`));
  if (res.length === 0) throw new Error('--only: no pattern given');
  return (id) => res.some((r) => r.test(id));
}

/**
 * `--shard K/N`: every N-th of `files` from the K-th (1-based), so that N processes side by
 * side measure disjoint photos into one cache.
 */
export function shardOf<T>(files: readonly T[], spec: string): T[] {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  const [k, n] = m == null ? [0, 0] : [Number(m[1]), Number(m[2])];
  if (!(k >= 1 && k <= n)) throw new Error(`--shard must be K/N with 1 <= K <= N, got ${spec}`);
  return files.filter((_, i) => i % n === k - 1);
}

/**
 * What a decoder's model.json says its encoder is (`userDefinedMetadata.irn.encoder`, a preset
 * name such as `irn-x2`), read from the raw JSON so that it works whatever version of
 * core's IrnMetadata wrote it; null when it names none. An object is read by its `name` or
 * `preset` field.
 */
export function encoderOf(modelJson: unknown): string | null {
  const irn = (modelJson as { userDefinedMetadata?: { irn?: { encoder?: unknown } } } | null)?.userDefinedMetadata?.irn;
  const e = irn?.encoder;
  if (typeof e === 'string' && e !== '') return e;
  if (e != null && typeof e === 'object') {
    const n = (e as { name?: unknown; preset?: unknown }).name ?? (e as { preset?: unknown }).preset;
    if (typeof n === 'string' && n !== '') return n;
  }
  return null;
}

/** The LR codec a decoder's model.json says it was trained for (`userDefinedMetadata.irn.lrCodec`), or null. */
export function lrCodecOf(modelJson: unknown): string | null {
  const c = (modelJson as { userDefinedMetadata?: { irn?: { lrCodec?: unknown } } } | null)?.userDefinedMetadata?.irn?.lrCodec;
  return typeof c === 'string' && c !== '' ? c : null;
}

/** The highest codec quality a decoder's model.json says it is for (`userDefinedMetadata.irn.lrQualityMax`), or null for every quality. */
export function lrQualityMaxOf(modelJson: unknown): number | null {
  const q = (modelJson as { userDefinedMetadata?: { irn?: { lrQualityMax?: unknown } } } | null)?.userDefinedMetadata?.irn?.lrQualityMax;
  return typeof q === 'number' && Number.isFinite(q) ? q : null;
}

/** The lowest codec quality a decoder's model.json says it is for (`userDefinedMetadata.irn.lrQualityMin`), or null for every quality. */
export function lrQualityMinOf(modelJson: unknown): number | null {
  const q = (modelJson as { userDefinedMetadata?: { irn?: { lrQualityMin?: unknown } } } | null)?.userDefinedMetadata?.irn?.lrQualityMin;
  return typeof q === 'number' && Number.isFinite(q) ? q : null;
}

/**
 * A one-line note of the qualities a decoder is for (`lrQualityMin` to `lrQualityMax`) and what
 * restores the rest, or '' for every quality.
 */
export function qualityRangeNote(min: number | null, max: number | null, base: string): string {
  if (min == null && max == null) return '';
  const range = min != null && max != null ? `from ${min} to ${max}` : min != null ? `from ${min} up` : `up to ${max}`;
  return `; for qualities ${range} (outside, its LRs name ${base}, whose own inverse restores them: a gain of 0)`;
}

/**
 * One line on whether a decoder was trained for the LRs it is measured on: its metadata's
 * encoder against the preset name of `--model-xN` (the folder's name, e.g. `irn-x2`), and the
 * codec it was trained for when it names one (its curves in the other codecs are measured too).
 */
export function encoderCheck(decoder: string, encoder: string | null, preset: string, lrCodec: string | null = null): { ok: boolean | null; line: string } {
  const codec = lrCodec != null ? `; trained for ${lrCodec} LRs` : '';
  if (encoder == null) return { ok: null, line: `decoder ${decoder}: its model.json names no encoder (userDefinedMetadata.irn.encoder); measured on the LRs of ${preset}${codec}` };
  if (encoder === preset) return { ok: true, line: `decoder ${decoder}: encoder ${encoder}, matches the model that makes the LRs${codec}` };
  return { ok: false, line: `decoder ${decoder}: MISMATCH: trained for the LRs of ${encoder}, but measured on those of ${preset}${codec}` };
}

/** What the cache keys of bench/rd.ts are made of, beside the method itself. */
export interface KeyContext {
  /** The quality sweeps: `photo[codec]`, `lr[codec]` of this scale, `half[codec]` of the x2 LRs at x4's rates and `photoLow[codec]` of the photo below its sweep. */
  sweeps: { photo: Record<Lossy, readonly number[]>; lr: Record<Lossy, readonly number[]>; half?: Partial<Record<Lossy, readonly number[]>>; photoLow?: Partial<Record<Lossy, readonly number[]>> };
  /** Each encoding's settings (codecs.ts's CODEC_SETTINGS). */
  codecSettings: Record<Lossy | 'webp-lossless', unknown>;
  /** Settings that IRN's LRs are coded with instead, per codec (codecs.ts's IRN_LR_SETTINGS). */
  irnLrSettings?: Partial<Record<Lossy, unknown>>;
  /** What effort `'max'` changes in a codec's settings (codecs.ts's EFFORT_MAX); only in the keys of `effort: 'max'` methods. */
  effortMax?: Partial<Record<Lossy, unknown>>;
  /** Pinned package versions: the codecs' and esrgan-slim's. */
  versions: Record<Lossy | 'esrgan', string | undefined>;
  /** modelHash of --model-xN. */
  model: string;
  /** modelHash of a decoder or lossy preset by name. */
  decoder(name: string): string;
}

/**
 * The cache key of method `m` at `scale`: its own sweep, its codec's settings and version,
 * and the hashes of the model files it runs, nothing else. So adding a decoder, or changing
 * another codec's sweep, leaves every other method's key (and cached results) as it was; a
 * decoder's key is its files', not its name's.
 */
export function methodKey(m: Method, scale: number, k: KeyContext, hash: (settings: unknown) => string): string {
  const c = m.codec as Lossy;
  const codec = (x: Lossy | 'webp-lossless') => ({ codec: x, settings: k.codecSettings[x], version: k.versions[x === 'webp-lossless' ? 'webp' : x] });
  // Only where IRN's LRs are coded differently, so that the keys of the others stay as they were.
  const irnLr = (x: Lossy) => (k.irnLrSettings?.[x] != null ? { irnLrSettings: k.irnLrSettings[x] } : {});
  // Only for the effort-max curves, so that the keys of the default-effort ones stay as they were.
  if (m.effort === 'max' && k.effortMax?.[c] == null) throw new Error(`${m.id}: no effort-max settings for ${c}`);
  const max = m.effort === 'max' ? { effort: 'max', effortSettings: k.effortMax![c] } : {};
  switch (m.family) {
    case 'photo':
      if (m.lowRates && k.sweeps.photoLow?.[c] == null) throw new Error(`${m.id}: no low-rate sweep for ${c}`);
      return hash({ method: m.id, sweep: m.lowRates ? k.sweeps.photoLow![c] : k.sweeps.photo[c], ...codec(c), ...max });
    case 'bicubic':
      return hash({ method: m.id, scale, sweep: k.sweeps.lr[c], ...codec(c), ...max });
    case 'esrgan':
      return hash({ method: m.id, scale, sweep: k.sweeps.lr[c], ...codec(c), esrgan: k.versions.esrgan, ...max });
    case 'check':
      return hash({ method: m.id, scale, esrgan: k.versions.esrgan });
    case 'irn':
      return hash({ method: m.id, scale, sweep: k.sweeps.lr[c], ...codec(c), ...irnLr(c), model: k.model, ...max });
    case 'irn-lossless':
      return hash({ method: m.id, scale, model: k.model, ...(m.codec === 'png' ? { png: 'max' } : codec('webp-lossless')) });
    case 'decoder':
      return hash({ method: `irn-${c}+decoder`, scale, sweep: k.sweeps.lr[c], ...codec(c), ...irnLr(c), model: k.model, decoder: k.decoder(m.decoder!), ...max });
    case 'own':
      // Not --model-xN's: the preset makes its own LRs.
      return hash({ method: `own-${c}`, scale, sweep: k.sweeps.lr[c], ...codec(c), ...irnLr(c), own: k.decoder(m.decoder!), ...max });
    case 'half':
      if (k.sweeps.half?.[c] == null) throw new Error(`${m.id}: no sweep for x2 LRs at x4's rates in ${c}`);
      return hash({ method: `half-${c}`, scale, sweep: k.sweeps.half[c], ...codec(c), ...irnLr(c), own: k.decoder(m.decoder!), ...max });
    case 'half-esrgan':
      if (k.sweeps.half?.[c] == null) throw new Error(`${m.id}: no sweep for x2 LRs at x4's rates in ${c}`);
      return hash({ method: m.id, scale, sweep: k.sweeps.half[c], ...codec(c), esrgan: k.versions.esrgan, ...max });
    case 'presets':
      throw new Error(`${m.id}: drawn from other curves in the report, never measured or cached`);
  }
}
