import * as tf from '@tensorflow/tfjs-core';
import { loadModelArtifacts } from '../browser/model-loader.js';
import type { Limits } from '../limits.js';

/**
 * A model's files from where `IrnModel.load` and `IrnInference.load` take them: a URL to
 * `model.json` (read by `loadModelArtifacts`, within `limits`), a string a registered `tf.io`
 * handler claims (`indexeddb://name`), or any `tf.io.IOHandler`. Not checked: the callers
 * check them before they build anything.
 */
export async function readArtifacts(source: string | tf.io.IOHandler, limits: Limits): Promise<tf.io.ModelArtifacts> {
  if (typeof source === 'string' && isUrlSource(source)) {
    return (await loadModelArtifacts(modelUrl(source), { limits })).artifacts;
  }
  const handler = typeof source === 'string' ? tf.io.getLoadHandlers(source)[0] : source;
  if (handler?.load == null) throw new Error(`cannot load a model from ${typeof source === 'string' ? source : 'this handler'}`);
  return handler.load();
}

/**
 * Whether `IrnModel.load` reads `source` over HTTP: an http(s) URL, or (as tfjs-layers
 * does) any string no registered `tf.io` handler claims, taken as relative to the page.
 */
function isUrlSource(source: string): boolean {
  return /^https?:\/\//i.test(source) || tf.io.getLoadHandlers(source).length === 0;
}

function modelUrl(source: string): URL {
  const base = (globalThis as { location?: { href: string } }).location?.href;
  try {
    return new URL(source, base);
  } catch {
    throw new Error(`cannot load a model from "${source}": not a URL (in Node, load a folder with fileSystem(dir) from @irn/core/node)`);
  }
}
