// <irn-image> (packages/element/) in real Chromium: final size before restoring, events,
// accessibility, attribute changes, lazy loading and the page queue, cancelling, and the error
// fallback. Tiny fixture models (test/browser/fixtures/weights, from make-fixtures.ts) on the
// cpu backend in the page's thread, so each restore takes milliseconds; the real weights are
// tested in irn-image-weights.test.ts.
import { decodePng, encodePng, type RasterImage } from '@irn/core/browser';
import { IrnImage, releaseSharedModels, type IrnLoadDetail } from '../../packages/element/src/index.js';
import { sharedQueue } from '../../packages/element/src/job-queue.js';
import { sharedModelCount } from '../../packages/element/src/shared-models.js';

const WEIGHTS = new URL('./fixtures/weights/', import.meta.url).href;
/** How long "nothing happens" is watched for: a tiny cpu restore takes well under this. */
const QUIET_MS = 400;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** An LR PNG as `irn downscale` writes it: `lrW x lrH` pixels, `irn` chunk naming the original size. */
function lrPngUrl(lrW: number, lrH: number, original: { width: number; height: number }, seed = 1): string {
  const data = new Float32Array(lrW * lrH * 3);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (s * 16807) % 2147483647;
    data[i] = (s % 256) / 255;
  }
  const raster: RasterImage = { width: lrW, height: lrH, channels: 3, data };
  const png = encodePng(raster, { text: { irn: JSON.stringify({ scale: 2, ...original }) } });
  return URL.createObjectURL(new Blob([png as BlobPart], { type: 'image/png' }));
}

const LR = lrPngUrl(12, 10, { width: 23, height: 19 });
const LR2 = lrPngUrl(8, 8, { width: 16, height: 16 }, 7);

function make(attrs: Record<string, string>, parent: HTMLElement = document.body): IrnImage {
  const el = document.createElement('irn-image');
  for (const [k, v] of Object.entries({ 'weights-base': WEIGHTS, backend: 'cpu', loading: 'eager', ...attrs })) el.setAttribute(k, v);
  parent.append(el);
  return el;
}

function next<K extends keyof HTMLElementEventMap>(el: HTMLElement, type: K, ms = 60_000): Promise<HTMLElementEventMap[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${type} within ${ms} ms`)), ms);
    el.addEventListener(type, (e) => (clearTimeout(timer), resolve(e)), { once: true });
  });
}

/** Records the element events fired on `el` (they bubble from its children too). */
function record(el: HTMLElement): string[] {
  const log: string[] = [];
  for (const type of ['irn-load-start', 'irn-load', 'irn-error'] as const) {
    el.addEventListener(type, (e) => log.push(`${type}:${(e.target as HTMLElement).id}`));
  }
  return log;
}


/** `WxH` of an element's layout box or an image's pixels (read fresh each call). */
const size = (w: number, h: number): string => `${w}x${h}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function inner(el: IrnImage): HTMLImageElement {
  const img = el.shadowRoot?.querySelector('img');
  assert(img != null, 'no <img> in the shadow root');
  return img;
}

/**
 * Whether `img` shows the 12x10 LR from the element's own bounded download: a blob: URL the
 * element made, never `src` itself (which an <img> would download without a bound).
 */
async function showsLr(img: HTMLImageElement): Promise<boolean> {
  if (!img.src.startsWith('blob:') || img.src === LR || !img.part.contains('lr')) return false;
  await img.decode().catch(() => undefined);
  return img.naturalWidth === 12 && img.naturalHeight === 10;
}

/** A job that holds the page queue until `release()`. */
function blockQueue(): { release(): void } {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  sharedQueue.add({ run: () => held });
  return { release };
}

describe('<irn-image>', () => {
  before(() => {
    IrnImage.defaults.worker = false;
  });
  afterEach(async () => {
    document.body.replaceChildren();
    window.scrollTo(0, 0);
    await until(() => sharedQueue.running == null && sharedQueue.size === 0, 'an idle queue');
  });
  after(() => releaseSharedModels());

  it('shows the LR at the final size, exposes role, label and busy state, then swaps in the restored image', async () => {
    const el = make({ src: LR, alt: 'Harbour at dusk' });
    const started = next(el, 'irn-load-start');
    await el.updateComplete;
    assert(el.getAttribute('role') === 'img', `role is ${el.getAttribute('role')}`);
    assert(el.getAttribute('aria-label') === 'Harbour at dusk', `aria-label is ${el.getAttribute('aria-label')}`);
    const start = await started;
    // No model attribute: the LR names its preset, which only irn-load can tell.
    assert(start.detail.src === LR && start.detail.model === null, `load-start detail ${JSON.stringify(start.detail)}`);
    assert(el.getAttribute('aria-busy') === 'true', 'aria-busy is not true while restoring');
    assert(el.matches(':state(busy)'), ':state(busy) does not match while restoring');
    await el.updateComplete;
    const img = inner(el);
    assert(await showsLr(img), `the LR is not shown first (src ${img.src})`);
    const progress: number[] = [];
    el.addEventListener('irn-progress', (e) => progress.push(e.detail.fraction));
    const load = await next(el, 'irn-load');
    await el.updateComplete;
    const d: IrnLoadDetail = load.detail;
    assert(d.backend === 'cpu' && d.width === 23 && d.height === 19 && d.model === 'irn-x2', `load detail ${JSON.stringify(d)}`);
    for (const k of ['queueMs', 'modelMs', 'restoreMs', 'totalMs'] as const) assert(d.timings[k] >= 0, `timings.${k} = ${d.timings[k]}`);
    assert(progress.length > 0 && progress.at(-1) === 1, `progress ${progress}`);
    // Same <img>, same box: the size came from the irn chunk (23x19, not 12x10 x 2).
    assert(inner(el) === img && size(img.width, img.height) === '23x19', `displayed at ${size(img.width, img.height)}`);
    assert(img.part.contains('restored') && img.part.contains('image') && img.src.startsWith('blob:') && img.src !== LR, 'restored image not shown');
    assert(img.naturalWidth === 23 && img.naturalHeight === 19, `restored image is ${img.naturalWidth}x${img.naturalHeight}`);
    assert(el.getAttribute('aria-busy') === 'false' && !el.matches(':state(busy)') && el.matches(':state(restored)'), 'still busy');
    const png = decodePng(new Uint8Array(await (await el.toBlob()).arrayBuffer()));
    assert(png.width === 23 && png.height === 19, `toBlob gave ${png.width}x${png.height}`);

    el.alt = 'Harbour at night';
    await el.updateComplete;
    assert(el.getAttribute('aria-label') === 'Harbour at night', 'aria-label did not follow alt');
    el.setAttribute('width', '46');
    await el.updateComplete;
    assert(size(img.width, img.height) === '46x38', `width attribute: ${size(img.width, img.height)}`);
    assert(el.restored, 'a display-size change restarted the restore');
  });

  it('restarts on z, seed and src changes; changing src cancels the running job', async () => {
    const el = make({ src: LR, z: 'gaussian', seed: '3', temperature: '0.5', id: 'a' });
    const first = await (await next(el, 'irn-load'), el.toBlob());
    el.seed = 4;
    await next(el, 'irn-load');
    const second = await el.toBlob();
    const [a, b] = await Promise.all([first, second].map(async (x) => new Uint8Array(await x.arrayBuffer())));
    assert(a.length !== b.length || a.some((v, i) => v !== b[i]), 'another seed gave the same image');

    const log = record(document.body);
    el.seed = 5;
    el.addEventListener('irn-load-start', () => el.setAttribute('src', LR2), { once: true });
    await el.updateComplete;
    const load = await next(el, 'irn-load');
    await sleep(QUIET_MS);
    assert(load.detail.src === LR2 && load.detail.width === 16, `loaded ${load.detail.src} ${load.detail.width}`);
    assert(log.join() === 'irn-load-start:a,irn-load-start:a,irn-load:a', `events ${log.join()}`);
  });

  it('shares one model and restores elements one at a time, first come first served', async () => {
    const log = record(document.body);
    const els = ['p', 'q', 'r'].map((id) => make({ src: LR, id }));
    await Promise.all(els.map((el) => next(el, 'irn-load')));
    assert(
      log.join() === 'irn-load-start:p,irn-load:p,irn-load-start:q,irn-load:q,irn-load-start:r,irn-load:r',
      `order ${log.join()}`,
    );
    assert(sharedModelCount() === 1, `${sharedModelCount()} models loaded`);
  });

  it('a download that stalls holds up no other element: the LR downloads before its turn in the queue', async () => {
    const log = record(document.body);
    const stalled = make({ src: '/stall-for-tests/lr.png', id: 'stalled' });
    await until(() => stalled.status === 'queued', 'queued');
    await sleep(QUIET_MS);
    const other = make({ src: LR, id: 'other' });
    await next(other, 'irn-load', 20_000);
    // Read fresh each time (a function, so that TypeScript does not narrow the first read).
    const state = () => `${stalled.status}, queue ${sharedQueue.size}`;
    assert(state() === 'queued, queue 1', `the stalled one is ${state()}`);
    assert(log.join() === 'irn-load-start:other,irn-load:other', `events ${log.join()}`);
    stalled.remove();
    assert(state() === 'idle, queue 0', `removed but ${state()}`);
  });

  it('lazy: waits until near the viewport, and leaves the queue when scrolled away before its turn', async () => {
    const spacer = document.createElement('div');
    spacer.style.height = '4000px';
    document.body.append(spacer);
    const log = record(document.body);
    const el = make({ src: LR, loading: 'lazy', id: 'lazy', width: '40', height: '30' });
    await sleep(QUIET_MS);
    assert(log.length === 0 && el.status === 'waiting', `far away: ${el.status} ${log.join()}`);
    assert(el.getAttribute('aria-busy') === 'false', 'busy while waiting off screen');

    const blocker = blockQueue();
    el.scrollIntoView();
    await until(() => el.status === 'queued', 'queued near the viewport');
    assert(sharedQueue.size === 1 && el.getAttribute('aria-busy') === 'true', 'not in the queue');
    window.scrollTo(0, 0);
    await until(() => el.status === 'waiting', 'out of the queue after scrolling away');
    assert(sharedQueue.size < 1, 'still queued');
    blocker.release();
    await sleep(QUIET_MS);
    assert(log.length === 0, `restored off screen: ${log.join()}`);

    el.scrollIntoView();
    await next(el, 'irn-load');
    assert(log.join() === 'irn-load-start:lazy,irn-load:lazy', `events ${log.join()}`);
  });

  it('cancels when removed, queued or running, and the queue goes on', async () => {
    const log = record(document.body);
    const blocker = blockQueue();
    const queued = make({ src: LR, id: 'queued' });
    await until(() => queued.status === 'queued', 'queued');
    queued.remove();
    assert(sharedQueue.size === 0 && queued.status === 'idle', `removed but ${queued.status}, queue ${sharedQueue.size}`);
    blocker.release();

    const running = make({ src: LR, id: 'running' });
    running.addEventListener('irn-load-start', () => running.remove(), { once: true });
    const after = make({ src: LR2, id: 'after' });
    await next(after, 'irn-load');
    await sleep(QUIET_MS);
    assert(log.join() === 'irn-load-start:running,irn-load-start:after,irn-load:after', `events ${log.join()}`);
    const rejected = await running.toBlob().then(
      () => null,
      (e: Error) => e,
    );
    assert(rejected != null, 'toBlob of a removed element resolved');
  });

  it('releases the blob: URLs of its LR and restored image once removed from the page, and keeps them when moved', async () => {
    const alive = (url: string) => fetch(url).then(() => true, () => false);
    const restored = make({ src: LR });
    await next(restored, 'irn-load');
    await restored.updateComplete;
    const restoredUrl = inner(restored).src;
    // An element whose restore fails shows its LR until removed.
    const failed = make({ src: LR, model: 'irn-x8' });
    await next(failed, 'irn-error');
    await failed.updateComplete;
    const lrUrl = inner(failed).src;
    assert(restoredUrl.startsWith('blob:') && (await alive(restoredUrl)) && (await showsLr(inner(failed))) && (await alive(lrUrl)), 'not shown from blob: URLs');
    // Moved (removed and added back in one task): the LR shown stays.
    const box = document.createElement('div');
    document.body.append(box);
    box.append(failed);
    await sleep(50);
    await failed.updateComplete;
    assert(inner(failed).src === lrUrl && (await alive(lrUrl)), 'the LR was released when the element moved');
    restored.remove();
    failed.remove();
    await sleep(50);
    assert(!(await alive(restoredUrl)) && !(await alive(lrUrl)), 'a blob: URL outlives its removed element');
    // Its restored Blob is still there for toBlob(), and added back it restores again.
    assert((await restored.toBlob()).size > 0, 'toBlob after removal');
    document.body.append(restored);
    await next(restored, 'irn-load');
  });

  it('keeps the LR and fires irn-error on a bad model URL, a missing preset or an image that is not an LR format', async () => {
    const cases = [
      { model: '/no/such/model.json', error: /404|could not download/ },
      { model: 'irn-x8', error: /no model "irn-x8"/ },
    ];
    for (const c of cases) {
      const el = make({ src: LR, model: c.model, alt: 'x' });
      const started = next(el, 'irn-load-start');
      const ev = await next(el, 'irn-error');
      // A model attribute is named from the start.
      assert((await started).detail.model === c.model && ev.detail.model === c.model, `model ${c.model}: start ${(await started).detail.model}, error ${ev.detail.model}`);
      await el.updateComplete;
      assert(c.error.test(ev.detail.error.message), `error for ${c.model}: ${ev.detail.error.message}`);
      const img = inner(el);
      assert(await showsLr(img), 'the LR is not shown after the error');
      assert(img.width === 23 && img.height === 19, `LR shown at ${img.width}x${img.height}`);
      assert(el.status === 'error' && el.error === ev.detail.error && el.matches(':state(error)'), 'status');
      assert(el.getAttribute('aria-busy') === 'false', 'busy after an error');
      assert((await el.toBlob().catch((e: Error) => e)) === ev.detail.error, 'toBlob did not reject with the error');
    }
    // A download past IrnImage.defaults.maxBytes (here 50 bytes; 128 MiB unless set) is cut off.
    IrnImage.defaults.maxBytes = 50;
    try {
      const big = make({ src: LR, alt: 'x' });
      const ev = await next(big, 'irn-error');
      assert(/is larger than the 50 bytes allowed \(raise it with IrnImage\.defaults\.maxBytes\)$/.test(ev.detail.error.message), ev.detail.error.message);
      // Shown only from what the element downloaded within the bound: nothing here.
      await big.updateComplete;
      assert(!inner(big).hasAttribute('src') && big.status === 'error', `a download over the limit is shown (${inner(big).src})`);
    } finally {
      delete IrnImage.defaults.maxBytes;
    }
    // A download that fails names the URL (one line; the page's other elements go on).
    const missing = make({ src: '/no/such/lr.png' });
    const gone = await next(missing, 'irn-error');
    const expected = `could not download ${new URL('/no/such/lr.png', document.baseURI).href}: HTTP 404`;
    assert(gone.detail.error.message === expected && missing.status === 'error', gone.detail.error.message);
    const gif = make({ src: 'data:image/gif;base64,R0lGODlhAQABAAAAACw=' });
    const ev = await next(gif, 'irn-error');
    assert(/is not a PNG, WebP, JPEG or AVIF file/.test(ev.detail.error.message), ev.detail.error.message);
  });

  it('restores WebP, JPEG and AVIF LRs (irn downscale --format webp|jpeg|avif) to the size in their metadata, shown at that size while restoring', async () => {
    // 12x10 LRs of a 23x19 original (test/browser/make-webp-fixtures.ts): without the metadata
    // the result would be 24x20.
    const sizes: string[] = [];
    for (const name of ['lr-12x10.webp', 'lr-12x10.jpg', 'lr-12x10.avif']) {
      const src = new URL(`./fixtures/images/${name}`, import.meta.url).href;
      const el = make({ src, alt: name });
      // While the restore runs, the LR is shown at the final size from the file's metadata.
      const during: string[] = [];
      el.addEventListener('irn-progress', () => {
        const lr = inner(el);
        if (during.length === 0) during.push(`${lr.part.contains('lr') ? 'lr' : 'restored'} ${size(lr.width, lr.height)}`);
      });
      const load = await next(el, 'irn-load');
      assert(during[0] === 'lr 23x19', `${name}: while restoring: ${during[0]}`);
      await el.updateComplete;
      const img = inner(el);
      assert(load.detail.width === 23 && load.detail.height === 19, `${name}: load detail ${JSON.stringify(load.detail)}`);
      assert(img.naturalWidth === 23 && img.naturalHeight === 19, `${name}: restored image is ${img.naturalWidth}x${img.naturalHeight}`);
      sizes.push(size(img.width, img.height));
      el.remove();
    }
    assert(sizes.join() === '23x19,23x19,23x19', `displayed at ${sizes.join()}`);
  });

  it('logs each failure once with console.error, naming the image and why', async () => {
    const logged: string[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void logged.push(args.map(String).join(' '));
    try {
      const el = make({ src: LR, model: 'irn-x8' });
      const ev = await next(el, 'irn-error');
      await sleep(50);
      const lines = logged.filter((l) => l.includes('<irn-image>'));
      assert(lines.length === 1, `console.error lines: ${JSON.stringify(logged)}`);
      assert(lines[0].includes(LR) && lines[0].includes(ev.detail.error.message), lines[0]);
    } finally {
      console.error = original;
    }
  });

  it('keeps the exact final layout size while the LR shows (odd sizes: 23x19 from a 12x10 LR)', async () => {
    // Queued behind a held job, so the LR is measured before any restore; the width attribute
    // gives the size before the PNG's irn chunk is read (23 wide, 23 x 20/24 -> 19 high).
    const hold = blockQueue();
    try {
      const el = make({ src: LR, width: '23' });
      await el.updateComplete;
      await until(() => inner(el).naturalWidth === 12, 'the LR to load');
      await el.updateComplete;
      await new Promise((r) => requestAnimationFrame(r));
      const lrBox = el.getBoundingClientRect();
      // Without the final ratio set, height:auto follows the LR's 12:10: 23 x 19.17.
      assert(lrBox.width === 23 && lrBox.height === 19, `LR laid out at ${lrBox.width}x${lrBox.height}`);
      hold.release();
      await next(el, 'irn-load');
      await el.updateComplete;
      await new Promise((r) => requestAnimationFrame(r));
      const box = el.getBoundingClientRect();
      assert(box.width === 23 && box.height === 19, `restored laid out at ${box.width}x${box.height}`);
    } finally {
      hold.release();
    }
  });
});
