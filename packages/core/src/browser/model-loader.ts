// Types only: a page whose Rescaler computes in a worker loads models without loading
// TensorFlow.js (only the IndexedDB cache needs it, imported there on demand).
import type * as tf from '@tensorflow/tfjs-core';
import { checkModelArtifacts, checkShardPath, MAX_MODEL_JSON_BYTES, parseModelJson } from '../io/weight-specs.js';
import { resolveLimits, type Limits } from '../limits.js';
import { concatBytes } from '../image/bytes.js';
import { readBodyWithin, type ByteBudget } from './read-body.js';

/**
 * What a lossy preset says about the LRs it restores, as its model.json metadata does and as
 * a weights manifest and `@irn/weights` repeat it, so that a page knows without downloading a
 * model (`lrPresetFor`).
 */
export interface PresetLrNotes {
  /** For a lossy decoder (`irn-x2-jpeg`), the preset whose forward pass makes the LRs it restores. */
  encoder?: string;
  /** For a lossy preset, the LR codec it was trained to restore (`jpeg`). */
  lrCodec?: string;
  /** For a decoder for low qualities only, the highest codec quality it is for (`irn-x2-jpeg`: 89). */
  lrQualityMax?: number;
  /** For a decoder for high qualities only, the lowest codec quality it is for (`irn-x2-jpeg-q90`: 90). */
  lrQualityMin?: number;
}

/** One model of a weights manifest: a version and the SHA-256 (hex) of each of its files; for a lossy preset, its notes. */
export interface WeightsManifestEntry extends PresetLrNotes {
  /** Changes whenever any file does (scripts/make-weights-manifest.mjs derives it from the hashes). */
  version: string;
  /** File name relative to the model's folder (`model.json`, `group1-shard1of1.bin`, ...) -> SHA-256. */
  files: Record<string, string>;
}

/**
 * The preset that an LR should name (its metadata's `model`) when the preset `encoder` made
 * it and it was coded with `codec` at `quality` (0 to 100; undefined for a lossless file): a
 * lossy decoder among `presets` whose `encoder` and `lrCodec` are these and whose quality
 * range (`lrQualityMin` to `lrQualityMax`, 0 and 100 where absent) holds `quality`
 * (`irn-x2-jpeg` for `irn-x2`'s JPEG LRs up to quality 89, `irn-x2-jpeg-q90` from 90 to 97);
 * else `encoder`, whose own inverse restores the LR. A lossless LR (`'png'`, or no quality)
 * always names `encoder`. Where several decoders qualify, the one with the narrowest range,
 * then the last by name (`-v2` after its first version). `irn downscale` with its default
 * presets names the same ones. Malformed notes (not a string, not a whole number from 0 to
 * 100, a minimum above the maximum) make a preset no decoder.
 * @throws RangeError when `quality` is not a number from 0 to 100.
 * @example
 * lrPresetFor(weights.presets, 'irn-x2', 'jpeg', 80); // 'irn-x2-jpeg'
 * lrPresetFor(weights.presets, 'irn-x2', 'jpeg', 99); // 'irn-x2'
 */
export function lrPresetFor(presets: Readonly<Record<string, PresetLrNotes>>, encoder: string, codec: 'png' | 'webp' | 'jpeg' | 'avif', quality?: number): string {
  if (quality != null && !(typeof quality === 'number' && quality >= 0 && quality <= 100)) {
    throw new RangeError(`quality must be a number from 0 to 100, or undefined for a lossless LR; got ${String(quality)}`);
  }
  if (codec === 'png' || quality == null) return encoder;
  const isQuality = (q: unknown): q is number => Number.isInteger(q) && (q as number) >= 0 && (q as number) <= 100;
  let best: { name: string; width: number } | null = null;
  for (const [name, notes] of Object.entries(presets)) {
    if (notes == null || notes.encoder !== encoder || notes.lrCodec !== codec) continue;
    const max = notes.lrQualityMax ?? 100;
    const min = notes.lrQualityMin ?? 0;
    if (!isQuality(max) || !isQuality(min) || min > max || quality > max || quality < min) continue;
    const width = max - min;
    if (best == null || width < best.width || (width === best.width && name > best.name)) best = { name, width };
  }
  return best?.name ?? encoder;
}

/** The keys of {@link PresetLrNotes}. */
const LR_NOTE_KEYS = ['encoder', 'lrCodec', 'lrQualityMax', 'lrQualityMin'] as const satisfies readonly (keyof PresetLrNotes)[];

/**
 * The notes {@link lrPresetFor} reads of one preset's entry (a manifest entry, or a model.json's
 * `userDefinedMetadata.irn`): its `encoder`, `lrCodec`, `lrQualityMax` and `lrQualityMin` as
 * they are, absent ones left out, nothing else of the entry. The entry is read as JSON from a
 * file someone else wrote, so it may be anything: what is not an object has no notes.
 * `lrPresetFor` itself skips notes of the wrong type.
 */
export function lrNotesFrom(entry: unknown): PresetLrNotes {
  const notes = (entry != null && typeof entry === 'object' ? entry : {}) as Record<string, unknown>;
  return Object.fromEntries(LR_NOTE_KEYS.filter((k) => notes[k] !== undefined).map((k) => [k, notes[k]])) as PresetLrNotes;
}

/** The notes of each preset of a manifest or package ({@link lrNotesFrom} of each entry). */
function lrNotesOf(presets: Readonly<Record<string, unknown>>): Record<string, PresetLrNotes> {
  return Object.fromEntries(Object.entries(presets).map(([name, entry]) => [name, lrNotesFrom(entry)]));
}

/** `manifest.json` of a weights folder: preset name -> {@link WeightsManifestEntry}. */
export type WeightsManifest = Record<string, WeightsManifestEntry>;

/**
 * Where downloaded presets are kept between page loads: `'auto'` is the Cache API where the
 * page has it (secure contexts), else IndexedDB; `'none'` keeps nothing (the HTTP cache still
 * applies).
 */
export type ModelCacheMode = 'auto' | 'cache-api' | 'indexeddb' | 'none';

/** One file of a {@link WeightsPackage} preset. */
export interface WeightsPackageFile {
  /** Where the page loads it from (relative URLs resolve against the page). */
  url: string;
  /** Its path inside the npm package (`dist/irn-x2/model.json`), for a CDN that serves npm packages. */
  path: string;
  /** SHA-256 of its bytes, lowercase hex. */
  sha256: string;
}

/** One preset of a {@link WeightsPackage}. */
export interface WeightsPackagePreset {
  /** Changes whenever any of its files does; caches key by it. */
  version: string;
  /** Its scale factor, when the package says. */
  scale?: number;
  /** For a lossy decoder (`irn-x2-jpeg`), the preset whose forward pass makes the LRs it restores, when the package says. */
  encoder?: string;
  /** For a lossy preset, the LR codec it was trained to restore (`jpeg`), when the package says. */
  lrCodec?: string;
  /** For a decoder for low qualities only, the highest codec quality it is for, when the package says. */
  lrQualityMax?: number;
  /** For a decoder for high qualities only, the lowest codec quality it is for, when the package says. */
  lrQualityMin?: number;
  /** File name (`model.json` and the shards it lists) -> the file. */
  files: Record<string, WeightsPackageFile>;
}

/**
 * An npm package of presets, such as `@irn/weights` (`import * as weights from
 * '@irn/weights'`): every file with its own URL, which the package writes as a literal
 * `new URL('./irn-x2/model.json', import.meta.url)` so that bundlers emit the files and give
 * their final (possibly hashed) URLs, and its SHA-256.
 */
export interface WeightsPackage {
  /** npm name (`@irn/weights`): with {@link version}, where a CDN serves the same files. */
  packageName: string;
  /** npm version. */
  version: string;
  /** Preset name (`irn-x2`) -> its files. */
  presets: Record<string, WeightsPackagePreset>;
}

/**
 * The CDN presets fall back to when the package's own file URLs fail: jsDelivr, which serves
 * every npm package by name and version (`<cdn>@irn/weights@0.1.0/dist/irn-x2/model.json`).
 */
export const DEFAULT_WEIGHTS_CDN = 'https://cdn.jsdelivr.net/npm/';

/** Options of {@link loadModelArtifacts}. */
export interface ModelLoadOptions {
  /**
   * Folder of the presets, holding `manifest.json` and one folder per preset
   * (`<weightsUrl>irn-x2/model.json`); relative URLs resolve against the page. When given,
   * presets are loaded from there only (no package, no CDN).
   */
  weightsUrl?: string | URL;
  /**
   * The presets as an npm package object (`import * as weights from '@irn/weights'`), used
   * when `weightsUrl` is not given. Default: `@irn/weights` itself, imported on the first
   * preset load (a chunk of its own: pages that never load a preset never fetch it).
   */
  weights?: WeightsPackage;
  /**
   * Where to fetch a package's presets when its own file URLs fail (network error, HTTP
   * error, an HTML page instead of the file, a SHA-256 mismatch): the base URL of a CDN that
   * serves npm packages as `<cdn><name>@<version>/<path>`, such as `https://unpkg.com/`.
   * Default {@link DEFAULT_WEIGHTS_CDN}; `false` never leaves the package's URLs. The
   * SHA-256 checks apply to the CDN's files alike. Not used with `weightsUrl`.
   */
  cdn?: string | URL | false;
  /** Default `'auto'`. Only presets are cached: a model.json URL has no version to key by. */
  cache?: ModelCacheMode;
  /**
   * Check every file of a preset against the SHA-256 in `manifest.json` (default true).
   * Needs `crypto.subtle`, that is a secure context (https or localhost).
   */
  verify?: boolean;
  /** The `fetch` to download with (default the global one). */
  fetch?: typeof fetch;
  /**
   * Stops the load: every download in flight (model.json, weights, the manifest, a CDN
   * fallback) is aborted, and the load rejects with the signal's reason. A server that stalls
   * is not timed out otherwise (`AbortSignal.timeout(ms)` gives a deadline).
   */
  signal?: AbortSignal;
  /** Bounds on the weights read (`tensorElements`, `totalElements`); default `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>;
}

/** A model's files, read and checked, ready for `tf.io.fromMemory`. */
export interface LoadedArtifacts {
  /** Topology, weight specs and all weights in one `ArrayBuffer`. */
  artifacts: tf.io.ModelArtifacts & { weightData: ArrayBuffer };
  /** The model.json URL. */
  url: string;
  /** Preset name and version, when loaded by name. */
  name?: string;
  version?: string;
  /** Where the files came from: the network (any file), or entirely from a cache. */
  from: 'network' | 'cache-api' | 'indexeddb';
  /**
   * When loaded by name, the lossy notes of every preset of the same manifest or package
   * (for {@link lrPresetFor}); empty notes for a lossless preset.
   */
  presets?: Record<string, PresetLrNotes>;
}

/** A downloaded file whose SHA-256 is not the one in the weights manifest. */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
  constructor(
    /** File name within the model's folder. */
    readonly file: string,
    /** The URL it came from. */
    readonly url: string,
    /** SHA-256 (hex) in the manifest. */
    readonly expected: string,
    /** SHA-256 (hex) of what arrived. */
    readonly actual: string,
    preset: string,
  ) {
    super(
      `SHA-256 mismatch for ${preset}/${file} (${url}): the manifest says ${expected}, the file has ${actual}. ` +
        'The download is corrupt, or the weights changed without their manifest (regenerate it: pnpm weights:manifest).',
    );
  }
}

/**
 * A preset name that the presets in use (a `weightsUrl` folder's manifest, or a weights
 * package) do not have. `known` lists the names they do have.
 */
export class UnknownPresetError extends Error {
  override name = 'UnknownPresetError';
  constructor(
    /** The name asked for. */
    readonly preset: string,
    /** The presets there are. */
    readonly known: string[],
    message: string,
  ) {
    super(message);
  }
}

/** Name of the Cache API cache that holds preset files. */
export const MODEL_CACHE_NAME = 'irn-models';
/** Prefix of the `indexeddb://` keys that hold presets: `indexeddb://irn-models/<name>@<version>`. */
const IDB_PREFIX = 'indexeddb://irn-models/';

/** Whether a model string names a preset (`irn-x2`) rather than a model.json URL. */
export function isPresetName(model: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(model);
}

/**
 * Reads a model's files: a preset by name, or a `model.json` URL (weights as listed in it,
 * not checked against hashes, not cached beyond the HTTP cache). A preset comes from
 * `options.weightsUrl` when given (checked against its `manifest.json`); else from the
 * package `options.weights` (default `@irn/weights`), each file from its own URL, and when
 * those fail from `options.cdn`, each file checked against the package's SHA-256. Presets are
 * cached by name and version.
 *
 * Either way the files are treated as untrusted: model.json is read up to
 * `MAX_MODEL_JSON_BYTES`; its weight files must lie under its own folder (same origin, a
 * relative path without ".."; a `blob:` model.json may name `blob:` URLs of its own origin
 * instead, as pages that build a model in memory do); its weight specs must be float32 (stored as float32, float16 or 8 bits per channel) and within
 * `options.limits` before any weight file is fetched; no more bytes are read than the specs
 * describe (a response whose Content-Length says more is refused before its body is read);
 * and every weight must be finite.
 *
 * @throws IntegrityError when a preset file's SHA-256 differs from the manifest (from
 *   `weightsUrl`); LimitError when the specs pass a limit; Error when a download fails, the
 *   preset is not in the manifest, the page cannot compute SHA-256, or a check above fails;
 *   from a package, one Error that names every URL tried and why each failed (its `cause`,
 *   an AggregateError, holds each failure).
 * @example
 * const { artifacts } = await loadModelArtifacts('irn-x2', { weightsUrl: '/weights/' });
 * const model = await IrnModel.load(tf.io.fromMemory(artifacts));
 */
export async function loadModelArtifacts(model: string | URL, options: ModelLoadOptions = {}): Promise<LoadedArtifacts> {
  const { signal } = options;
  signal?.throwIfAborted();
  const fetchFn = withSignal(options.fetch ?? globalThis.fetch.bind(globalThis), signal);
  const limits = resolveLimits(options.limits);
  let loaded: LoadedArtifacts;
  try {
    loaded =
      typeof model === 'string' && isPresetName(model)
        ? await loadPreset(model, options, fetchFn, limits)
        : await (async (): Promise<LoadedArtifacts> => {
            const url = resolveUrl(model);
            const artifacts = await readModel(url, new FileSource(fetchFn, null, null), null, limits);
            return { artifacts, url: url.href, from: 'network' };
          })();
  } catch (e) {
    // An abort, not the "could not download ... from every source" it caused along the way.
    signal?.throwIfAborted();
    throw e;
  }
  signal?.throwIfAborted();
  // Every route (network, Cache API, IndexedDB) ends here: stored copies are checked too.
  checkModelArtifacts(loaded.artifacts, limits);
  return loaded;
}

/** `fetchFn`, each call also stopped by `signal` (with the call's own signal, where it has one). */
function withSignal(fetchFn: typeof fetch, signal: AbortSignal | undefined): typeof fetch {
  if (signal == null) return fetchFn;
  return (input, init) => {
    const own = init?.signal;
    const both = own == null ? signal : typeof AbortSignal.any === 'function' ? AbortSignal.any([own, signal]) : own;
    return fetchFn(input, { ...init, signal: both });
  };
}

async function loadPreset(name: string, options: ModelLoadOptions, fetchFn: typeof fetch, limits: Limits): Promise<LoadedArtifacts> {
  if (options.weightsUrl != null) {
    const base = resolveUrl(String(options.weightsUrl).replace(/\/?$/, '/'));
    const manifestUrl = new URL('manifest.json', base);
    const manifest = await readManifest(manifestUrl, fetchFn);
    const entry = Object.hasOwn(manifest, name) ? manifest[name] : undefined;
    if (entry == null) {
      throw new UnknownPresetError(name, Object.keys(manifest), `no model "${name}" in ${manifestUrl.href}; it lists ${Object.keys(manifest).join(', ') || 'none'}`);
    }
    const source: PresetSource = { model: () => new URL(`${name}/model.json`, base), locate: null, cacheKey: (_file, url) => cacheKey(url, entry.version) };
    return { ...(await readPreset(name, entry, [source], null, options, fetchFn, limits)), presets: lrNotesOf(manifest) };
  }

  const pkg = options.weights ?? (await defaultWeightsPackage());
  const label = `${pkg.packageName}@${pkg.version}`;
  const preset = pkg.presets != null && Object.hasOwn(pkg.presets, name) ? pkg.presets[name] : undefined;
  if (preset == null) {
    const known = Object.keys(pkg.presets ?? {});
    throw new UnknownPresetError(name, known, `no model "${name}" in ${label}; it has ${known.join(', ') || 'none'}`);
  }
  const fileOf = (file: string): WeightsPackageFile => {
    const f = Object.hasOwn(preset.files, file) ? preset.files[file] : undefined;
    if (f == null) throw new Error(`${label} lists no file ${name}/${file}`);
    return f;
  };
  const entry: WeightsManifestEntry = { version: preset.version, files: Object.fromEntries(Object.entries(preset.files).map(([f, v]) => [f, v.sha256])) };
  // Keyed by package, preset, file and version, not by URL: a bundler's hashed file names and
  // the CDN's copy then share one cached copy, and older versions are dropped.
  const key = (file: string): string =>
    new URL(`${encodeURIComponent(pkg.packageName)}/${name}/${encodeURIComponent(file)}?irn-version=${encodeURIComponent(preset.version)}`, PACKAGE_CACHE_BASE).href;
  const sources: PresetSource[] = [{ model: () => resolveUrl(fileOf('model.json').url), locate: (file) => resolveUrl(fileOf(file).url), cacheKey: key }];
  const cdn = options.cdn ?? DEFAULT_WEIGHTS_CDN;
  if (cdn !== false) {
    const folder = (): URL => new URL(`${pkg.packageName}@${pkg.version}/`, resolveUrl(String(cdn).replace(/\/?$/, '/')));
    const onCdn = (file: string): URL => {
      const { path } = fileOf(file);
      const base = folder();
      const url = /^[A-Za-z0-9_@.-]+(\/[A-Za-z0-9_@.-]+)*$/.test(path) && !path.split('/').includes('..') ? new URL(path, base) : null;
      if (url == null || !url.href.startsWith(base.href)) throw new Error(`${label} gives ${name}/${file} the path ${JSON.stringify(path)}, which is not a path inside the package`);
      return url;
    };
    sources.push({ model: () => onCdn('model.json'), locate: onCdn, cacheKey: key });
  }
  return { ...(await readPreset(name, entry, sources, label, options, fetchFn, limits)), presets: lrNotesOf(pkg.presets) };
}

/** Base of the Cache API keys of package presets (never fetched: `.invalid` cannot resolve). */
const PACKAGE_CACHE_BASE = 'https://irn-weights.invalid/';

/** One place a preset's files may come from. */
interface PresetSource {
  /** The model.json URL (a function: a malformed URL fails this source, not the whole load). */
  model: () => URL;
  /** The URL of a shard; null: the shard's path resolved against model.json, inside its folder. */
  locate: ((file: string) => URL) | null;
  /** The Cache API key of a file. */
  cacheKey: (file: string, url: URL) => string;
}

let defaultWeights: Promise<WeightsPackage> | null = null;

/**
 * `@irn/weights`, imported on first use. A dynamic import, so bundlers put it (and the
 * weight files its literal URLs point at) in a chunk of its own, fetched only with a preset.
 */
function defaultWeightsPackage(): Promise<WeightsPackage> {
  if (defaultWeights == null) {
    defaultWeights = import('@irn/weights').then(
      (m) => ({ packageName: m.packageName, version: m.version, presets: m.presets }),
      (e: unknown) => {
        throw new Error(
          `the presets come from the package @irn/weights by default, which could not be imported (${(e as Error).message}); ` +
            'install it, or pass weightsUrl (a folder with manifest.json) or weights',
          { cause: e },
        );
      },
    );
    defaultWeights.catch(() => (defaultWeights = null));
  }
  return defaultWeights;
}

/**
 * Reads preset `name` (files and hashes in `entry`) from the first of `sources` that works,
 * through the page's cache. `label` names the package when there are fallbacks to report.
 */
async function readPreset(
  name: string,
  entry: WeightsManifestEntry,
  sources: PresetSource[],
  label: string | null,
  options: ModelLoadOptions,
  fetchFn: typeof fetch,
  limits: Limits,
): Promise<LoadedArtifacts> {
  const verify = options.verify ?? true;
  if (verify && globalThis.crypto?.subtle == null) {
    throw new Error(
      'checking the weights needs crypto.subtle, which browsers give only to secure contexts (https:// or localhost); ' +
        'serve the page over https, or pass verify: false',
    );
  }
  const mode = resolveCacheMode(options.cache ?? 'auto');
  const check = verify ? { name, entry } : null;
  const result = (url: URL, from: LoadedArtifacts['from'], artifacts: LoadedArtifacts['artifacts']): LoadedArtifacts => ({
    artifacts,
    url: url.href,
    name,
    version: entry.version,
    from,
  });
  const idbKey = mode === 'indexeddb' ? `${IDB_PREFIX}${name}@${entry.version}` : null;
  if (idbKey != null) {
    const stored = await idbLoad(idbKey);
    if (stored != null) {
      let url: URL;
      try {
        url = sources[0].model();
      } catch {
        url = new URL(`${IDB_PREFIX}${name}@${entry.version}`);
      }
      return result(url, 'indexeddb', stored);
    }
  }
  const cache = mode === 'cache-api' ? await openCache() : null;
  const errors: Error[] = [];
  let packageFiles: URL | null = null;
  for (const source of sources) {
    try {
      const url = source.model();
      packageFiles ??= url;
      const files = new FileSource(fetchFn, cache == null ? null : { cache, key: source.cacheKey }, check);
      const artifacts = await readModel(url, files, { name, entry }, limits, source.locate);
      if (idbKey != null) await idbSave(idbKey, artifacts, `${IDB_PREFIX}${name}@`);
      if (cache != null) await files.dropOtherVersions();
      // Not in Node, whose fetch cannot read the package's file: URLs: the CDN is its way there.
      if (errors.length > 0 && label != null && packageFiles?.protocol !== 'file:') warnCdnFallback(name, label, url, errors[0]);
      return result(url, files.fromNetwork ? 'network' : 'cache-api', artifacts);
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  // A weights folder has one source: its error as it was (an IntegrityError stays one).
  if (label == null) throw errors[0];
  const tried = errors.map((e) => e.message.replace(/\s*\n\s*/g, ' ')).join('; then ');
  throw new Error(`could not load the preset "${name}" of ${label} from ${sources.length === 1 ? 'its files (no CDN: cdn is false)' : "its files nor the CDN"}: ${tried}`, {
    cause: new AggregateError(errors, `every source of ${name} failed`),
  });
}

const warnedCdnFallback = new Set<string>();

/**
 * Once per preset and page: a package's preset came from the CDN, as its own files failed.
 * The page works (online), so without this line an app whose bundler left the files behind
 * (esbuild, Rollup: they leave `new URL('./file', import.meta.url)` alone) depended on the CDN
 * unnoticed.
 */
function warnCdnFallback(name: string, label: string, url: URL, first: Error): void {
  const key = `${label}/${name}`;
  if (warnedCdnFallback.has(key)) return;
  warnedCdnFallback.add(key);
  const bundler = first instanceof IntegrityError ? '' : `; esbuild and Rollup leave them behind: copy node_modules/@irn/weights/dist/irn-* next to the bundle (@irn/core's README, "Bundlers")`;
  console.warn(
    `@irn/core: the preset "${name}" of ${label} came from the CDN (${url.href}), as its own files failed: ${first.message.replace(/\s*\n\s*/g, ' ')}${bundler}; cdn: false never uses the CDN`,
  );
}

/** Manifests already read in this page, by URL: a second load of a preset needs no request. */
const manifests = new Map<string, Promise<WeightsManifest>>();

function readManifest(url: URL, fetchFn: typeof fetch): Promise<WeightsManifest> {
  let pending = manifests.get(url.href);
  if (pending == null) {
    pending = (async () => {
      const bytes = await download(url, fetchFn, 'the weights manifest', MAX_MODEL_JSON_BYTES);
      let manifest: unknown;
      try {
        manifest = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw new Error(`the weights manifest ${url.href} is not JSON`);
      }
      if (manifest == null || typeof manifest !== 'object' || Array.isArray(manifest)) {
        throw new Error(`the weights manifest ${url.href} is not an object of presets`);
      }
      return manifest as WeightsManifest;
    })();
    manifests.set(url.href, pending);
    pending.catch(() => manifests.delete(url.href));
  }
  return pending;
}

/** Reads model.json and its weight shards (in manifest order) through `files`. */
async function readModel(
  url: URL,
  files: FileSource,
  preset: { name: string; entry: WeightsManifestEntry } | null,
  limits: Limits,
  locate: ((file: string) => URL) | null = null,
): Promise<LoadedArtifacts['artifacts']> {
  const jsonBytes = await files.get('model.json', url, { left: MAX_MODEL_JSON_BYTES, of: `the ${MAX_MODEL_JSON_BYTES} bytes a model.json may have` });
  // A model.json that is a blob: URL was made by a page of its origin (for example the
  // playground's preview of a fine-tuned model), and names its weights by blob: URLs of that
  // origin, which have no folder to be under; nothing else may.
  const blob = url.protocol === 'blob:';
  const checkPath = (p: unknown, file: string) =>
    blob && typeof p === 'string' && p.startsWith('blob:') && new URL(p).origin === url.origin ? p : checkShardPath(p, file);
  const { modelJson, groups } = parseModelJson(new TextDecoder().decode(jsonBytes), url.href, limits, checkPath);
  const paths = groups.flatMap((group) => group.paths);
  if (preset != null) {
    const missing = paths.filter((p) => !Object.hasOwn(preset.entry.files, p));
    if (missing.length > 0) throw new Error(`${preset.name}/model.json lists ${missing.join(', ')}, which the weights manifest does not`);
  }
  // A blob: URL is opaque: it has no folder, and relative paths cannot resolve against it.
  const folder = blob ? url : new URL('.', url);
  // A package gives each file its own URL (a bundler may have renamed and moved it); every
  // path was checked above to be one of the preset's files.
  const urls = paths.map((p) => {
    if (locate != null) return locate(p);
    let shard: URL;
    try {
      shard = new URL(p, url);
    } catch {
      throw new Error(`${url.href} names the weight file ${JSON.stringify(p)}, which is not a URL relative to it`);
    }
    // parseModelJson refused absolute paths and ".."; this holds whatever a URL parser makes of the rest.
    if (blob ? shard.protocol !== 'blob:' || shard.origin !== url.origin : shard.origin !== folder.origin || !shard.pathname.startsWith(folder.pathname)) {
      throw new Error(`${url.href} names the weight file ${JSON.stringify(p)}, which is outside its folder ${folder.href}`);
    }
    return shard;
  });
  const expected = groups.reduce((n, g) => n + g.bytes, 0);
  // One budget for all shards, downloaded in parallel: together they may not pass what the specs describe.
  const budget = { left: expected, of: `the ${expected} bytes of weights its model.json describes` };
  const shards = await Promise.all(paths.map((p, i) => files.get(p, urls[i], budget)));
  const weightData = concat(shards);
  if (weightData.byteLength !== expected) {
    throw new Error(`the weights of ${url.href} hold ${weightData.byteLength} bytes, model.json describes ${expected}`);
  }
  const weightSpecs = groups.flatMap((group) => group.weights);
  return artifactsOf(modelJson, weightSpecs, weightData);
}

/** Downloads files, through a Cache API cache when given, checking SHA-256 when given hashes. */
class FileSource {
  fromNetwork = false;
  private readonly stored: string[] = [];

  constructor(
    private readonly fetchFn: typeof fetch,
    private readonly cache: { cache: Cache; key: (file: string, url: URL) => string } | null,
    private readonly check: { name: string; entry: WeightsManifestEntry } | null,
  ) {}

  /** The bytes of `file` (at `url`), at most `budget.left` of them, which it decreases. */
  async get(file: string, url: URL, budget: ByteBudget): Promise<Uint8Array> {
    const key = this.cache == null ? null : this.cache.key(file, url);
    if (key != null) {
      this.stored.push(key);
      const hit = await this.cache!.cache.match(key).catch(() => undefined);
      if (hit != null) {
        // A cached copy is checked too (storage can be corrupted or edited); one that is too
        // big or differs is dropped and downloaded again, so it spends the budget only if kept.
        const trial = { ...budget };
        const bytes = await readBody(hit, url, `${this.check?.name ?? 'the model'}'s cached ${file}`, trial).catch(() => null);
        if (bytes != null && (this.check == null || (await sha256Hex(bytes)) === this.check.entry.files[file])) {
          budget.left = trial.left;
          return bytes;
        }
        await this.cache!.cache.delete(key);
      }
    }
    const bytes = await download(url, this.fetchFn, `${this.check?.name ?? 'the model'}'s ${file}`, budget);
    this.fromNetwork = true;
    if (this.check != null) {
      const expected = this.check.entry.files[file];
      const actual = await sha256Hex(bytes);
      if (actual !== expected) throw new IntegrityError(file, url.href, expected, actual, this.check.name);
    }
    if (key != null) {
      await this.cache!.cache.put(key, new Response(bytes as BufferSource, { headers: { 'content-type': 'application/octet-stream' } }));
    }
    return bytes;
  }

  /** Deletes cached copies of this model's files from other versions. */
  async dropOtherVersions(): Promise<void> {
    if (this.cache == null) return;
    const mine = new Set(this.stored);
    const paths = new Set(this.stored.map((k) => k.replace(/\?.*$/, '')));
    for (const request of await this.cache.cache.keys()) {
      const key = request.url;
      if (!mine.has(key) && paths.has(key.replace(/\?.*$/, ''))) await this.cache.cache.delete(request);
    }
  }
}

/** Cache API key of a file of one version: its URL with `?irn-version=<version>`. */
function cacheKey(url: URL, version: string): string {
  const key = new URL(url.href);
  key.search = `irn-version=${encodeURIComponent(version)}`;
  return key.href;
}

async function download(url: URL, fetchFn: typeof fetch, what: string, budget: ByteBudget | number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url.href);
  } catch (e) {
    throw new Error(`could not download ${what} from ${url.href}: ${(e as Error).message}`, { cause: e });
  }
  if (!response.ok) throw new Error(`could not download ${what} from ${url.href}: HTTP ${response.status} ${response.statusText}`.trim());
  return readBody(response, url, what, typeof budget === 'number' ? { left: budget, of: `the ${budget} bytes it may have` } : budget);
}

/** The body of `response` within `budget` (read-body.ts), the error naming the file and its URL. */
function readBody(response: Response, url: URL, what: string, budget: ByteBudget): Promise<Uint8Array> {
  return readBodyWithin(response, budget, () => new Error(`${what} at ${url.href} holds more than ${budget.of}`));
}

/** SHA-256 of `bytes` as lowercase hex. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}

function resolveCacheMode(mode: ModelCacheMode): 'cache-api' | 'indexeddb' | 'none' {
  if (mode !== 'auto') return mode;
  if (typeof caches !== 'undefined') return 'cache-api';
  if (typeof indexedDB !== 'undefined') return 'indexeddb';
  return 'none';
}

async function openCache(): Promise<Cache> {
  if (typeof caches === 'undefined') throw new Error('the Cache API is not available here (it needs a secure context); use cache: "indexeddb"');
  return caches.open(MODEL_CACHE_NAME);
}

/**
 * The artifacts of a model.json and its weights, as `tf.io.getModelArtifactsForJSON` builds
 * them (written out here so that loading a model needs no TensorFlow.js).
 */
function artifactsOf(modelJson: tf.io.ModelJSON, weightSpecs: tf.io.WeightsManifestEntry[], weightData: ArrayBuffer): LoadedArtifacts['artifacts'] {
  const { modelTopology, format, generatedBy, convertedBy, trainingConfig, signature, userDefinedMetadata, modelInitializer, initializerSignature } = modelJson;
  const optional = { trainingConfig, signature, userDefinedMetadata, modelInitializer, initializerSignature };
  const present = Object.fromEntries(Object.entries(optional).filter(([, v]) => v != null));
  return { modelTopology, format, generatedBy, convertedBy, ...present, weightSpecs, weightData };
}

async function idbLoad(key: string): Promise<LoadedArtifacts['artifacts'] | null> {
  const tf = await import('./tfjs-on-demand.js');
  const models = await tf.io.listModels().catch(() => ({}) as Record<string, unknown>);
  if (!(key in models)) return null;
  const artifacts = await tf.io.getLoadHandlers(key)[0].load!();
  if (artifacts.weightData == null) return null;
  return { ...artifacts, weightData: concat(toBuffers(artifacts.weightData).map((b) => new Uint8Array(b))) };
}

async function idbSave(key: string, artifacts: tf.io.ModelArtifacts, prefix: string): Promise<void> {
  const tf = await import('./tfjs-on-demand.js');
  await tf.io.getSaveHandlers(key)[0].save!(artifacts);
  for (const other of Object.keys(await tf.io.listModels())) {
    if (other.startsWith(prefix) && other !== key) await tf.io.removeModel(other);
  }
}

function toBuffers(data: tf.io.WeightData): ArrayBuffer[] {
  return Array.isArray(data) ? data : [data];
}

/** The bytes of `parts` in one new `ArrayBuffer`. */
function concat(parts: Uint8Array[]): ArrayBuffer {
  return concatBytes(parts).buffer as ArrayBuffer;
}

function resolveUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return base == null ? new URL(url) : new URL(url, base);
}
