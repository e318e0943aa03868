// @web/test-runner config: the browser suite, in headless Debian Chromium, on the webgl and
// webgpu backends (software SwiftShader on CI; see ENVIRONMENT.md, "Browser tests").
//
//   pnpm run test:browser                       all browser tests
//   pnpm run test:browser -- --files test/browser/import.test.ts
//   CHROMIUM_PATH=/path/to/chrome pnpm run test:browser
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { defaultReporter } from '@web/test-runner';
import { playwrightLauncher } from '@web/test-runner-playwright';
import { esbuildPlugin } from '@web/dev-server-esbuild';
import { fromRollup } from '@web/dev-server-rollup';
// Version 18 on purpose: 29 breaks `long` when run per module in the dev server
// (modernweb-dev/web#1700). tfjs needs it for its CommonJS deps `long` and `seedrandom`;
// it is applied to all of node_modules so that a CommonJS dependency added later works too
// (ES modules pass through untouched).
import rollupCommonjs from '@rollup/plugin-commonjs-18';
import { summaryTableReporter } from './test/browser/summary-reporter.mjs';
import { chromiumArgs, chromiumPath } from './test/chromium.mjs';

const commonjs = fromRollup(rollupCommonjs);

/**
 * tfjs does `import * as seedrandom from 'seedrandom'` and calls `seedrandom.alea`. seedrandom
 * sets `alea` on its `module.exports` at run time, which the commonjs plugin cannot see, so
 * per-module (as the dev server serves them) the namespace has only `default`. Bundlers patch
 * this with synthetic named exports; here the import is rewritten to the default import, which
 * is `module.exports` itself.
 */
function seedrandomDefaultImport() {
  const star = /import \* as (\w+) from 'seedrandom';/;
  return {
    name: 'seedrandom-default-import',
    transform(context) {
      if (!context.path.includes('/node_modules/') || !context.path.endsWith('.js')) return undefined;
      const body = context.body;
      if (typeof body !== 'string' || !star.test(body)) return undefined;
      return { body: body.replace(star, "import $1 from 'seedrandom';") };
    },
  };
}

/**
 * A stand-in for a CDN that serves npm packages by name and version (jsDelivr's
 * `/npm/<name>@<version>/<path>`), for the tests of @irn/core's fallback from @irn/weights's
 * own URLs (test/browser/weights-package.test.ts): `/cdn-for-tests/npm/@irn/weights@<its
 * version>/dist/...` serves packages/weights/dist/, and `/cdn-for-tests/tampered/npm/...` the
 * same with one byte of every weight shard flipped. Anything else there is a 404.
 */
function npmCdnForTests() {
  const weightsDir = new URL('./packages/weights/', import.meta.url);
  const route = /^\/cdn-for-tests\/(tampered\/)?npm\/@irn\/weights@([^/]+)\/(dist\/[A-Za-z0-9._-]+(?:\/[A-Za-z0-9._-]+)*)$/;
  return async function npmCdn(context, next) {
    const m = route.exec(context.path);
    if (m == null) return context.path.startsWith('/cdn-for-tests/') ? void (context.status = 404) : next();
    const { version } = JSON.parse(await readFile(new URL('package.json', weightsDir), 'utf8'));
    const bytes = m[2] === version && !m[3].split('/').includes('..') ? await readFile(new URL(m[3], weightsDir)).catch(() => null) : null;
    if (bytes == null) return void (context.status = 404);
    if (m[1] != null && m[3].endsWith('.bin')) bytes[bytes.length >> 1] ^= 1;
    context.type = m[3].endsWith('.json') ? 'application/json' : 'application/octet-stream';
    context.body = bytes;
  };
}

/**
 * Hostile servers, for the tests of downloads (irn-image.test.ts, hostile-input.test.ts). Each
 * answers 200 with a PNG's first 8 bytes, then:
 * - `/stall-for-tests/<name>.png` sends nothing more and never ends the body;
 * - `/endless-for-tests/<name>.png` sends zeros without end (no Content-Length);
 * both until the page gives up the request.
 * And, for irn-image-hostile.test.ts:
 * - `/lying-length-for-tests/<name>.png` says Content-Length 100000, sends the 8 bytes and ends;
 * - `/redirect-for-tests/<path>` redirects (302) to `/<path>`.
 */
function hostileServersForTests() {
  const signature = () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  return async function hostile(context, next) {
    if (context.path.startsWith('/redirect-for-tests/')) return context.redirect(context.path.slice('/redirect-for-tests'.length));
    if (context.path.startsWith('/lying-length-for-tests/')) {
      // Written to the socket: Koa would correct the length of a body it is given.
      context.respond = false;
      context.res.writeHead(200, { 'content-type': 'image/png', 'content-length': '100000' });
      context.res.write(signature());
      setTimeout(() => context.res.destroy(), 50);
      return undefined;
    }
    const stall = context.path.startsWith('/stall-for-tests/');
    if (!stall && !context.path.startsWith('/endless-for-tests/')) return next();
    context.type = 'image/png';
    // Readable from the page's other host name too (backend-start.test.ts).
    context.set('access-control-allow-origin', '*');
    const body = new Readable({ read: stall ? () => {} : () => void body.push(Buffer.alloc(64 * 1024)) });
    body.push(signature());
    context.body = body;
  };
}

const minute = 60_000;

export default {
  rootDir: fileURLToPath(new URL('.', import.meta.url)),
  files: ['test/browser/**/*.test.ts', 'packages/*/src/**/*.browser.test.ts'],
  nodeResolve: { browser: true, exportConditions: ['browser', 'import', 'default'] },
  middleware: [npmCdnForTests(), hostileServersForTests()],
  plugins: [
    seedrandomDefaultImport(),
    esbuildPlugin({ ts: true, target: 'es2022', tsconfig: fileURLToPath(new URL('./tsconfig.json', import.meta.url)) }),
    commonjs({
      include: ['**/node_modules/**'],
      // seedrandom's optional `require('crypto')` sits in a try/catch; left as is, it throws
      // there in the browser and seedrandom falls back to its own entropy.
      ignore: ['crypto', 'fs', 'path', 'os', 'perf_hooks', 'worker_threads'],
    }),
  ],
  browsers: [
    playwrightLauncher({
      product: 'chromium',
      // Never let Playwright fetch a browser: always the system Chromium.
      launchOptions: {
        executablePath: chromiumPath,
        headless: true,
        args: chromiumArgs,
      },
      // The runner ends each test file by navigating the page to about:blank, with Playwright's
      // default 30 s; after the heaviest files (software WebGL and WebGPU, contract.test.ts) the
      // page can take longer to let go on 2 loaded cores (seen once on CI with every test
      // passed), so navigations get the same 2 minutes as the other phases.
      createPage: async ({ context }) => {
        const page = await context.newPage();
        page.setDefaultNavigationTimeout(2 * minute);
        return page;
      },
    }),
  ],
  // One page at a time: the machine has 2 cores and software GL/WebGPU uses them all.
  concurrency: 1,
  concurrentBrowsers: 1,
  // Software WebGL/WebGPU compile shaders slowly and run convolutions on the CPU.
  browserStartTimeout: 2 * minute,
  testsStartTimeout: 2 * minute,
  testsFinishTimeout: 15 * minute,
  testFramework: { config: { ui: 'bdd', timeout: 2 * minute } },
  staticLogging: false,
  // The shared assertions read results with dataSync() by design (they run inside tf.tidy);
  // tfjs-backend-webgpu's note that sync reads are slow is noise in the test log.
  filterBrowserLogs: ({ args }) => !String(args?.[0] ?? '').startsWith('The performance of synchronously reading data from GPU'),
  reporters: [defaultReporter({ reportTestResults: true, reportTestProgress: true }), summaryTableReporter()],
};
