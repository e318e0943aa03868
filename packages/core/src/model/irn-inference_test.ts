import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend, type NodeBackendName } from '../backend/node-backend.js';
import { fileSystem } from '../io/fs-handler.js';
import { downscaleImage, upscaleImage } from '../rescale/rescale.js';
import { perturbWeights } from '../testing/perturb.js';
import { IrnInference } from './irn-inference.js';
import { IrnModel } from './irn.js';

const PRESET_X2 = fileURLToPath(new URL('../../../../weights/irn-x2/', import.meta.url));

/** The artifacts `model` saves, weights stored as asked, all in memory. */
async function artifactsOf(model: IrnModel, weights: 'float32' | 'float16' | 'uint8' = 'float32'): Promise<tf.io.ModelArtifacts> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = { ...a, weightData: tf.io.CompositeArrayBuffer.join(a.weightData!) };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { weights },
  );
  return saved!;
}

/** Values of `a` and `b` are the same numbers, bit for bit (NaN aside). */
function assertSame(a: tf.Tensor, b: tf.Tensor, what: string): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const [x, y] = [a.dataSync(), b.dataSync()];
  for (let i = 0; i < x.length; i++) {
    if (x[i] !== y[i]) assert.fail(`${what}: element ${i} is ${x[i]} against ${y[i]}`);
  }
}

function perturbed(scale: 2 | 4, seed: number): IrnModel {
  const model = IrnModel.create({ scale, blocks: 2, growth: 4, seed });
  perturbWeights(model.flow.trainableWeights, seed, 0.1);
  return model;
}

/** A mutable copy of artifacts' weight specs and metadata, to damage. */
function edit(artifacts: tf.io.ModelArtifacts, change: (a: tf.io.ModelArtifacts) => void): tf.io.ModelArtifacts {
  const copy = JSON.parse(JSON.stringify({ ...artifacts, weightData: undefined })) as tf.io.ModelArtifacts;
  copy.weightData = artifacts.weightData;
  change(copy);
  return copy;
}

for (const backend of ['cpu', 'wasm'] as NodeBackendName[]) {
  describe(`IrnInference (${backend})`, () => {
    it('computes what IrnModel computes, number for number, forward and inverse (x2, x4; float32, float16, uint8)', async () => {
      await useNodeBackend(backend);
      for (const scale of [2, 4] as const) {
        const model = perturbed(scale, scale * 3);
        for (const weights of ['float32', 'float16', 'uint8'] as const) {
          const artifacts = await artifactsOf(model, weights);
          const layers = await IrnModel.load(tf.io.fromMemory(artifacts));
          const light = IrnInference.fromArtifacts(artifacts);
          assert.equal(light.countParams(), layers.countParams());
          assert.deepEqual(light.config, layers.config);
          tf.tidy(() => {
            const x = tf.randomUniform([2, 8 * scale, 12 * scale, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
            const a = layers.forward(x);
            const b = light.forward(x);
            assertSame(b.output, a.output, `x${scale} ${weights} forward`);
            assertSame(b.logDet, a.logDet, `x${scale} ${weights} forward log-det`);
            // Not the identity: the weights were perturbed.
            const lr = tf.slice(a.output, [0, 0, 0, 0], [-1, -1, -1, 3]);
            assert.ok(tf.max(tf.abs(tf.sub(lr, tf.avgPool(x, scale, scale, 'valid')))).dataSync()[0] > 1e-3);
            const y = tf.randomNormal(a.output.shape, 0, 0.5, 'float32', 9) as tf.Tensor4D;
            const c = layers.inverse(y);
            const d = light.inverse(y);
            assertSame(d.output, c.output, `x${scale} ${weights} inverse`);
            assertSame(d.logDet, c.logDet, `x${scale} ${weights} inverse log-det`);
          });
          layers.dispose();
          light.dispose();
        }
        model.dispose();
      }
    });

    it('restores and downscales images as IrnModel does, through the tiled image functions', async () => {
      await useNodeBackend(backend);
      const model = await IrnModel.load(fileSystem(PRESET_X2));
      const light = await IrnInference.load(fileSystem(PRESET_X2));
      assert.equal(light.notes.source, model.source);
      const width = 37;
      const height = 22;
      const data = new Float32Array(width * height * 3).map((_, i) => ((i * 7919) % 256) / 255);
      const image = { width, height, channels: 3 as const, data };
      const lrA = await downscaleImage(model, image, { tileSize: 8 });
      const lrB = await downscaleImage(light, image, { tileSize: 8 });
      assert.deepEqual(lrB.data, lrA.data);
      const hrA = await upscaleImage(model, lrA, { width, height, z: 'gaussian', seed: 3, tileSize: 8 });
      const hrB = await upscaleImage(light, lrA, { width, height, z: 'gaussian', seed: 3, tileSize: 8 });
      assert.equal(hrB.width, width);
      assert.deepEqual(hrB.data, hrA.data);
      model.dispose();
      light.dispose();
    });
  });
}

describe('IrnInference: loading', () => {
  let model: IrnModel;
  let artifacts: tf.io.ModelArtifacts;
  const fresh = async () => {
    await useNodeBackend('cpu');
    model ??= perturbed(2, 11);
    artifacts ??= await artifactsOf(model, 'uint8');
  };
  after(() => model?.dispose());

  it('frees every weight on dispose, and refuses calls afterwards', async () => {
    await fresh();
    const before = tf.memory().numTensors;
    const light = IrnInference.fromArtifacts(artifacts);
    assert.equal(tf.memory().numTensors - before, 2 * 3 * 5 * 2);
    light.dispose();
    light.dispose();
    assert.equal(tf.memory().numTensors, before);
    assert.throws(() => light.forward(tf.zeros([1, 4, 4, 3])), /^Error: this IRN model was disposed$/);
  });

  it('carries the metadata notes and checks them', async () => {
    await fresh();
    model.source = 'a test';
    model.encoder = 'irn-x2';
    model.lrCodec = 'jpeg';
    model.lrQualityMax = 89;
    model.lrQualityMin = 20;
    const light = IrnInference.fromArtifacts(await artifactsOf(model));
    assert.deepEqual(light.notes, { source: 'a test', encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 89, lrQualityMin: 20 });
    light.dispose();
    const bad = edit(artifacts, (a) => ((a.userDefinedMetadata as { irn: Record<string, unknown> }).irn.encoder = '../x'));
    assert.throws(() => IrnInference.fromArtifacts(bad), /"encoder" must be a preset name/);
    for (const q of [89.5, -1, 101, '89', 1e9]) {
      const badQuality = edit(artifacts, (a) => ((a.userDefinedMetadata as { irn: Record<string, unknown> }).irn.lrQualityMax = q));
      assert.throws(() => IrnInference.fromArtifacts(badQuality), /"lrQualityMax" must be a whole number from 0 to 100/, String(q));
      const badMin = edit(artifacts, (a) => ((a.userDefinedMetadata as { irn: Record<string, unknown> }).irn.lrQualityMin = q));
      assert.throws(() => IrnInference.fromArtifacts(badMin), /"lrQualityMin" must be a whole number from 0 to 100/, String(q));
    }
    assert.throws(() => (model.lrQualityMax = 100.5), /"lrQualityMax" must be a whole number from 0 to 100, got 100\.5/);
  });

  it('checks the input shapes as IrnModel does', async () => {
    await fresh();
    const light = IrnInference.fromArtifacts(artifacts);
    assert.throws(() => light.forward(tf.zeros([1, 4, 4, 4]) as tf.Tensor4D), /IRN takes RGB input with 3 channels, got 4/);
    assert.throws(() => light.forward(tf.zeros([1, 5, 4, 3]) as tf.Tensor4D), /multiples of 2, got 4x5/);
    assert.throws(() => light.inverse(tf.zeros([1, 4, 4, 3]) as tf.Tensor4D), /inverse takes 12 channels \(LR \+ z\), got 3/);
    assert.throws(() => light.forward(tf.zeros([4, 4, 3]) as unknown as tf.Tensor4D), /IrnInference.forward expects a \[B, H, W, C\] tensor/);
    light.dispose();
  });

  it('refuses a weight the architecture does not use, a missing or repeated one, a wrong shape, an unnamed layer, a newer format', async () => {
    await fresh();
    const specs = (a: tf.io.ModelArtifacts) => a.weightSpecs!;
    const layer = (a: tf.io.ModelArtifacts, i: number) => ((a.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } }).config.layers[i]);
    const first = artifacts.weightSpecs![0].name;
    const before = tf.memory().numTensors;
    const cases: [string, tf.io.ModelArtifacts, RegExp][] = [
      ['renamed', edit(artifacts, (a) => (specs(a)[0].name = 'other/F/conv1/kernel')), /^model.json has a weight other\/F\/conv1\/kernel that the IRN architecture does not use$/],
      ['repeated', edit(artifacts, (a) => (specs(a)[2].name = first)), new RegExp(`^model.json lists the weight ${first} twice$`)],
      // A bias of 4 as [2, 2]: the same bytes, another shape.
      ['wrong shape', edit(artifacts, (a) => (specs(a)[1].shape = [2, 2])), /^weight \S+\/F\/conv1\/bias has shape \[2, 2\], the IRN architecture needs \[4\]$/],
      ['unnamed', edit(artifacts, (a) => delete layer(a, 1).config.name), /^model.json's layer 1 has no name; its weights cannot be found$/],
      ['format', edit(artifacts, (a) => ((a.userDefinedMetadata as { irn: { format: number } }).irn.format = 99)), /^this IRN model has format 99; this library reads up to 1$/],
      ['layer count', edit(artifacts, (a) => (a.modelTopology as { config: { layers: unknown[] } }).config.layers.pop()), /IRN model metadata says 3 layers, model.json has 2/],
    ];
    for (const [what, bad, message] of cases) {
      assert.throws(() => IrnInference.fromArtifacts(bad), (e: Error) => message.test(e.message) || assert.fail(`${what}: ${e.message}`));
    }
    // A weight left out: its bytes go too, so the byte count still matches the specs.
    const n = artifacts.weightSpecs!.length;
    const last = artifacts.weightSpecs![n - 1];
    const lastBytes = 2 * last.shape.reduce((x, y) => x * y, 1); // a bias, stored as float16
    const missing = edit(artifacts, (a) => specs(a).pop());
    missing.weightData = (artifacts.weightData as ArrayBuffer).slice(0, (artifacts.weightData as ArrayBuffer).byteLength - lastBytes);
    assert.throws(() => IrnInference.fromArtifacts(missing), new RegExp(`^Error: model.json has no weight ${last.name}, which the IRN architecture needs$`));
    // IrnModel.load runs the same check before tfjs-layers allocates anything.
    for (const [, bad, message] of [...cases, ['missing', missing, /^model.json has no weight/] as const]) {
      await assert.rejects(IrnModel.load(tf.io.fromMemory(bad)), (e: Error) => message.test(e.message) || assert.fail(e.message));
    }
    assert.equal(tf.memory().numTensors, before, 'no tensor is left behind by a refusal');
  });
});
