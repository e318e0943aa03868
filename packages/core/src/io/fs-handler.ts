import * as tf from '@tensorflow/tfjs-core';
import { constants, type Stats } from 'node:fs';
import { mkdir, open, realpath, stat, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { resolveLimits, type Limits } from '../limits.js';
import { checkFiniteWeights, manifestWeightPaths, MAX_MODEL_JSON_BYTES, parseJsonText, parseModelJson } from './weight-specs.js';

/** Largest weight shard written, in bytes (the tfjs converter's default). */
const SHARD_BYTES = 4 * 1024 * 1024;

/** Options of {@link fileSystem}. */
export interface FileSystemOptions {
  /** Bounds on what `load` reads (`tensorElements`, `totalElements`); default {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
}

/**
 * A `tf.io` handler for a directory on disk (Node only): `save` writes `model.json` and
 * `group1-shard{i}of{n}.bin`; `load` reads them back. This is the layout `tf.loadLayersModel`
 * reads over HTTP, so a saved directory can be served as is.
 *
 * `load` treats the folder as untrusted: model.json must be a regular file of at most
 * {@link MAX_MODEL_JSON_BYTES}; every weight file it names must be a relative path that
 * stays in the folder once links are resolved, and a regular file (never a FIFO or a
 * device, which are refused without being opened for reading, so nothing blocks); the weight
 * specs must be float32 (stored as float32, float16 or 8 bits per channel) and within `options.limits`; the files' sizes must add
 * up to what the specs describe before any is read; and every weight must be finite. Each
 * refusal is an Error (a {@link LimitError} for a limit) with a one-line message naming the
 * file.
 */
export function fileSystem(dir: string, options: FileSystemOptions = {}): tf.io.IOHandler {
  const root = resolve(dir);
  const limits = resolveLimits(options.limits);
  return {
    async save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult> {
      if (artifacts.modelTopology instanceof ArrayBuffer) {
        throw new Error('fileSystem: binary model topologies are not supported');
      }
      await mkdir(root, { recursive: true });
      const weights = new Uint8Array(
        artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData),
      );
      const n = Math.max(1, Math.ceil(weights.byteLength / SHARD_BYTES));
      const paths: string[] = [];
      for (let i = 0; i < n; i++) {
        const name = `group1-shard${i + 1}of${n}.bin`;
        paths.push(name);
        await writeFile(join(root, name), weights.subarray(i * SHARD_BYTES, (i + 1) * SHARD_BYTES));
      }
      const modelJson: tf.io.ModelJSON = {
        modelTopology: artifacts.modelTopology ?? {},
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy,
        weightsManifest: [{ paths, weights: artifacts.weightSpecs ?? [] }],
      };
      if (artifacts.userDefinedMetadata != null) modelJson.userDefinedMetadata = artifacts.userDefinedMetadata;
      if (artifacts.trainingConfig != null) modelJson.trainingConfig = artifacts.trainingConfig;
      await writeFile(join(root, 'model.json'), JSON.stringify(modelJson, null, 1) + '\n');
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(modelJson) } as tf.io.SaveResult;
    },

    async load(): Promise<tf.io.ModelArtifacts> {
      const jsonPath = join(root, 'model.json');
      const text = await readModelJson(root, jsonPath);
      const { modelJson, groups } = parseModelJson(text, jsonPath, limits);
      // Every shard is resolved and sized before any is read: nothing outside the folder is
      // opened, and no more is read than the specs (already within the limits) describe.
      const realRoot = await realpath(root);
      const shards: { file: string; real: string; bytes: number }[] = [];
      for (const group of groups) {
        let bytes = 0;
        for (const p of group.paths) {
          const shard = await locateShard(realRoot, join(root, p), p, jsonPath);
          bytes += shard.bytes;
          shards.push(shard);
        }
        if (bytes !== group.bytes) throw new Error(`weights in ${root} hold ${bytes} bytes, model.json describes ${group.bytes}`);
      }
      const weightData = new ArrayBuffer(groups.reduce((n, g) => n + g.bytes, 0));
      let offset = 0;
      for (const shard of shards) {
        await readShard(shard, new Uint8Array(weightData, offset, shard.bytes));
        offset += shard.bytes;
      }
      const specs = groups.flatMap((g) => g.weights);
      checkFiniteWeights(specs, weightData);
      return tf.io.getModelArtifactsForJSON(modelJson, async () => [specs, weightData]);
    },
  };
}

/**
 * Flags that open a checked file for reading without ever blocking or following a link
 * swapped in after the check: O_NONBLOCK makes opening a FIFO return at once (its fstat then
 * says what it is), O_NOFOLLOW refuses a symbolic link as the last component. Windows has
 * neither (its FIFOs and links differ); there the checks before opening stand alone.
 */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0);

/** What a file that is not a regular one is, for messages. */
function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * The text of `dir`'s model.json, read as {@link fileSystem} reads it: a regular file (a FIFO or
 * device is refused, never waited on) of at most `MAX_MODEL_JSON_BYTES` (4 MiB). For reading a
 * model's metadata without loading it.
 * @throws Error naming the file when it is missing, not a regular file or too large
 */
export function readModelJsonText(dir: string): Promise<string> {
  return readModelJson(dir, join(dir, 'model.json'));
}

/**
 * The weight files that `dir`'s model.json names (its manifest's paths, as written, in
 * order), model.json read as {@link readModelJsonText} reads it. Nothing else is checked: for
 * listing or protecting a model's files, not for loading them (which checks every path).
 * @throws Error naming the file when it cannot be read or is not JSON (never quoting it).
 */
export async function readModelWeightPaths(dir: string): Promise<string[]> {
  return manifestWeightPaths(parseJsonText(await readModelJsonText(dir), join(dir, 'model.json')));
}

/** model.json's text: a regular file of at most MAX_MODEL_JSON_BYTES (links followed: the user named the folder). */
async function readModelJson(root: string, jsonPath: string): Promise<string> {
  let s;
  try {
    s = await stat(jsonPath);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `no model at ${root}: ${jsonPath} does not exist` : `cannot read ${jsonPath}: ${(e as Error).message}`);
  }
  if (!s.isFile()) throw new Error(`${jsonPath} is ${kindOf(s)}, not a model.json file`);
  const tooBig = (n: number) => new Error(`${jsonPath} is ${n} bytes; a model.json is at most ${MAX_MODEL_JSON_BYTES} bytes`);
  if (s.size > MAX_MODEL_JSON_BYTES) throw tooBig(s.size);
  const handle = await open(jsonPath, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  try {
    const f = await handle.stat();
    if (!f.isFile()) throw new Error(`${jsonPath} is ${kindOf(f)}, not a model.json file`);
    // Read one byte more than allowed: a file that grew since stat is caught, not truncated.
    const buffer = new Uint8Array(MAX_MODEL_JSON_BYTES + 1);
    let n = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, n, buffer.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
      if (n > MAX_MODEL_JSON_BYTES) throw tooBig(n);
    }
    return new TextDecoder().decode(buffer.subarray(0, n));
  } finally {
    await handle.close();
  }
}

/**
 * Resolves a weight file named in model.json (`path` as written, already checked to be
 * relative without ".."): its real path must be inside the folder's and it must be a regular
 * file. Nothing outside the folder is opened or sized.
 */
async function locateShard(realRoot: string, file: string, path: string, jsonPath: string): Promise<{ file: string; real: string; bytes: number }> {
  let real: string;
  try {
    real = await realpath(file);
  } catch {
    throw new Error(`weight file ${file} named in model.json is missing`);
  }
  if (!real.startsWith(realRoot.endsWith(sep) ? realRoot : realRoot + sep)) {
    throw new Error(`${jsonPath} names the weight file ${JSON.stringify(path)}, which is a link out of the model's folder; weight files must be in the model's folder`);
  }
  const s = await stat(real);
  if (!s.isFile()) throw new Error(`weight file ${file} is ${kindOf(s)}, not a regular file`);
  return { file, real, bytes: s.size };
}

/** Reads a located shard into `into` (its size), checking that it is still the file located. */
async function readShard(shard: { file: string; real: string; bytes: number }, into: Uint8Array): Promise<void> {
  let handle;
  try {
    handle = await open(shard.real, READ_FLAGS);
  } catch (e) {
    throw new Error(`cannot read weight file ${shard.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    const s = await handle.stat();
    if (!s.isFile() || s.size !== shard.bytes) throw new Error(`weight file ${shard.file} changed while the model was loading`);
    let n = 0;
    while (n < into.length) {
      const { bytesRead } = await handle.read(into, n, into.length - n, n);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n !== into.length) throw new Error(`weight file ${shard.file} changed while the model was loading`);
  } finally {
    await handle.close();
  }
}
