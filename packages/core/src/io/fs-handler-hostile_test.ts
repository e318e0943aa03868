/**
 * The fileSystem handler against hostile model folders (issue 15, items 12 and 14): weight
 * paths out of the folder (by "..", absolutely, through a link), FIFOs and devices, specs
 * that are quantized, not float32 or huge, NaN weights, an oversized model.json. Each folder
 * is made here from a small saved model; each must be refused with one clear line, fast, and
 * without opening anything outside the folder.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { LimitError } from '../limits.js';
import { IrnModel, parameterCount } from '../model/irn.js';
import { perturbWeights } from '../testing/perturb.js';
import { fileSystem } from './fs-handler.js';
import { MAX_MODEL_JSON_BYTES } from './weight-specs.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SHARD = 'group1-shard1of1.bin';

let base: string;
/** A saved model (perturbed, so its weights are not mostly zero) to copy folders from. */
let modelJson: tf.io.ModelJSON;
let shard: Buffer;
let serial = 0;

before(async () => {
  await tf.setBackend('cpu');
  base = await mkdtemp(join(tmpdir(), 'irn-hostile-'));
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 2, seed: 1 });
  perturbWeights(model.flow.weights, 3);
  const dir = join(base, 'original');
  await model.save(fileSystem(dir));
  model.dispose();
  modelJson = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  shard = await readFile(join(dir, SHARD));
  // A file outside every model folder, exactly as large as the weights.
  await writeFile(join(base, 'secret.bin'), shard);
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A new model folder: model.json changed by `edit`, the shard written unless `writeShard` is false. */
async function folder(edit: (json: tf.io.ModelJSON) => void = () => {}, writeShard = true): Promise<string> {
  const dir = join(base, `m${serial++}`);
  await mkdir(dir);
  const json = structuredClone(modelJson);
  edit(json);
  await writeFile(join(dir, 'model.json'), JSON.stringify(json));
  if (writeShard) await writeFile(join(dir, SHARD), shard);
  return dir;
}

const setPath = (path: string) => (json: tf.io.ModelJSON) => {
  json.weightsManifest[0].paths = [path];
};

/** Loads `dir`, expecting a refusal matching `pattern` within `ms`; returns the message. */
async function refused(dir: string, pattern: RegExp, ms = 5000, limits?: Parameters<typeof fileSystem>[1]): Promise<string> {
  const t0 = performance.now();
  let message = '';
  await assert.rejects(
    Promise.race([
      IrnModel.load(fileSystem(dir, limits), limits),
      new Promise((_, reject) => setTimeout(() => reject(new Error(`still loading after ${ms} ms`)), ms).unref()),
    ]),
    (e: Error) => {
      message = e.message;
      assert.match(e.message, pattern);
      return true;
    },
  );
  assert.ok(performance.now() - t0 < ms);
  assert.doesNotMatch(message, /\n/, 'one line');
  return message;
}

describe('fileSystem: weight files confined to the model folder', () => {
  it('still loads a saved model, the shipped presets, and a shard linked from inside the folder', async () => {
    const dir = await folder();
    (await IrnModel.load(fileSystem(dir))).dispose();
    for (const name of ['irn-x2', 'irn-x4']) {
      const model = await IrnModel.load(fileSystem(join(ROOT, 'weights', name)));
      assert.equal(model.scale, name === 'irn-x2' ? 2 : 4);
      model.dispose();
    }
    const linked = await folder(setPath('link.bin'));
    await mkdir(join(linked, 'data'));
    await writeFile(join(linked, 'data', 'w.bin'), shard);
    await symlink(join(linked, 'data', 'w.bin'), join(linked, 'link.bin'));
    (await IrnModel.load(fileSystem(linked))).dispose();
    const sub = await folder(setPath('data/w.bin'));
    await mkdir(join(sub, 'data'));
    await writeFile(join(sub, 'data', 'w.bin'), shard);
    (await IrnModel.load(fileSystem(sub))).dispose();
  });

  it('refuses a size-matched "../secret.bin", and "../../dev/zero", without opening them', async () => {
    const secret = await refused(await folder(setPath('../secret.bin')), /names the weight file "\.\.\/secret\.bin", which leads out of it with "\.\."/);
    assert.doesNotMatch(secret, new RegExp(`${shard.byteLength}`), 'says nothing of the outside file\'s size');
    await refused(await folder(setPath('../../../../../../../../dev/zero')), /leads out of it with "\.\."/);
    await refused(await folder(setPath('a/../../secret.bin')), /leads out of it/);
  });

  it('refuses absolute paths, URLs, backslashes and NUL', async () => {
    await refused(await folder(setPath(join(base, 'secret.bin'))), /is an absolute path/);
    await refused(await folder(setPath('/dev/zero')), /"\/dev\/zero", which is an absolute path/);
    await refused(await folder(setPath('/etc/passwd')), /is an absolute path; weight files must be in the model's folder$/);
    await refused(await folder(setPath('file:///etc/passwd')), /is a URL/);
    await refused(await folder(setPath('..\\secret.bin')), /holds a backslash/);
    await refused(await folder(setPath(`${SHARD}\0.txt`)), /holds a NUL character/);
  });

  it('refuses a link in the folder that leads out of it, to a size-matched file or to /dev/zero', async () => {
    const dir = await folder(setPath('w.bin'));
    await symlink(join(base, 'secret.bin'), join(dir, 'w.bin'));
    await refused(dir, /names the weight file "w\.bin", which is a link out of the model's folder/);
    const zero = await folder(setPath('w.bin'));
    await symlink('/dev/zero', join(zero, 'w.bin'));
    await refused(zero, /link out of the model's folder/);
  });

  it('refuses a FIFO shard, or a FIFO model.json, at once instead of hanging', async () => {
    const dir = await folder(() => {}, false);
    execFileSync('mkfifo', [join(dir, SHARD)]);
    await refused(dir, /weight file .*group1-shard1of1\.bin is a FIFO, not a regular file/, 2000);
    const json = join(base, `fifo-json-${serial++}`);
    await mkdir(json);
    execFileSync('mkfifo', [join(json, 'model.json')]);
    await refused(json, /model\.json is a FIFO, not a model\.json file/, 2000);
  });

  it('refuses a directory as a shard', async () => {
    const dir = await folder(setPath('data'));
    await mkdir(join(dir, 'data'));
    await refused(dir, /weight file .*data is a directory/);
  });

  it('checks the weight files\' sizes before reading them', async () => {
    const dir = await folder(() => {}, false);
    await writeFile(join(dir, SHARD), Buffer.concat([shard, Buffer.alloc(1 << 20)]));
    await refused(dir, new RegExp(`hold ${shard.byteLength + (1 << 20)} bytes, model\\.json describes ${shard.byteLength}`));
  });

  it('refuses a model.json larger than MAX_MODEL_JSON_BYTES', async () => {
    const dir = await folder();
    const json = JSON.stringify(modelJson);
    await writeFile(join(dir, 'model.json'), json.slice(0, -1) + ' '.repeat(MAX_MODEL_JSON_BYTES) + '}');
    await refused(dir, /model\.json is \d+ bytes; a model\.json is at most 4194304 bytes/);
  });
});

describe('fileSystem: weight specs and values', () => {
  const firstSpec = (edit: (spec: tf.io.WeightsManifestEntry) => void) => (json: tf.io.ModelJSON) => edit(json.weightsManifest[0].weights[0]);
  const firstName = () => modelJson.weightsManifest[0].weights[0].name;

  it('refuses an integer-quantized weight, float16 with a scale, and a dtype other than float32', async () => {
    const q = await folder(firstSpec((s) => (s.quantization = { dtype: 'uint8', scale: 1, min: 0 })));
    await refused(q, new RegExp(`weight ${firstName()} is quantized \\(uint8\\); IRN models hold float32 weights, stored as float32, float16 or uint8-per-channel`));
    const scaled = await folder(firstSpec((s) => (s.quantization = { dtype: 'float16', scale: 2 })));
    await refused(scaled, /is quantized \(float16\)/);
    // A hostile name and dtype still give one line (refused checks it).
    const lines = await folder(firstSpec((s) => ((s.name = 'a\nb'), (s.quantization = { dtype: 'ui\nnt8' as 'uint8' }))));
    await refused(lines, /weight a\?b is quantized \(ui\?nt8\)/);
    const f16 = await folder(firstSpec((s) => (s.dtype = 'float16' as tf.DataType)));
    await refused(f16, new RegExp(`weight ${firstName()} has dtype float16; IRN models hold float32 weights only`));
    const int = await folder(firstSpec((s) => (s.dtype = 'int32')));
    await refused(int, /has dtype int32/);
  });

  it('refuses a huge shape before reading anything, within the limits given', async () => {
    const huge = await folder(firstSpec((s) => (s.shape = [100000, 100000, 3, 3])));
    const t0 = performance.now();
    await assert.rejects(IrnModel.load(fileSystem(huge)), (e: Error) => {
      assert.ok(e instanceof LimitError);
      assert.equal(e.limit, 'tensorElements');
      assert.match(e.message, /is 90,000,000,000 elements, above the limit of 16,777,216 elements \(raise it with limits: \{ tensorElements: N \}\)/);
      return true;
    });
    assert.ok(performance.now() - t0 < 1000);
    const dir = await folder();
    await refused(dir, /above the limit of 100 elements \(raise it with limits: \{ totalElements: N \}\)/, 5000, { limits: { totalElements: 100 } });
    await refused(await folder(firstSpec((s) => (s.shape = [3, -1]))), /has no valid shape/);
    await refused(await folder(firstSpec((s) => (s.shape = [3, 1.5]))), /has no valid shape/);
  });

  it('refuses NaN and infinite weights, naming the weight', async () => {
    const specs = modelJson.weightsManifest[0].weights;
    const target = specs[2]; // the first block's F/conv2/kernel
    const offset = specs.slice(0, 2).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
    for (const [value, kind] of [
      [NaN, 'NaN'],
      [Infinity, 'Infinity'],
      [-Infinity, '-Infinity'],
    ] as const) {
      const dir = await folder(() => {}, false);
      const bad = Buffer.from(shard);
      bad.writeFloatLE(value, offset + 4 * 5);
      await writeFile(join(dir, SHARD), bad);
      await refused(dir, new RegExp(`^weight ${target.name} holds ${kind} \\(element 5 of \\d+\\)`));
    }
  });

  it('IrnModel.load checks weights that come from memory too', async () => {
    const dir = await folder();
    const artifacts = await fileSystem(dir).load!();
    const data = new Float32Array((artifacts.weightData as ArrayBuffer).slice(0));
    data[7] = NaN;
    await assert.rejects(
      IrnModel.load(tf.io.fromMemory({ ...artifacts, weightData: data.buffer })),
      new RegExp(`^Error: weight ${modelJson.weightsManifest[0].weights[0].name} holds NaN`),
    );
    const quantized = structuredClone(artifacts.weightSpecs!);
    quantized[1].dtype = 'float16' as tf.DataType;
    await assert.rejects(IrnModel.load(tf.io.fromMemory({ ...artifacts, weightSpecs: quantized })), /has dtype float16/);
    await assert.rejects(IrnModel.load(tf.io.fromMemory({ ...artifacts, weightData: new ArrayBuffer(8) })), /the model's weights hold 8 bytes, its model\.json describes \d+/);
    assert.ok((await stat(join(dir, SHARD))).size > 8);
  });
});

describe('IrnModel.load: the topology is the architecture the metadata describes', () => {
  type Layer = { class_name: string; config: Record<string, unknown> };
  const layersOf = (json: tf.io.ModelJSON) => (json.modelTopology as { config: { layers: Layer[] } }).config.layers;

  it('parameterCount is what a built model counts', () => {
    for (const config of [{ scale: 2 as const }, { scale: 4 as const, blocks: 3, growth: 5 }, { scale: 8 as const, blocks: 2, growth: 7, clamp: 0.5 }]) {
      const model = IrnModel.create(config);
      assert.equal(parameterCount(model.config), model.countParams());
      model.dispose();
    }
  });

  it('refuses a block whose growth, clamp or class differs from the metadata, before building it', async () => {
    // Growth 1024 in every block of a 1 KB-weight model took over 60 s and 2.7 GB before.
    const grown = await folder((json) => {
      for (const layer of layersOf(json)) if (layer.class_name === 'AffineCoupling') layer.config.growth = 1024;
    });
    await refused(grown, /^model\.json's layer 1 has growth 1024, the IRN metadata says 2$/, 3000);
    await refused(await folder((json) => (layersOf(json)[1].config.clamp = 5)), /layer 1 has clamp 5, the IRN metadata says 1/);
    await refused(await folder((json) => (layersOf(json)[1].class_name = 'HaarDownsampling')), /layer 1 is HaarDownsampling, the IRN architecture has AffineCoupling there/);
  });

  it('refuses an architecture whose weights pass limits.totalElements, before building it', async () => {
    // Metadata and topology agree on x8, 64 blocks, growth 1024: billions of weights.
    const huge = await folder((json) => {
      const meta = (json.userDefinedMetadata as { irn: Record<string, unknown> }).irn;
      Object.assign(meta, { scale: 8, levels: 3, blocks: 64, growth: 1024 });
      const [haar, block] = layersOf(json);
      const layers: Layer[] = [];
      for (let level = 0; level < 3; level++) {
        layers.push(structuredClone(haar));
        for (let b = 0; b < 64; b++) layers.push({ ...structuredClone(block), config: { ...block.config, growth: 1024, name: `c${level}_${b}` } });
      }
      (json.modelTopology as { config: { layers: Layer[] } }).config.layers = layers;
    });
    const t0 = performance.now();
    await assert.rejects(IrnModel.load(fileSystem(huge)), (e: Error) => {
      assert.ok(e instanceof LimitError && e.limit === 'totalElements', String(e));
      assert.match(e.message, /^the IRN x8 architecture in model\.json \(64 blocks, growth 1024\) is [\d,]+ weights, above the limit/);
      return true;
    });
    assert.ok(performance.now() - t0 < 3000);
  });
});
