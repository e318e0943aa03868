// What Vite's `worker.format` does to the rescaler's worker: the workspace's packages, packed
// and installed with npm into a fresh app (test/consumer/'s app: `<irn-image>` with one import,
// and `Rescaler` in a worker), built by `vite build` twice, with Vite's default worker format
// ('iife') and with `worker: { format: 'es' }`, each served by a plain static server and opened
// in Chromium. Prints, per format, the worker files Vite emitted and, per page, the JavaScript
// the page and its worker fetched for a restore on wasm (raw and gzipped, minified as Vite
// builds), with the backend and the Y-PSNR against the repository CLI's own restore.
//
//   node --import tsx bench/vite-worker-format.ts     (needs `pnpm build` and the npm registry)
//
// Why: an 'iife' worker cannot split, so Vite inlines every dynamic import of @irn/core's
// prebuilt worker (each tfjs backend its own chunk there) into one file; nothing in how a
// library writes `new Worker(new URL(...), { type: 'module' })` changes that (Vite 8 takes the
// format from `worker.format` alone).
import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { checkOutcome, elementOutcome, makeReference, recordIrnEvents, rescalerOutcome, watchPage, weightsSetup, writeAppSources, type Reference } from '../test/consumer/app.js';
import { VITE_VERSION, launchChromium, makeTemp, npmInstall, packAll, removeTemp, runStep, staticServer, type RunningServer } from '../test/consumer/harness.js';

const FORMATS = [
  { label: "default ('iife')", config: '' },
  { label: "worker: { format: 'es' }", config: " worker: { format: 'es' }," },
];

const kib = (n: number) => `${(n / 1024).toFixed(1)}`;

/** Vite's name for the worker's entry (`worker-<hash>.js`) and its chunks (`worker.<name>-<hash>.js`); `worker-client-<hash>.js` is the page's side. */
const isWorkerFile = (name: string) => /^worker(-[\w-]{8}|\..*)\.js$/.test(name) && !name.startsWith('worker-client-');

/** Raw and gzipped bytes of files in `dir`. */
function sizes(dir: string, files: string[]): { raw: number; gz: number } {
  let raw = 0;
  let gz = 0;
  for (const f of files) {
    const bytes = readFileSync(join(dir, f));
    raw += bytes.length;
    gz += gzipSync(bytes).length;
  }
  return { raw, gz };
}

/** Opens a page, waits for its restore, checks it; returns a table row of what it fetched. */
async function measurePage(browser: Browser, server: RunningServer, outDir: string, reference: Reference, kind: 'element' | 'Rescaler', path: string): Promise<string> {
  const page = await browser.newPage();
  const problems = await watchPage(page);
  const logLines = () => (server.log() === '' ? [] : server.log().split('\n'));
  const seen = logLines().length;
  try {
    await page.addInitScript(recordIrnEvents);
    await page.goto(`${server.url}${path}`);
    const outcome = kind === 'element' ? await elementOutcome(page, 90_000) : await rescalerOutcome(page, 90_000);
    const psnr = checkOutcome(outcome, reference);
    const lines = logLines().slice(seen);
    const fetched = [...new Set(lines.filter((l) => /^200 GET \/.*\.js$/.test(l)).map((l) => l.slice('200 GET /'.length)))];
    const all = sizes(outDir, fetched);
    const worker = sizes(outDir, fetched.filter((f) => isWorkerFile(f.slice(f.lastIndexOf('/') + 1))));
    return `| ${kind} | ${outcome.backend}, ${psnr.toFixed(3)} dB | ${fetched.length} | ${kib(all.raw)} / ${kib(all.gz)} | ${kib(worker.raw)} / ${kib(worker.gz)} |`;
  } catch (error) {
    throw new Error(`${kind} page: ${error instanceof Error ? error.message : String(error)}\n${problems.join('\n')}`);
  } finally {
    await page.close();
  }
}

const work = makeTemp('vite-worker');
let browser: Browser | undefined;
try {
  const tarballs = await packAll(join(work, 'tarballs'));
  const dependencies = Object.fromEntries(['@irn/element', '@irn/core', '@irn/weights'].filter((n) => tarballs.has(n)).map((n) => [n, `file:${tarballs.get(n)}`]));
  const appDir = join(work, 'app');
  await npmInstall(appDir, dependencies, { vite: VITE_VERSION });
  const reference = await makeReference(join(work, 'reference'));
  writeAppSources(appDir, join(reference.dir, 'photo.lr.png'), weightsSetup(tarballs.has('@irn/weights')));
  browser = await launchChromium();
  console.log(`Vite ${VITE_VERSION}; the repository CLI's restore: ${reference.psnr.toFixed(3)} dB. KiB raw / gzipped.\n`);
  for (const { label, config } of FORMATS) {
    writeFileSync(join(appDir, 'vite.config.js'), `export default {${config} build: { rolldownOptions: { input: { main: 'index.html', rescaler: 'rescaler.html' } } } };\n`);
    const outDir = join(appDir, 'dist');
    rmSync(outDir, { recursive: true, force: true });
    const build = await runStep('vite build', process.execPath, [join(appDir, 'node_modules/vite/bin/vite.js'), 'build'], { cwd: appDir, timeoutMs: 120_000 });
    const workerFiles = readdirSync(join(outDir, 'assets')).filter(isWorkerFile);
    const emitted = sizes(join(outDir, 'assets'), workerFiles);
    const server = await staticServer(outDir);
    try {
      console.log(`### ${label}: vite build ${(build.ms / 1000).toFixed(1)} s; worker files emitted: ${workerFiles.length}, ${kib(emitted.raw)} / ${kib(emitted.gz)}\n`);
      console.log('| page | backend, Y-PSNR | .js files fetched | all .js fetched | of which the worker |');
      console.log('|---|---|---|---|---|');
      console.log(await measurePage(browser, server, outDir, reference, 'element', 'index.html'));
      console.log(await measurePage(browser, server, outDir, reference, 'Rescaler', 'rescaler.html'));
      console.log();
    } finally {
      await server.stop();
    }
  }
} finally {
  await browser?.close();
  removeTemp(work);
}
