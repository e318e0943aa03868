/**
 * loadModelArtifacts (and IrnModel.load of a URL, which goes through it) against hostile
 * servers and model.json files, in Node with a local HTTP server (issue 15, items 12 and
 * 14): weight URLs confined to the model.json's folder, downloads bounded by what the specs
 * describe, float32 specs only, finite weights, on the URL and the preset (SHA-256) routes.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { fileSystem } from '../io/fs-handler.js';
import { LimitError } from '../limits.js';
import { IrnModel } from '../model/irn.js';
import { perturbWeights } from '../testing/perturb.js';
import { loadModelArtifacts } from './model-loader.js';

const SHARD = 'group1-shard1of1.bin';
type Route = (res: ServerResponse) => void;
/** Path -> what the server answers; everything else is a 404. */
const routes = new Map<string, Route>();
const requests: string[] = [];
let server: Server;
let origin = '';
let modelJson: tf.io.ModelJSON;
let shard: Buffer;
let tmp: string;

const body = (bytes: Uint8Array | string): Route => (res) => res.end(bytes);
/** A body that never ends (no Content-Length): 64 KiB chunks until the client goes away. */
const endless: Route = (res) => {
  const chunk = Buffer.alloc(65536);
  const write = () => {
    while (!res.destroyed && res.write(chunk));
    if (!res.destroyed) res.once('drain', write);
  };
  write();
};

before(async () => {
  await tf.setBackend('cpu');
  tmp = await mkdtemp(join(tmpdir(), 'irn-loader-'));
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 2, seed: 1 });
  perturbWeights(model.flow.weights, 3);
  await model.save(fileSystem(tmp));
  model.dispose();
  modelJson = JSON.parse(await readFile(join(tmp, 'model.json'), 'utf8'));
  shard = await readFile(join(tmp, SHARD));
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    res.on('error', () => {});
    const route = routes.get(req.url ?? '');
    if (route == null) {
      res.statusCode = 404;
      res.end();
    } else route(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await rm(tmp, { recursive: true, force: true });
});

let serial = 0;
/** Serves a model under a fresh folder: model.json edited by `edit`, the shard as `shardRoute`. */
function serve(edit: (json: tf.io.ModelJSON) => void = () => {}, shardRoute: Route = body(shard)): string {
  const dir = `/m${serial++}/`;
  const json = structuredClone(modelJson);
  edit(json);
  routes.set(`${dir}model.json`, body(JSON.stringify(json)));
  routes.set(`${dir}${SHARD}`, shardRoute);
  return `${origin}${dir}model.json`;
}

const setPath = (path: string) => (json: tf.io.ModelJSON) => {
  json.weightsManifest[0].paths = [path];
};

/** A copy of the shard with `value` at float index `i`. */
function withValue(i: number, value: number): Buffer {
  const bad = Buffer.from(shard);
  bad.writeFloatLE(value, 4 * i);
  return bad;
}

describe('loadModelArtifacts: hostile model.json and servers', () => {
  it('loads a model from a URL, and IrnModel.load(url) does too', async () => {
    const url = serve();
    const { artifacts } = await loadModelArtifacts(url);
    assert.equal(artifacts.weightData.byteLength, shard.byteLength);
    (await IrnModel.load(url)).dispose();
  });

  it('refuses weight paths out of the model.json folder without requesting them', async () => {
    routes.set('/secret.bin', body(shard));
    requests.length = 0;
    await assert.rejects(loadModelArtifacts(serve(setPath('../secret.bin'))), /names the weight file "\.\.\/secret\.bin", which leads out of it with "\.\."/);
    await assert.rejects(loadModelArtifacts(serve(setPath('%2e%2e/secret.bin'))), /leads out of it/);
    await assert.rejects(loadModelArtifacts(serve(setPath('/secret.bin'))), /is an absolute path/);
    await assert.rejects(loadModelArtifacts(serve(setPath('//evil.example/w.bin'))), /is an absolute path/);
    await assert.rejects(loadModelArtifacts(serve(setPath(`${origin}/secret.bin`))), /is a URL/);
    await assert.rejects(IrnModel.load(serve(setPath('../secret.bin'))), /leads out of it/);
    assert.ok(!requests.includes('/secret.bin'), requests.join());
  });

  it('stops reading a weight file at the size its specs describe, and a model.json at 4 MiB', async () => {
    const t0 = performance.now();
    await assert.rejects(
      loadModelArtifacts(serve(() => {}, endless)),
      new RegExp(`the model's ${SHARD} at .* holds more than the ${shard.byteLength} bytes of weights its model\\.json describes`),
    );
    // A Content-Length above the budget is refused before the body is read.
    const lying: Route = (res) => {
      res.setHeader('content-length', String(10 * 2 ** 30));
      res.write(Buffer.alloc(16));
    };
    await assert.rejects(loadModelArtifacts(serve(() => {}, lying)), /holds more than/);
    const jsonUrl = `${origin}/endless/model.json`;
    routes.set('/endless/model.json', endless);
    await assert.rejects(loadModelArtifacts(jsonUrl), /model\.json at .* holds more than the 4194304 bytes a model\.json may have/);
    assert.ok(performance.now() - t0 < 10_000);
    await assert.rejects(loadModelArtifacts(serve(() => {}, body(shard.subarray(8)))), new RegExp(`hold ${shard.byteLength - 8} bytes, model\\.json describes ${shard.byteLength}`));
  });

  it('refuses quantized, float16 and huge specs before downloading weights', async () => {
    requests.length = 0;
    const spec = (edit: (s: tf.io.WeightsManifestEntry) => void) => (json: tf.io.ModelJSON) => edit(json.weightsManifest[0].weights[0]);
    await assert.rejects(loadModelArtifacts(serve(spec((s) => (s.quantization = { dtype: 'uint8', scale: 1, min: 0 })))), /is quantized \(uint8\)/);
    await assert.rejects(loadModelArtifacts(serve(spec((s) => (s.dtype = 'float16' as tf.DataType)))), /has dtype float16; IRN models hold float32 weights only/);
    await assert.rejects(loadModelArtifacts(serve(spec((s) => (s.shape = [1e5, 1e5])))), (e: Error) => e instanceof LimitError && e.limit === 'tensorElements');
    await assert.rejects(loadModelArtifacts(serve(), { limits: { totalElements: 10 } }), (e: Error) => e instanceof LimitError && e.limit === 'totalElements');
    assert.deepEqual(requests.filter((r) => r.endsWith('.bin')), []);
  });

  it('refuses NaN and infinite weights by name, from a URL and from a checked preset', async () => {
    const name = modelJson.weightsManifest[0].weights[0].name;
    await assert.rejects(loadModelArtifacts(serve(() => {}, body(withValue(3, NaN)))), new RegExp(`^Error: weight ${name} holds NaN`));
    await assert.rejects(IrnModel.load(serve(() => {}, body(withValue(3, -Infinity)))), new RegExp(`weight ${name} holds -Infinity`));
    // A preset whose files match its manifest's SHA-256 (as a compromised or careless
    // weights folder would) is still refused.
    const bad = withValue(3, NaN);
    const json = JSON.stringify(modelJson);
    const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');
    routes.set('/presets/manifest.json', body(JSON.stringify({ nan: { version: 'v1', files: { 'model.json': sha(json), [SHARD]: sha(bad) } } })));
    routes.set('/presets/nan/model.json', body(json));
    routes.set(`/presets/nan/${SHARD}`, body(bad));
    await assert.rejects(loadModelArtifacts('nan', { weightsUrl: `${origin}/presets/`, cache: 'none' }), new RegExp(`weight ${name} holds NaN`));
  });

  it('loads a blob: model.json naming blob: weights (a model in page memory); an http one may not name blob: URLs', async () => {
    const weights = URL.createObjectURL(new Blob([new Uint8Array(shard)]));
    const json = { ...modelJson, weightsManifest: [{ ...modelJson.weightsManifest[0], paths: [weights] }] };
    const model = URL.createObjectURL(new Blob([JSON.stringify(json)]));
    try {
      const { artifacts } = await loadModelArtifacts(model);
      assert.equal(artifacts.weightData.byteLength, shard.byteLength);
      (await IrnModel.load(model)).dispose();
      await assert.rejects(loadModelArtifacts(serve(setPath(weights))), /names the weight file "blob:.*", which is a URL/);
    } finally {
      URL.revokeObjectURL(weights);
      URL.revokeObjectURL(model);
    }
  });
});
