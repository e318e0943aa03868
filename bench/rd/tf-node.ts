// TensorFlow.js in Node for the rate–distortion benchmark: the wasm backend (XNNPACK, about
// 30x the plain-JS cpu backend for these convolutions) set up as `@irn/core/node`'s
// useNodeBackend does it, and a read-only `tf.io` handler for a model folder (model.json +
// weight shards). Both are repeated here rather than imported from `@irn/core/node` so that
// the benchmark needs only core's browser-safe main entry while the Node-only parts move to
// packages/cli; the folders read are the repository's own weights and esrgan-slim's package,
// not user input.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';

/** Selects the wasm backend (or `cpu`) and waits for it; returns its name. */
export async function useBackend(name: 'wasm' | 'cpu' = 'wasm'): Promise<string> {
  if (name === 'wasm') {
    const require = createRequire(import.meta.url);
    setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
  }
  if (!(await tf.setBackend(name))) throw new Error(`cannot start the TensorFlow.js ${name} backend`);
  await tf.ready();
  return tf.getBackend();
}

/** A `tf.io` handler that loads `dir/model.json` and the weight files it names. */
export function modelFolder(dir: string): tf.io.IOHandler {
  return {
    async load(): Promise<tf.io.ModelArtifacts> {
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
      const specs: tf.io.WeightsManifestEntry[] = [];
      const parts: Uint8Array[] = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) parts.push(await readFile(join(dir, p)));
      }
      const weights = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        weights.set(p, o);
        o += p.length;
      }
      return { ...tf.io.getModelArtifactsForJSONSync(json, specs, weights.buffer) };
    },
  };
}
