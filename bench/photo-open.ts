// Opening a large photo in the playground: what reading only the part it keeps (core's
// decodeInput `region`, playground/src/images.ts openPhoto) saves against decoding the whole
// photo to floats and cropping it after (what the playground did before), in headless Debian
// Chromium, one fresh browser per run (bench/README.md, "Opening a large photo").
//
//   pnpm bench:photo-open [--width 8000] [--height 6000] [--reps 2]
//   node --import tsx bench/photo-open.ts ...   (the same)
//
// Makes a JPEG of that size (Kodak's kodim01 from ../shared/datasets/eval, or IRN_KODAK, drawn
// nearest-neighbour, quality 80, MozJPEG through @jsquash/jpeg) in .scratch/bench-photo-open/,
// bundles a page with esbuild, serves both from 127.0.0.1 and prints, per route, the time to
// the 1024 x 1024 RGB crop and the peak resident memory of the browser's processes over the
// page's idle level (sampled from /proc every 50 ms, so a short spike may be missed).
import { createServer } from 'node:http';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';
import { decodePng } from '@irn/core';
import { chromiumArgs, chromiumPath } from '../test/chromium.mjs';
import { browserRss } from './browser-rss.js';
import { median } from './stats.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const outDir = join(root, '.scratch', 'bench-photo-open');
const { values: args } = parseArgs({
  options: { width: { type: 'string', default: '8000' }, height: { type: 'string', default: '6000' }, reps: { type: 'string', default: '2' } },
});
const W = Number(args.width);
const H = Number(args.height);
const reps = Number(args.reps);
if (!(Number.isInteger(W) && Number.isInteger(H) && W >= 16 && H >= 16 && W * H <= 1e8 && reps >= 1)) throw new Error('--width and --height: whole numbers of at least 16, at most 100 MP together; --reps at least 1');
mkdirSync(outDir, { recursive: true });

/** The test photo: kodim01 drawn nearest-neighbour to W x H, a little dither so it is not flat. */
async function makeJpeg(file: string): Promise<number> {
  if (existsSync(file)) return (await readFile(file)).length;
  const kodak = process.env.IRN_KODAK ?? join(root, '../shared/datasets/eval/kodak24');
  const src = decodePng(new Uint8Array(await readFile(join(kodak, 'kodim01.png'))));
  const rgba = new Uint8ClampedArray(W * H * 4);
  for (let y = 0; y < H; y++) {
    const sy = Math.floor((y * src.height) / H);
    for (let x = 0; x < W; x++) {
      const s = (sy * src.width + Math.floor((x * src.width) / W)) * src.channels;
      const d = (y * W + x) * 4;
      for (let c = 0; c < 3; c++) rgba[d + c] = Math.round(src.data[s + c] * 255) + ((x ^ y) & 3);
      rgba[d + 3] = 255;
    }
  }
  const entry = '@jsquash/jpeg/encode.js';
  const mod = (await import(entry)) as { init: (m: WebAssembly.Module) => Promise<unknown>; default: (d: ImageData, o: object) => Promise<ArrayBuffer> };
  await mod.init(await WebAssembly.compile(await readFile(new URL('codec/enc/mozjpeg_enc.wasm', import.meta.resolve(entry)))));
  const jpeg = new Uint8Array(await mod.default({ data: rgba, width: W, height: H, colorSpace: 'srgb' } as ImageData, { quality: 80 }));
  writeFileSync(file, jpeg);
  return jpeg.length;
}

const photo = `photo-${W}x${H}.jpg`;
const bytes = await makeJpeg(join(outDir, photo));
await esbuild.build({
  stdin: {
    contents: `
      import { decodeInput } from '@irn/core/browser';
      import { openPhoto, preparePhoto } from './playground/src/images.ts';
      window.openRoute = async (route, url) => {
        const t0 = performance.now();
        const photo = route === 'region' ? await openPhoto('p', url) : preparePhoto('p', (await decodeInput(url)).raster);
        return { ms: performance.now() - t0, size: photo.image.width + 'x' + photo.image.height, note: photo.note };
      };`,
    resolveDir: root,
    loader: 'ts',
  },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outfile: join(outDir, 'page.js'),
  tsconfig: join(root, 'tsconfig.json'),
  logLevel: 'error',
});
writeFileSync(join(outDir, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>');
const server = createServer(async (req, res) => {
  const name = (req.url ?? '/').split('?')[0].slice(1) || 'index.html';
  if (!['index.html', 'page.js', photo].includes(name)) return void res.writeHead(404).end();
  const type = name.endsWith('.html') ? 'text/html' : name.endsWith('.js') ? 'text/javascript' : 'image/jpeg';
  res.writeHead(200, { 'content-type': type }).end(await readFile(join(outDir, name)));
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;

async function run(route: 'whole' | 'region'): Promise<{ ms: number; peakMiB: number; size: string; note: string }> {
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  try {
    const page = await browser.newPage();
    await page.goto(base);
    await page.waitForFunction(() => 'openRoute' in window);
    await page.waitForTimeout(500);
    let idle = 0;
    for (let i = 0; i < 5; i++, await page.waitForTimeout(100)) idle = Math.max(idle, browserRss());
    let peak = idle;
    const timer = setInterval(() => (peak = Math.max(peak, browserRss())), 50);
    const out = await page.evaluate(([r, u]) => (window as unknown as { openRoute: (r: string, u: string) => Promise<{ ms: number; size: string; note: string }> }).openRoute(r, u), [route, base + photo]);
    clearInterval(timer);
    peak = Math.max(peak, browserRss());
    return { ...out, peakMiB: (peak - idle) / 2 ** 20 };
  } finally {
    await browser.close();
  }
}

console.log(`# Opening a ${W}x${H} JPEG (${(bytes / 2 ** 20).toFixed(1)} MiB) in the playground, ${reps} run(s) per route, alternating\n`);
const results: Record<string, { ms: number[]; mib: number[]; size: string; note: string }> = {};
for (let i = 0; i < reps; i++) {
  for (const route of ['whole', 'region'] as const) {
    const r = await run(route);
    const e = (results[route] ??= { ms: [], mib: [], size: r.size, note: r.note });
    e.ms.push(r.ms);
    e.mib.push(r.peakMiB);
  }
}
server.close();
const label = { whole: 'decode whole, then crop (before)', region: 'decodeInput region (openPhoto)' };
console.log('| route | result | time (median) | peak memory over idle (median) |');
console.log('|---|---|---|---|');
for (const route of ['whole', 'region'] as const) {
  const r = results[route];
  console.log(`| ${label[route]} | ${r.size}, ${r.note} | ${(median(r.ms) / 1000).toFixed(2)} s | ${median(r.mib).toFixed(0)} MiB |`);
}
const [a, b] = [results.whole, results.region];
console.log(`\nregion / whole: time ${(median(b.ms) / median(a.ms)).toFixed(2)}x, memory ${(median(b.mib) / median(a.mib)).toFixed(2)}x`);
