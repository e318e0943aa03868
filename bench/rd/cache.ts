// The rate–distortion benchmark's cache (bench/rd.ts): one file per photo, scale and method,
// `<dir>/<photo>.x<scale>/<method>.json`, keyed by that method's own settings (its sweep, codec
// settings and versions, and the hashes of the model files it runs), so that adding a method,
// or a decoder, leaves every other method's results valid (a full Kodak24 run costs 1.7 h).
// The files of the first version (one per photo and scale, `<dir>/<photo>.x<scale>.json`, all
// methods under one key over every setting) are still read: an entry whose key is what that
// version would compute today holds valid results for every method it has, and they are
// copied into the per-method files the first time they are used. A method renamed (a preset
// given another name) finds its results under its key in the file of its old name.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';

/** Short hex SHA-256 of the JSON of `settings`: the cache key of a method. */
export function settingsKey(settings: unknown): string {
  return createHash('sha256').update(JSON.stringify({ v: 2, settings })).digest('hex').slice(0, 16);
}

/** Short hex SHA-256 of bytes (a photo file). */
export function bytesHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

/**
 * A model folder's identity: the SHA-256 of its model.json and of every weight file its
 * weightsManifest lists, in order ('missing' when model.json cannot be read). A retrained
 * model with the same topology changes only the .bin files, so they count too.
 */
export function modelHash(dir: string): string {
  let json: Buffer;
  try {
    json = readFileSync(join(dir, 'model.json'));
  } catch {
    return 'missing';
  }
  const h = createHash('sha256').update(json);
  for (const p of weightPaths(json)) {
    h.update(p);
    try {
      h.update(readFileSync(join(dir, p)));
    } catch {
      h.update('missing');
    }
  }
  return h.digest('hex');
}

/**
 * The bytes a page downloads for the model in `dir`: its model.json gzipped (level 9: static
 * servers and CDNs compress JSON, as they do the runtime's JavaScript and wasm) and every
 * weight file it names as stored (binary files are commonly served uncompressed; an 8-bit
 * preset's weights gzip by 7-9 %).
 */
export function modelBytes(dir: string): number {
  const json = readFileSync(join(dir, 'model.json'));
  return weightPaths(json).reduce((n, p) => n + statSync(join(dir, p)).size, gzipSync(json, { level: 9 }).byteLength);
}

/** The weight files a model.json names, in order. */
function weightPaths(json: Buffer): string[] {
  const manifest = (JSON.parse(json.toString('utf8')) as { weightsManifest?: { paths?: string[] }[] }).weightsManifest ?? [];
  return manifest.flatMap((g) => g.paths ?? []);
}

/** The first version's fingerprint of a model folder: the SHA-256 of its model.json only. */
export function legacyModelFingerprint(dir: string): string {
  try {
    return createHash('sha256').update(readFileSync(join(dir, 'model.json'))).digest('hex');
  } catch {
    return 'missing';
  }
}

/**
 * The key the first version wrote into every cache file: a hash of the sweeps, the codec
 * settings and both models' model.json, computed exactly as it did (same JSON, same order).
 */
export function legacyKey(sweeps: unknown, codecSettings: unknown, modelX2: string, modelX4: string): string {
  return createHash('sha256')
    .update(JSON.stringify({ v: 1, SWEEPS: sweeps, CODEC_SETTINGS: codecSettings, models: { 2: legacyModelFingerprint(modelX2), 4: legacyModelFingerprint(modelX4) } }))
    .digest('hex')
    .slice(0, 16);
}

/** A per-method cache file. */
export interface MethodEntry<T> {
  v: 2;
  method: string;
  key: string;
  /** Hash of the photo file: the same name in another folder is another photo. */
  photo: string;
  /** Seconds it took to measure (null: not known, e.g. taken from a first-version file). */
  seconds: number | null;
  /** Where it came from when it was copied out of a first-version file. */
  migratedFrom?: string;
  value: T;
}

/** A first-version cache file. */
interface LegacyFile {
  key: string;
  photo?: string;
  seconds?: number;
  result: { points: { method: string }[]; check?: unknown };
}

/**
 * Where a cached value came from: the method's own file, a first-version file, or the file of
 * a method of another name under the same key (a renamed preset: the keys of decoders and
 * lossy presets hash their model files, not their names).
 */
export type Hit<T> = { value: T; seconds: number | null; from: 'cache' | 'legacy' | 'renamed' };

/**
 * The cache of one output folder. `get` looks for the method's own file, then (when
 * `legacy` is given) in the first-version file of the photo and scale; `put` writes a file
 * atomically (a stopped run leaves no half-written entry).
 */
export class RdCache {
  private legacyFiles = new Map<string, LegacyFile | null>();

  constructor(
    readonly dir: string,
    /** The key a valid first-version file carries (legacyKey of today's settings); none: ignore those files. */
    private readonly legacy?: string,
  ) {}

  /** The file of one method's results on one photo at one scale. */
  path(photo: string, scale: number, method: string): string {
    return join(this.dir, `${photo}.x${scale}`, `${method}.json`);
  }

  /**
   * The cached value of `method` for `photo` at `scale` under `key`, or null. `extract` reads
   * the method's value out of a first-version result (null: that file does not have it); a
   * value found there is written to the method's own file at once.
   */
  get<T>(
    photo: string,
    photoHash: string,
    scale: number,
    method: string,
    key: string,
    extract: (legacy: LegacyFile['result']) => T | null,
    /** Relabels a value found under another method's name (its points name their method). */
    relabel: (value: T) => T = (v) => v,
  ): Hit<T> | null {
    const file = this.path(photo, scale, method);
    if (existsSync(file)) {
      try {
        const e = JSON.parse(readFileSync(file, 'utf8')) as MethodEntry<T>;
        if (e.v === 2 && e.key === key && e.photo === photoHash && e.method === method) return { value: e.value, seconds: e.seconds, from: 'cache' };
      } catch {
        // A damaged file is measured again (and overwritten).
      }
    }
    const other = this.byKey(photo, scale).get(`${key} ${photoHash}`) as MethodEntry<T> | undefined;
    if (other != null && other.method !== method) {
      const value = relabel(other.value);
      this.write(file, { v: 2, method, key, photo: photoHash, seconds: other.seconds, migratedFrom: `${photo}.x${scale}/${other.method}.json`, value });
      return { value, seconds: other.seconds, from: 'renamed' };
    }
    if (this.legacy == null) return null;
    const old = this.legacyFile(photo, scale);
    if (old == null || old.key !== this.legacy || (old.photo != null && old.photo !== photoHash)) return null;
    const value = extract(old.result);
    if (value == null) return null;
    this.write(file, { v: 2, method, key, photo: photoHash, seconds: null, migratedFrom: `${photo}.x${scale}.json`, value });
    return { value, seconds: null, from: 'legacy' };
  }

  /** Stores `value` as the result of `method` for `photo` at `scale` under `key`. */
  put<T>(photo: string, photoHash: string, scale: number, method: string, key: string, value: T, seconds: number): void {
    this.write(this.path(photo, scale, method), { v: 2, method, key, photo: photoHash, seconds, value });
  }

  private write<T>(file: string, entry: MethodEntry<T>): void {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry));
    renameSync(tmp, file);
  }

  private keyIndex = new Map<string, Map<string, MethodEntry<unknown>>>();

  /** The per-method entries of one photo and scale by `key photoHash`, read once per folder (damaged files skipped). */
  private byKey(photo: string, scale: number): Map<string, MethodEntry<unknown>> {
    const folder = join(this.dir, `${photo}.x${scale}`);
    let index = this.keyIndex.get(folder);
    if (index == null) {
      index = new Map();
      let names: string[] = [];
      try {
        names = readdirSync(folder).filter((n) => n.endsWith('.json'));
      } catch {
        names = [];
      }
      for (const n of names.sort()) {
        try {
          const e = JSON.parse(readFileSync(join(folder, n), 'utf8')) as MethodEntry<unknown>;
          if (e.v === 2 && `${e.method}.json` === n && !index.has(`${e.key} ${e.photo}`)) index.set(`${e.key} ${e.photo}`, e);
        } catch {
          // Damaged: not a source.
        }
      }
      this.keyIndex.set(folder, index);
    }
    return index;
  }

  private legacyFile(photo: string, scale: number): LegacyFile | null {
    const name = `${photo}.x${scale}.json`;
    if (!this.legacyFiles.has(name)) {
      let f: LegacyFile | null = null;
      try {
        f = JSON.parse(readFileSync(join(this.dir, name), 'utf8')) as LegacyFile;
      } catch {
        f = null;
      }
      this.legacyFiles.set(name, f);
    }
    return this.legacyFiles.get(name)!;
  }
}
