import * as tf from '@tensorflow/tfjs-core';

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
 * in it, not checked, not cached beyond the HTTP cache).
 *
 * @throws IntegrityError when a preset file's SHA-256 differs from the manifest; Error when a
 *   download fails, the preset is not in the manifest, or the page cannot compute SHA-256.
 * @example
 * const { artifacts } = await loadModelArtifacts('irn-x2', { weightsUrl: '/weights/' });
 * const model = await IrnModel.load(tf.io.fromMemory(artifacts));
 */
export async function loadModelArtifacts(model: string | URL, options: ModelLoadOptions = {}): Promise<LoadedArtifacts> {
  const fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
  if (typeof model === 'string' && isPresetName(model)) return loadPreset(model, options, fetchFn);
  const url = resolveUrl(model);
  const files = new FileSource(fetchFn, null, null);
  const artifacts = await readModel(url, files, null);
  return { artifacts, url: url.href, from: 'network' };
}

async function loadPreset(name: string, options: ModelLoadOptions, fetchFn: typeof fetch): Promise<LoadedArtifacts> {
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
    const artifacts = await readModel(url, new FileSource(fetchFn, null, verify ? { name, entry } : null), { name, entry });
    await idbSave(key, artifacts, `${IDB_PREFIX}${name}@`);
    return result('network', artifacts);
  }
  const cache = mode === 'cache-api' ? await openCache() : null;
  const files = new FileSource(fetchFn, cache == null ? null : { cache, version: entry.version }, verify ? { name, entry } : null);
  const artifacts = await readModel(url, files, { name, entry });
  if (cache != null) await files.dropOtherVersions();
  return result(files.fromNetwork ? 'network' : 'cache-api', artifacts);
}

/** Manifests already read in this page, by URL: a second load of a preset needs no request. */
const manifests = new Map<string, Promise<WeightsManifest>>();

function readManifest(url: URL, fetchFn: typeof fetch): Promise<WeightsManifest> {
  let pending = manifests.get(url.href);
  if (pending == null) {
    pending = (async () => {
      const bytes = await download(url, fetchFn, 'the weights manifest');
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
): Promise<LoadedArtifacts['artifacts']> {
  const jsonBytes = await files.get('model.json', url);
  let modelJson: tf.io.ModelJSON;
  try {
    modelJson = JSON.parse(new TextDecoder().decode(jsonBytes)) as tf.io.ModelJSON;
  } catch {
    throw new Error(`${url.href} is not JSON`);
  }
  if (modelJson.modelTopology == null || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${url.href} is not a TensorFlow.js layers model (no modelTopology or weightsManifest)`);
  }
  const paths = modelJson.weightsManifest.flatMap((group) => group.paths);
  if (preset != null) {
    const missing = paths.filter((p) => !Object.hasOwn(preset.entry.files, p));
    if (missing.length > 0) throw new Error(`${preset.name}/model.json lists ${missing.join(', ')}, which the weights manifest does not`);
  }
  const shards = await Promise.all(paths.map((p) => files.get(p, new URL(p, url))));
  const weightData = concat(shards);
  const weightSpecs = modelJson.weightsManifest.flatMap((group) => group.weights);
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

  async get(file: string, url: URL): Promise<Uint8Array> {
    const key = this.cache == null ? null : cacheKey(url, this.cache.version);
    if (key != null) {
      this.stored.push(key);
      const hit = await this.cache!.cache.match(key).catch(() => undefined);
      if (hit != null) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
        // A cached copy is checked too: storage can be corrupted or edited.
        if (this.check == null || (await sha256Hex(bytes)) === this.check.entry.files[file]) return bytes;
        await this.cache!.cache.delete(key);
      }
    }
    const bytes = await download(url, this.fetchFn, `${this.check?.name ?? 'the model'}'s ${file}`);
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

async function download(url: URL, fetchFn: typeof fetch, what: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetchFn(url.href);
  } catch (e) {
    throw new Error(`could not download ${what} from ${url.href}: ${(e as Error).message}`, { cause: e });
  }
  if (!response.ok) throw new Error(`could not download ${what} from ${url.href}: HTTP ${response.status} ${response.statusText}`.trim());
  return new Uint8Array(await response.arrayBuffer());
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
