/**
 * loadModelArtifacts with presets from an npm package (issue 14, item 2): each file from its
 * own URL (as a bundler leaves them: renamed, in another folder), checked against the
 * package's SHA-256; when those URLs fail (HTTP error, an HTML page, a wrong hash), the same
 * files from a CDN that serves npm packages as `<cdn><name>@<version>/<path>` (here a local
 * server in its place), with the same checks; and with no `weights` option, @irn/weights
 * itself (its file: URLs cannot be fetched by Node, so the CDN route is what loads them here).
 * Real files: the shipped weights/irn-x2.
 */
import { describe, it, before, after, mock } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadModelArtifacts, type WeightsPackage } from './model-loader.js';

const WEIGHTS = fileURLToPath(new URL('../../../../weights/', import.meta.url));
const SHARD = 'group1-shard1of1.bin';
const NAME = '@irn/weights';
const VERSION = '9.9.9-test';

/** Path -> body (200), or a status code. */
const routes = new Map<string, Uint8Array | string | number>();
const requests: string[] = [];
let server: Server;
let origin = '';
let manifest: Record<string, { version: string; files: Record<string, string> }>;
let files: Record<string, Buffer>;

before(async () => {
  await tf.setBackend('cpu');
  manifest = JSON.parse(await readFile(`${WEIGHTS}manifest.json`, 'utf8'));
  files = {
    'model.json': await readFile(`${WEIGHTS}irn-x2/model.json`),
    [SHARD]: await readFile(`${WEIGHTS}irn-x2/${SHARD}`),
  };
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    const route = routes.get(req.url ?? '');
    if (route == null || typeof route === 'number') {
      res.statusCode = route ?? 404;
      res.end();
    } else res.end(route);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(() => {
  server.closeAllConnections();
  server.close();
});

let serial = 0;
/**
 * A package whose irn-x2 files sit at hashed names in an assets folder, as a bundler emits
 * them, served with `serve` (default: the real bytes); and the CDN's copies under
 * /npm/<name>@<version>/dist/irn-x2/, served with `cdn`.
 */
function setup(serve: Partial<Record<string, Uint8Array | string | number>> = {}, cdn: Partial<Record<string, Uint8Array | string | number>> = {}): WeightsPackage {
  const dir = `/assets${serial++}/`;
  const entry = manifest['irn-x2'];
  const pkg: WeightsPackage = { packageName: NAME, version: VERSION, presets: { 'irn-x2': { version: entry.version, scale: 2, files: {} } } };
  for (const [file, sha256] of Object.entries(entry.files)) {
    const url = `${dir}${file.replace(/\.(\w+)$/, `-${sha256.slice(0, 8)}.$1`)}`;
    routes.set(url, serve[file] ?? files[file]);
    routes.set(`/npm/${NAME}@${VERSION}/dist/irn-x2/${file}`, cdn[file] ?? files[file]);
    pkg.presets['irn-x2'].files[file] = { url: `${origin}${url}`, path: `dist/irn-x2/${file}`, sha256 };
  }
  return pkg;
}

const cdnUrl = (file: string) => `${origin}/npm/${NAME}@${VERSION}/dist/irn-x2/${file}`;

describe('loadModelArtifacts: presets from a weights package', () => {
  it('loads each file from its own URL, and asks the CDN for nothing', async () => {
    const weights = setup();
    requests.length = 0;
    const loaded = await loadModelArtifacts('irn-x2', { weights, cdn: `${origin}/npm/` });
    assert.equal(loaded.url, weights.presets['irn-x2'].files['model.json'].url);
    assert.equal(loaded.version, manifest['irn-x2'].version);
    assert.equal(loaded.artifacts.weightData.byteLength, files[SHARD].byteLength);
    assert.deepEqual(requests.filter((r) => r.startsWith('/npm/')), []);
    assert.equal(requests.length, 2);
  });

  it('falls back to the CDN when the package URLs answer 404 or an HTML page, and says so once per preset', async () => {
    const warn = mock.method(console, 'warn', () => {});
    try {
      for (const serve of [{ 'model.json': 404 }, { [SHARD]: 404 }, { 'model.json': '<!doctype html><title>index</title>' }]) {
        const weights = setup(serve);
        requests.length = 0;
        const loaded = await loadModelArtifacts('irn-x2', { weights, cdn: `${origin}/npm/` });
        assert.equal(loaded.url, cdnUrl('model.json'), JSON.stringify(serve));
        assert.ok(requests.includes(`/npm/${NAME}@${VERSION}/dist/irn-x2/${SHARD}`), requests.join());
        assert.equal(loaded.artifacts.weightData.byteLength, files[SHARD].byteLength);
      }
      // An app whose bundler left the files behind works online, from the CDN: one line says so.
      const lines = warn.mock.calls.map((c) => String(c.arguments[0]));
      assert.equal(lines.length, 1, lines.join('\n'));
      assert.match(lines[0], /^@irn\/core: the preset "irn-x2" of @irn\/weights@9\.9\.9-test came from the CDN \(http:\/\/127\.0\.0\.1:\d+\/npm\/.*model\.json\), as its own files failed: .*HTTP 404.*copy node_modules\/@irn\/weights\/dist\/irn-\* next to the bundle/);
    } finally {
      warn.mock.restore();
    }
  });

  it('refuses a CDN file whose SHA-256 is wrong, naming every URL tried in one line', async () => {
    const bad = Buffer.from(files[SHARD]);
    bad[1000] ^= 1;
    const weights = setup({ [SHARD]: 404 }, { [SHARD]: bad });
    const e = (await loadModelArtifacts('irn-x2', { weights, cdn: `${origin}/npm/` }).then(
      () => assert.fail('loaded tampered weights'),
      (err: Error) => err,
    )) as Error;
    assert.ok(!e.message.includes('\n'), e.message);
    assert.match(e.message, /^could not load the preset "irn-x2" of @irn\/weights@9\.9\.9-test from its files nor the CDN: /);
    assert.ok(e.message.includes(weights.presets['irn-x2'].files[SHARD].url) && e.message.includes('HTTP 404'), e.message);
    assert.ok(e.message.includes(cdnUrl(SHARD)) && e.message.includes('SHA-256 mismatch'), e.message);
    const causes = (e.cause as AggregateError).errors as Error[];
    assert.deepEqual(causes.map((c) => c.name), ['Error', 'IntegrityError']);
  });

  it('with cdn: false, tries the package URLs only', async () => {
    const weights = setup({ 'model.json': 500 });
    requests.length = 0;
    await assert.rejects(loadModelArtifacts('irn-x2', { weights, cdn: false }), (e: Error) => {
      assert.match(e.message, /from its files \(no CDN: cdn is false\): could not download irn-x2's model\.json from .*: HTTP 500/);
      return true;
    });
    assert.deepEqual(requests.filter((r) => r.startsWith('/npm/')), []);
  });

  it('names the presets a package has when asked for another', async () => {
    await assert.rejects(loadModelArtifacts('irn-x8', { weights: setup(), cdn: false }), /^UnknownPresetError: no model "irn-x8" in @irn\/weights@9\.9\.9-test; it has irn-x2$/);
  });

  it('with no weights option, loads @irn/weights by its name and version (here from the CDN)', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../../weights/package.json', import.meta.url), 'utf8')) as { version: string };
    for (const [file, bytes] of Object.entries(files)) routes.set(`/npm/${NAME}@${pkg.version}/dist/irn-x2/${file}`, bytes);
    requests.length = 0;
    const warn = mock.method(console, 'warn', () => {});
    let loaded;
    try {
      loaded = await loadModelArtifacts('irn-x2', { cdn: `${origin}/npm/` });
      // Node cannot fetch the package's file: URLs: no bundler to blame, so no warning.
      assert.deepEqual(warn.mock.calls.map((c) => c.arguments[0]), []);
    } finally {
      warn.mock.restore();
    }
    assert.equal(loaded.url, `${origin}/npm/${NAME}@${pkg.version}/dist/irn-x2/model.json`);
    assert.equal(loaded.version, manifest['irn-x2'].version);
    assert.equal(loaded.artifacts.weightData.byteLength, files[SHARD].byteLength);
  });
});
