// Model loading for the browser Rescaler: presets by name from a weights folder, checked
// against its manifest.json (SHA-256), cached by name and version (Cache API, or IndexedDB),
// and the real shipped weights from the default location (the package @irn/weights).
import * as tf from '@tensorflow/tfjs-core';
import {
  IntegrityError,
  loadModelArtifacts,
  MODEL_CACHE_NAME,
  Rescaler,
  sha256Hex,
  type WeightsManifest,
} from '../../packages/core/src/browser.js';
import { assert, countingFetch, rejection, RGB_URL, WASM_PATHS, WEIGHTS_URL } from './fixtures/rescaler-fixtures.js';

const SHARD = 'group1-shard1of1.bin';

async function manifest(): Promise<WeightsManifest> {
  return (await (await fetch(`${WEIGHTS_URL}manifest.json`)).json()) as WeightsManifest;
}

async function clearCaches(): Promise<void> {
  await caches.delete(MODEL_CACHE_NAME);
  for (const key of Object.keys(await tf.io.listModels())) {
    if (key.startsWith('indexeddb://irn-models/')) await tf.io.removeModel(key);
  }
}

describe('Rescaler: models', () => {
  before(async () => {
    await tf.setBackend('cpu').catch(() => false);
    await clearCaches();
  });
  after(clearCaches);

  it('loads a preset once from the network, then from the Cache API without any request', async () => {
    const expected = (await manifest())['irn-x2'];
    const first = countingFetch();
    const a = await loadModelArtifacts('irn-x2', { weightsUrl: WEIGHTS_URL, fetch: first.fetch });
    assert(a.from === 'network' && a.name === 'irn-x2' && a.version === expected.version, `first load: ${a.from} ${a.version}`);
    const files = first.urls.map((u) => u.slice(WEIGHTS_URL.length)).sort();
    assert(files.join() === `irn-x2/${SHARD},irn-x2/model.json,manifest.json`, `first load fetched ${files.join()}`);

    const second = countingFetch();
    const b = await loadModelArtifacts('irn-x2', { weightsUrl: WEIGHTS_URL, fetch: second.fetch });
    assert(second.urls.length === 0, `the second load fetched ${second.urls.join()}`);
    assert(b.from === 'cache-api', `second load from ${b.from}`);
    assert(new Uint8Array(b.artifacts.weightData).every((v, i) => v === new Uint8Array(a.artifacts.weightData)[i]), 'cached weights differ');
    // Keyed by file URL and version.
    const keys = (await (await caches.open(MODEL_CACHE_NAME)).keys()).map((r) => r.url);
    assert(keys.some((k) => k.endsWith(`irn-x2/${SHARD}?irn-version=${expected.version}`)), `cache keys: ${keys.join()}`);

    // And through the Rescaler, which says where its model came from.
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, backend: 'cpu', fetch: second.fetch });
    assert(second.urls.length === 0 && rescaler.modelInfo.from === 'cache-api', `Rescaler: ${JSON.stringify(rescaler.modelInfo)}`);
    await rescaler.dispose();
  });

  it('checks cached copies too: a corrupted one is fetched again', async () => {
    const version = (await manifest())['irn-x2'].version;
    const cache = await caches.open(MODEL_CACHE_NAME);
    const key = `${WEIGHTS_URL}irn-x2/${SHARD}?irn-version=${version}`;
    const bytes = new Uint8Array(await (await cache.match(key))!.arrayBuffer());
    bytes[100] ^= 0xff;
    await cache.put(key, new Response(bytes));
    const counting = countingFetch();
    const loaded = await loadModelArtifacts('irn-x2', { weightsUrl: WEIGHTS_URL, fetch: counting.fetch });
    assert(counting.urls.length === 1 && counting.urls[0].endsWith(SHARD), `refetched ${counting.urls.join()}`);
    assert(loaded.from === 'network', loaded.from);
  });

  it('falls back to IndexedDB (tf.io indexeddb://) by name and version', async () => {
    const version = (await manifest())['irn-x4'].version;
    const first = countingFetch();
    const a = await loadModelArtifacts('irn-x4', { weightsUrl: WEIGHTS_URL, fetch: first.fetch, cache: 'indexeddb' });
    assert(a.from === 'network' && first.urls.length >= 2, `first: ${a.from}, ${first.urls.length} requests`);
    assert(`indexeddb://irn-models/irn-x4@${version}` in (await tf.io.listModels()), 'not saved in IndexedDB');
    const second = countingFetch();
    const rescaler = await Rescaler.create({ model: 'irn-x4', weightsUrl: WEIGHTS_URL, backend: 'cpu', cache: 'indexeddb', fetch: second.fetch });
    try {
      assert(second.urls.length === 0 && rescaler.modelInfo.from === 'indexeddb', `second: ${rescaler.modelInfo.from}, ${second.urls.join()}`);
      assert(rescaler.scale === 4, `scale ${rescaler.scale}`);
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster' });
      assert(lr.width === 6 && lr.height === 5, `x4 LR ${lr.width}x${lr.height}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it('rejects a weight file whose SHA-256 differs from the manifest, naming the file and both hashes', async () => {
    const expected = (await manifest())['irn-x2'].files[SHARD];
    let tampered: Uint8Array | null = null;
    // The served copy with one byte changed on the way.
    const counting = countingFetch((url, bytes) => {
      if (!url.endsWith(SHARD)) return bytes;
      tampered = bytes.slice();
      tampered[7] ^= 0x01;
      return tampered;
    });
    const e = await rejection(
      Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, backend: 'cpu', cache: 'none', fetch: counting.fetch }),
      'tampered shard',
    );
    assert(e instanceof IntegrityError, `${e.name}: ${e.message}`);
    const actual = await sha256Hex(tampered!);
    assert(e.file === SHARD && e.expected === expected && e.actual === actual, `fields: ${e.file} ${e.expected} ${e.actual}`);
    assert(e.message.includes(`irn-x2/${SHARD}`) && e.message.includes(expected) && e.message.includes(actual), e.message);
  });

  it('says which presets exist when asked for another, and when a model is not IRN', async () => {
    const e = await rejection(loadModelArtifacts('irn-x8', { weightsUrl: WEIGHTS_URL }), 'unknown preset');
    assert(/no model "irn-x8" in .*manifest\.json; it lists irn-x2, irn-x4/.test(e.message), e.message);
    const missing = await rejection(loadModelArtifacts('irn-x2', { weightsUrl: new URL('./fixtures/', import.meta.url) }), 'no manifest');
    assert(/could not download the weights manifest .*HTTP 404/.test(missing.message), missing.message);
  });

  it("create's signal stops it: a model.json or a weights folder whose server stalls, a deadline, a signal aborted before", async () => {
    // Before: nothing could stop a load from a server that stalls; the promise never settled.
    for (const [what, options] of [
      ['a model.json that stalls', { model: '/stall-for-tests/model.json' }],
      ['a weights folder that stalls', { model: 'irn-x2', weightsUrl: '/stall-for-tests/weights/' }],
    ] as const) {
      const controller = new AbortController();
      const reason = new Error('the page gave up');
      setTimeout(() => controller.abort(reason), 200);
      const start = performance.now();
      const e = await rejection(Rescaler.create({ ...options, backend: 'cpu', signal: controller.signal }), what);
      assert(e === reason, `${what}: ${e.message}`);
      assert(performance.now() - start < 5000, `${what}: ${performance.now() - start} ms`);
    }
    const late = await rejection(Rescaler.create({ model: '/stall-for-tests/model.json', backend: 'cpu', signal: AbortSignal.timeout(200) }), 'a deadline');
    assert(late.name === 'TimeoutError', `a deadline: ${late.name} ${late.message}`);
    const counting = countingFetch();
    const reason = new Error('not wanted any more');
    const early = await rejection(Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, backend: 'cpu', fetch: counting.fetch, signal: AbortSignal.abort(reason) }), 'aborted before');
    assert(early === reason && counting.urls.length === 0, `aborted before: ${early.message}, ${counting.urls.length} requests`);
    // Not aborted, the signal changes nothing.
    const ok = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, backend: 'cpu', signal: new AbortController().signal });
    assert(ok.scale === 2, `scale ${ok.scale}`);
    await ok.dispose();
  });

  it('loads the shipped irn-x2 by default from @irn/weights, checked against its SHA-256', async () => {
    // No weightsUrl: @irn/core imports @irn/weights (packages/weights/dist/, built from the
    // repository's weights/ by pnpm build). If this fails with a SHA-256 mismatch, the weights
    // were retrained: run pnpm weights:manifest and pnpm build.
    const rescaler = await Rescaler.create({ model: 'irn-x2', backend: 'wasm', wasmPaths: WASM_PATHS, cache: 'none', cdn: false });
    try {
      assert(rescaler.modelInfo.url?.endsWith('/packages/weights/dist/irn-x2/model.json') === true, `loaded ${rescaler.modelInfo.url}`);
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster' });
      assert(lr.width === 12 && lr.height === 10, `LR ${lr.width}x${lr.height}`);
      const hr = await rescaler.upscale(lr.image, { output: 'raster', width: 23, height: 19 });
      assert(hr.width === 23, `HR ${hr.width}`);
    } finally {
      await rescaler.dispose();
    }
  });
});
