/**
 * A model the user picked as files (`model.json` and its weight files), read within bounds
 * and refused with one line. tfjs's `tf.io.browserFiles` is not used: it parses model.json
 * inside a FileReader callback, so a file that is not JSON threw there and its promise never
 * settled (the page said "reading the model files" for ever), and it reads every file whole,
 * whatever its size. What the files hold (shapes, sizes against the specs, the `irn`
 * metadata, finite weights) is checked by `IrnModel.load` afterwards.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { DEFAULT_LIMITS } from '@irn/core';

/** The most bytes a picked model.json may have (the presets' have 27 and 52 KB; core's downloads allow 4 MiB). */
export const MAX_MODEL_JSON_BYTES = 4 * 1024 * 1024;

/** The most bytes the weight files may have together: every weight core's limits allow, as float32. */
export const MAX_WEIGHT_BYTES = DEFAULT_LIMITS.totalElements * 4;

/** What {@link readModelFiles} gives: the artifacts for `IrnModel.load`, a name for the model menu, and model.json's `userDefinedMetadata`. */
export interface PickedModel {
  artifacts: tf.io.ModelArtifacts;
  name: string;
  metadata: unknown;
}

/** A name as a message shows it: one line, at most 100 characters. */
const shown = (s: string): string => {
  const q = JSON.stringify(s);
  return q.length > 100 ? `${q.slice(0, 99)}…"` : q;
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Reads `files`: one `.json` file (the model.json) and exactly the weight files its
 * `weightsManifest` names (matched by file name, as tfjs's `browserFiles` does), in the
 * manifest's order. Sizes are checked before anything is read.
 * @throws Error with a one-line message naming the file at fault.
 */
export async function readModelFiles(files: readonly File[]): Promise<PickedModel> {
  const jsons = files.filter((f) => f.name.toLowerCase().endsWith('.json'));
  if (jsons.length === 0) throw new Error('pick the model.json together with its weight files (.bin)');
  if (jsons.length > 1) throw new Error(`pick one model.json with its weight files, not ${jsons.length} .json files (${jsons.map((f) => shown(f.name)).join(', ')})`);
  const json = jsons[0];
  const weights = files.filter((f) => f !== json);
  if (weights.length === 0) throw new Error(`pick the weight files (.bin) that ${shown(json.name)} names, together with it`);
  if (json.size > MAX_MODEL_JSON_BYTES) throw new Error(`${shown(json.name)} is ${json.size} bytes; a model.json has at most ${MAX_MODEL_JSON_BYTES}`);
  const text = await readFile(json, (f) => f.text());
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new Error(`${shown(json.name)} is not JSON (${(e as Error).message.split('\n')[0].slice(0, 120)})`);
  }
  const groups = isObject(parsed) ? parsed.weightsManifest : undefined;
  if (!isObject(parsed) || !isObject(parsed.modelTopology) || !Array.isArray(groups)) {
    throw new Error(`${shown(json.name)} is not a TensorFlow.js model.json (no modelTopology or weightsManifest)`);
  }
  const paths: string[] = [];
  for (const [g, group] of groups.entries()) {
    if (!isObject(group) || !Array.isArray(group.paths) || !Array.isArray(group.weights) || !group.paths.every((p) => typeof p === 'string')) {
      throw new Error(`${shown(json.name)}: weightsManifest[${g}] is not a group of "paths" and "weights"`);
    }
    paths.push(...(group.paths as string[]));
  }
  const byName = new Map(weights.map((f) => [f.name, f]));
  const picked = paths.map((p) => {
    const name = p.slice(p.lastIndexOf('/') + 1);
    const file = byName.get(name);
    if (file == null) throw new Error(`${shown(json.name)} names the weight file ${shown(p)}, which was not picked with it`);
    return file;
  });
  if (new Set(picked).size !== picked.length) throw new Error(`${shown(json.name)} names one weight file twice`);
  const extra = weights.filter((f) => !picked.includes(f));
  if (extra.length > 0) throw new Error(`${shown(extra[0].name)} is not one of the weight files ${shown(json.name)} names (${paths.map(shown).join(', ') || 'none'})`);
  const total = picked.reduce((n, f) => n + f.size, 0);
  if (total > MAX_WEIGHT_BYTES) throw new Error(`the weight files are ${total} bytes together; a model may have at most ${MAX_WEIGHT_BYTES}`);
  const buffers = await Promise.all(picked.map((f) => readFile(f, (x) => x.arrayBuffer())));
  const weightData = new Uint8Array(total);
  let at = 0;
  for (const b of buffers) {
    weightData.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  const modelJson = parsed as unknown as tf.io.ModelJSON;
  const artifacts: tf.io.ModelArtifacts = {
    modelTopology: modelJson.modelTopology,
    format: modelJson.format,
    generatedBy: modelJson.generatedBy,
    convertedBy: modelJson.convertedBy,
    userDefinedMetadata: modelJson.userDefinedMetadata,
    weightSpecs: groups.flatMap((g) => (g as { weights: tf.io.WeightsManifestEntry[] }).weights),
    weightData: weightData.buffer,
  };
  return { artifacts, name: json.name.replace(/\.json$/i, '').replace(/^model$/, 'uploaded'), metadata: modelJson.userDefinedMetadata };
}

/** `read(file)`, a failure worded with the file's name (a file removed or changed since it was picked). */
async function readFile<T>(file: File, read: (f: File) => Promise<T>): Promise<T> {
  try {
    return await read(file);
  } catch (e) {
    throw new Error(`could not read ${shown(file.name)}: ${(e as Error).message}`, { cause: e });
  }
}
