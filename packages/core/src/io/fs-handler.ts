import * as tf from '@tensorflow/tfjs-core';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/** Largest weight shard written, in bytes (the tfjs converter's default). */
const SHARD_BYTES = 4 * 1024 * 1024;

/**
 * A `tf.io` handler for a directory on disk (Node only): `save` writes `model.json` and
 * `group1-shard{i}of{n}.bin`; `load` reads them back. This is the layout `tf.loadLayersModel`
 * reads over HTTP, so a saved directory can be served as is.
 */
export function fileSystem(dir: string): tf.io.IOHandler {
  const root = resolve(dir);
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
      let text: string;
      try {
        text = await readFile(jsonPath, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        throw new Error(code === 'ENOENT' ? `no model at ${root}: ${jsonPath} does not exist` : `cannot read ${jsonPath}: ${(e as Error).message}`);
      }
      let modelJson: tf.io.ModelJSON;
      try {
        modelJson = JSON.parse(text) as tf.io.ModelJSON;
      } catch (e) {
        throw new Error(`${jsonPath} is not valid JSON: ${(e as Error).message}`);
      }
      if (modelJson.modelTopology == null || !Array.isArray(modelJson.weightsManifest)) {
        throw new Error(`${jsonPath} is not a tfjs model.json (no modelTopology or weightsManifest)`);
      }
      return tf.io.getModelArtifactsForJSON(modelJson, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: ArrayBuffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) {
            const file = join(root, p);
            let data: Buffer;
            try {
              data = await readFile(file);
            } catch {
              throw new Error(`weight file ${file} named in model.json is missing`);
            }
            buffers.push(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer);
          }
        }
        const weightData = tf.io.concatenateArrayBuffers(buffers);
        const expected = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
        if (weightData.byteLength !== expected) {
          throw new Error(`weights in ${root} hold ${weightData.byteLength} bytes, model.json describes ${expected}`);
        }
        return [specs, weightData];
      });
    },
  };
}
