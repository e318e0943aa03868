import * as tf from '@tensorflow/tfjs-core';
import { checkModelArtifacts, checkShardPath, MAX_MODEL_JSON_BYTES, parseModelJson } from '../io/weight-specs.js';
import { resolveLimits, type Limits } from '../limits.js';

/** One model of a weights manifest: a version and the SHA-256 (hex) of each of its files. */
export interface WeightsManifestEntry {
  /** Changes whenever any file does (scripts/make-weights-manifest.mjs derives it from the hashes). */
  version: string;
  /** File name relative to the model's folder (`model.json`, `group1-shard1of1.bin`, ...) -> SHA-256. */
  files: Record<string, string>;
}

/** `manifest.json` of a weights folder: preset name -> {@link WeightsManifestEntry}. */
export type WeightsManifest = Record<string, WeightsManifestEntry>;

/**
 * Where downloaded presets are kept between page loads: `'auto'` is the Cache API where the
 * page has it (secure contexts), else IndexedDB; `'none'` keeps nothing (the HTTP cache still
 * applies).
 */
export type ModelCacheMode = 'auto' | 'cache-api' | 'indexeddb' | 'none';

/** Options of {@link loadModelArtifacts}. */
export interface ModelLoadOptions {
  /**
   * Folder of the presets, holding `manifest.json` and one folder per preset
   * (`<weightsUrl>irn-x2/model.json`); relative URLs resolve against the page. Required to
   * load a preset by name.
   */
  weightsUrl?: string | URL;
  /** Default `'auto'`. Only presets are cached: a model.json URL has no version to key by. */
  cache?: ModelCacheMode;
  /**
   * Check every file of a preset against the SHA-256 in `manifest.json` (default true).
   * Needs `crypto.subtle`, that is a secure context (https or localhost).
   */
  verify?: boolean;
  /** The `fetch` to download with (default the global one). */
  fetch?: typeof fetch;
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

/** Name of the Cache API cache that holds preset files. */
export const MODEL_CACHE_NAME = 'irn-models';
/** Prefix of the `indexeddb://` keys that hold presets: `indexeddb://irn-models/<name>@<version>`. */
const IDB_PREFIX = 'indexeddb://irn-models/';

/** Whether a model string names a preset (`irn-x2`) rather than a model.json URL. */
export function isPresetName(model: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(model);
}

/**
 * Reads a model's files: a preset by name from `options.weightsUrl` (checked against its
 * `manifest.json` and cached by name and version), or a `model.json` URL (weights as listed
 * in it, not checked against hashes, not cached beyond the HTTP cache).
 *
 * Either way the files are treated as untrusted: model.json is read up to
 * `MAX_MODEL_JSON_BYTES`; its weight files must lie under its own folder (same origin, a
 * relative path without ".."; a `blob:` model.json may name `blob:` URLs of its own origin
 * instead, as pages that build a model in memory do); its weight specs must be float32, unquantized and within
 * `options.limits` before any weight file is fetched; no more bytes are read than the specs
 * describe (a response whose Content-Length says more is refused before its body is read);
 * and every weight must be finite.
 *
 * @throws IntegrityError when a preset file's SHA-256 differs from the manifest; LimitError
 *   when the specs pass a limit; Error when a download fails, the preset is not in the
 *   manifest, the page cannot compute SHA-256, or a check above fails.
 * @example
 * const { artifacts } = await loadModelArtifacts('irn-x2', { weightsUrl: '/weights/' });
 * const model = await IrnModel.load(tf.io.fromMemory(artifacts));
 */
export async function loadModelArtifacts(model: string | URL, options: ModelLoadOptions = {}): Promise<LoadedArtifacts> {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  const limits = resolveLimits(options.limits);
  const loaded =
    typeof model === 'string' && isPresetName(model)
      ? await loadPreset(model, options, fetchFn, limits)
      : await (async (): Promise<LoadedArtifacts> => {
          const url = resolveUrl(model);
          const artifacts = await readModel(url, new FileSource(fetchFn, null, null), null, limits);
          return { artifacts, url: url.href, from: 'network' };
        })();
  // Every route (network, Cache API, IndexedDB) ends here: stored copies are checked too.
  checkModelArtifacts(loaded.artifacts, limits);
  return loaded;
}

async function loadPreset(name: string, options: ModelLoadOptions, fetchFn: typeof fetch, limits: Limits): Promise<LoadedArtifacts> {
  if (options.weightsUrl == null) throw new Error(`cannot load the preset "${name}": no weightsUrl to find it in`);
  const base = resolveUrl(String(options.weightsUrl).replace(/\/?$/, '/'));
  const manifestUrl = new URL('manifest.json', base);
  const manifest = await readManifest(manifestUrl, fetchFn);
  const entry = Object.hasOwn(manifest, name) ? manifest[name] : undefined;
  if (entry == null) {
    throw new Error(`no model "${name}" in ${manifestUrl.href}; it lists ${Object.keys(manifest).join(', ') || 'none'}`);
  }
  const verify = options.verify ?? true;
  if (verify && globalThis.crypto?.subtle == null) {
    throw new Error(
      'checking the weights needs crypto.subtle, which browsers give only to secure contexts (https:// or localhost); ' +
        'serve the page over https, or pass verify: false',
    );
  }
  const url = new URL(`${name}/model.json`, base);
  const mode = resolveCacheMode(options.cache ?? 'auto');
  const result = (from: LoadedArtifacts['from'], artifacts: LoadedArtifacts['artifacts']): LoadedArtifacts => ({
    artifacts,
    url: url.href,
    name,
    version: entry.version,
    from,
  });

  if (mode === 'indexeddb') {
    const key = `${IDB_PREFIX}${name}@${entry.version}`;
    const stored = await idbLoad(key);
    if (stored != null) return result('indexeddb', stored);
    const artifacts = await readModel(url, new FileSource(fetchFn, null, verify ? { name, entry } : null), { name, entry }, limits);
    await idbSave(key, artifacts, `${IDB_PREFIX}${name}@`);
    return result('network', artifacts);
  }
  const cache = mode === 'cache-api' ? await openCache() : null;
  const files = new FileSource(fetchFn, cache == null ? null : { cache, version: entry.version }, verify ? { name, entry } : null);
  const artifacts = await readModel(url, files, { name, entry }, limits);
  if (cache != null) await files.dropOtherVersions();
  return result(files.fromNetwork ? 'network' : 'cache-api', artifacts);
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
  const urls = paths.map((p) => {
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
  const artifacts = await tf.io.getModelArtifactsForJSON(modelJson, async () => [weightSpecs, weightData]);
  return artifacts as LoadedArtifacts['artifacts'];
}

/** Downloads files, through a Cache API cache when given, checking SHA-256 when given hashes. */
class FileSource {
  fromNetwork = false;
  private readonly stored: string[] = [];

  constructor(
    private readonly fetchFn: typeof fetch,
    private readonly cache: { cache: Cache; version: string } | null,
    private readonly check: { name: string; entry: WeightsManifestEntry } | null,
  ) {}

  /** The bytes of `file` (at `url`), at most `budget.left` of them, which it decreases. */
  async get(file: string, url: URL, budget: Budget): Promise<Uint8Array> {
    const key = this.cache == null ? null : cacheKey(url, this.cache.version);
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

/** Bytes downloads may still bring (shared by those that must fit together), and what bounds them, for messages. */
interface Budget {
  left: number;
  of: string;
}

async function download(url: URL, fetchFn: typeof fetch, what: string, budget: Budget | number): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url.href);
  } catch (e) {
    throw new Error(`could not download ${what} from ${url.href}: ${(e as Error).message}`, { cause: e });
  }
  if (!response.ok) throw new Error(`could not download ${what} from ${url.href}: HTTP ${response.status} ${response.statusText}`.trim());
  return readBody(response, url, what, typeof budget === 'number' ? { left: budget, of: `the ${budget} bytes it may have` } : budget);
}

/**
 * The body of `response`, refused as soon as it passes `budget.left` bytes: before reading
 * when its Content-Length says so (a compressed body's header counts the compressed bytes,
 * so the stream is counted too), else while it streams.
 */
async function readBody(response: Response, url: URL, what: string, budget: Budget): Promise<Uint8Array> {
  const tooBig = () => new Error(`${what} at ${url.href} holds more than ${budget.of}`);
  const encoding = response.headers.get('content-encoding');
  const length = Number(response.headers.get('content-length') ?? NaN);
  if ((encoding == null || encoding === 'identity') && length > budget.left) {
    await response.body?.cancel().catch(() => undefined);
    throw tooBig();
  }
  if (response.body == null) return new Uint8Array(0);
  const reader = response.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (value.byteLength > budget.left) {
      await reader.cancel().catch(() => undefined);
      throw tooBig();
    }
    budget.left -= value.byteLength;
    parts.push(value);
    size += value.byteLength;
  }
  return parts.length === 1 ? parts[0] : new Uint8Array(concat(parts), 0, size);
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

async function idbLoad(key: string): Promise<LoadedArtifacts['artifacts'] | null> {
  const models = await tf.io.listModels().catch(() => ({}) as Record<string, unknown>);
  if (!(key in models)) return null;
  const artifacts = await tf.io.getLoadHandlers(key)[0].load!();
  if (artifacts.weightData == null) return null;
  return { ...artifacts, weightData: concat(toBuffers(artifacts.weightData).map((b) => new Uint8Array(b))) };
}

async function idbSave(key: string, artifacts: tf.io.ModelArtifacts, prefix: string): Promise<void> {
  await tf.io.getSaveHandlers(key)[0].save!(artifacts);
  for (const other of Object.keys(await tf.io.listModels())) {
    if (other.startsWith(prefix) && other !== key) await tf.io.removeModel(other);
  }
}

function toBuffers(data: tf.io.WeightData): ArrayBuffer[] {
  return Array.isArray(data) ? data : [data];
}

/** The bytes of `parts` in one new `ArrayBuffer`. */
export function concat(parts: Uint8Array[]): ArrayBuffer {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.byteLength;
  }
  return out.buffer;
}

function resolveUrl(url: string | URL): URL {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  return base == null ? new URL(url) : new URL(url, base);
}
