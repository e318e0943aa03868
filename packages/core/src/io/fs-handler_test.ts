import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../model/irn.js';
import { perturbWeights } from '../testing/perturb.js';
import { maxAbsDiff } from '../testing/expect.js';
import { fileSystem, readModelWeightPaths } from './fs-handler.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('fileSystem handler', () => {
  it('saves model.json + shards and loads the same model back, config from metadata', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'irn-fs-'));
    try {
      const model = IrnModel.create({ scale: 4, blocks: 2, growth: 6, seed: 1 });
      perturbWeights(model.flow.weights, 2);
      await model.save(fileSystem(dir));
      const files = (await readdir(dir)).sort();
      assert.deepEqual(files, ['group1-shard1of1.bin', 'model.json']);
      const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
      assert.deepEqual(json.userDefinedMetadata.irn, { format: 1, levels: 2, scale: 4, blocks: 2, growth: 6, clamp: 1 });
      const loaded = await IrnModel.load(fileSystem(dir));
      assert.deepEqual(loaded.config, model.config);
      tf.tidy(() => {
        const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
        assert.equal(maxAbsDiff(loaded.forward(x).output, model.forward(x).output), 0);
      });
      model.dispose();
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('splits large models into 4 MB shards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'irn-fs-'));
    try {
      const model = IrnModel.create({ scale: 2 }); // 1.67M weights, 6.7 MB
      await model.save(fileSystem(dir));
      assert.deepEqual((await readdir(dir)).sort(), ['group1-shard1of2.bin', 'group1-shard2of2.bin', 'model.json']);
      const loaded = await IrnModel.load(fileSystem(dir));
      assert.equal(loaded.countParams(), 1_667_952);
      model.dispose();
      loaded.dispose();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('says what is wrong with a missing or broken model directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'irn-fs-'));
    try {
      await assert.rejects(IrnModel.load(fileSystem(join(dir, 'nope'))), /no model at .*nope: .*model\.json does not exist/);
      await writeFile(join(dir, 'model.json'), '{"modelTopology": ');
      await assert.rejects(IrnModel.load(fileSystem(dir)), /is not valid JSON/);
      // Never a word of the file itself (V8's JSON.parse message quotes it): a model.json linked
      // to another file would put that file in the error.
      await writeFile(join(dir, 'model.json'), 'root:x:0:0:SECRET\n');
      await assert.rejects(IrnModel.load(fileSystem(dir)), (e: Error) => /model\.json is not valid JSON$/.test(e.message) && !/root|SECRET/.test(e.message));
      await writeFile(join(dir, 'model.json'), '{"a": 1, "b": SECRET}');
      await assert.rejects(IrnModel.load(fileSystem(dir)), (e: Error) => /model\.json is not valid JSON( \(at position \d+\))?$/.test(e.message) && !/SECRET/.test(e.message));
      const model = IrnModel.create({ scale: 2, blocks: 1, growth: 2 });
      await model.save(fileSystem(dir));
      model.dispose();
      await rm(join(dir, 'group1-shard1of1.bin'));
      await assert.rejects(IrnModel.load(fileSystem(dir)), /weight file .*group1-shard1of1\.bin named in model\.json is missing/);
      await writeFile(join(dir, 'group1-shard1of1.bin'), new Uint8Array(10));
      await assert.rejects(IrnModel.load(fileSystem(dir)), /hold 10 bytes, model\.json describes \d+/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('readModelWeightPaths', () => {
  it("lists the manifest's weight paths in order, skipping what is not a path, and names a broken model.json without quoting it", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'irn-paths-'));
    try {
      const manifest = [{ paths: ['a.bin', 'sub/b.bin', 7], weights: [] }, null, { paths: 'c.bin' }, { paths: ['d.bin'] }];
      await writeFile(join(dir, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: manifest }));
      assert.deepEqual(await readModelWeightPaths(dir), ['a.bin', 'sub/b.bin', 'd.bin']);
      await writeFile(join(dir, 'model.json'), JSON.stringify({ weightsManifest: 'none' }));
      assert.deepEqual(await readModelWeightPaths(dir), []);
      await writeFile(join(dir, 'model.json'), 'root:x:0:0:root:/root:/bin/bash\n');
      await assert.rejects(readModelWeightPaths(dir), (e: Error) => {
        assert.equal(e.message, `${join(dir, 'model.json')} is not valid JSON`);
        return true;
      });
      await rm(join(dir, 'model.json'));
      await assert.rejects(readModelWeightPaths(dir), /no model at .*model\.json does not exist/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
