// Browser throughput: IRN upscale through `Rescaler` (main thread) per tfjs backend, next to
// UpscalerJS (esrgan-slim) on the same backend, image and page, and next to plain tf.conv2d
// on the same conv shapes (bench/README.md, "Browser throughput").
//
//   pnpm bench:browser [--quick] [--backends wasm,webgl,webgpu] [--reps 1] [--no-upscalerjs]
//   pnpm bench:browser --memory --backends wasm [--sizes 1,16]   peak memory instead of speed
//   node --import tsx bench/browser-throughput.ts ...   (the same)
//
// Bundles bench/page/bench-page.ts with esbuild into .scratch/bench-browser/, serves it and
// the repository's files (weights, samples, tfjs-backend-wasm's .wasm, esrgan-slim's model)
// from 127.0.0.1, drives headless Debian Chromium (playwright-core, never a downloaded
// browser) with one fresh page per backend, prints Markdown tables, and stops everything.
// Sizes are output megapixels: 1 and 4 by default; --quick runs wasm at 0.25 and 1 MP and the
// software WebGL/WebGPU at 0.016 MP (124x124) only, with one conv2d round: about 9 minutes on
// the 2-core build machine. The full run takes hours there (SwiftShader: about 0.1-0.3 GFLOP/s).
import { createServer, type Server } from 'node:http';
import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../test/chromium.mjs';
import { median } from './stats.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const outDir = join(root, '.scratch', 'bench-browser');

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    backends: { type: 'string', default: 'wasm,webgl,webgpu' },
    /** Timed runs after the warmup run. */
    reps: { type: 'string', default: '1' },
    /** Output sizes in megapixels for wasm, comma-separated (overrides --quick's). */
    sizes: { type: 'string' },
    /** Output sizes in megapixels for webgl and webgpu (software here: overrides --quick's). */
    'gpu-sizes': { type: 'string' },
    scales: { type: 'string', default: '2,4' },
    'no-upscalerjs': { type: 'boolean', default: false },
    /** UpscalerJS patchSize in LR px (0: whole image, its default) and padding. */
    'usjs-patch': { type: 'string', default: '0' },
    'usjs-padding': { type: 'string', default: '8' },
    /** Rounds of the conv2d loop after its warmup round. */
    'conv-rounds': { type: 'string' },
    'x4-model': { type: 'string', default: 'weights/irn-x4' },
    chromium: { type: 'string', default: chromiumPath },
    json: { type: 'string', default: join('.scratch', 'bench-browser', 'results.json') },
    /** Instead of throughput: peak memory of one x2 downscale and upscale per size (`--sizes`, default 1,16 MP). */
    memory: { type: 'boolean', default: false },
  },
});

const backends = args.backends.split(',').map((s) => s.trim()).filter(Boolean) as ('wasm' | 'webgl' | 'webgpu')[];
const scales = args.scales.split(',').map(Number) as (2 | 4)[];
const sizesMp = (args.sizes ?? (args.memory ? '1,16' : args.quick ? '0.25,1' : '1,4')).split(',').map(Number);
// SwiftShader WebGL ran IRN at about 0.2 GFLOP/s here (a 0.06 MP x2 upscale: 40 s), so --quick
// gives the software GPU backends one 124x124 output (LR 62x62 at x2, 31x31 at x4).
const gpuSizesMp = (args['gpu-sizes'] ?? args.sizes ?? (args.quick ? '0.015625' : '1,4')).split(',').map(Number);
const sizesFor = (backend: string) => (backend === 'wasm' ? sizesMp : gpuSizesMp);
const reps = Number(args.reps);
const convRounds = Number(args['conv-rounds'] ?? (args.quick ? 1 : 2));
const usjsPatch = Number(args['usjs-patch']);
const usjsPadding = Number(args['usjs-padding']);

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s, load ${loadavg()[0].toFixed(1)}] ${msg}\n`);

/** Output side in px for `mp` megapixels, a multiple of 4 so that x2 and x4 LR sizes are whole. */
function sideOf(mp: number): number {
  return Math.round(Math.sqrt(mp * 1e6) / 4) * 4;
}

/**
 * Copies the models into the output folder, so that a training run rewriting `weights/` during
 * the benchmark cannot hand the page a model.json and a shard from two different saves.
 * Returns the URL paths of x2 and x4 (null: no x4 weights, the page makes a perturbed model).
 */
function snapshotWeights(): { x2: string; x4: string | null } {
  const dest = join(outDir, 'weights');
  rmSync(dest, { recursive: true, force: true });
  cpSync(join(root, 'weights', 'irn-x2'), join(dest, 'irn-x2'), { recursive: true });
  const x4 = existsSync(join(root, args['x4-model'], 'model.json'));
  if (x4) cpSync(join(root, args['x4-model']), join(dest, 'irn-x4'), { recursive: true });
  return { x2: 'bundle/weights/irn-x2/model.json', x4: x4 ? 'bundle/weights/irn-x4/model.json' : null };
}

async function bundle(): Promise<void> {
  mkdirSync(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: { 'bench-page': join(root, 'bench/page/bench-page.ts') },
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: outDir,
    tsconfig: join(root, 'tsconfig.json'),
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'error',
  });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.bin': 'application/octet-stream',
};

/** Static files: `/bundle/*` from the esbuild output, the rest from the repository (a few folders only). */
function serve(): Promise<{ server: Server; origin: string }> {
  const allowed = ['bench/page/', 'weights/', 'samples/', 'node_modules/'];
  const server = createServer(async (req, res) => {
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname).replace(/^\/+/, '');
      const file = path.startsWith('bundle/') ? join(outDir, path.slice('bundle/'.length)) : join(root, normalize(path));
      const inside = file.startsWith(outDir + sep) || (file.startsWith(root + sep) && allowed.some((a) => path.startsWith(a)));
      if (!inside || !(await stat(file)).isFile()) throw new Error('not found');
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
      res.end(await readFile(file));
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((ok) => server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as { port: number };
    ok({ server, origin: `http://127.0.0.1:${port}` });
  }));
}

interface Row {
  backend: string;
  scale: number;
  mp: number;
  side: number;
  irn?: { times: number[]; warmup: number; flops: number; flopsNoOverlap: number; tiles: number; largestCrop: { w: number; h: number }; invalid?: string };
  usjs?: { times: number[]; warmup: number; flops: number; invalid?: string } | { error: string };
}

/** Rows of `--memory`. */
const memoryRows: { backend: string; mp: number; op: string; side: number; inputSide: number; tiles: number; peakBytes: number; seconds: number; wasmHeapBytes: number | null; liveBytesAfter: number }[] = [];

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '-');

async function runBackend(
  browser: Browser,
  origin: string,
  models: { x2: string; x4: string | null },
  backend: 'wasm' | 'webgl' | 'webgpu',
  results: Record<string, unknown>,
  rows: Row[],
): Promise<void> {
  const page: Page = await browser.newPage();
  page.on('pageerror', (e) => log(`${backend} page error: ${e.message}`));
  // WebGPU reports shader compile errors as console warnings and then skips the kernel: a run
  // that printed one produced wrong pixels, and its time means nothing.
  let shaderErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && m.type() !== 'warning') return;
    const text = m.text();
    if (/Error while parsing WGSL|Invalid ShaderModule|Invalid ComputePipeline|GL_INVALID|shader compil/i.test(text)) shaderErrors.push(text.split('\n')[0]);
    if (shaderErrors.length <= 3 || !/is invalid due to a previous error/.test(text)) log(`${backend} console.${m.type()}: ${text.slice(0, 300)}`);
  });
  const takeShaderErrors = () => {
    const e = shaderErrors;
    shaderErrors = [];
    return e;
  };
  page.setDefaultTimeout(0);
  try {
    await page.goto(`${origin}/bench/page/index.html`);
    await page.waitForFunction(() => document.title === 'ready', undefined, { timeout: 120_000 });
    const info = await page.evaluate((o) => window.irnBench.init(o as never), {
      backend,
      wasmPaths: `${origin}/node_modules/@tensorflow/tfjs-backend-wasm/dist/`,
      x2Url: `${origin}/${models.x2}`,
      x4Url: models.x4 == null ? null : `${origin}/${models.x4}`,
      x4Arch: { scale: 4, blocks: 4, growth: 16 },
      photoUrl: `${origin}/samples/astronaut.png`,
    });
    log(`${backend}: ${JSON.stringify(info)}`);
    results[`${backend}:info`] = info;
    if (args.memory) {
      for (const mp of sizesFor(backend)) {
        for (const op of ['downscale', 'upscale'] as const) {
          const side = sideOf(mp);
          log(`${backend} x2 ${op} ${mp} MP (${side}x${side}): memory`);
          const m = await page.evaluate(([o, sd]) => window.irnBench.memory(2, o as 'downscale' | 'upscale', sd as number), [op, side] as const);
          log(`  ${JSON.stringify(m)}`);
          memoryRows.push({ backend, mp, ...m });
        }
      }
      return;
    }
    for (const scale of scales) {
      let largest = { w: 0, h: 0 };
      for (const mp of sizesFor(backend)) {
        const side = sideOf(mp);
        const lr = side / scale;
        const row: Row = { backend, scale, mp, side };
        log(`${backend} x${scale} ${mp} MP (${side}x${side} from ${lr}x${lr}): IRN`);
        takeShaderErrors();
        row.irn = await page.evaluate(([s, w, r]) => window.irnBench.irn(s as 2 | 4, w, w, r), [scale, lr, reps] as const);
        const irnErrors = takeShaderErrors();
        if (irnErrors.length > 0) row.irn = { ...row.irn, invalid: irnErrors[0] };
        log(`  IRN warmup ${fmt(row.irn.warmup)} s, runs ${row.irn.times.map((t) => fmt(t)).join(', ')} s, ${row.irn.tiles} tiles`);
        if (row.irn.largestCrop.w * row.irn.largestCrop.h > largest.w * largest.h) largest = row.irn.largestCrop;
        if (!args['no-upscalerjs']) {
          log(`${backend} x${scale} ${mp} MP: UpscalerJS esrgan-slim`);
          try {
            row.usjs = await page.evaluate(
              ([s, w, r, p, pad, base]) => window.irnBench.upscalerjs(s as 2 | 4, w, w, r, p, pad, base as string),
              [scale, lr, reps, usjsPatch, usjsPadding, `${origin}/node_modules/@upscalerjs/esrgan-slim/models`] as const,
            );
            log(`  UpscalerJS warmup ${fmt(row.usjs.warmup)} s, runs ${row.usjs.times.map((t) => fmt(t)).join(', ')} s`);
            const usjsErrors = takeShaderErrors();
            if (usjsErrors.length > 0) row.usjs = { ...row.usjs, invalid: usjsErrors[0] };
          } catch (e) {
            row.usjs = { error: (e as Error).message.split('\n')[0] };
            log(`  UpscalerJS failed: ${row.usjs.error}`);
          }
        }
        rows.push(row);
      }
      // The model alone first: the conv loop holds every distinct conv input at once, and the
      // wasm heap never shrinks, so after it x4's 310 px crop ran out of wasm memory ("memory
      // access out of bounds") where the Rescaler's tiles of the same size had run fine.
      log(`${backend} x${scale}: IrnModel.upscale alone on a ${largest.w}x${largest.h} LR crop`);
      takeShaderErrors();
      let bare: Awaited<ReturnType<Window['irnBench']['bare']>> | { error: string };
      try {
        bare = await page.evaluate(([s, w, h, r]) => window.irnBench.bare(s as 2 | 4, w, h, r), [scale, largest.w, largest.h, convRounds] as const);
        log(`  model warmup ${fmt(bare.warmup)} s, rounds ${bare.times.map((t) => fmt(t)).join(', ')} s`);
      } catch (e) {
        bare = { error: (e as Error).message.split('\n')[0] };
        log(`  model alone failed: ${bare.error}`);
      }
      results[`${backend}:x${scale}:bare`] = bare;
      log(`${backend} x${scale}: tf.conv2d loop on a ${largest.w}x${largest.h} LR crop`);
      const conv = await page.evaluate(([s, w, h, r]) => window.irnBench.conv(s as 2 | 4, w, h, r), [scale, largest.w, largest.h, convRounds] as const);
      log(`  conv2d warmup ${fmt(conv.warmup)} s, rounds ${conv.times.map((t) => fmt(t)).join(', ')} s (${fmt(conv.flops / 1e9, 1)} GFLOP, ${conv.convs} convs)`);
      results[`${backend}:x${scale}:conv`] = conv;
      for (const row of rows.filter((r) => r.scale === scale && r.backend === backend)) Object.assign(row, { conv, bare });
    }
  } finally {
    await page.close().catch(() => undefined);
  }
}

type Loop = { times: number[]; flops: number };

function table(rows: (Row & { conv?: Loop; bare?: Loop | { error: string } })[]): string {
  const head = [
    'backend', 'scale', 'output', 'IRN s', 'IRN MP/s', 'UpscalerJS s', 'UpscalerJS MP/s', 'IRN speed / UpscalerJS',
    'IRN GFLOP', 'IRN GFLOP/s', 'conv2d GFLOP/s', 'IRN / conv2d', 'model alone / conv2d', 'UpscalerJS GFLOP/s',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const mpOut = (r.side * r.side) / 1e6;
    const irnS = r.irn ? median(r.irn.times) : NaN;
    const usjsS = r.usjs && 'times' in r.usjs ? median(r.usjs.times) : NaN;
    const convGflops = r.conv ? r.conv.flops / median(r.conv.times) / 1e9 : NaN;
    const bareGflops = r.bare && 'times' in r.bare ? r.bare.flops / median(r.bare.times) / 1e9 : NaN;
    const irnGflops = r.irn ? r.irn.flops / irnS / 1e9 : NaN;
    const flag = r.backend === 'webgpu' ? ' (SwiftShader*)' : r.backend === 'webgl' ? ' (SwiftShader)' : '';
    lines.push(`| ${[
      `${r.backend}${flag}`,
      `x${r.scale}`,
      `${fmt(mpOut, 2)} MP (${r.side}x${r.side})`,
      `${fmt(irnS)}${r.irn?.invalid ? ' (invalid: shader errors)' : ''}`,
      (mpOut / irnS).toPrecision(3),
      r.usjs && 'error' in r.usjs ? `failed: ${r.usjs.error}` : `${fmt(usjsS)}${r.usjs && 'invalid' in r.usjs && r.usjs.invalid ? ' (invalid: shader errors)' : ''}`,
      Number.isFinite(usjsS) ? (mpOut / usjsS).toPrecision(3) : '-',
      Number.isFinite(usjsS) ? `${fmt(usjsS / irnS)}x` : '-',
      fmt(r.irn ? r.irn.flops / 1e9 : NaN, 1),
      fmt(irnGflops),
      fmt(convGflops),
      `${fmt((100 * irnGflops) / convGflops, 0)} %`,
      r.bare && 'error' in r.bare ? `failed: ${r.bare.error}` : `${fmt((100 * bareGflops) / convGflops, 0)} %`,
      r.usjs && 'times' in r.usjs ? `${fmt(r.usjs.flops / usjsS / 1e9)} (${fmt(r.usjs.flops / 1e9, 1)} GFLOP)` : '-',
    ].join(' | ')} |`);
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const load0 = loadavg();
  log(`bundling bench/page/bench-page.ts`);
  await bundle();
  const models = snapshotWeights();
  const { server, origin } = await serve();
  log(`serving on ${origin}; backends ${backends.join(', ')}; scales ${scales.map((s) => `x${s}`).join(', ')}; sizes ${sizesMp.join(', ')} MP (wasm), ${gpuSizesMp.join(', ')} MP (webgl, webgpu); ${reps} timed run(s) after 1 warmup`);
  const results: Record<string, unknown> = {};
  const rows: Row[] = [];
  try {
    // A fresh browser per backend: a crashed GPU process (seen with software WebGPU) then
    // takes only its own backend's figures with it.
    for (const backend of backends) {
      const browser = await chromium.launch({ executablePath: args.chromium, headless: true, args: chromiumArgs });
      try {
        results.chromium = browser.version();
        await runBackend(browser, origin, models, backend, results, rows);
      } catch (e) {
        log(`${backend} failed: ${(e as Error).message}`);
        results[`${backend}:error`] = (e as Error).message;
      } finally {
        await browser.close().catch(() => undefined);
      }
    }
  } finally {
    await new Promise((ok) => server.close(ok));
  }
  const load1 = loadavg();
  const x4 = models.x4 != null ? `${args['x4-model']} (copied at the start)` : 'IrnModel.create({ scale: 4, blocks: 4, growth: 16 }) with perturbed weights';
  const meta = {
    date: new Date().toISOString(),
    cpu: `${cpus()[0]?.model ?? '?'} x ${cpus().length}`,
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    chromium: results.chromium,
    loadavgStart: load0.map((x) => x.toFixed(2)).join(' '),
    loadavgEnd: load1.map((x) => x.toFixed(2)).join(' '),
    wallS: Math.round((Date.now() - t0) / 1000),
    sizesMp,
    gpuSizesMp,
    reps,
    x2: 'weights/irn-x2',
    x4,
    usjsPatch,
  };
  mkdirSync(join(root, '.scratch', 'bench-browser'), { recursive: true });
  writeFileSync(join(root, args.json), JSON.stringify({ meta, rows, results, memoryRows }, null, 2));
  if (args.memory) {
    const mb = (b: number | null) => (b == null ? '-' : (b / 2 ** 20).toFixed(0));
    console.log(`## Peak memory in Chromium (Rescaler, main thread, x2, default tiling)\n`);
    console.log(`${meta.date}; ${meta.cpu}; load average ${meta.loadavgStart} at start, ${meta.loadavgEnd} at end; Chromium ${meta.chromium}; wall ${meta.wallS} s.\n`);
    console.log('| backend | op | image | tiles | peak tensor MB | wasm heap after MB | live tensor MB after | s |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const r of memoryRows) {
      const size = r.op === 'downscale' ? `${r.side}x${r.side} in` : `${r.inputSide}x${r.inputSide} -> ${r.side}x${r.side}`;
      console.log(`| ${r.backend} | ${r.op} | ${r.mp} MP (${size}) | ${r.tiles} | ${mb(r.peakBytes)} | ${mb(r.wasmHeapBytes)} | ${mb(r.liveBytesAfter)} | ${r.seconds.toFixed(1)} |`);
    }
    console.log(`\nRaw figures: ${args.json}`);
    return;
  }
  console.log(`## Browser throughput (IRN upscale via Rescaler, main thread)\n`);
  console.log(`${meta.date}; ${meta.cpu}, ${meta.memGiB} GiB; load average ${meta.loadavgStart} at start, ${meta.loadavgEnd} at end; Chromium ${meta.chromium}; wall ${meta.wallS} s.`);
  console.log(`Models: x2 ${meta.x2}, x4 ${meta.x4}. UpscalerJS: esrgan-slim, ${usjsPatch > 0 ? `patchSize ${usjsPatch}, padding ${usjsPadding}` : 'whole image (no patchSize)'}.`);
  console.log(`Seconds: median of ${reps} timed run(s) after one warmup run at the same size. GFLOP: IRN's dense-block 3x3 convs, tile overlap included.`);
  console.log(`conv2d: plain tf.conv2d on the same conv shapes as one tile (the largest crop of that backend and scale), ${convRounds} round(s) after a warmup round; model alone: IrnModel.upscale on that crop, no Rescaler.`);
  console.log(`* WebGPU and WebGL here are software (SwiftShader on 2 busy CPU cores): not representative of GPUs.`);
  console.log(`Shader errors seen: ${JSON.stringify(rows.flatMap((r) => [r.irn?.invalid && `IRN ${r.backend} x${r.scale}: ${r.irn.invalid}`, r.usjs && 'invalid' in r.usjs && r.usjs.invalid && `UpscalerJS ${r.backend} x${r.scale}: ${r.usjs.invalid}`]).filter(Boolean))}\n`);
  console.log(table(rows));
  console.log(`\nRaw figures: ${args.json}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
