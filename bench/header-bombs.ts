// Header bombs in the browser: small files whose headers claim 20000 x 20000 pixels, read by
// Chromium's own decoders (createImageBitmap, a plain <img> shown in the page) and by
// @irn/core's decodeInput, a Rescaler call and <irn-image>, which read the size from the
// headers first and refuse (bench/README.md, "Header bombs").
//
//   pnpm bench:header-bombs [--bombs bmp,png,jpeg] [--routes createImageBitmap,img,decodeInput,rescaler,irn-image] [--cap 30]
//   node --import tsx bench/header-bombs.ts ...   (the same)
//
// The files come from test/fuzz/generators.ts, as the hostile-input tests build them: a 1 KB BMP
// (bmpHeader: a 24-bit header and 970 bytes of pixels), the 48 KB 1-bit PNG (pixelBomb, whose
// IDAT really inflates to its 50 MB of rows) and a 210-byte JPEG (jpegHeaderBomb), each
// claiming 20000 x 20000; `--bombs bmp,png,jpeg,gif` adds a GIF of 35 bytes (made here: the generators have
// no GIF). The page (bench/page/header-bombs-page.ts) is bundled with esbuild from the sources,
// core's included, so no build is needed.
//
// The browser's decoders run in a headless Debian Chromium (playwright-core) of their own per
// file and route, GPU process included; core's routes in a fresh browser context (renderers of
// their own) of one shared Chromium. Memory is the peak resident size of Chromium's processes
// over the idle page: before the route, each process's peak (VmHWM in /proc/<pid>/status) is
// reset by writing 5 to /proc/<pid>/clear_refs and its resident size noted; after it, peak
// minus that, summed over processes (read every 50 ms too, so a process that dies still
// counts). Unlike sampling the resident size, VmHWM misses no short spike; memory allocated and
// never touched is not counted, as it costs the machine nothing. Time is measured in the page,
// from the file's bytes in memory (or from setting the URL) until the route decoded (for the
// <img>: painted) or refused; a route still running after --cap seconds is stopped with its
// browser and printed as such.
import { createServer } from 'node:http';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { bmpHeader, jpegHeaderBomb, pixelBomb } from '../test/fuzz/generators.js';
import { chromiumArgs, chromiumPath } from '../test/chromium.mjs';
import type { PageSetup, Route, RouteResult } from './page/header-bombs-page.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const outDir = join(root, '.scratch', 'bench-header-bombs');
const ROUTES: Route[] = ['createImageBitmap', 'img', 'decodeInput', 'rescaler', 'irn-image'];
const { values: args } = parseArgs({
  options: {
    bombs: { type: 'string', default: 'bmp,png,jpeg' },
    routes: { type: 'string', default: ROUTES.join(',') },
    /** Seconds a route may run before it and its browser are stopped. */
    cap: { type: 'string', default: '30' },
  },
});
const capMs = Number(args.cap) * 1000;
if (!(capMs > 0)) throw new Error(`--cap takes seconds, got ${args.cap}`);

const SIDE = 20000;

/**
 * A GIF89a whose screen and one frame claim `width` x `height`, with a 2-colour table and one
 * pixel of LZW data (the browser fills the rest of the frame as if the file were cut short).
 */
function gifBomb(width: number, height: number): Uint8Array {
  const u16 = (n: number) => [n & 0xff, n >> 8];
  const screen = [...u16(width), ...u16(height), 0x80, 0, 0, 255, 255, 255, 0, 0, 0];
  const frame = [0x2c, 0, 0, 0, 0, ...u16(width), ...u16(height), 0, 2, 2, 0x44, 0x01, 0];
  return Uint8Array.from([...'GIF89a'].map((c) => c.charCodeAt(0)).concat(screen, frame, 0x3b));
}

const BOMBS: Record<string, { label: string; type: string; make: () => Uint8Array }> = {
  bmp: { label: 'BMP, 24-bit', type: 'image/bmp', make: () => bmpHeader(SIDE, SIDE, 1024 - 54) },
  png: { label: 'PNG, 1-bit grey (pixelBomb)', type: 'image/png', make: () => pixelBomb(SIDE) },
  gif: { label: 'GIF, 1 pixel of data', type: 'image/gif', make: () => gifBomb(SIDE, SIDE) },
  jpeg: { label: 'JPEG, baseline (jpegHeaderBomb)', type: 'image/jpeg', make: () => jpegHeaderBomb(SIDE, SIDE) },
};
const bombs = args.bombs.split(',').map((b) => {
  if (!(b in BOMBS)) throw new Error(`--bombs: unknown "${b}" (known: ${Object.keys(BOMBS).join(', ')})`);
  return b;
});
const routes = args.routes.split(',').map((r) => {
  if (!ROUTES.includes(r as Route)) throw new Error(`--routes: unknown "${r}" (known: ${ROUTES.join(', ')})`);
  return r as Route;
});

const t0 = Date.now();
const log = (msg: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s, load ${loadavg()[0].toFixed(1)}] ${msg}\n`);

// --- The page: bundled from bench/page/header-bombs-page.ts, served with the bombs and a small model.

mkdirSync(outDir, { recursive: true });
const files = new Map<string, { bytes: Uint8Array; type: string }>();
for (const b of bombs) files.set(`bomb.${b}`, { bytes: BOMBS[b].make(), type: BOMBS[b].type });
/**
 * Resolves `@irn/core` and its subpaths (which the element imports) to core's sources, by the
 * package's `exports` (./dist/X.js -> src/X.ts): the bench measures the working tree, built or not.
 */
const coreFromSource: esbuild.Plugin = {
  name: 'irn-core-from-source',
  setup(build) {
    const coreDir = join(root, 'packages', 'core');
    const exports = JSON.parse(readFileSync(join(coreDir, 'package.json'), 'utf8')).exports as Record<string, string | { import: string }>;
    build.onResolve({ filter: /^@irn\/core(\/|$)/ }, ({ path }) => {
      const entry = exports[`.${path.slice('@irn/core'.length)}`];
      const target = typeof entry === 'string' ? entry : entry?.import;
      if (target == null) return { errors: [{ text: `${path} is not exported by @irn/core` }] };
      return { path: join(coreDir, target.replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts')) };
    });
  },
};
await esbuild.build({
  entryPoints: { page: join(root, 'bench/page/header-bombs-page.ts') },
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  outdir: outDir,
  tsconfig: join(root, 'tsconfig.json'),
  define: { 'process.env.NODE_ENV': '"production"' },
  plugins: [coreFromSource],
  logLevel: 'error',
});
writeFileSync(join(outDir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="page.js"></script>');
// The tiny test models (test/browser/make-fixtures.ts): the Rescaler needs one before its call.
const weightsDir = join(root, 'test', 'browser', 'fixtures', 'weights');
const server = createServer(async (req, res) => {
  const name = decodeURIComponent((req.url ?? '/').split('?')[0]).slice(1) || 'index.html';
  const bomb = files.get(name);
  if (bomb != null) return void res.writeHead(200, { 'content-type': bomb.type, 'cache-control': 'no-store' }).end(bomb.bytes);
  const file = name.startsWith('weights/') ? join(weightsDir, normalize(name.slice('weights/'.length))) : join(outDir, normalize(name));
  if (!(file.startsWith(weightsDir + sep) || file.startsWith(outDir + sep))) return void res.writeHead(404).end();
  try {
    const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type }).end(await readFile(file));
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
const base = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
const setup: PageSetup = { modelUrl: `${base}weights/irn-x2/model.json`, weightsBase: `${base}weights/` };

// --- Chromium's processes and their memory, from /proc.

interface Proc {
  pid: number;
  /** `browser`, or Chromium's --type: renderer, gpu-process, utility, zygote. */
  kind: string;
}

/** Chromium's processes below this one (not esbuild's service, which is a child too). */
function chromiumProcesses(): Proc[] {
  const parent = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      parent.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // Gone meanwhile.
    }
  }
  const out: Proc[] = [];
  for (const pid of parent.keys()) {
    let p: number | undefined = pid;
    while (p != null && p > 1 && p !== process.pid) p = parent.get(p);
    if (p !== process.pid || pid === process.pid) continue;
    try {
      // Chromium rewrites its command line (one string, spaces between the arguments).
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!/^\S*chrom/i.test(cmdline)) continue;
      out.push({ pid, kind: /--type=([\w-]+)/.exec(cmdline)?.[1] ?? 'browser' });
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/** VmRSS and VmHWM (bytes) of `pid`, or null when it is gone. */
function memoryOf(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Watches Chromium's processes from now: resets each one's peak, notes its resident size, and
 * reads the peaks every 50 ms. `stop()` returns the peak over idle of each process kind.
 */
function watchMemory(): { stop(): Map<string, number> } {
  const idle = new Map<number, number>();
  const peak = new Map<number, { kind: string; hwm: number }>();
  for (const { pid } of chromiumProcesses()) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // Gone meanwhile.
    }
    const m = memoryOf(pid);
    if (m != null) idle.set(pid, m.rss);
  }
  const read = () => {
    for (const { pid, kind } of chromiumProcesses()) {
      const m = memoryOf(pid);
      if (m != null && m.hwm > (peak.get(pid)?.hwm ?? -1)) peak.set(pid, { kind, hwm: m.hwm });
    }
  };
  read();
  const timer = setInterval(read, 50);
  return {
    stop() {
      read();
      clearInterval(timer);
      const byKind = new Map<string, number>();
      for (const [pid, { kind, hwm }] of peak) byKind.set(kind, (byKind.get(kind) ?? 0) + Math.max(0, hwm - (idle.get(pid) ?? 0)));
      return byKind;
    },
  };
}

/** A browser launched here, and the pids of its own processes without a --type (to kill if it hangs). */
interface Launched {
  browser: Browser;
  pids: number[];
}

async function launch(): Promise<Launched> {
  const before = new Set(chromiumProcesses().map((p) => p.pid));
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
  return { browser, pids: chromiumProcesses().filter((p) => p.kind === 'browser' && !before.has(p.pid)).map((p) => p.pid) };
}

/** Ends a browser: closed politely, or its processes killed by their pids when that hangs. */
async function closeBrowser({ browser, pids }: Launched): Promise<void> {
  const closed = await Promise.race([browser.close().then(() => true, () => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
  if (closed) return;
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

// --- One route on one file.

interface Measured {
  ms: number;
  outcome: string;
  /** Peak over idle, bytes, per process kind. */
  memory: Map<string, number>;
  timedOut: boolean;
}

/** Routes that run the browser's decoder on the bomb: each gets a browser of its own (its GPU process too). */
const BROWSER_ROUTES: readonly Route[] = ['createImageBitmap', 'img'];

/**
 * Runs `route` on `bomb` in a fresh page of its own browser context (so renderer processes of
 * its own) in `shared`, or in a browser of its own for the browser's decoders.
 */
async function measure(bomb: string, route: Route, shared: Launched): Promise<Measured> {
  const own = BROWSER_ROUTES.includes(route) ? await launch() : null;
  const context = await (own ?? shared).browser.newContext();
  let watch: ReturnType<typeof watchMemory> | null = null;
  try {
    const page = await context.newPage();
    await page.goto(base);
    await page.waitForFunction(() => document.title === 'ready');
    await page.evaluate(([r, s]) => window.headerBombs.prepare(r, s), [route, setup] as const);
    await page.waitForTimeout(300);
    watch = watchMemory();
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const capped = new Promise<null>((r) => (timer = setTimeout(() => r(null), capMs)));
    const result = await Promise.race([
      page.evaluate(([r, u]) => window.headerBombs.run(r, u), [route, `${base}bomb.${bomb}`] as const).catch((e: Error): RouteResult => ({ ms: Date.now() - start, outcome: `the page failed: ${e.message.split('\n')[0]}` })),
      capped,
    ]);
    clearTimeout(timer);
    const memory = watch.stop();
    watch = null;
    if (result == null) return { ms: capMs, outcome: `not done in ${capMs / 1000} s (stopped)`, memory, timedOut: true };
    return { ...result, memory, timedOut: false };
  } finally {
    watch?.stop();
    if (own != null) await closeBrowser(own);
    else await Promise.race([context.close().catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
  }
}

// --- The table.

const MiB = 2 ** 20;
const mib = (bytes: number) => (bytes >= 1024 * MiB ? `${(bytes / 2 ** 30).toFixed(2)} GiB` : `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`);
const seconds = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(ms < 10 ? 1 : 0)} ms`);
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
/** The process kinds that took at least 1 MiB, largest first. */
const where = (m: Map<string, number>) =>
  [...m]
    .filter(([, b]) => b >= MiB)
    .sort((a, b) => b[1] - a[1])
    .map(([k, b]) => `${k.replace('-process', '')} ${mib(b)}`)
    .join(', ') || '-';
const ratio = (x: number, of: number) => (of > 0 ? `${(x / of).toPrecision(2)}x` : '-');
/** The browser route each of ours replaces: decodeInput ran createImageBitmap first before the header check; <irn-image> replaces an <img>. */
const BASELINE: Record<Route, Route> = { createImageBitmap: 'createImageBitmap', img: 'img', decodeInput: 'createImageBitmap', rescaler: 'createImageBitmap', 'irn-image': 'img' };
const LABEL: Record<Route, string> = {
  createImageBitmap: 'browser: `createImageBitmap(blob)`',
  img: 'browser: `<img>` shown (max-width 100%)',
  decodeInput: 'core: `decodeInput(blob)`',
  rescaler: 'core: `rescaler.downscale(blob)`',
  'irn-image': '`<irn-image src>`',
};

const shared = await launch();
const version = shared.browser.version();
log(`Chromium ${version}; ${bombs.length} files x ${routes.length} routes, cap ${capMs / 1000} s each`);
const results = new Map<string, Measured>();
for (const bomb of bombs) {
  for (const route of routes) {
    const m = await measure(bomb, route, shared);
    results.set(`${bomb}:${route}`, m);
    log(`${bomb} ${route}: ${seconds(m.ms)}, ${mib(total(m.memory))} (${where(m.memory)}): ${m.outcome}`);
  }
}
await closeBrowser(shared);
server.close();

console.log(`# Header bombs: files claiming ${SIDE} x ${SIDE} pixels, read by Chromium's decoders and by IRN's`);
console.log(`\nChromium ${version}, ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load ${loadavg()[0].toFixed(1)}; cap ${capMs / 1000} s per route`);
console.log('(x: against the browser route it replaces: createImageBitmap for decodeInput and the Rescaler, `<img>` for `<irn-image>`)\n');
console.log('| file | route | time | peak memory over idle | by process | vs browser (time, memory) | outcome |');
console.log('|---|---|---:|---:|---|---|---|');
for (const bomb of bombs) {
  const bytes = files.get(`bomb.${bomb}`)!.bytes.length;
  for (const route of routes) {
    const m = results.get(`${bomb}:${route}`)!;
    const b = results.get(`${bomb}:${BASELINE[route]}`);
    const vs = route === BASELINE[route] || b == null ? '' : `${b.timedOut ? '<' : ''}${ratio(m.ms, b.ms)}, ${b.timedOut ? '<' : ''}${ratio(total(m.memory), total(b.memory))}`;
    const outcome = m.outcome.replaceAll('|', '\\|').replace(/http:\/\/127\.0\.0\.1:\d+\//g, '');
    console.log(`| ${BOMBS[bomb].label}, ${bytes.toLocaleString('en')} bytes | ${LABEL[route]} | ${m.timedOut ? '>' : ''}${seconds(m.ms)} | ${m.timedOut ? '>' : ''}${mib(total(m.memory))} | ${where(m.memory)} | ${vs} | ${outcome} |`);
  }
}
// A decode that the page could not finish in the cap is printed as "> cap": its real cost is higher.
if ([...results.values()].some((m) => m.timedOut)) console.log(`\n(>: stopped at the cap; the real cost is higher. Raise it with --cap.)`);
