// What a JPEG of many scans costs the decoders that read a stranger's files (bench/README.md,
// "JPEG scans"). Core refuses a JPEG of more than MAX_JPEG_SCANS (500) scans before any decoder
// sees it; a file at the cap still makes a decoder pass over every block of the frame 500 times.
// This measures that, next to a real photo of the same size, with each decoder a user's file
// reaches:
//   - MozJPEG in WebAssembly (`@jsquash/jpeg`, the CLI's `decodeLr`: `irn upscale` of a JPEG LR),
//   - jpeg-js (the CLI's photo reader: `irn downscale`/`prepare`/`train` of a .jpg photo),
//   - Chromium's own decoder (`createImageBitmap` and a draw, as core's `decodeInput` reads a
//     file in `Rescaler` and `<irn-image>`; headless Debian Chromium through playwright-core),
//     which does not decode a JPEG of 100 scans or more (measured here: 99 decode, 100 do not).
// The files: the real photo (samples/coffee.png tiled to the size, MozJPEG progressive at
// quality 75, `irn downscale`'s settings at that quality) and grey frames of 2, 10, 99, 100 and 500 scans
// (bench/jpeg/scan-bomb.ts: a valid progression, the least image data core lets through).
// Each decode is timed `--reps` times after one untimed warm-up per decoder; the median is
// printed, and its ratio to the real photo's decode by the same decoder.
//
//   pnpm bench:jpeg-scans [--sizes 1,4,16] [--scans 2,10,99,100,500] [--reps 3] [--no-browser]
//   node --import tsx bench/jpeg-scans.ts ...   (the same)
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium, type Page } from 'playwright-core';
import { checkJpegScans, decodePng, lrEncoderVariants, resolveLimits, type RasterImage } from '@irn/core';
import { decodeJpeg as decodeJpegJs } from '../packages/cli/src/data/image-folder.js';
import { decodeLr } from '../packages/cli/src/image/lr-codecs.js';
import { chromiumArgs, chromiumPath } from '../test/chromium.mjs';
import { encodeRaw, type Rgba } from './rd/codecs.js';
import { toRgba } from './rd/images.js';
import { scanBomb } from './jpeg/scan-bomb.js';
import { median } from './stats.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args } = parseArgs({
  options: {
    /** Frame sizes in megapixels (square frames, rounded to whole 8x8 blocks). */
    sizes: { type: 'string', default: '1,4,16' },
    scans: { type: 'string', default: '2,10,99,100,500' },
    reps: { type: 'string', default: '3' },
    'no-browser': { type: 'boolean', default: false },
  },
});
const numbers = (s: string, what: string) =>
  s.split(',').map((x) => {
    const n = Number(x);
    if (!(n > 0)) throw new Error(`--${what} takes positive numbers, comma-separated; got "${s}"`);
    return n;
  });
const sizesMp = numbers(args.sizes, 'sizes');
const scanCounts = numbers(args.scans, 'scans');
const reps = Number(args.reps);
if (!(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps must be a whole number from 1, got ${args.reps}`);

/** `photo` repeated (mirrored every other tile, so no seams) over `width` x `height`. */
function tile(photo: Rgba, width: number, height: number): Rgba {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const ty = Math.floor(y / photo.height) % 2 === 0 ? y % photo.height : photo.height - 1 - (y % photo.height);
    for (let x = 0; x < width; x++) {
      const tx = Math.floor(x / photo.width) % 2 === 0 ? x % photo.width : photo.width - 1 - (x % photo.width);
      const from = (ty * photo.width + tx) * 4;
      data.set(photo.data.subarray(from, from + 4), (y * width + x) * 4);
    }
  }
  return { width, height, data };
}

async function timed(fn: () => Promise<unknown> | unknown): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return median(times);
}

/**
 * Decodes in the page as core's `decodeInput` does (createImageBitmap, then drawn on a canvas);
 * ms, or Chromium's error when it does not decode the file (it refuses 100 scans or more).
 */
async function chromiumDecode(page: Page, bytes: Uint8Array): Promise<number> {
  const result = await page.evaluate(async (b64) => {
    const bin = atob(b64);
    const u = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) u[i] = bin.charCodeAt(i);
    const blob = new Blob([u], { type: 'image/jpeg' });
    const t = performance.now();
    try {
      const bitmap = await createImageBitmap(blob);
      const ctx = new OffscreenCanvas(bitmap.width, bitmap.height).getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(bitmap, 0, 0);
      ctx.getImageData(0, 0, 1, 1);
      bitmap.close();
    } catch (e) {
      return { error: `${(e as Error).name}: ${(e as Error).message}`, ms: performance.now() - t };
    }
    return { error: null, ms: performance.now() - t };
  }, Buffer.from(bytes).toString('base64'));
  if (result.error != null) throw new NotDecoded(result.error, result.ms);
  return result.ms;
}

/** A decoder's refusal, with the time it took to refuse. */
class NotDecoded extends Error {
  constructor(
    message: string,
    readonly ms: number,
  ) {
    super(message);
  }
}

/** The median time of `fn`, or the decoder's refusal and the time it took. */
async function cell(fn: () => Promise<unknown> | unknown): Promise<{ ms: number; refused?: string }> {
  try {
    return { ms: await timed(fn) };
  } catch (e) {
    if (e instanceof NotDecoded) return { ms: e.ms, refused: e.message };
    throw e;
  }
}

const photo = toRgba(decodePng(readFileSync(join(root, 'samples', 'coffee.png'))) as RasterImage);
const limits = resolveLimits({});
const browser = args['no-browser'] ? null : await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
const page = browser == null ? null : await browser.newPage();
try {
  // Warm-up: each decoder's code (and MozJPEG's wasm) loaded before anything is timed.
  const warm = scanBomb(64, 64, 2);
  await decodeLr(warm);
  decodeJpegJs(warm, limits);
  if (page != null) await chromiumDecode(page, warm);

  console.log(`JPEG decode time, median of ${reps}; ${cpus().length} cores (${cpus()[0]?.model.trim()}), load ${loadavg()[0].toFixed(1)}; Node ${process.version}${browser != null ? `, Chromium ${browser.version()}` : ''}`);
  console.log('(x: the ratio to the real photo of the same size, same decoder)');
  console.log();
  console.log(`| frame | file | bytes | MozJPEG wasm ms | jpeg-js ms |${page != null ? ' Chromium ms |' : ''}`);
  console.log(`|---|---|---:|---:|---:|${page != null ? '---:|' : ''}`);
  for (const mp of sizesMp) {
    const side = Math.max(8, Math.round(Math.sqrt(mp * 1e6) / 8) * 8);
    const real = await encodeRaw(tile(photo, side, side), 'jpeg', lrEncoderVariants('jpeg', 75)[0]);
    const files: [string, Uint8Array][] = [['photo, MozJPEG q75 progressive', real], ...scanCounts.map((n): [string, Uint8Array] => [`grey, ${n} scans`, scanBomb(side, side, n)])];
    let base: number[] = [];
    for (const [name, bytes] of files) {
      // Core's cap first, as every reader applies it: a count above it is refused, not decoded.
      try {
        checkJpegScans(bytes);
      } catch (e) {
        console.log(`| ${side}x${side} | ${name} | ${bytes.length} | refused before decoding: ${(e as Error).message} |`);
        continue;
      }
      const ms = [await cell(() => decodeLr(bytes)), await cell(() => decodeJpegJs(bytes, limits))];
      if (page != null) ms.push(await cell(() => chromiumDecode(page, bytes)));
      if (base.length === 0) base = ms.map((c) => c.ms);
      const cells = ms.map(({ ms: t, refused }, i) =>
        refused != null ? `not decoded in ${t.toFixed(0)} ms (${refused})` : bytes === real ? `${t.toFixed(0)}` : `${t.toFixed(0)} (${(t / base[i]).toFixed(1)}x)`,
      );
      console.log(`| ${side}x${side} (${((side * side) / 1e6).toFixed(1)} MP) | ${name} | ${bytes.length} | ${cells.join(' | ')} |`);
    }
  }
} finally {
  await browser?.close();
}
