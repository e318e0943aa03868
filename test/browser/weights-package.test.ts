// The presets with no configuration (issue 14, item 2), in Chromium with the real files:
// `Rescaler` restores with no weights option from @irn/weights (served by the
// test runner from packages/weights/dist/, which pnpm build makes from weights/); when the
// package's own URLs fail (404, an HTML page), the same files come from a CDN that serves npm
// packages by name and version (a stand-in at /cdn-for-tests/npm/, web-test-runner.config.mjs),
// are checked and cached under the same keys as the package's; a CDN file whose SHA-256 is wrong
// is refused, and the error names every URL tried. `<irn-image>` with no weights-base:
// irn-image-weights.test.ts (the element runs @irn/core's build, as an app would).
import * as tf from '@tensorflow/tfjs-core';
import { loadModelArtifacts, MODEL_CACHE_NAME, Rescaler, type WeightsPackage } from '../../packages/core/src/browser.js';
import { assert, countingFetch, rejection, RGB_URL } from './fixtures/rescaler-fixtures.js';

// The module @irn/core imports (packages/weights/dist/ has no types beside it; the package's
// are index.d.ts at its root): the same URL, so the same module instance and file URLs.
const weights = (await import('../../packages/weights/dist/index.js' as string)) as WeightsPackage;
const CDN = new URL('/cdn-for-tests/npm/', location.href).href;
const TAMPERED_CDN = new URL('/cdn-for-tests/tampered/npm/', location.href).href;
const SHARD = 'group1-shard1of1.bin';
const X2 = weights.presets['irn-x2'];
/** Where the stand-in CDN serves irn-x2's `file` of this package version. */
const cdnUrl = (cdn: string, file: string) => `${cdn}@irn/weights@${weights.version}/dist/irn-x2/${file}`;

/** @irn/weights with irn-x2's URLs replaced by `url(file)`: a bundler that left the files behind. */
function withUrls(url: (file: string) => string): WeightsPackage {
  const files = Object.fromEntries(Object.entries(X2.files).map(([name, f]) => [name, { ...f, url: url(name) }]));
  return { packageName: weights.packageName, version: weights.version, presets: { 'irn-x2': { ...X2, files } } };
}

async function clearCaches(): Promise<void> {
  await caches.delete(MODEL_CACHE_NAME);
  for (const key of Object.keys(await tf.io.listModels())) {
    if (key.startsWith('indexeddb://irn-models/')) await tf.io.removeModel(key);
  }
}

describe('@irn/weights: presets with no configuration', () => {
  before(clearCaches);
  after(clearCaches);

  it('Rescaler restores with no weights option, from the package, on wasm with its default .wasm files', async () => {
    const counting = countingFetch();
    const rescaler = await Rescaler.create({ model: 'irn-x2', backend: 'wasm', cache: 'none', fetch: counting.fetch });
    try {
      assert(rescaler.modelInfo.url === X2.files['model.json'].url, `loaded ${rescaler.modelInfo.url}`);
      assert(rescaler.modelInfo.url.endsWith('/packages/weights/dist/irn-x2/model.json'), `loaded ${rescaler.modelInfo.url}`);
      assert(rescaler.modelInfo.version === X2.version && rescaler.backend === 'wasm', JSON.stringify(rescaler.modelInfo));
      // The package's two files and nothing else: no manifest.json, no CDN.
      assert(counting.urls.join() === [X2.files['model.json'].url, X2.files[SHARD].url].join(), counting.urls.join());
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster' });
      assert(lr.width === 12 && lr.height === 10, `LR ${lr.width}x${lr.height}`);
      const hr = await rescaler.upscale(lr.image, { output: 'raster', width: 23, height: 19 });
      assert(hr.width === 23 && hr.height === 19 && hr.backend === 'wasm', `HR ${hr.width}x${hr.height} on ${hr.backend}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it("falls back to the CDN when the package's URLs fail, checked and cached under the package's keys", async () => {
    await clearCaches();
    const missing = withUrls((file) => new URL(`/no-such-folder/${file}`, location.href).href);
    const counting = countingFetch();
    const loaded = await loadModelArtifacts('irn-x2', { weights: missing, cdn: CDN, cache: 'cache-api', fetch: counting.fetch });
    assert(loaded.url === cdnUrl(CDN, 'model.json') && loaded.from === 'network', `${loaded.url} from ${loaded.from}`);
    assert(counting.urls.join() === [missing.presets['irn-x2'].files['model.json'].url, cdnUrl(CDN, 'model.json'), cdnUrl(CDN, SHARD)].join(), counting.urls.join());

    // An HTML page where model.json should be (a server's catch-all route) also falls back;
    // the copies cached from the CDN serve it, with no request at all.
    const html = withUrls((file) => (file === 'model.json' ? location.href : X2.files[file].url));
    const again = countingFetch();
    const cached = await loadModelArtifacts('irn-x2', { weights: html, cdn: CDN, cache: 'cache-api', fetch: again.fetch });
    assert(cached.from === 'cache-api' && again.urls.length === 0, `${cached.from}, fetched ${again.urls.join()}`);
    await clearCaches();
    const rescaler = await Rescaler.create({ model: 'irn-x2', weights: html, cdn: CDN, backend: 'cpu', cache: 'none' });
    try {
      assert(rescaler.modelInfo.url === cdnUrl(CDN, 'model.json'), `loaded ${rescaler.modelInfo.url}`);
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster' });
      assert(lr.width === 12 && lr.height === 10, `LR ${lr.width}x${lr.height}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it('refuses a CDN file whose SHA-256 differs, naming every URL tried in one line', async () => {
    const missing = withUrls((file) => new URL(`/no-such-folder/${file}`, location.href).href);
    const e = await rejection(Rescaler.create({ model: 'irn-x2', weights: missing, cdn: TAMPERED_CDN, backend: 'cpu', cache: 'none' }), 'tampered CDN');
    assert(!e.message.includes('\n'), e.message);
    assert(e.message.startsWith(`could not load the preset "irn-x2" of @irn/weights@${weights.version} from its files nor the CDN: `), e.message);
    assert(e.message.includes(missing.presets['irn-x2'].files['model.json'].url) && e.message.includes('HTTP 404'), e.message);
    assert(e.message.includes(cdnUrl(TAMPERED_CDN, SHARD)) && e.message.includes(`SHA-256 mismatch for irn-x2/${SHARD}`), e.message);
    // cdn: false stays on the package's URLs.
    const off = await rejection(loadModelArtifacts('irn-x2', { weights: missing, cdn: false, cache: 'none' }), 'no CDN');
    assert(/from its files \(no CDN: cdn is false\): could not download irn-x2's model\.json from .*no-such-folder.*HTTP 404/.test(off.message), off.message);
  });
});
