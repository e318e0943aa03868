import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../model/irn.js';
import { maxAbsDiff } from '../testing/expect.js';
import { perturbWeights } from '../testing/perturb.js';
import { fileSystem } from './fs-handler.js';

before(async () => {
  await tf.setBackend('cpu');
});

describe('loading a saved model from a URL', () => {
  it('IrnModel.load(url) reads model.json and its shards over HTTP (a local server)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'irn-url-'));
    const requests: string[] = [];
    const server = createServer((req, res) => {
      requests.push(req.url ?? '');
      readFile(join(dir, (req.url ?? '').slice(1))).then(
        (body) => res.end(body),
        () => {
          res.statusCode = 404;
          res.end();
        },
      );
    });
    try {
      const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 1 });
      perturbWeights(model.flow.weights, 2);
      await model.save(fileSystem(dir));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const loaded = await IrnModel.load(`http://127.0.0.1:${port}/model.json`);
      assert.deepEqual(requests.sort(), ['/group1-shard1of1.bin', '/model.json']);
      tf.tidy(() => {
        const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
        assert.equal(maxAbsDiff(loaded.forward(x).output, model.forward(x).output), 0);
      });
      await assert.rejects(IrnModel.load(`http://127.0.0.1:${port}/missing/model.json`), /404|Not Found|failed/i);
      model.dispose();
      loaded.dispose();
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
