/**
 * esbuild and Rollup, as a web developer uses them with `@irn/element` and `@irn/core` from npm.
 * Neither bundles `new Worker(new URL('./worker.js', import.meta.url))` nor emits the files of
 * `new URL('./file', import.meta.url)`: both leave these URLs as they are, so they resolve
 * against the app's own output, where nothing is. Before the READMEs' copy step existed, with
 * `esbuild main.js --bundle --format=esm --outdir=dist` and nothing else, the presets were
 * looked for at `dist/irn-x2/model.json` (HTTP 404) and came from jsDelivr without a word
 * (offline, as here: `irn-error`); the element's worker then failed with "it could not be loaded
 * (check workerUrl)", an option the element has not; and `worker="false"` restored on cpu, in
 * 60 s instead of 3, with nothing in the console of ours. Rollup with `@rollup/plugin-node-resolve`
 * alone stops at tfjs-backend-wasm's CommonJS files ("wasmWorkerContents is not exported"); with
 * `commonjs()` but without `browser: true`, the page's wasm backend failed on `import 'fs'` and
 * the restore fell back to cpu as silently.
 *
 * Here, packed and installed with npm as in web.e2e.ts:
 *   - esbuild with the commands of the READMEs' "Bundlers" (the build, then two `cp` lines that
 *     put @irn/core's worker and .wasm files and @irn/weights's presets next to the bundle):
 *     `<irn-image>` in its worker and in the page, and `Rescaler` in a worker (built with
 *     `--splitting --minify`, as the READMEs recommend), restore on wasm at the repository CLI's
 *     Y-PSNR, with no request that fails;
 *   - the same build without the copy step: each missing file is named in one line (the
 *     presets' 404, the CDN they then came from, the worker, the .wasm files), with what to copy;
 *   - Rollup with the READMEs' rollup.config.mjs and the same copy step: the same three pages.
 *
 *   pnpm test:consumer        (part of `pnpm test`; needs `pnpm build` and the npm registry)
 *   IRN_CONSUMER_KEEP=1 ...   keeps the temp app for a look
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { checkOutcome, elementOutcome, explain, makeReference, recordIrnEvents, rescalerOutcome, rescalerScript, watchPage, type PageOutcome, type Reference } from './app.js';
import { ROOT, launchChromium, makeTemp, npmInstall, packAll, removeTemp, runStep, staticServer, workspacePackages, type RunningServer } from './harness.js';

/** esbuild as a web developer installs it today (`npm i -D esbuild`), pinned so that a release cannot move the test. */
const ESBUILD_VERSION = '0.28.2';
/** Rollup and the two plugins every Rollup app of npm packages with CommonJS inside needs, pinned likewise. */
const ROLLUP_VERSION = '4.69.3';
const ROLLUP_NODE_RESOLVE_VERSION = '16.0.3';
const ROLLUP_COMMONJS_VERSION = '29.0.3';

/**
 * The commands the READMEs give (packages/core/README.md and packages/element/README.md,
 * "Bundlers"), run here as written, in the app's folder with its node_modules/.bin on the PATH
 * (as `npx` and npm scripts have it); the test checks that both READMEs still say them.
 */
const ESBUILD_BUILD = 'esbuild main.js --bundle --format=esm --outdir=dist';
const COPY_STEP = [
  'cp node_modules/@irn/core/dist/browser/worker.js node_modules/@irn/core/dist/browser/worker.*.js node_modules/@irn/core/dist/browser/*.wasm dist/',
  'cp -R node_modules/@irn/weights/dist/irn-* dist/',
];
/** The READMEs' rollup.config.mjs, with this app's second entry (the Rescaler page). */
const ROLLUP_CONFIG = `import { nodeResolve } from '@rollup/plugin-node-resolve';
import commonjs from '@rollup/plugin-commonjs';

export default {
  input: ['main.js', 'rescaler.js'],
  output: { dir: 'dist', format: 'es' },
  plugins: [nodeResolve({ browser: true }), commonjs()],
};
`;
/** The lines of {@link ROLLUP_CONFIG} that the READMEs must say as they are. */
const ROLLUP_CONFIG_LINES = ["output: { dir: 'dist', format: 'es' },", 'plugins: [nodeResolve({ browser: true }), commonjs()],'];

const second = 1000;
/** One page's restore, model download and backend start included (generous: CI machines vary 2.5x). */
const PAGE_TIMEOUT = 60 * second;
/** A page that must fail with a line: it fails at its first missing file, in a second or two. */
const LINE_TIMEOUT = 20 * second;

let work: string | undefined;
let appDir = '';
let reference: Reference;
let browser: Browser | undefined;
const timings: string[] = [];

before(async () => {
  work = makeTemp('esbuild-rollup');
  const packages = new Map(workspacePackages().map((p) => [p.name, p]));
  const tarballs = await packAll(join(work, 'tarballs'));
  // @irn/element and the workspace packages it needs, as tarballs (as web.e2e.ts installs them).
  const dependencies: Record<string, string> = {};
  const wanted = ['@irn/element', '@irn/core'];
  while (wanted.length > 0) {
    const name = wanted.pop()!;
    if (dependencies[name] != null) continue;
    const pkg = packages.get(name);
    assert.ok(pkg != null && tarballs.has(name), `no tarball for ${name}`);
    assert.ok(existsSync(join(pkg.dir, 'dist')), `${name} has no dist/: run \`pnpm build\` first`);
    dependencies[name] = `file:${tarballs.get(name)}`;
    wanted.push(...Object.keys({ ...pkg.dependencies, ...pkg.peerDependencies }).filter((d) => packages.has(d)));
  }
  reference = await makeReference(join(work, 'reference'));
  appDir = join(work, 'app');
  const install = await npmInstall(appDir, dependencies, {
    esbuild: ESBUILD_VERSION,
    rollup: ROLLUP_VERSION,
    '@rollup/plugin-node-resolve': ROLLUP_NODE_RESOLVE_VERSION,
    '@rollup/plugin-commonjs': ROLLUP_COMMONJS_VERSION,
  });
  timings.push(`npm install: ${(install.ms / second).toFixed(1)} s`);
  // What the READMEs ask of a bundler user: one import (the element), or the Rescaler class.
  writeFileSync(join(appDir, 'main.js'), "import '@irn/element';\n");
  writeFileSync(join(appDir, 'rescaler.js'), rescalerScript('@irn/core/browser/rescaler', 'photo.lr.png'));
  writeFileSync(join(appDir, 'rollup.config.mjs'), ROLLUP_CONFIG);
  browser = await launchChromium();
});

after(async () => {
  await browser?.close();
  for (const line of timings) console.log(line);
  removeTemp(work);
});

/** Runs shell commands in the app, as a developer types them (node_modules/.bin on the PATH). */
function sh(step: string, command: string) {
  return runStep(step, 'sh', ['-c', command], {
    cwd: appDir,
    timeoutMs: 120 * second,
    env: { PATH: `${join(appDir, 'node_modules/.bin')}:${process.env.PATH}`, NODE_OPTIONS: undefined, FORCE_COLOR: '0', NO_COLOR: '1' },
  });
}

/** The pages, in the bundler's output folder beside the LR: the element (in its worker and in the page) and the Rescaler page. */
function writePages(outDir: string): void {
  cpSync(join(reference.dir, 'photo.lr.png'), join(outDir, 'photo.lr.png'));
  const html = (title: string, body: string, script: string) => `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${title}</title><script type="module" src="${script}"></script></head>
  <body>${body}</body>
</html>
`;
  const element = (extra: string) => `<irn-image${extra} src="photo.lr.png" alt="A cat above a cup of coffee"></irn-image>`;
  writeFileSync(join(outDir, 'index.html'), html('irn-image', element(''), 'main.js'));
  writeFileSync(join(outDir, 'page.html'), html('irn-image, page thread', element(' worker="false"'), 'main.js'));
  writeFileSync(join(outDir, 'rescaler.html'), html('Rescaler', '', 'rescaler.js'));
}

/** Each README's text, with its line breaks and indentation flattened, for the commands it must say. */
function readmes(): Record<string, string> {
  const flat = (file: string) => readFileSync(join(ROOT, file), 'utf8').replace(/\s+/g, ' ');
  return { 'packages/core/README.md': flat('packages/core/README.md'), 'packages/element/README.md': flat('packages/element/README.md') };
}

/** Opens `url`, waits for its restore and checks it against the CLI's; reports the timings. */
async function checkPage(t: TestContext, route: string, kind: 'element' | 'Rescaler', url: string, server: RunningServer): Promise<void> {
  const page = await browser!.newPage();
  const problems = await watchPage(page);
  try {
    await page.addInitScript(recordIrnEvents);
    let outcome: PageOutcome;
    let psnr: number;
    try {
      await page.goto(url);
      outcome = kind === 'element' ? await elementOutcome(page, PAGE_TIMEOUT) : await rescalerOutcome(page, PAGE_TIMEOUT);
      psnr = checkOutcome(outcome, reference);
      // Every file the page asked for was there: nothing came from elsewhere, nothing fell back.
      assert.deepEqual(problems.filter((p) => /^(HTTP \d|external request|console\.warning: @irn)/.test(p)), [], 'requests that failed, or @irn warnings');
    } catch (error) {
      throw explain(`${route}, ${kind} page ${url}`, error, problems, server.log());
    }
    t.diagnostic(`${route}, ${kind}: ${outcome.backend} (${outcome.reason}), Y-PSNR ${psnr.toFixed(3)} dB (CLI ${reference.psnr.toFixed(3)}), restore ${(outcome.restoreMs / second).toFixed(1)} s`);
  } finally {
    await page.close();
  }
}

/**
 * Opens `url` and waits until one of `problems` (console lines, failed requests...) matches
 * `line`; resolves to that line. Polls `problems` here, not the page: a page restoring on cpu
 * holds its thread for a minute, and anything evaluated there would wait that long.
 */
async function pageLine(page: Page, problems: string[], url: string, line: RegExp, server: RunningServer, step: string): Promise<string> {
  await page.addInitScript(recordIrnEvents);
  await page.goto(url);
  const deadline = performance.now() + LINE_TIMEOUT;
  for (;;) {
    const found = problems.find((p) => line.test(p));
    if (found != null) return found;
    if (performance.now() > deadline) throw explain(step, new Error(`no line matching ${line} within ${LINE_TIMEOUT / second} s`), problems, server.log());
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The message of the element's `irn-error` (recorded by `recordIrnEvents`), or '' when none fired. */
function irnError(page: Page): Promise<string> {
  return page.evaluate(() => {
    const events = (window as unknown as { irnEvents?: { type: string; detail: { error?: string } }[] }).irnEvents ?? [];
    return events.find((e) => e.type === 'irn-error')?.detail.error ?? '';
  });
}

test("esbuild with the READMEs' copy step, served by a plain static server: <irn-image> (worker, page thread) and Rescaler in a worker restore on wasm", { timeout: 3 * PAGE_TIMEOUT + 120 * second }, async (t) => {
  for (const [file, text] of Object.entries(readmes())) {
    for (const command of [ESBUILD_BUILD, ...COPY_STEP]) assert.ok(text.includes(command), `${file} no longer says \`${command}\`: update it or this test`);
  }
  const started = performance.now();
  // The Rescaler page with the flags the READMEs recommend: its chunks land in dist/ too.
  const build = await sh('esbuild build', `${ESBUILD_BUILD} && esbuild rescaler.js --bundle --format=esm --splitting --minify --outdir=dist`);
  await sh('the copy step', COPY_STEP.join(' && '));
  timings.push(`esbuild: build ${(build.ms / second).toFixed(1)} s, with the copy step ${((performance.now() - started) / second).toFixed(1)} s`);
  const out = join(appDir, 'dist');
  writePages(out);
  const server = await staticServer(out);
  try {
    await t.test('element', (t) => checkPage(t, 'esbuild', 'element', `${server.url}index.html`, server));
    await t.test('element, worker="false"', (t) => checkPage(t, 'esbuild, page thread', 'element', `${server.url}page.html`, server));
    await t.test('Rescaler', (t) => checkPage(t, 'esbuild', 'Rescaler', `${server.url}rescaler.html`, server));
    assert.doesNotMatch(server.log(), /^404 /m, 'a request of the esbuild pages found nothing');
  } finally {
    await server.stop();
  }
});

test('esbuild without the copy step: each missing file is named in one line, with what to copy, and nothing restores slowly', { timeout: 4 * LINE_TIMEOUT + 60 * second }, async (t) => {
  const out = join(appDir, 'dist-bare');
  await sh('esbuild build without the copy step', ESBUILD_BUILD.replace('--outdir=dist', '--outdir=dist-bare'));
  writePages(out);
  const server = await staticServer(out);
  const weights = join(appDir, 'node_modules/@irn/weights');
  const { version } = JSON.parse(readFileSync(join(weights, 'package.json'), 'utf8')) as { version: string };
  try {
    await t.test('presets: a 404 and no CDN (offline, as on CI): irn-error names the file', async () => {
      const page = await browser!.newPage();
      try {
        const problems = await watchPage(page);
        await pageLine(page, problems, `${server.url}index.html`, /<irn-image> could not restore/, server, 'no presets, no CDN');
        const error = await irnError(page);
        assert.match(error, /could not download irn-x2's model\.json from http:\/\/127\.0\.0\.1:\d+\/irn-x2\/model\.json: HTTP 404/);
      } finally {
        await page.close();
      }
    });
    await t.test('presets from the CDN (online: jsDelivr answered from the installed package): a warning says so and what to copy; the worker fails with a line that says what to copy', async () => {
      const page = await browser!.newPage();
      try {
        const problems = await watchPage(page);
        // Registered after watchPage's refusal of every other host, so it takes precedence.
        await page.route(`https://cdn.jsdelivr.net/npm/@irn/weights@${version}/dist/**`, (route) => {
          const path = new URL(route.request().url()).pathname.split(`@irn/weights@${version}/`)[1];
          const type = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
          return route.fulfill({ status: 200, body: readFileSync(join(weights, path)), headers: { 'content-type': type, 'access-control-allow-origin': '*' } });
        });
        await pageLine(page, problems, `${server.url}index.html`, /<irn-image> could not restore/, server, 'presets from the CDN, no worker');
        const error = await irnError(page);
        const cdn = problems.find((p) => p.startsWith('console.warning: @irn/core: the preset "irn-x2"'));
        assert.ok(cdn != null, `no warning about the CDN:\n${problems.join('\n')}`);
        assert.match(cdn, /came from the CDN \(https:\/\/cdn\.jsdelivr\.net\/npm\/@irn\/weights@[^/]+\/dist\/irn-x2\/model\.json\)/);
        assert.match(cdn, /HTTP 404.*copy node_modules\/@irn\/weights\/dist\/irn-\* next to the bundle \(@irn\/core's README, "Bundlers"\)/);
        assert.match(error, /^Error: the rescaler worker failed: its script could not be loaded: .*esbuild.*copy node_modules\/@irn\/core\/dist\/browser\/worker\.js and worker\.\*\.js next to the bundle/);
        assert.match(server.log(), /^404 GET \/worker\.js$/m);
      } finally {
        await page.close();
      }
    });
    // The presets there now, the page thread: without its .wasm files the restore would go on
    // on cpu, about 20 times slower (60 s for this photo); the line comes as the backend starts.
    cpSync(join(weights, 'dist/irn-x2'), join(out, 'irn-x2'), { recursive: true });
    await t.test('.wasm files: a warning that the restore runs on cpu, with the files looked for and what to copy', async () => {
      const page = await browser!.newPage();
      try {
        const problems = await watchPage(page);
        const line = await pageLine(page, problems, `${server.url}page.html`, /^console\.warning: @irn\/core: running on/, server, 'no .wasm files, page thread');
        assert.match(line, /running on cpu, many times slower, because the wasm backend failed: .*looked for in http:\/\/127\.0\.0\.1:\d+\/tfjs-backend-wasm\.wasm.*set wasmPaths .*copy node_modules\/@irn\/core\/dist\/browser\/\*\.wasm next to the bundle/);
      } finally {
        await page.close();
      }
    });
  } finally {
    await server.stop();
  }
});

test("Rollup with the READMEs' rollup.config.mjs and copy step, served by a plain static server: <irn-image> (worker, page thread) and Rescaler in a worker restore on wasm", { timeout: 3 * PAGE_TIMEOUT + 180 * second }, async (t) => {
  // The config is in core's README; the element's points there.
  for (const [file, text] of Object.entries(readmes()).filter(([f]) => f === 'packages/core/README.md')) {
    for (const line of ROLLUP_CONFIG_LINES) assert.ok(text.includes(line), `${file} no longer says \`${line}\`: update it or this test`);
  }
  // The esbuild build's output goes first: the copy step writes into dist/ as well.
  const out = join(appDir, 'dist');
  await sh('clean', 'rm -rf dist');
  const started = performance.now();
  const build = await sh('rollup build', 'rollup -c');
  await sh('the copy step', COPY_STEP.join(' && '));
  timings.push(`rollup: build ${(build.ms / second).toFixed(1)} s, with the copy step ${((performance.now() - started) / second).toFixed(1)} s`);
  writePages(out);
  const server = await staticServer(out);
  try {
    await t.test('element', (t) => checkPage(t, 'rollup', 'element', `${server.url}index.html`, server));
    await t.test('element, worker="false"', (t) => checkPage(t, 'rollup, page thread', 'element', `${server.url}page.html`, server));
    await t.test('Rescaler', (t) => checkPage(t, 'rollup', 'Rescaler', `${server.url}rescaler.html`, server));
    assert.doesNotMatch(server.log(), /^404 /m, 'a request of the Rollup pages found nothing');
  } finally {
    await server.stop();
  }
});
