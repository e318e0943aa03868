/**
 * End-to-end tests of the playground (playground/, built by `pnpm build`) in headless Debian
 * Chromium through playwright-core, served by the playground's own dev-server config.
 *
 *   pnpm test:playground                     (part of `pnpm test`)
 *   IRN_SCREENSHOTS=1 pnpm test:playground   also writes playground/docs/*.jpg
 *
 * The page's main-thread work runs on wasm here (`?backend=wasm`: software WebGL is slower
 * on CI); the fine-tune runs in its worker on WebGPU (SwiftShader), as the issue asks.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { chromium, type Browser, type Page } from 'playwright-core';
import { IrnModel, decodePng, downscaleImage, encodePng, imresize, psnrY, readLrMetadata, upscaleImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { latentChannels } from '../../playground/src/latent-names.js';
import { preparePhoto, round8 } from '../../playground/src/images.js';
import { chromiumArgs, chromiumPath } from '../chromium.mjs';
import { blackPng, ihdr, pngChunk, pngFile, zlibRepeat } from '../fuzz/generators.js';
import serverConfig from '../../playground/dev-server.config.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const shots = process.env.IRN_SCREENSHOTS === '1';
const minute = 60_000;
let server: Awaited<ReturnType<typeof startDevServer>>;
let browser: Browser;
let base = '';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

before(async () => {
  assert.ok(existsSync(`${root}playground/dist/main.js`), 'playground/dist is missing: run `pnpm build` first');
  const port = await freePort();
  server = await startDevServer({
    config: { ...serverConfig, port, open: false, plugins: [] },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
  });
  base = `http://127.0.0.1:${port}/playground/`;
  browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function open(query: string, init?: () => void): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.addInitScript(recordStatus);
  if (init != null) await page.addInitScript(init);
  await page.goto(`${base}?${query}`);
  return { page, errors };
}

/** The fine-tune tab, its panel handed the page's model as its result: no training. */
async function finetuneWithPageModel(): Promise<{ page: Page; errors: string[] }> {
  const opened = await open('backend=wasm&sample=coffee&tab=finetune');
  await opened.page.locator('#model-info').waitFor({ timeout: minute });
  await opened.page.evaluate(() => {
    const app = document.querySelector('irn-playground') as HTMLElement & { state: { model: unknown } };
    (document.querySelector('irn-finetune') as HTMLElement & { trained: unknown }).trained = app.state.model;
  });
  return opened;
}

/**
 * The fine-tune tab with the tiny test model (x2, 1 block, growth 4) loaded as files, so the
 * page has a model of its own named "uploaded", set for runs of a second or so in a wasm
 * worker (batch 1, patch 16).
 */
async function tinyFineTune(init?: () => void): Promise<{ page: Page; errors: string[] }> {
  const opened = await open('backend=wasm&sample=coffee&tab=finetune', init);
  const { page } = opened;
  await page.locator('#model-info').waitFor({ timeout: minute });
  const tiny = `${root}test/browser/fixtures/weights/irn-x2/`;
  await page.locator('#model-files').setInputFiles([`${tiny}model.json`, `${tiny}group1-shard1of1.bin`]);
  await page.locator('#model-info', { hasText: 'x2 · 1 blocks · growth 4' }).waitFor({ timeout: minute });
  for (const [id, v] of [['batch', '1'], ['patch', '16']]) {
    await page.locator(`#${id}`).fill(v);
    await page.locator(`#${id}`).dispatchEvent('change');
  }
  await page.locator('#train-backend').selectOption('wasm');
  return opened;
}

/** The `source` note of the fine-tune panel's model ("fine-tuned in the browser (wasm) for 2 steps from ..."), null when it has none. */
const trainedSource = (page: Page) => page.evaluate(() => (document.querySelector('irn-finetune') as HTMLElement & { trained: { source?: string } | null }).trained?.source ?? null);

/** Waits until the fine-tune panel says done after `steps` steps. */
const runDone = (page: Page, steps: number) =>
  page.waitForFunction((n) => document.querySelector('#train-status b')?.textContent === 'done' && document.querySelector('#train-step')?.textContent === String(n), steps, { timeout: 3 * minute });

/** Starts a fine-tune of `steps` steps (a number no run of the page had) with the Start button, and waits for its model. */
async function tinyRun(page: Page, steps: number): Promise<void> {
  await page.locator('#steps').fill(String(steps));
  await page.locator('#steps').dispatchEvent('change');
  await page.locator('#train-start').click();
  await runDone(page, steps);
  await page.waitForFunction((n) => (document.querySelector('irn-finetune') as HTMLElement & { trained: { source?: string } | null }).trained?.source?.includes(` for ${n} steps `), steps, { timeout: minute });
}

/**
 * In the page: the fine-tune worker's first reply to an export comes 3 s late, as from a big
 * model on a slow machine. No named inner functions (see recordStatus).
 */
function delayFirstExport(): void {
  const add = Worker.prototype.addEventListener;
  const w = window as unknown as { exportsDelayed: number };
  w.exportsDelayed = 0;
  Worker.prototype.addEventListener = function (this: Worker, type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions) {
    if (type !== 'message' || typeof listener !== 'function') return add.call(this, type, listener as EventListenerOrEventListenerObject, options);
    return add.call(
      this,
      type,
      (e: Event) => {
        const data = (e as MessageEvent).data as { type?: string } | null;
        if (data?.type === 'exported' && w.exportsDelayed++ === 0) setTimeout(() => listener.call(this, e), 3000);
        else listener.call(this, e);
      },
      options,
    );
  } as typeof Worker.prototype.addEventListener;
}

/**
 * In the page: keeps every distinct text of the status line in `window.statusLog`, on every
 * change of the page (a MutationObserver, which runs before a computation that holds the page's
 * thread can start, where a timer or Playwright's own polling may not). No named inner
 * functions: tsx would wrap them in a helper that the page does not have.
 */
function recordStatus(): void {
  const log: string[] = [];
  (window as unknown as { statusLog: string[] }).statusLog = log;
  new MutationObserver(() => {
    const el = document.querySelector('#status');
    const text = el == null ? '' : `${el.getAttribute('data-state')}: ${(el as HTMLElement).innerText.trim()}`;
    if (text !== log[log.length - 1]) log.push(text);
  }).observe(document, { subtree: true, childList: true, characterData: true, attributes: true });
}

const statusLog = (page: Page) => page.evaluate(() => (window as unknown as { statusLog: string[] }).statusLog);

/**
 * Whether each image of the round-trip tab fits its panel at "fit" zoom: inside the panel's
 * width and height cap, filling one of them, with nothing to scroll.
 */
async function checkFit(page: Page, selector: string): Promise<number> {
  const boxes = await page.locator(selector).evaluateAll((els) =>
    els.map((el) => {
      const viewport = el.closest('.viewport') as HTMLElement;
      const r = el.getBoundingClientRect();
      return { w: r.width, h: r.height, cw: viewport.clientWidth, ch: viewport.clientHeight, sw: viewport.scrollWidth, sh: viewport.scrollHeight, cap: parseFloat(getComputedStyle(viewport).maxHeight) };
    }),
  );
  for (const b of boxes) {
    const box = JSON.stringify(b);
    assert.ok(b.w <= b.cw + 0.5 && b.h <= b.ch + 0.5, `the image overflows its panel: ${box}`);
    assert.ok(b.sw <= b.cw && b.sh <= b.ch, `the panel scrolls at fit: ${box}`);
    assert.ok(Math.abs(b.w - b.cw) < 1 || Math.abs(b.h - b.cap) < 1, `the image fills neither the width nor the height cap: ${box}`);
  }
  return boxes.length;
}

async function shot(page: Page, name: string): Promise<void> {
  if (shots) await page.screenshot({ path: `${root}playground/docs/${name}.jpg`, type: 'jpeg', quality: 80, fullPage: true });
}

const value = async (page: Page, selector: string) => Number(await page.locator(selector).getAttribute('data-value'));

/**
 * Records the questions `page` asks (its `confirm()` dialogs) in `asked`, and answers each: yes
 * once `accept` is set, else no.
 */
function answerDialogs(page: Page): { asked: string[]; accept: boolean } {
  const dialogs = { asked: [] as string[], accept: false };
  page.on('dialog', (d) => {
    dialogs.asked.push(d.message());
    void (dialogs.accept ? d.accept() : d.dismiss());
  });
  return dialogs;
}

test('round trip of a sample photo: the PSNR shown is the one Node computes, and IRN beats bicubic', { timeout: 10 * minute }, async () => {
  const { page, errors } = await open('backend=wasm&sample=coffee');
  await page.locator('#scores[data-model="irn-x2"][data-photo="coffee"]').waitFor({ timeout: 8 * minute });
  // The slow first minute says what it does, and on which backend, then that it is done.
  await page.locator('#status[data-state="done"]').waitFor({ timeout: minute });
  assert.match(await page.locator('#status').innerText(), /Round trip of coffee with irn-x2 done in \d+\.\d s on wasm, the worker start and warm-up included\.$/);
  const log = await statusLog(page);
  for (const expected of [
    /^busy: starting the wasm backend…$/,
    /^busy: loading the model irn-x2: downloading its weights and checking their SHA-256…$/,
    /^busy: round trip of coffee with irn-x2 on wasm: starting a worker, its wasm backend and the model there…$/,
    /^busy: round trip of coffee with irn-x2 on wasm: downscaling.* \(the first call also warms the backend up\)…$/,
    /^busy: round trip of coffee with irn-x2 on wasm: restoring/,
  ]) {
    assert.ok(log.some((line) => expected.test(line)), `no status line matches ${expected}: ${JSON.stringify(log)}`);
  }
  assert.equal(await page.locator('#backend-in-use').innerText(), 'running on wasm');
  assert.match(await page.locator('#scores').innerText(), /in a worker on wasm/);
  const shown = { irn: await value(page, '[data-score="irn-psnr"]'), bicubic: await value(page, '[data-score="bicubic-psnr"]') };
  assert.match(await page.locator('[data-score="irn-psnr"]').innerText(), /^\d+\.\d\d$/);

  // The same round trip in Node on wasm, from the same files.
  await useNodeBackend('wasm');
  const photo = preparePhoto('coffee', decodePng(readFileSync(`${root}samples/coffee.png`)));
  const model = await IrnModel.load(fileSystem(`${root}weights/irn-x2`));
  const lr = await downscaleImage(model, photo.image);
  const restored = await upscaleImage(model, lr, { width: photo.image.width, height: photo.image.height });
  const bicubic = imresize(round8(imresize(photo.image, photo.image.width / 2, photo.image.height / 2)), photo.image.width, photo.image.height);
  const expected = { irn: psnrY(restored, photo.image, { shave: 2 }), bicubic: psnrY(bicubic, photo.image, { shave: 2 }) };
  model.dispose();
  assert.ok(Math.abs(shown.irn - expected.irn) < 0.01, `page ${shown.irn} dB, Node ${expected.irn} dB`);
  assert.ok(Math.abs(shown.bicubic - expected.bicubic) < 1e-6, `page ${shown.bicubic} dB, Node ${expected.bicubic} dB`);
  assert.ok(shown.irn > shown.bicubic + 2, `IRN ${shown.irn} dB vs bicubic ${shown.bicubic} dB`);
  await shot(page, 'round-trip');

  // The LR download is the 8-bit PNG IRN made, with the original size in its `irn` chunk.
  const [lrDownload] = await Promise.all([page.waitForEvent('download'), page.locator('button', { hasText: 'Download the LR PNG' }).click()]);
  assert.equal(lrDownload.suggestedFilename(), 'coffee.x2.lr.png');
  const lrPng = decodePng(readFileSync(await lrDownload.path()));
  assert.deepEqual([lrPng.width, lrPng.height, lrPng.channels], [200, 150, 3]);
  assert.deepEqual(readLrMetadata(lrPng.text), { scale: 2, width: 400, height: 300 });
  let lrDiff = 0;
  for (let i = 0; i < lr.data.length; i++) lrDiff = Math.max(lrDiff, Math.abs(lrPng.data[i] - lr.data[i]));
  assert.ok(lrDiff < 1e-6, `the downloaded LR differs from Node's by ${lrDiff}`);

  // The slider view and zoom work from the keyboard.
  await page.locator('input[name="mode"][value="slider"]').check();
  await page.locator('#slider').focus();
  await page.keyboard.press('Home');
  assert.equal(await page.locator('#slider').inputValue(), '0');
  await page.locator('#zoom').selectOption('4');
  const width = await page.locator('.slider-view .stack').evaluate((el) => (el as HTMLElement).getBoundingClientRect().width);
  assert.equal(Math.round(width), photo.image.width * 4);
  await shot(page, 'round-trip-slider');

  // "fit" fits both ways: in a short window the 4:3 photo is bound by the panels' height cap
  // (70vh = 280 px), not their width (about 445 px side by side).
  await page.setViewportSize({ width: 1400, height: 400 });
  await page.locator('#zoom').selectOption('0');
  assert.equal(await checkFit(page, '.slider-view .stack'), 1);
  const stack = await page.locator('.slider-view .stack').boundingBox();
  assert.ok(stack != null && Math.abs(stack.height - 280) < 1, `slider view ${JSON.stringify(stack)}`);
  await page.locator('input[name="mode"][value="side"]').check();
  assert.equal(await checkFit(page, '.viewport canvas[data-image]'), 5);
  await page.setViewportSize({ width: 1400, height: 1000 });
  assert.equal(await checkFit(page, '.viewport canvas[data-image]'), 5);
  assert.deepEqual(errors, []);
  await page.close();
});

test('latents: every z channel is drawn and named, with its histogram; sampled z and z = 0 restore', { timeout: 10 * minute }, async () => {
  const { page, errors } = await open('backend=wasm&sample=astronaut');
  // Keyboard only: focus the selected tab and move right.
  await page.locator('#tab-roundtrip').focus();
  await page.keyboard.press('ArrowRight');
  assert.equal(await page.locator('#tab-latents').getAttribute('aria-selected'), 'true');
  assert.ok(await page.locator('#tab-latents').evaluate((el) => el === document.activeElement));
  await page.locator('[data-score="sampled-psnr"]').waitFor({ timeout: 8 * minute });
  const labels = await page.locator('.z-grid button span:first-of-type').allInnerTexts();
  assert.deepEqual(labels, latentChannels(2).map((c) => c.label));
  assert.equal(await page.locator('canvas[data-z]').count(), 9);
  assert.equal(await page.locator('#histogram canvas').count() >= 1, true);
  // Stretched, each channel shows structure (not one flat grey); the shipped model's z (std
  // about 0.002) opens stretched.
  assert.equal(await page.locator('#stretch').isChecked(), true);
  const spread = await page.locator('canvas[data-z="4"]').evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let min = 255;
    let max = 0;
    for (let i = 0; i < d.length; i += 4) {
      min = Math.min(min, d[i]);
      max = Math.max(max, d[i]);
    }
    return max - min;
  });
  assert.ok(spread > 100, `stretched channel spans ${spread} grey levels`);
  // Arrow keys move through the channels.
  await page.locator('.z-grid button[aria-selected="true"]').focus();
  await page.keyboard.press('ArrowDown');
  assert.match(await page.locator('#z-caption').innerText(), /^z 3: R · top − bottom/);
  // The shipped model was trained for z = 0: the tab opens at temperature 0 and says why, so
  // both restores match; at temperature 1 sampled z restores far worse.
  assert.equal(await page.locator('#temperature').inputValue(), '0');
  assert.match(await page.locator('#temperature-note').innerText(), /^Trained with z = 0 \(weights\/irn-x2\/PROVENANCE\.md\): higher temperatures add noise this model never learned to use\.$/);
  assert.match(await page.locator('#sampled-caption').innerText(), /N\(0, 0\.00²\)/);
  const zeros = Number(await page.locator('[data-score="zeros-psnr"]').innerText());
  assert.ok(zeros > 30, `z = 0 restores at ${zeros} dB`);
  assert.ok(Math.abs(Number(await page.locator('[data-score="sampled-psnr"]').innerText()) - zeros) < 0.01);
  await page.locator('#status[data-state="done"]').waitFor({ timeout: minute });
  assert.match(await page.locator('#status').innerText(), /Latents of astronaut shown; restored with z = 0 and z at temperature 0\.00 in \d+\.\d s on wasm\.$/);
  await shot(page, 'latents');
  await page.locator('#temperature').fill('1');
  await page.locator('#sampled-caption', { hasText: 'N(0, 1.00²)' }).waitFor({ timeout: 2 * minute });
  const sampled = Number(await page.locator('[data-score="sampled-psnr"]').innerText());
  assert.ok(sampled < zeros - 5, `sampled ${sampled} dB, z = 0 ${zeros} dB`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('photos open by drag and drop and by paste; a dropped non-image is refused with a message', { timeout: 5 * minute }, async () => {
  // The fine-tune tab computes nothing by itself, so only the photo handling runs here.
  const { page, errors } = await open('backend=wasm&sample=coffee&tab=finetune');
  await page.locator('#photo-info', { hasText: 'coffee' }).waitFor({ timeout: minute });
  // Before training, both charts draw their axes (ticks, labels, grid) and say what will come.
  for (const id of ['loss-chart', 'psnr-chart']) {
    await page.locator(`#${id} canvas`).waitFor({ timeout: minute });
    assert.match(await page.locator(`.chart-empty[data-chart="${id}"]`).innerText(), /is drawn here once training starts\.$|are drawn here once training starts\.$/);
    const inked = await page.locator(`#${id} canvas`).evaluate((c) => {
      const canvas = c as HTMLCanvasElement;
      const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
      // Inked pixels left of the plot (the y axis's labels) and below it (the x axis's);
      // no named inner functions here: tsx would wrap them in a __name the page lacks.
      const ink = { left: 0, bottom: 0 };
      for (let y = 0; y < canvas.height; y++) {
        for (let x = 0; x < canvas.width; x++) {
          if (d[(y * canvas.width + x) * 4 + 3] === 0) continue;
          if (x < 0.12 * canvas.width && y < 0.8 * canvas.height) ink.left++;
          else if (x > 0.15 * canvas.width && y > 0.8 * canvas.height) ink.bottom++;
        }
      }
      return ink;
    });
    assert.ok(inked.left > 100 && inked.bottom > 100, `${id}: axes ink ${JSON.stringify(inked)}`);
    // x spans the whole run (the default 200 steps), y a typical range until data comes.
    assert.equal(await page.locator(`#${id}`).getAttribute('data-x-scale'), '0,200');
    assert.equal(await page.locator(`#${id}`).getAttribute('data-y-scale'), id === 'loss-chart' ? '0.001,10' : '20,40');
  }
  await page.locator('#steps').fill('50');
  await page.locator('#steps').dispatchEvent('change');
  await page.locator('#loss-chart[data-x-scale="0,50"]').waitFor({ timeout: 10_000 });
  await shot(page, 'fine-tune-empty');
  const png = readFileSync(`${root}samples/chelsea.png`).toString('base64');
  const send = (kind: 'drop' | 'paste', name: string, type: string, b64: string) =>
    page.evaluate(
      ([k, n, t, data]) => {
        const file = new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], n, { type: t });
        const dt = new DataTransfer();
        dt.items.add(file);
        if (k === 'drop') document.querySelector('section.photo')!.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        else document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      },
      [kind, name, type, b64] as const,
    );
  await send('drop', 'dropped-cat.png', 'image/png', png);
  await page.locator('#photo-info', { hasText: 'dropped-cat 448×300' }).waitFor({ timeout: minute });
  assert.match(await page.locator('#photo-info').innerText(), /cropped to 448x300 \(multiples of 4\)/);
  await send('paste', 'pasted-cat.png', 'image/png', png);
  await page.locator('#photo-info', { hasText: 'pasted-cat' }).waitFor({ timeout: minute });
  await send('drop', 'notes.txt', 'text/plain', Buffer.from('not an image').toString('base64'));
  assert.match(await page.locator('#error').innerText(), /drop an image file/);
  assert.match(await page.locator('#photo-info').innerText(), /pasted-cat/, 'the photo is kept');
  assert.deepEqual(errors, []);
  await page.close();
});

/** A 1 KB 8-bit RLE BMP claiming `width` x `height` (its data: end of bitmap); the browser decodes it to that size. */
function rleBmp(width: number, height: number): Buffer {
  const palette = 256 * 4;
  const out = Buffer.alloc(54 + palette + 2);
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(54 + palette, 10);
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(8, 28);
  out.writeUInt32LE(1, 30); // BI_RLE8
  out.writeUInt32LE(2, 34);
  out[54 + palette + 1] = 1; // 00 01: end of bitmap
  return out;
}

/** A GIF whose logical screen is 1 x 1 and whose one frame claims `width` x `height`, with no pixel data. */
function bigFrameGif(width: number, height: number): Buffer {
  const u16 = (n: number) => [n & 255, n >> 8];
  return Buffer.from([...Buffer.from('GIF89a'), ...u16(1), ...u16(1), 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2c, 0, 0, 0, 0, ...u16(width), ...u16(height), 0, 2, 2, 0x4c, 0x01, 0, 0x3b]);
}

/** Engine messages that must never reach the page. */
const RAW_ENGINE = /Cannot read propert|Invalid typed array length|Invalid array length|Array buffer allocation failed|is not a function|undefined|Maximum call stack/i;

test('hostile photos are refused in a moment with one line, and the page keeps its photo', { timeout: 10 * minute }, async () => {
  // Before: the 775 KB PNG held the page for 45 s and took 3.2 GB (core inflates a PNG whole),
  // the 1 KB BMP took 26 s and 3.2 GB, the 35-byte GIF 8 s and 1.2 GB, before being refused or opened.
  const { page, errors } = await open('backend=wasm&sample=coffee&tab=finetune');
  await page.locator('#photo-info', { hasText: 'coffee' }).waitFor({ timeout: minute });
  await page.locator('#model-info').waitFor({ timeout: minute });
  const png16 = pngFile([pngChunk('IHDR', ihdr(10000, 10000, 16, 6)), pngChunk('IDAT', zlibRepeat(0, 10000 * (1 + 80000))), pngChunk('IEND', new Uint8Array(0))]);
  const cases: [string, Uint8Array, RegExp][] = [
    ['bomb.png', png16, /^opening bomb\.png failed: the PNG \(10000x10000, 16-bit RGBA\) is 763 MiB of pixel data, above the limit of 128 MiB \(the playground's limit for PNGs: crop it, or save it as JPEG or WebP\)$/],
    ['black.png', blackPng(10000, 10000), /^opening black\.png failed: the PNG \(10000x10000, 8-bit RGB\) is 287 MiB of pixel data, above the limit of 128 MiB/],
    ['rle.bmp', rleBmp(20000, 20000), /^opening rle\.bmp failed: the image \(20000x20000\) is 400,000,000 pixels, above the limit of 100,000,000 pixels \(the playground's limit\)$/],
    ['frame.gif', bigFrameGif(16000, 16000), /^opening frame\.gif failed: the image \(16000x16000\) is 256,000,000 pixels, above the limit of 100,000,000 pixels \(the playground's limit\)$/],
    ['header.png', pngFile([pngChunk('IHDR', ihdr(30000, 30000, 8, 2)), pngChunk('IDAT', zlibRepeat(0, 1000)), pngChunk('IEND', new Uint8Array(0))]), /^opening header\.png failed: the image \(30000x30000\) is 900,000,000 pixels, above the limit/],
    ['empty.png', new Uint8Array(0), /^opening empty\.png failed: the image file is empty/],
    ['notes.jpg', Buffer.from('not an image at all'), /^opening notes\.jpg failed: cannot decode the image/],
    ['drawing.svg', Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"/>'), /^opening drawing\.svg failed: cannot decode the image/],
    ['thin.png', blackPng(3, 1), /^opening thin\.png failed: thin is 3x1; the playground needs at least 16x16 pixels$/],
  ];
  for (const [name, bytes, expected] of cases) {
    const t0 = Date.now();
    await page.locator('#photo-file').setInputFiles({ name, mimeType: '', buffer: Buffer.from(bytes) });
    await page.locator('#error', { hasText: expected }).waitFor({ timeout: 2 * minute });
    const ms = Date.now() - t0;
    const line = await page.locator('#error').innerText();
    assert.ok(ms < 5000, `${name}: refused after ${ms} ms`);
    assert.doesNotMatch(line, RAW_ENGINE);
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'idle', `${name}: nothing left running`);
    assert.match(await page.locator('#photo-info').innerText(), /^coffee /, `${name}: the photo is kept`);
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('pasting many images at once: they open one at a time, and the last pasted is the one shown', { timeout: 10 * minute }, async () => {
  // Before: all were decoded at once and the last to finish won: two 100-megapixel BMPs pasted
  // before a small photo replaced it seconds after it was shown.
  const { page, errors } = await open('backend=wasm&sample=coffee&tab=finetune');
  await page.locator('#photo-info', { hasText: 'coffee' }).waitFor({ timeout: minute });
  await page.locator('#model-info').waitFor({ timeout: minute });
  const big = rleBmp(10000, 10000).toString('base64');
  const small = readFileSync(`${root}samples/chelsea.png`).toString('base64');
  await page.evaluate(
    ([b, s]) => {
      for (const [name, data, type] of [['big-1.bmp', b, 'image/bmp'], ['big-2.bmp', b, 'image/bmp'], ['big-3.bmp', b, 'image/bmp'], ['last.png', s, 'image/png']]) {
        const dt = new DataTransfer();
        dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], name, { type }));
        document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
      }
    },
    [big, small] as const,
  );
  await page.locator('#photo-info', { hasText: 'last 448×300' }).waitFor({ timeout: 3 * minute });
  await page.locator('#status[data-state="idle"]').waitFor({ timeout: 3 * minute });
  await page.waitForTimeout(1000);
  assert.match(await page.locator('#photo-info').innerText(), /^last 448×300/, 'the last pasted photo stays');
  const log = await statusLog(page);
  assert.ok(!log.some((l) => /big-2|big-3/.test(l)), `photos pasted before the last are skipped once another is waiting: ${JSON.stringify(log)}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a photo pasted while a round trip or the latents run gets its own, and never shows next to the other one\'s result', { timeout: 10 * minute }, async () => {
  // Before: the round trip of coffee ended showing its scores under the pasted photo's name and
  // next to its original, and the pasted photo got none; the latents tab did the same.
  const cat = readFileSync(`${root}samples/chelsea.png`).toString('base64');
  const paste = (page: Page) =>
    page.evaluate((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))], 'cat.png', { type: 'image/png' }));
      document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
    }, cat);
  const { page, errors } = await open('backend=wasm&sample=coffee');
  await page.locator('#status', { hasText: 'round trip of coffee' }).waitFor({ timeout: 5 * minute });
  await paste(page);
  await page.locator('#status', { hasText: /^✓?Round trip of cat with irn-x2 done/ }).waitFor({ timeout: 5 * minute });
  const sizes = await page.locator('canvas[data-image]').evaluateAll((els) => els.map((c) => `${(c as HTMLCanvasElement).dataset.image} ${(c as HTMLCanvasElement).width}x${(c as HTMLCanvasElement).height}`));
  assert.deepEqual(sizes, ['original 448x300', 'irn 448x300', 'bicubic 448x300', 'lr 224x150', 'lr-bicubic 224x150']);
  assert.equal(await page.locator('#scores').getAttribute('data-photo'), 'cat');

  await page.locator('#tab-latents').click();
  await page.locator('#status', { hasText: /^✓?Latents of cat shown/ }).waitFor({ timeout: 5 * minute });
  await page.locator('.sample[data-file="astronaut.png"]').click();
  // Seen by the page's own recorder: the forward pass holds the page's thread right after the
  // status line is drawn, when Playwright's polling may not get to look.
  await page.waitForFunction(() => (window as unknown as { statusLog: string[] }).statusLog.some((l) => l.includes('computing the latents of astronaut')), undefined, { timeout: minute });
  await paste(page);
  await page.locator('#status', { hasText: /^✓?Latents of cat shown/ }).waitFor({ timeout: 5 * minute });
  assert.match(await page.locator('h2', { hasText: 'z channels' }).innerText(), /224×150 each/);
  assert.equal(await page.locator('#error').count(), 0, 'no error line');
  assert.deepEqual(errors, []);
  await page.close();
});

test('model files from a stranger are refused with one line each, and the page keeps its model', { timeout: 5 * minute }, async () => {
  const { page, errors } = await open('backend=wasm&sample=coffee&tab=finetune');
  await page.locator('#model-info').waitFor({ timeout: minute });
  const before = await page.locator('#model-info').innerText();
  const tiny = `${root}test/browser/fixtures/weights/irn-x2/`;
  const json = readFileSync(`${tiny}model.json`);
  const bin = readFileSync(`${tiny}group1-shard1of1.bin`);
  const file = (name: string, buffer: Buffer) => ({ name, mimeType: name.endsWith('.json') ? 'application/json' : 'application/octet-stream', buffer });
  const cases: [ReturnType<typeof file>[], RegExp][] = [
    // tfjs's browserFiles threw inside its FileReader callback here: the status line said "reading the model files" for ever.
    [[file('model.json', Buffer.from('<!doctype html><p>Not found')), file('group1-shard1of1.bin', bin)], /^reading the model files failed: "model\.json" is not JSON \(/],
    [[file('model.json', json), file('weights.bin', bin)], /^reading the model files failed: "model\.json" names the weight file "group1-shard1of1\.bin", which was not picked with it$/],
    [[file('model.json', json), file('group1-shard1of1.bin', bin.subarray(0, 100))], /^reading the model files failed: the model's weights hold 100 bytes, its model\.json describes 34296$/],
  ];
  for (const [files, expected] of cases) {
    await page.locator('#model-files').setInputFiles(files);
    await page.locator('#error', { hasText: expected }).waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'idle', 'nothing left running');
    assert.equal(await page.locator('#model-info').innerText(), before, 'the model in use is kept');
  }
  assert.deepEqual(errors, []);
  await page.close();
});

test('saving a fine-tuned model under a name already saved asks first, and keeps the saved one when told no', { timeout: 5 * minute }, async () => {
  const { page, errors } = await finetuneWithPageModel();
  await page.locator('#model-name').fill('e2e-same');
  const dialogs = answerDialogs(page);
  // Each save's line differs from the one before it, so waiting for it waits for that save.
  const saveAndWait = async (expected: RegExp) => {
    await page.locator('#train-save').click();
    await page.locator('#train-message', { hasText: expected }).waitFor({ timeout: minute });
  };
  await saveAndWait(/^Saved as "e2e-same"/);
  assert.deepEqual(dialogs.asked, [], 'a new name is saved without asking');
  await saveAndWait(/^Not saved: "e2e-same" is kept as it was; pick another name to keep both\.$/);
  assert.deepEqual(dialogs.asked, ['A model named "e2e-same" is saved in this browser already. Replace it with this one?']);
  dialogs.accept = true;
  await saveAndWait(/^Saved as "e2e-same"/);
  assert.equal(dialogs.asked.length, 2);
  // The state refuses too, unless told to replace.
  const viaState = await page.evaluate(async () => {
    const { state } = document.querySelector('irn-playground') as HTMLElement & { state: { model: unknown; saveModel(n: string, m: unknown, o?: { replace: boolean }): Promise<string> } };
    const refused = await state.saveModel('e2e-same', state.model).then(() => 'saved', (e: Error) => e.message);
    return [refused, await state.saveModel('e2e-same', state.model, { replace: true })];
  });
  assert.match(viaState[0], /a model named "e2e-same" is saved in this browser already/);
  assert.equal(viaState[1], 'e2e-same');

  // A browser whose storage cannot be listed saves nothing, since the name may be taken: here
  // localStorage's key() throws (tf.io.listModels lists every store), while IndexedDB works.
  const savedAt = () =>
    page.evaluate(
      () =>
        new Promise<string>((resolve, reject) => {
          const open = indexedDB.open('tensorflowjs');
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const get = open.result.transaction('model_info_store').objectStore('model_info_store').get('irn-playground/e2e-same');
            get.onerror = () => reject(get.error);
            get.onsuccess = () => {
              open.result.close();
              resolve(String((get.result as { modelArtifactsInfo?: { dateSaved?: unknown } } | undefined)?.modelArtifactsInfo?.dateSaved));
            };
          };
        }),
    );
  const before = await savedAt();
  assert.notEqual(before, 'undefined', 'the saved model is in IndexedDB');
  await page.evaluate(() => {
    localStorage.setItem('irn-e2e', 'so that a listing calls key()');
    Storage.prototype.key = () => {
      throw new DOMException('the test refuses to list', 'SecurityError');
    };
  });
  await saveAndWait(/^Could not save: this browser's storage could not list the saved models \(the test refuses to list\); nothing saved, so as not to replace a model named "e2e-same" unasked$/);
  assert.equal(dialogs.asked.length, 2, 'no question asked: the listing failed before');
  const unlisted = await page.evaluate(async () => {
    const { state } = document.querySelector('irn-playground') as HTMLElement & { state: { model: unknown; saved: string[]; error: string | null; saveModel(n: string, m: unknown): Promise<string>; refreshSaved(): Promise<void> } };
    const refused = await state.saveModel('e2e-same', state.model).then(() => 'saved', (e: Error) => e.message);
    await state.refreshSaved();
    return { refused, saved: state.saved, error: state.error };
  });
  assert.match(unlisted.refused, /could not list the saved models \(the test refuses to list\); nothing saved/);
  assert.equal(await savedAt(), before, 'the saved model was not replaced');
  assert.deepEqual(unlisted.saved, []);
  assert.equal(unlisted.error, "this browser's storage could not list the saved models (the test refuses to list); the Model menu shows none of them");
  await page.locator('#error', { hasText: 'the Model menu shows none of them' }).waitFor({ timeout: 10_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('a fine-tuned model downloads only under a name its files keep: model.json names the weights file the browser writes', { timeout: 5 * minute }, async () => {
  const { page, errors } = await finetuneWithPageModel();
  const downloads: string[] = [];
  page.on('download', (d) => downloads.push(d.suggestedFilename()));
  // "a/b" was downloaded, its model.json naming ./a/b.weights.bin, a name no download can have.
  for (const name of ['a/b', '.hidden', '../up']) {
    await page.locator('#model-name').fill(name);
    await page.locator('#train-download').click();
    await page.locator('#train-message', { hasText: /^Could not download: a model name is 1 to 64 letters/ }).waitFor({ timeout: 10_000 });
  }
  await page.locator('#model-name').fill('e2e-ok');
  const [json] = await Promise.all([
    page.waitForEvent('download', { predicate: (d) => d.suggestedFilename().endsWith('.json'), timeout: minute }),
    page.locator('#train-download').click(),
  ]);
  assert.equal(json.suggestedFilename(), 'e2e-ok.json');
  const paths = (JSON.parse(readFileSync(await json.path(), 'utf8')) as { weightsManifest: { paths: string[] }[] }).weightsManifest.flatMap((g) => g.paths);
  assert.deepEqual(paths, ['./e2e-ok.weights.bin']);
  await page.waitForTimeout(500);
  assert.deepEqual(downloads.sort(), ['e2e-ok.json', 'e2e-ok.weights.bin']);
  assert.deepEqual(errors, []);
  await page.close();
});

test('fine-tune photos: a pick of more than a fine-tune takes adds up to the cap and says how many were left out', { timeout: 5 * minute }, async () => {
  const { page, errors } = await open('backend=wasm&sample=coffee&tab=finetune');
  await page.locator('#photo-info', { hasText: 'coffee' }).waitFor({ timeout: minute });
  const png = Buffer.from(encodePng({ width: 16, height: 16, channels: 3, data: new Float32Array(16 * 16 * 3).fill(0.5) }));
  const files = Array.from({ length: 33 }, (_, i) => ({ name: `p${i}.png`, mimeType: 'image/png', buffer: png }));
  files.splice(1, 0, { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a png') });
  await page.locator('irn-finetune input[type="file"]').setInputFiles(files);
  // The current photo (coffee) and 31 of the 33: 32 in all.
  await page.locator('#train-message', { hasText: /not added/ }).waitFor({ timeout: minute });
  assert.match(await page.locator('#train-message').innerText(), /^broken\.png: cannot decode the image .*; 2 photos not added: a fine-tune takes at most 32$/);
  assert.equal(await page.locator('irn-finetune li').count(), 31);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a link asking for a sample, backend or tab this page does not have gets one line saying what was used instead', { timeout: 5 * minute }, async () => {
  const { page, errors } = await open(`backend=fast&tab=secret&sample=${'k'.repeat(5000)}`);
  await page.locator('#photo-info', { hasText: 'astronaut' }).waitFor({ timeout: minute });
  await page.locator('#error').waitFor({ timeout: minute });
  assert.equal(
    await page.locator('#error').innerText(),
    `This page has no sample "${'k'.repeat(39)}…" (opened Astronaut), no backend "fast" (using the best available), no tab "secret" (showing Round trip).`,
  );
  assert.deepEqual(errors, []);
  await page.close();
  // A link with known values gets no such line.
  const plain = await open('backend=wasm&sample=coffee&tab=finetune');
  await plain.page.locator('#photo-info', { hasText: 'coffee' }).waitFor({ timeout: minute });
  await plain.page.locator('#model-info').waitFor({ timeout: minute });
  assert.equal(await plain.page.locator('#error').count(), 0);
  await plain.page.close();
});

test('fine-tune a tiny model on WebGPU in the worker: the loss goes down; saved, it loads back and gives the same output', { timeout: 15 * minute }, async () => {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 }, acceptDownloads: true });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(`${base}?backend=wasm&sample=coffee&tab=finetune`);
  await page.locator('#photo-info').waitFor();
  // The tiny test model (x2, 1 block, growth 4, perturbed weights), loaded as files: a fresh
  // model starts at the Haar transform, whose loss first rises, and the shipped size takes
  // minutes per step on software WebGPU.
  const tiny = `${root}test/browser/fixtures/weights/irn-x2/`;
  await page.locator('#model-files').setInputFiles([`${tiny}model.json`, `${tiny}group1-shard1of1.bin`]);
  await page.locator('#model-info', { hasText: 'x2 · 1 blocks · growth 4' }).waitFor({ timeout: minute });
  await page.locator('#steps').fill('30');
  await page.locator('#batch').fill('2');
  await page.locator('#patch').fill('32');
  await page.locator('#train-backend').selectOption('webgpu');
  // Keyboard: the learning-rate slider moves with the arrow keys.
  await page.locator('#lr').focus();
  for (let i = 0; i < 10; i++) await page.keyboard.press('ArrowRight');
  const lr = Number(await page.locator('#lr-value').innerText());
  assert.ok(lr > 1e-4 && lr < 1e-3, `lr ${lr}`);
  await page.locator('#train-start').click();
  await page.locator('#train-backend-in-use').waitFor({ timeout: 3 * minute });
  assert.equal(await page.locator('#train-backend-in-use').innerText(), 'webgpu');
  // Pause and resume while it runs.
  await page.locator('#train-step').waitFor({ timeout: 3 * minute });
  await page.locator('#train-pause').click();
  await page.locator('#train-status b', { hasText: 'paused' }).waitFor({ timeout: minute });
  const pausedAt = Number(await page.locator('#train-step').innerText());
  await page.waitForTimeout(1500);
  assert.equal(Number(await page.locator('#train-step').innerText()), pausedAt, 'no steps while paused');
  await page.locator('#train-pause').click();
  await page.locator('#train-status b', { hasText: 'done' }).waitFor({ timeout: 10 * minute });
  assert.equal(Number(await page.locator('#train-step').innerText()), 30);
  const first = Number(await page.locator('[data-loss="first"]').innerText());
  const recent = Number(await page.locator('[data-loss="recent"]').innerText());
  assert.ok(recent < first, `loss from ${first} to ${recent}`);
  assert.ok((await page.locator('#loss-chart canvas').count()) >= 1 && (await page.locator('#psnr-chart canvas').count()) >= 1);
  await shot(page, 'fine-tune');

  // Use it on the page, then save it; a fresh page loads it back from IndexedDB.
  await page.locator('#model-name').fill('e2e-tiny');
  await page.locator('#train-use').click();
  await page.locator('#tab-roundtrip').click();
  await page.locator('#scores[data-model="e2e-tiny"]').waitFor({ timeout: 5 * minute });
  const inPage = await value(page, '[data-score="irn-psnr"]');
  await page.locator('#tab-finetune').click();
  await page.locator('#train-save').click();
  await page.locator('#train-message', { hasText: /Saved as|Could not save/ }).waitFor({ timeout: minute });
  assert.match(await page.locator('#train-message').innerText(), /^Saved as "e2e-tiny" in this browser/);
  // The download is two files (model.json and the weights), in either order: wait for the JSON.
  const [json] = await Promise.all([
    page.waitForEvent('download', { predicate: (d) => d.suggestedFilename().endsWith('.json'), timeout: minute }),
    page.locator('#train-download').click(),
  ]);
  const modelJson = JSON.parse(readFileSync(await json.path(), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { quantization?: { dtype: string } }[] }[];
    userDefinedMetadata: { irn: { blocks: number; growth: number } };
  };
  assert.deepEqual([modelJson.userDefinedMetadata.irn.blocks, modelJson.userDefinedMetadata.irn.growth], [1, 4]);
  assert.equal(modelJson.weightsManifest[0].paths.length, 1);
  // Downloaded for serving: kernels as 8 bits per channel and biases as halves, as the shipped presets.
  const kinds = new Set(modelJson.weightsManifest[0].weights.map((w) => w.quantization?.dtype));
  assert.deepEqual([...kinds].sort(), ['float16', 'uint8-per-channel']);

  const again = await context.newPage();
  await again.goto(`${base}?backend=wasm&sample=coffee&model=saved:e2e-tiny`);
  await again.locator('#scores[data-model="e2e-tiny"]').waitFor({ timeout: 5 * minute });
  assert.equal(await value(again, '[data-score="irn-psnr"]'), inPage, 'the saved model gives the same round trip');
  assert.match(await again.locator('#model-info').innerText(), /x2 · 1 blocks · growth 4/);

  // The preview: <irn-image> restores the LR made by the fine-tuned model.
  await page.locator('#train-preview').click();
  await page.locator('irn-image#preview').waitFor();
  await page.waitForFunction(() => ['restored', 'error'].includes((document.querySelector('irn-image#preview') as HTMLElement & { status: string }).status), null, {
    timeout: 5 * 60_000,
  });
  const status = await page.locator('irn-image#preview').evaluate((el) => (el as HTMLElement & { status: string }).status);
  assert.equal(status, 'restored');
  assert.deepEqual(errors, []);
  await context.close();
});

test('Start after a finished run asks before it discards the model, keeps it when told no, and asks no more once it is saved', { timeout: 5 * minute }, async () => {
  // Before: Start dropped the finished model, never saved, without a word.
  const { page, errors } = await tinyFineTune();
  const dialogs = answerDialogs(page);
  await tinyRun(page, 2);
  await page.locator('#steps').fill('3');
  await page.locator('#steps').dispatchEvent('change');
  await page.locator('#train-start').click();
  await page.locator('#train-message', { hasText: /^Not started/ }).waitFor({ timeout: 20_000 });
  assert.deepEqual(dialogs.asked, ['The fine-tuned model "uploaded-tuned-1" is not saved, downloaded or used on this page. Discard it and start a new run?']);
  assert.equal(await page.locator('#train-message').innerText(), 'Not started: the fine-tuned model "uploaded-tuned-1" is kept.');
  assert.match((await trainedSource(page)) ?? '', / for 2 steps /, 'the finished model is kept');
  assert.equal(await page.locator('#train-use').isEnabled(), true, 'and still offered');
  dialogs.accept = true;
  await tinyRun(page, 3);
  assert.equal(dialogs.asked.length, 2, 'asked again, and told yes');
  await page.locator('#train-save').click();
  await page.locator('#train-message', { hasText: /^Saved as "uploaded-tuned-2"/ }).waitFor({ timeout: minute });
  await tinyRun(page, 4);
  assert.equal(dialogs.asked.length, 2, 'a saved model is discarded from the panel without asking');
  assert.deepEqual(errors, []);
  await page.close();
});

test('"Use it on this page" under the name of a model of the page asks before replacing it; the same run\'s model is selected again', { timeout: 5 * minute }, async () => {
  // Before: the fine-tune silently took the place of the uploaded model of that name.
  const { page, errors } = await tinyFineTune();
  const dialogs = answerDialogs(page);
  const pageModels = () =>
    page.evaluate(() =>
      [...(document.querySelector('irn-playground') as HTMLElement & { state: { memoryModels: Map<string, { source?: string }> } }).state.memoryModels].map(([n, m]) => `${n}: ${m.source}`),
    );
  const use = async (name: string, expected: RegExp) => {
    await page.locator('#model-name').fill(name);
    await page.locator('#train-use').click();
    await page.locator('#train-message', { hasText: expected }).waitFor({ timeout: 20_000 });
  };
  await tinyRun(page, 2);
  const uploaded = await pageModels();
  assert.deepEqual(uploaded, ['uploaded: test fixture: test/browser/make-fixtures.ts, seed 11']);
  await use('uploaded', /^Not used: "uploaded" is kept as it was; pick another name to keep both\.$/);
  assert.deepEqual(dialogs.asked, ['A model named "uploaded" is in this page already (not saved). Replace it with this one?']);
  assert.deepEqual(await pageModels(), uploaded, 'the uploaded model is kept');
  assert.equal(await page.locator('#model').inputValue(), 'memory:uploaded');
  await use('e2e-tuned', /^e2e-tuned is now the page's model/);
  await page.locator('#model').selectOption('memory:uploaded');
  await page.locator('#train-use').click();
  await page.waitForFunction(() => (document.querySelector('#model') as HTMLSelectElement).value === 'memory:e2e-tuned', undefined, { timeout: 20_000 });
  const tuned = `e2e-tuned: ${await trainedSource(page)}`;
  assert.deepEqual(await pageModels(), [...uploaded, tuned], 'used twice, one copy');
  assert.equal(dialogs.asked.length, 1, 'the same run\'s model under its own name: no question');
  dialogs.accept = true;
  await use('uploaded', /^uploaded is now the page's model/);
  assert.equal(dialogs.asked.length, 2);
  assert.deepEqual(await pageModels(), [`uploaded: ${await trainedSource(page)}`, tuned], 'replaced when told yes');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a run whose model is still being taken from the worker when the next run starts cannot reach the next run', { timeout: 5 * minute }, async () => {
  // Before: the first run's export, cut short by the second run's start, said "Could not take the
  // model from the worker: the fine-tuning session was disposed" under the second run.
  const { page, errors } = await tinyFineTune(delayFirstExport);
  page.on('dialog', (d) => void d.accept());
  await page.locator('#steps').fill('2');
  await page.locator('#steps').dispatchEvent('change');
  await page.locator('#train-start').click();
  await runDone(page, 2);
  assert.equal(await trainedSource(page), null, 'the first run\'s export is in flight');
  await tinyRun(page, 3);
  // Past the first run's late reply.
  await page.waitForTimeout(3500);
  const message = await page.locator('#train-message').count() ? await page.locator('#train-message').innerText() : null;
  assert.equal(message, null, 'no message from the first run');
  assert.match((await trainedSource(page)) ?? '', / for 3 steps /, 'the second run\'s model');
  assert.equal(await page.locator('#model-name').inputValue(), 'uploaded-tuned-2');
  assert.deepEqual(errors, []);
  await page.close();
});
