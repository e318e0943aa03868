/**
 * Checks of a model's `model.json` and weights that every loader shares (the Node
 * `fileSystem` handler, the browser's `loadModelArtifacts`, and `IrnModel.load` for any
 * handler): the shape of the JSON, shard paths that stay in the model's folder, weight specs
 * that IRN can read (float32, stored as float32, as float16 or as 8 bits per output channel)
 * within the limits, and weights that are finite.
 * Browser-safe: no Node imports.
 */
// Types only: model-loader.ts checks models with this in pages that load no TensorFlow.js.
import type * as tf from '@tensorflow/tfjs-core';
import { checkLimit, type Limits } from '../limits.js';
import { concatBytes, printable } from '../image/bytes.js';
import { isFloat16NonFinite } from './float16.js';
import { decodeUint8Channels, UINT8_CHANNELS, uint8ChannelRanges, uint8ChannelsBytes } from './uint8-channels.js';

/**
 * Largest `model.json` read, in bytes. The published x2 model's is 19 KB and the largest
 * architecture the metadata allows (x8, 64 blocks per level) about 500 KB; 4 MiB leaves room
 * without reading whatever a hostile folder names `model.json` into memory.
 */
export const MAX_MODEL_JSON_BYTES = 4 * 1024 * 1024;

/** Bytes per stored element: float32, or float16 (`quantization: { dtype: 'float16' }`). */
const FLOAT32_BYTES = 4;
const FLOAT16_BYTES = 2;

/** How a float32 weight is stored: as float32, as halves, or as 8 bits per output channel (`io/uint8-channels.ts`). */
export type WeightStorage = 'float32' | 'float16' | typeof UINT8_CHANNELS;

/** How a checked weight spec stores its weight. */
export function storageOf(spec: tf.io.WeightsManifestEntry): WeightStorage {
  const dtype: unknown = spec.quantization?.dtype;
  return dtype === 'float16' ? 'float16' : dtype === UINT8_CHANNELS ? UINT8_CHANNELS : 'float32';
}

/** Bytes a checked weight spec's weight takes, stored as it says. */
function storedBytes(spec: tf.io.WeightsManifestEntry): number {
  const elements = spec.shape.reduce((a, b) => a * b, 1);
  const storage = storageOf(spec);
  if (storage === UINT8_CHANNELS) return uint8ChannelsBytes(elements, spec.shape[spec.shape.length - 1]);
  return elements * (storage === 'float16' ? FLOAT16_BYTES : FLOAT32_BYTES);
}

/** One group of a weights manifest, checked: its shard paths and weight specs. */
export interface CheckedWeightGroup {
  paths: string[];
  weights: tf.io.WeightsManifestEntry[];
  /** Bytes its shards must hold together: the sum of its weights' sizes. */
  bytes: number;
}

/**
 * Where `JSON.parse`'s error `e` says the text went wrong, as ` (at position N)`, or nothing.
 * Its message itself is never repeated: V8 quotes the text around the error (`Unexpected
 * token 'r', "root:x:0:0"... is not valid JSON`), and a model.json linked to another file
 * would put that file's contents in an error line.
 */
export function jsonErrorPosition(e: unknown): string {
  const at = /\bposition (\d+)/.exec(e instanceof Error ? e.message : '')?.[1];
  return at == null ? '' : ` (at position ${at})`;
}

/**
 * `text`, read from `file`, parsed as JSON.
 * @throws Error `<file> is not valid JSON (at position N)`, which never quotes the text (see
 *   {@link jsonErrorPosition}).
 */
export function parseJsonText(text: string, file: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new Error(`${file} is not valid JSON${jsonErrorPosition(e)}`);
  }
}

/**
 * The weight file paths that a parsed model.json's `weightsManifest` names, as written, in
 * order (each group's `paths`). Lenient: what is not a list of groups with string paths adds
 * nothing. Where those paths may point is {@link parseModelJson}'s to check, which a load runs.
 */
export function manifestWeightPaths(json: unknown): string[] {
  const manifest = isObject(json) ? (json as { weightsManifest?: unknown }).weightsManifest : undefined;
  if (!Array.isArray(manifest)) return [];
  return manifest.flatMap((group: unknown) => {
    const paths = isObject(group) ? (group as { paths?: unknown }).paths : undefined;
    return Array.isArray(paths) ? paths.filter((p): p is string => typeof p === 'string') : [];
  });
}

/**
 * Parses `model.json` (`text`, from `file`) and checks its structure: a topology and a
 * weights manifest whose groups have paths that `checkPath` accepts (by default
 * {@link checkShardPath}) and weight specs (see {@link checkWeightSpecs}). Throws an Error
 * naming `file` otherwise.
 */
export function parseModelJson(
  text: string,
  file: string,
  limits: Limits,
  checkPath: (path: unknown, file: string) => string = checkShardPath,
): { modelJson: tf.io.ModelJSON; groups: CheckedWeightGroup[] } {
  const json = parseJsonText(text, file);
  const modelJson = json as tf.io.ModelJSON;
  if (!isObject(json) || !isObject(modelJson.modelTopology) || !Array.isArray(modelJson.weightsManifest)) {
    throw new Error(`${file} is not a TensorFlow.js layers model.json (no modelTopology or weightsManifest)`);
  }
  const groups: CheckedWeightGroup[] = modelJson.weightsManifest.map((group, g) => {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new Error(`${file}: weightsManifest[${g}] is not a group of "paths" and "weights"`);
    }
    return { paths: group.paths.map((p) => checkPath(p, file)), weights: group.weights, bytes: 0 };
  });
  const sizes = checkWeightSpecs(
    groups.flatMap((g) => g.weights),
    limits,
    file,
  );
  let i = 0;
  for (const group of groups) {
    for (const end = i + group.weights.length; i < end; i++) group.bytes += sizes[i];
    if (group.paths.length === 0 && group.bytes > 0) throw new Error(`${file}: a group of weights names no weight files`);
  }
  return { modelJson, groups };
}

/**
 * Checks one shard path of a weights manifest as written, before it is resolved: a
 * non-empty relative path of `/`-separated names, with no `..` or `.` segment, no
 * backslash, no NUL, no scheme or drive (`http:`, `C:`) and no leading `/`. Where it points
 * (links included) is the loader's to check. Returns the path.
 */
export function checkShardPath(path: unknown, file: string): string {
  const shown = JSON.stringify(path)?.slice(0, 200) ?? String(path);
  const refuse = (why: string): never => {
    throw new Error(`${file} names the weight file ${shown}, which ${why}; weight files must be in the model's folder`);
  };
  if (typeof path !== 'string' || path === '') return refuse('is not a file name');
  if (path.includes('\0')) refuse('holds a NUL character');
  if (path.includes('\\')) refuse('holds a backslash');
  if (path.startsWith('/')) refuse('is an absolute path');
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(path)) refuse('is a URL or a drive path');
  // Percent-encoded dots count too: a URL parser turns "%2e%2e" into "..".
  const segments = path.split('/').map((s) => s.replace(/%2e/gi, '.'));
  if (segments.some((s) => s === '..')) refuse('leads out of it with ".."');
  if (segments.some((s) => s === '.' || s === '')) refuse('has an empty or "." segment');
  return path;
}

/**
 * Checks weight specs before any weight is read: a name, a shape of whole numbers, dtype
 * float32, stored as float32 (no quantization), as halves (`quantization: { dtype:
 * 'float16' }` and nothing else, which tfjs decodes to float32) or as 8 bits with a range per
 * output channel (`quantization: { dtype: 'uint8-per-channel' }` and nothing else, on a shape
 * of rank 1 or more; `io/uint8-channels.ts`; the shipped presets are stored so), each within
 * `limits.tensorElements` and all together within `limits.totalElements`. tfjs's own integer
 * quantization (uint8, uint16: one range per tensor) is refused: it loses too much for an
 * invertible model. Returns each spec's size in bytes.
 */
export function checkWeightSpecs(specs: readonly unknown[], limits: Limits, file: string): number[] {
  let total = 0;
  return specs.map((raw, i) => {
    if (!isObject(raw) || typeof (raw as { name?: unknown }).name !== 'string') {
      throw new Error(`${file}: weight spec ${i} has no name`);
    }
    const spec = raw as unknown as tf.io.WeightsManifestEntry;
    const what = `weight ${printable(spec.name.slice(0, 200))}`;
    const q: unknown = spec.quantization;
    const known = isObject(q) && (q.dtype === 'float16' || q.dtype === UINT8_CHANNELS) && Object.keys(q).every((k) => k === 'dtype');
    if (q != null && !known) {
      const how = printable((isObject(q) ? String(q.dtype) : String(q)).slice(0, 40));
      throw new Error(`${file}: ${what} is quantized (${how}); IRN models hold float32 weights, stored as float32, float16 or ${UINT8_CHANNELS} (convert the model without tfjs's integer quantization)`);
    }
    if (spec.dtype !== 'float32') {
      throw new Error(`${file}: ${what} has dtype ${printable(String(spec.dtype).slice(0, 40))}; IRN models hold float32 weights only`);
    }
    const shape: unknown = spec.shape;
    if (!Array.isArray(shape) || shape.length > 8 || !shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0)) {
      throw new Error(`${file}: ${what} has no valid shape (a list of up to 8 whole numbers)`);
    }
    let elements = 1;
    for (const d of shape as number[]) elements *= d; // at most 8 factors: a huge product stays a finite double
    checkLimit(limits, 'tensorElements', elements, `${what} in ${file}`, 'elements');
    total += elements;
    checkLimit(limits, 'totalElements', total, `the weights described by ${file}`, 'elements');
    if (storageOf(spec) === UINT8_CHANNELS && (shape as number[]).length === 0) {
      throw new Error(`${file}: ${what} is a scalar stored as ${UINT8_CHANNELS}, which needs a channel dimension`);
    }
    return storedBytes(spec);
  });
}

/**
 * Throws an Error naming the first weight that holds NaN or an infinity ("weight
 * dense_block_1/conv1/kernel holds NaN"): such a model turns every image into NaN, which
 * the PNG encoder writes as black. `data` holds the weights of `specs` (float32, float16 or
 * 8 bits per channel where a spec says so; checked by {@link checkWeightSpecs}) in order. For
 * 8 bits per channel, every value is finite when the channels' minimums and steps are.
 */
export function checkFiniteWeights(specs: readonly tf.io.WeightsManifestEntry[], data: tf.io.WeightData): void {
  const buffer = data instanceof ArrayBuffer ? data : joinBuffers(data);
  let offset = 0;
  for (const spec of specs) {
    const elements = spec.shape.reduce((a, b) => a * b, 1);
    if (storageOf(spec) === UINT8_CHANNELS) {
      const bytes = storedBytes(spec);
      uint8ChannelRanges(new Uint8Array(buffer, offset, bytes), elements, spec.shape[spec.shape.length - 1], printable(spec.name.slice(0, 200)));
      offset += bytes;
      continue;
    }
    if (storageOf(spec) === 'float16') {
      // After an odd-sized 8-bit weight the offset may be odd: a copy.
      const halves = offset % FLOAT16_BYTES === 0 ? new Uint16Array(buffer, offset, elements) : new Uint16Array(buffer.slice(offset, offset + elements * FLOAT16_BYTES));
      offset += elements * FLOAT16_BYTES;
      const i = halves.findIndex(isFloat16NonFinite);
      if (i >= 0) {
        const kind = (halves[i] & 0x3ff) !== 0 ? 'NaN' : halves[i] & 0x8000 ? '-Infinity' : 'Infinity';
        throw new Error(`weight ${printable(spec.name.slice(0, 200))} holds ${kind} (element ${i} of ${elements}, float16); the model would turn every image into ${kind}`);
      }
      continue;
    }
    // A view where it can be; after an odd number of halves (or 8-bit bytes) the offset is no multiple of 4: a copy.
    const values = offset % FLOAT32_BYTES === 0 ? new Float32Array(buffer, offset, elements) : new Float32Array(buffer.slice(offset, offset + elements * FLOAT32_BYTES));
    offset += elements * FLOAT32_BYTES;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      // v - v is 0 for every finite v, NaN for NaN and the infinities.
      if (v - v !== 0) {
        const kind = Number.isNaN(v) ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
        throw new Error(`weight ${printable(spec.name.slice(0, 200))} holds ${kind} (element ${i} of ${elements}); the model would turn every image into ${kind}`);
      }
    }
  }
}

/**
 * Checks a model's artifacts as loaded by any `tf.io` handler, before a model is built from
 * them: weight specs as {@link checkWeightSpecs}, as many bytes of weights as they describe,
 * and finite weights ({@link checkFiniteWeights}).
 */
export function checkModelArtifacts(artifacts: tf.io.ModelArtifacts, limits: Limits): void {
  const specs = artifacts.weightSpecs ?? [];
  const sizes = checkWeightSpecs(specs, limits, 'model.json');
  const expected = sizes.reduce((a, b) => a + b, 0);
  const data = artifacts.weightData ?? new ArrayBuffer(0);
  const actual = data instanceof ArrayBuffer ? data.byteLength : data.reduce((n, b) => n + b.byteLength, 0);
  if (actual !== expected) throw new Error(`the model's weights hold ${actual} bytes, its model.json describes ${expected}`);
  checkFiniteWeights(specs, data);
}

/**
 * `artifacts` (checked by {@link checkModelArtifacts}) as tfjs can read them: each weight
 * stored as 8 bits per channel decoded to plain float32, the others as they are (float16
 * stays float16, which tfjs decodes). The artifacts themselves when there is none.
 */
export function expandUint8Channels(artifacts: tf.io.ModelArtifacts): tf.io.ModelArtifacts {
  const specs = artifacts.weightSpecs ?? [];
  if (!specs.some((s) => storageOf(s) === UINT8_CHANNELS)) return artifacts;
  const data = artifacts.weightData ?? new ArrayBuffer(0);
  const input = new Uint8Array(data instanceof ArrayBuffer ? data : joinBuffers(data));
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const bytes = storedBytes(spec);
    const stored = input.subarray(offset, offset + bytes);
    offset += bytes;
    if (storageOf(spec) !== UINT8_CHANNELS) {
      outSpecs.push(spec);
      parts.push(stored);
      continue;
    }
    const { quantization: _, ...plain } = spec;
    outSpecs.push(plain);
    const elements = spec.shape.reduce((a, b) => a * b, 1);
    parts.push(new Uint8Array(decodeUint8Channels(stored, elements, spec.shape[spec.shape.length - 1], printable(spec.name.slice(0, 200))).buffer));
  }
  return { ...artifacts, weightSpecs: outSpecs, weightData: concatBytes(parts).buffer as ArrayBuffer };
}

/** The buffers one after another in a new one (what `tf.io.CompositeArrayBuffer.join` does). */
function joinBuffers(buffers: ArrayBuffer[]): ArrayBuffer {
  return concatBytes(buffers.map((b) => new Uint8Array(b))).buffer as ArrayBuffer;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value);
}
