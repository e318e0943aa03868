// <irn-image> with the shipped weights (weights/irn-x2, checked against weights/manifest.json)
// on a real photo: the restored pixels must beat the bicubic round trip clearly. The LR is made
// in the test with the same weights (the manifest and weights change whenever the model is
// retrained, so a committed LR would go stale). A 96x96 crop keeps it to seconds on software
// WebGL; the restore runs in the element's default Web Worker.
import { decodePng, MODEL_CACHE_NAME, Rescaler, type RasterImage } from '@irn/core/browser';
import { imresize } from '../../packages/core/src/image/imresize.js';
import { IrnImage, releaseSharedModels } from '../../packages/element/src/index.js';

const WEIGHTS = new URL('/weights/', location.href).href;
const PHOTO = new URL('/samples/coffee.png', location.href).href;
/** Crop side in HR pixels (even, so the x2 LR has no padding). */
const SIDE = 96;
/**
 * IRN must beat bicubic by this much. The shipped x2 model scored 35.4 dB PSNR-Y on its
 * validation crops (weights/irn-x2/best.json) where bicubic gets about 30 dB; 2 dB leaves room
 * for a weaker checkpoint and a photo unlike the validation set.
 */
const MARGIN_DB = 2;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** PSNR in dB over all RGB samples, both images rounded to 8 bits. */
function psnr8(a: RasterImage, b: RasterImage): number {
  assert(a.width === b.width && a.height === b.height && a.channels === b.channels, 'psnr8: shapes differ');
  const q = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) se += (q(a.data[i]) - q(b.data[i])) ** 2;
  return 10 * Math.log10((255 * 255) / (se / a.data.length));
}

function crop(img: RasterImage, x0: number, y0: number, side: number): RasterImage {
  const c = img.channels;
  const data = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      for (let k = 0; k < 3; k++) data[(y * side + x) * 3 + k] = img.data[((y0 + y) * img.width + x0 + x) * c + k];
    }
  }
  return { width: side, height: side, channels: 3, data };
}

/** Rounds to 8 bits, as an LR PNG stores it. */
function to8bit(img: RasterImage): RasterImage {
  return { ...img, data: img.data.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255) / 255) };
}

describe('<irn-image> with the shipped weights', () => {
  after(() => releaseSharedModels());

  it('restores a real photo well above bicubic', async () => {
    const photo = decodePng(new Uint8Array(await (await fetch(PHOTO)).arrayBuffer()));
    // The cup's rim and the saucer: edges and texture, not flat background.
    const hr = crop(photo, 150, 100, SIDE);

    const maker = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'webgl' });
    const { image: lrPng } = await maker.downscale(hr, { output: 'blob' });
    await maker.dispose();

    const el = document.createElement('irn-image');
    Object.assign(el, { src: URL.createObjectURL(lrPng), loading: 'eager', backend: 'webgl', weightsBase: WEIGHTS, alt: 'coffee' });
    const loaded = new Promise<CustomEvent>((resolve, reject) => {
      el.addEventListener('irn-load', resolve, { once: true });
      el.addEventListener('irn-error', (e) => reject(e.detail.error), { once: true });
    });
    document.body.append(el);
    const { detail } = await loaded;
    assert(IrnImage.defaults.worker, 'the element should run in its worker by default');
    assert(detail.width === SIDE && detail.height === SIDE, `restored ${detail.width}x${detail.height}`);
    const out = decodePng(new Uint8Array(await (await el.toBlob()).arrayBuffer()));
    const restored: RasterImage = { width: out.width, height: out.height, channels: 3, data: out.data };

    const bicubic = imresize(to8bit(imresize(hr, SIDE / 2, SIDE / 2)), SIDE, SIDE);
    const irnDb = psnr8(restored, hr);
    const bicubicDb = psnr8(bicubic, hr);
    assert(irnDb > bicubicDb + MARGIN_DB, `IRN ${irnDb.toFixed(2)} dB vs bicubic ${bicubicDb.toFixed(2)} dB: less than ${MARGIN_DB} dB better`);
  });

  it('finds the shipped weights with no weights-base, in the @irn/weights package', async () => {
    // What an app gets from npm: @irn/core imports @irn/weights (here packages/weights/dist/,
    // which pnpm build makes from weights/), and the CDN is never asked.
    const photo = decodePng(new Uint8Array(await (await fetch(PHOTO)).arrayBuffer()));
    const hr = crop(photo, 150, 100, 48);
    const maker = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'wasm' });
    const { image: lrPng } = await maker.downscale(hr, { output: 'blob' });
    await maker.dispose();
    // A copy cached by another test would serve it with no request to see.
    await caches.delete(MODEL_CACHE_NAME);
    performance.clearResourceTimings();

    const el = document.createElement('irn-image');
    Object.assign(el, { src: URL.createObjectURL(lrPng), loading: 'eager', backend: 'wasm', alt: 'coffee' });
    const loaded = new Promise<CustomEvent>((resolve, reject) => {
      el.addEventListener('irn-load', resolve, { once: true });
      el.addEventListener('irn-error', (e) => reject(e.detail.error), { once: true });
    });
    document.body.append(el);
    const { detail } = await loaded;
    assert(detail.width === 48 && detail.height === 48 && detail.backend === 'wasm', JSON.stringify(detail));
    const fetched = performance.getEntriesByType('resource').map((e) => e.name);
    const shard = new URL('/packages/weights/dist/irn-x2/group1-shard1of1.bin', location.href).href;
    assert(fetched.includes(shard), `${shard} was not fetched: ${fetched.filter((u) => !u.includes('/node_modules/')).join(', ')}`);
    assert(!fetched.some((u) => u.includes('/weights/manifest.json') || u.includes('jsdelivr')), fetched.join(', '));
    const out = decodePng(new Uint8Array(await (await el.toBlob()).arrayBuffer()));
    const restored: RasterImage = { width: out.width, height: out.height, channels: 3, data: out.data };
    const bicubic = imresize(to8bit(imresize(hr, 24, 24)), 48, 48);
    assert(psnr8(restored, hr) > psnr8(bicubic, hr) + MARGIN_DB, `IRN ${psnr8(restored, hr).toFixed(2)} dB vs bicubic ${psnr8(bicubic, hr).toFixed(2)} dB`);
    el.remove();
  });

  it('falls back to the CDN that weights-cdn names when the package files fail, and to none with weights-cdn="off"', async () => {
    const photo = decodePng(new Uint8Array(await (await fetch(PHOTO)).arrayBuffer()));
    const maker = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS, backend: 'wasm' });
    const { image: lrPng } = await maker.downscale(crop(photo, 150, 100, 32), { output: 'blob' });
    await maker.dispose();
    // The package's files answer 404 (a bundler that left them behind); the stand-in CDN of the
    // test runner (web-test-runner.config.mjs) serves them by package name and version.
    const realFetch = window.fetch;
    const tried: string[] = [];
    window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
      const url = input instanceof Request ? input.url : String(input);
      tried.push(url);
      return url.includes('/packages/weights/dist/') ? Promise.resolve(new Response('', { status: 404 })) : realFetch(input, init);
    };
    const restore = async (cdn: string): Promise<CustomEvent> => {
      await releaseSharedModels();
      await caches.delete(MODEL_CACHE_NAME);
      const el = document.createElement('irn-image');
      Object.assign(el, { src: URL.createObjectURL(lrPng), loading: 'eager', backend: 'wasm', worker: false, alt: 'coffee' });
      el.setAttribute('weights-cdn', cdn);
      const done = new Promise<CustomEvent>((resolve) => {
        el.addEventListener('irn-load', resolve, { once: true });
        el.addEventListener('irn-error', resolve, { once: true });
      });
      document.body.append(el);
      try {
        return await done;
      } finally {
        el.remove();
      }
    };
    try {
      const loaded = await restore('/cdn-for-tests/npm/');
      assert(loaded.type === 'irn-load', `${loaded.type}: ${loaded.detail.error?.message}`);
      assert(tried.some((u) => /\/cdn-for-tests\/npm\/@irn\/weights@[^/]+\/dist\/irn-x2\/group1-shard1of1\.bin$/.test(u)), tried.join(', '));
      tried.length = 0;
      const failed = await restore('off');
      assert(failed.type === 'irn-error', failed.type);
      assert(/no CDN: cdn is false.*HTTP 404/.test(failed.detail.error.message), failed.detail.error.message);
      assert(!tried.some((u) => u.includes('/cdn-for-tests/')), tried.join(', '));
    } finally {
      window.fetch = realFetch;
    }
  });
});
