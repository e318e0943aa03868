/**
 * What a web developer meets (issue 14, item 5): the workspace's packages, packed as they would
 * be published, installed with npm into a fresh app outside the repository, restore a 0.24 MP
 * photo in Debian's Chromium through
 *   - `vite build`, served by a plain static server, and a second build of the same app with
 *     `worker: { format: 'es' }` (what the READMEs recommend), whose worker must leave the WebGL
 *     and WebGPU backends to chunks that a restore on wasm does not fetch,
 *   - Vite's dev server (no configuration beyond what the READMEs say),
 *   - a webpack 5 production build (a webpack.config.js with the entries and the output folder,
 *     nothing for our packages), served by a plain static server, and a second build in the same
 *     run that imports the one-file bundle with webpack's ES module output,
 *   - `@irn/element`'s one-file bundle and its .wasm files from a plain static server,
 * each with `<irn-image>` (main.js is `import '@irn/element'`) and, for the Vite and webpack
 * routes, a second page with `Rescaler` from `@irn/core/browser` in a worker. Each restore must run on
 * wasm (software WebGL is never picked; Chromium starts as every test here starts it) and reach
 * the Y-PSNR of the repository CLI's own restore within 0.1 dB.
 *
 *   pnpm test:consumer        (part of `pnpm test`; needs `pnpm build` and the npm registry)
 *   IRN_CONSUMER_KEEP=1 ...   keeps the temp app for a look
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser } from 'playwright-core';
import {
  PHOTO,
  checkOutcome,
  elementOutcome,
  explain,
  makeReference,
  recordIrnEvents,
  rescalerOutcome,
  watchPage,
  weightsSetup,
  writeAppSources,
  writeBundleSite,
  writeWebpackPages,
  VITE_WORKER_ES_CONFIG,
  VITE_WORKER_ES_OUT,
  WEBPACK_OUT,
  type PageOutcome,
  type Reference,
} from './app.js';
import {
  ROOT,
  VITE_VERSION,
  WEBPACK_CLI_VERSION,
  WEBPACK_VERSION,
  freePort,
  launchChromium,
  makeTemp,
  npmInstall,
  packAll,
  removeTemp,
  runStep,
  startProcess,
  staticServer,
  workspacePackages,
  type RunningServer,
} from './harness.js';

const second = 1000;
/** One page's restore, model download and backend start included (generous: CI machines vary 2.5x). */
const PAGE_TIMEOUT = 60 * second;

let work: string | undefined;
let appDir = '';
let reference: Reference;
let browser: Browser | undefined;
let weightsPackaged = false;
const timings: string[] = [];

/** The web packages an app installs: `@irn/element`, the weights package if there is one, and their workspace dependencies, as tarballs. */
function webDependencies(tarballs: Map<string, string>): Record<string, string> {
  const packages = new Map(workspacePackages().map((p) => [p.name, p]));
  const wanted = ['@irn/element', ...(tarballs.has('@irn/weights') ? ['@irn/weights'] : [])];
  const deps: Record<string, string> = {};
  while (wanted.length > 0) {
    const name = wanted.pop()!;
    if (deps[name] != null) continue;
    const tarball = tarballs.get(name);
    assert.ok(tarball != null, `no tarball for ${name}`);
    deps[name] = `file:${tarball}`;
    const pkg = packages.get(name)!;
    wanted.push(...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter((d) => packages.has(d)));
  }
  // A diagnosis aid, never set in CI: more packages to install (`name@version`, space-separated).
  for (const spec of (process.env.IRN_CONSUMER_EXTRA ?? '').split(/\s+/).filter(Boolean)) {
    const at = spec.lastIndexOf('@');
    deps[spec.slice(0, at)] = spec.slice(at + 1);
  }
  return deps;
}

before(async () => {
  const started = performance.now();
  work = makeTemp('web');
  const tarballs = await packAll(join(work, 'tarballs'));
  const dependencies = webDependencies(tarballs);
  for (const pkg of workspacePackages().filter((p) => dependencies[p.name] != null)) {
    assert.ok(existsSync(join(pkg.dir, 'dist')), `${pkg.name} has no dist/: run \`pnpm build\` first`);
  }
  const packed = performance.now();
  reference = await makeReference(join(work, 'reference'));
  const referenced = performance.now();
  weightsPackaged = tarballs.has('@irn/weights');
  appDir = join(work, 'app');
  const install = await npmInstall(appDir, dependencies, { vite: VITE_VERSION, webpack: WEBPACK_VERSION, 'webpack-cli': WEBPACK_CLI_VERSION });
  const weights = weightsSetup(weightsPackaged);
  writeAppSources(appDir, join(reference.dir, 'photo.lr.png'), { ...weights, copyFrom: weightsPackaged ? undefined : join(ROOT, 'weights') });
  browser = await launchChromium();
  timings.push(
    `pack ${[...tarballs.keys()].join(', ')}: ${((packed - started) / second).toFixed(1)} s`,
    `reference (repository CLI, downscale + upscale ${PHOTO.width}x${PHOTO.height}): ${((referenced - packed) / second).toFixed(1)} s, Y-PSNR ${reference.psnr.toFixed(3)} dB`,
    `npm install: ${(install.ms / second).toFixed(1)} s`,
    `weights: ${weightsPackaged ? 'from the @irn/weights package' : 'copied to public/weights/ and named by weights-base (no weights package yet)'}`,
  );
});

after(async () => {
  await browser?.close();
  for (const line of timings) console.log(line);
  removeTemp(work);
});

/** Opens `url`, waits for its restore, checks it; reports the timings. */
async function checkPage(t: TestContext, route: string, kind: 'element' | 'Rescaler', url: string, server: RunningServer): Promise<void> {
  const page = await browser!.newPage();
  const problems = await watchPage(page);
  try {
    await page.addInitScript(recordIrnEvents);
    let outcome: PageOutcome;
    try {
      await page.goto(url);
      outcome = kind === 'element' ? await elementOutcome(page, PAGE_TIMEOUT) : await rescalerOutcome(page, PAGE_TIMEOUT);
    } catch (error) {
      throw explain(`${route}, ${kind} page ${url}`, error, problems, server.log());
    }
    let psnr: number;
    try {
      psnr = checkOutcome(outcome, reference);
    } catch (error) {
      throw explain(`${route}, ${kind} page ${url}`, error, problems, server.log());
    }
    const line = `${route}, ${kind}: ${outcome.backend} (${outcome.reason}), Y-PSNR ${psnr.toFixed(3)} dB (CLI ${reference.psnr.toFixed(3)}), restore ${(outcome.restoreMs / second).toFixed(1)} s, page load to image ${(outcome.pageMs / second).toFixed(1)} s${outcome.timings != null ? ` ${JSON.stringify(outcome.timings)}` : ''}`;
    t.diagnostic(line);
  } finally {
    await page.close();
  }
}

/**
 * Markers of the two GPU backends in built JavaScript: a flag name each registers
 * (tfjs-backend-webgl's `WEBGL_VERSION`, tfjs-backend-webgpu's
 * `WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE`), string literals that minification keeps and that
 * neither tfjs-core nor the other backends contain.
 */
const GPU_BACKEND_MARKERS = { webgl: 'WEBGL_VERSION', webgpu: 'WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE' } as const;

/**
 * The worker's entry among a Vite build's assets: `worker-<hash>.js` (`worker-client-<hash>.js`
 * is the page's side of the rescaler, `worker.<chunk>-<hash>.js` the worker's own chunks).
 */
function viteWorkerEntry(assets: string): string {
  const files = readdirSync(assets);
  const entries = files.filter((f) => /^worker-[\w-]{8}\.js$/.test(f));
  assert.equal(entries.length, 1, `one worker entry expected in ${assets}; its worker files: ${files.filter((f) => f.startsWith('worker')).join(', ')}`);
  return entries[0];
}

const kib = (n: number) => `${(n / 1024).toFixed(0)} KiB`;

/**
 * Vite's default worker format ('iife') cannot split, so the rescaler's worker becomes one file
 * with every tfjs backend inlined (1,276 KiB, 316 gzipped: bench/vite-worker-format.ts); the
 * READMEs recommend `worker: { format: 'es' }`. The second build here is the same app with that
 * line: its pages must restore as well, its worker's entry must leave the WebGL and WebGPU
 * backends to chunks of their own (and be well under half the default's size), and the restores
 * on wasm must fetch neither. The same markers must find both backends inlined in the default
 * build's worker, so that the check cannot pass by finding nothing.
 */
test("vite build, served by a plain static server, with Vite's default worker format and with worker: { format: 'es' }: <irn-image> and Rescaler in a worker restore on wasm", { timeout: 8 * PAGE_TIMEOUT }, async (t) => {
  const vite = join(appDir, 'node_modules/vite/bin/vite.js');
  const build = await runStep('vite build', process.execPath, [vite, 'build'], { cwd: appDir, timeoutMs: 120 * second });
  timings.push(`vite build: ${(build.ms / second).toFixed(1)} s`);
  const server = await staticServer(join(appDir, 'dist'));
  try {
    await t.test('element', (t) => checkPage(t, 'vite build', 'element', `${server.url}index.html`, server));
    await t.test('Rescaler', (t) => checkPage(t, 'vite build', 'Rescaler', `${server.url}rescaler.html`, server));
  } finally {
    await server.stop();
  }

  const esBuild = await runStep("vite build (worker: { format: 'es' })", process.execPath, [vite, 'build', '--config', VITE_WORKER_ES_CONFIG], { cwd: appDir, timeoutMs: 120 * second });
  const assets = join(appDir, 'dist/assets');
  const esAssets = join(appDir, VITE_WORKER_ES_OUT, 'assets');
  const defaultEntry = readFileSync(join(assets, viteWorkerEntry(assets)));
  const esEntryName = viteWorkerEntry(esAssets);
  const esEntry = readFileSync(join(esAssets, esEntryName));
  const gpuChunks: string[] = [];
  await t.test("worker: { format: 'es' }: the worker's entry leaves the GPU backends to chunks of their own", () => {
    for (const [backend, marker] of Object.entries(GPU_BACKEND_MARKERS)) {
      assert.ok(defaultEntry.includes(marker), `the default build's worker has no ${marker}: the ${backend} marker no longer finds an inlined backend (tfjs renamed the flag, or Vite's default worker format splits now?)`);
      assert.ok(!esEntry.includes(marker), `the ${backend} backend (${marker}) is inlined in the worker entry ${esEntryName} of the worker: { format: 'es' } build`);
      const chunks = readdirSync(esAssets).filter((f) => f.endsWith('.js') && readFileSync(join(esAssets, f)).includes(marker));
      assert.equal(chunks.length, 1, `one chunk with the ${backend} backend (${marker}) expected; found ${chunks.join(', ') || 'none'}`);
      const dynamicImport = new RegExp(`import\\(\\s*[\`'"]\\./${chunks[0].replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[\`'"]\\s*\\)`);
      assert.match(esEntry.toString('utf8'), dynamicImport, `the worker entry ${esEntryName} does not import ${chunks[0]} on demand`);
      gpuChunks.push(chunks[0]);
    }
    const [defaultGz, esGz] = [gzipSync(defaultEntry).length, gzipSync(esEntry).length];
    assert.ok(esGz < defaultGz / 2, `the worker entry is ${kib(esGz)} gzipped with worker: { format: 'es' }, ${kib(defaultGz)} by default: expected under half`);
    const workerFiles = readdirSync(esAssets).filter((f) => /^worker[-.]/.test(f) && !f.startsWith('worker-client-'));
    timings.push(
      `vite build (worker: { format: 'es' }): ${(esBuild.ms / second).toFixed(1)} s; the worker's entry ${kib(esEntry.length)} (${kib(esGz)} gzipped) and ${workerFiles.length - 1} chunks, by default one file of ${kib(defaultEntry.length)} (${kib(defaultGz)} gzipped)`,
    );
  });
  const esServer = await staticServer(join(appDir, VITE_WORKER_ES_OUT));
  try {
    await t.test("worker: { format: 'es' }, element", (t) => checkPage(t, "vite build, worker: { format: 'es' }", 'element', `${esServer.url}index.html`, esServer));
    await t.test("worker: { format: 'es' }, Rescaler", (t) => checkPage(t, "vite build, worker: { format: 'es' }", 'Rescaler', `${esServer.url}rescaler.html`, esServer));
    for (const chunk of gpuChunks) assert.ok(!esServer.log().includes(`/assets/${chunk}`), `a restore on wasm fetched the GPU backend chunk ${chunk}:\n${esServer.log()}`);
  } finally {
    await esServer.stop();
  }
});

/**
 * Vite's dev server serves the rescaler's worker (`dist/browser/worker.js`, reached through
 * `new URL('./worker.js', import.meta.url)`) raw from node_modules (vitejs/vite#23045), so the
 * worker must have no bare imports: @irn/core's build makes it a bundle of its own
 * (packages/core/scripts/bundle-worker.mjs). Before that, both pages failed here with "module is
 * not defined" (tfjs's CommonJS `long` served raw).
 */

test('Vite dev server: <irn-image> and Rescaler in a worker restore on wasm', { timeout: 6 * PAGE_TIMEOUT }, async (t) => {
  const port = await freePort();
  const started = performance.now();
  const server = await startProcess('vite dev server', process.execPath, [join(appDir, 'node_modules/vite/bin/vite.js'), '--host', '127.0.0.1', '--port', String(port), '--strictPort'], {
    cwd: appDir,
    ready: /Local:\s+http/,
    url: `http://127.0.0.1:${port}/`,
    timeoutMs: 60 * second,
  });
  timings.push(`vite dev server start: ${((performance.now() - started) / second).toFixed(1)} s`);
  try {
    await t.test('element', (t) => checkPage(t, 'vite dev', 'element', `${server.url}index.html`, server));
    await t.test('Rescaler', (t) => checkPage(t, 'vite dev', 'Rescaler', `${server.url}rescaler.html`, server));
  } finally {
    await server.stop();
  }
});

/**
 * webpack 5 once failed here twice over: the build stopped at `Can't resolve
 * '@tensorflow/tfjs-backend-webgpu'` (an optional peer, not installed; core now imports it in a
 * `try` block, which webpack turns into a warning), and then, since webpack 5.103, the worker
 * threw "__filename is not defined" in tfjs-backend-wasm's Emscripten glue (webpack folds
 * `typeof __filename` in an ES module but leaves `__filename`; core's worker bundle now defines
 * it away), so the restore fell back to software WebGL, many times slower, and timed out. The
 * element's one-file bundle carries the same glue: imported through webpack and run where the
 * page has no `document.currentScript` (the glue's first guess, which hid the bug from a classic
 * script), here webpack's ES module output in a `<script type="module">`, it threw the same
 * error in the page, the wasm backend never registered and the element stayed "running" with no
 * `irn-error` until the test timed out (the element's rollup build now defines `__filename`
 * and `__dirname` away; its scripts/check-bundle.mjs checks the built file). The build's
 * warnings must be those two missing optional peers and webpack's size hints, nothing else.
 *
 * Built without minification: terser re-minifying the prebuilt worker takes 25-55 s on a
 * loaded 2-core machine, more than this route's share of CI; `IRN_CONSUMER_WEBPACK_MINIFY=1`
 * builds exactly what `webpack` makes (checked: the same restore).
 */
const EXPECTED_WEBPACK_WARNINGS = [
  /^Module not found: Error: Can't resolve '@tensorflow\/tfjs-backend-webg(l|pu)'/m,
  /^(asset size limit|entrypoint size limit|webpack performance recommendations)/,
];

test('webpack 5 production build, served by a plain static server: <irn-image> (worker, page thread, one-file bundle) and Rescaler in a worker restore on wasm', { timeout: 4 * PAGE_TIMEOUT + 180 * second }, async (t) => {
  const minify = process.env.IRN_CONSUMER_WEBPACK_MINIFY === '1';
  const build = await runStep('webpack build', process.execPath, [join(appDir, 'node_modules/webpack/bin/webpack.js'), ...(minify ? [] : ['--no-optimization-minimize'])], {
    cwd: appDir,
    timeoutMs: 180 * second,
    env: { NODE_OPTIONS: undefined, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
  const warnings = build.stdout.split(/^WARNING in /m).slice(1);
  const unexpected = warnings.filter((w) => !EXPECTED_WEBPACK_WARNINGS.some((re) => re.test(w)));
  assert.deepEqual(unexpected, [], `webpack warned of more than the optional GPU backends and sizes:\n${build.stdout}`);
  const out = join(appDir, WEBPACK_OUT);
  const js = readdirSync(out).filter((f) => f.endsWith('.js'));
  const bytes = js.map((f) => readFileSync(join(out, f)));
  timings.push(
    `webpack build${minify ? '' : ' (not minified)'}: ${(build.ms / second).toFixed(1)} s, ${js.length} scripts, ${kib(bytes.reduce((a, b) => a + b.length, 0))} (${kib(bytes.reduce((a, b) => a + gzipSync(b).length, 0))} gzipped), ${warnings.length} warnings`,
  );
  writeWebpackPages(out, join(reference.dir, 'photo.lr.png'), { ...weightsSetup(weightsPackaged), copyFrom: weightsPackaged ? undefined : join(ROOT, 'weights') });
  const server = await staticServer(out);
  try {
    await t.test('element', (t) => checkPage(t, 'webpack', 'element', `${server.url}index.html`, server));
    await t.test('element, worker="false"', (t) => checkPage(t, 'webpack, page thread', 'element', `${server.url}page.html`, server));
    await t.test('Rescaler', (t) => checkPage(t, 'webpack', 'Rescaler', `${server.url}rescaler.html`, server));
    await t.test('one-file bundle, ES module output, page thread', (t) => checkPage(t, 'webpack, one-file bundle', 'element', `${server.url}bundle.html`, server));
  } finally {
    await server.stop();
  }
});

test("the element's one-file bundle and its .wasm files from a plain static server: <irn-image> restores on wasm", { timeout: 3 * PAGE_TIMEOUT }, async (t) => {
  const site = join(work!, 'bundle-site');
  writeBundleSite(site, appDir, join(reference.dir, 'photo.lr.png'));
  const server = await staticServer(site);
  try {
    await t.test('page thread', (t) => checkPage(t, 'one-file bundle', 'element', `${server.url}index.html`, server));
    assert.ok(!/GET \/assets\/worker\.js/.test(server.log()), 'the page-thread route started no worker');
    await t.test('worker attribute', (t) => checkPage(t, 'one-file bundle, worker', 'element', `${server.url}worker.html`, server));
    // The model ran in the worker script beside the bundle (and on wasm: checkPage).
    assert.match(server.log(), /200 GET \/assets\/worker\.js/);
  } finally {
    await server.stop();
  }
});
