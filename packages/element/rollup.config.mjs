// Two builds of @irn/element (`pnpm build` runs this after @irn/core's build; it bundles
// @irn/core's dist):
// - dist/index.js: ESM for bundlers and import maps; lit, @irn/core and TensorFlow.js stay imports.
// - dist/irn-image.bundle.js: one self-contained file for a <script type="module"> tag, with
//   Lit, @irn/core and TensorFlow.js inside (dynamic imports inlined), and beside it
//   tfjs-backend-wasm's .wasm files, the presets (weights/) and @irn/core's worker script.
// TypeScript is transpiled by esbuild (TypeScript 7 has no JS API); tsc writes the .d.ts files.
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const tsconfig = join(here, '../../tsconfig.json');
const external = (id) => ['lit', '@irn/core', '@tensorflow/', '@lit/', 'lit-html', 'lit-element'].some((d) => id === d || id.startsWith(`${d}/`) || (d.endsWith('/') && id.startsWith(d)));

/** tfjs's optional Node requires (seedrandom's `crypto`, the wasm backend's `fs`...) have no browser meaning. */
const nodeOnly = ['crypto', 'fs', 'path', 'os', 'perf_hooks', 'worker_threads', 'util'];

/**
 * Empties dist/ once, before the first of the two builds: rollup keeps what earlier builds wrote
 * there, and the worker's hashed chunks change name with @irn/core's build, so `pnpm pack`
 * shipped every earlier build's chunks too (scripts/check-publish.mjs now names such files).
 */
function cleanDist() {
  return {
    name: 'irn-clean-dist',
    buildStart() {
      rmSync(join(here, 'dist'), { recursive: true, force: true });
    },
  };
}

/**
 * tfjs-backend-wasm's binaries next to the one-file bundle: inside it, @irn/core's
 * `defaultWasmPaths()` (`new URL('./tfjs-backend-wasm.wasm', import.meta.url)`, ...) points
 * beside the bundle, so the wasm backend works from a plain static server with no `wasmPaths`.
 */
function tfjsWasmBinaries() {
  const require = createRequire(join(here, '../core/package.json'));
  const wasmDist = join(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  return {
    name: 'irn-tfjs-wasm-binaries',
    generateBundle() {
      for (const name of names) this.emitFile({ type: 'asset', fileName: name, source: readFileSync(join(wasmDist, name)) });
    },
  };
}

/**
 * @irn/core's worker script (self-contained since scripts/bundle-worker.mjs: TensorFlow.js
 * inside, each backend a chunk beside it) next to the one-file bundle: inside it, @irn/core's
 * `new Worker(new URL('./worker.js', import.meta.url))` points beside the bundle, so
 * `<irn-image worker>` works from a plain static server with no `worker-url`.
 */
function coreWorkerFiles() {
  const require = createRequire(join(here, 'package.json'));
  const browserDist = join(dirname(require.resolve('@irn/core/package.json')), 'dist', 'browser');
  return {
    name: 'irn-core-worker-files',
    generateBundle() {
      const names = readdirSync(browserDist).filter((n) => /^worker(\.[^/]*)?\.js$/.test(n));
      if (!names.includes('worker.js')) this.error(`${browserDist} has no worker.js: build @irn/core first`);
      for (const name of names) this.emitFile({ type: 'asset', fileName: name, source: readFileSync(join(browserDist, name)) });
    },
  };
}

/**
 * The presets of @irn/weights beside the one-file bundle, in `weights/`: what Vite or webpack
 * do for an app, done for the bundle. @irn/weights's index gives each file as a literal
 * `new URL('./irn-x2/model.json', import.meta.url)`, which inside the bundle would point beside
 * it; each is emitted as an asset and its URL rewritten to the asset's, so `<irn-image>` finds
 * the presets from a plain static server with no `weights-base` (and falls back to the CDN
 * where they are not served).
 */
function weightsAssets() {
  const literal = /new URL\('\.\/([A-Za-z0-9][A-Za-z0-9_-]*\/[A-Za-z0-9][A-Za-z0-9._-]*)', import\.meta\.url\)/g;
  return {
    name: 'irn-weights-assets',
    transform(code, id) {
      if (!/[\\/]weights[\\/]dist[\\/]index\.js$/.test(id)) return null;
      let count = 0;
      const out = code.replace(literal, (_, file) => {
        count++;
        const ref = this.emitFile({ type: 'asset', fileName: `weights/${file}`, source: readFileSync(join(dirname(id), file)) });
        return `new URL(import.meta.ROLLUP_FILE_URL_${ref})`;
      });
      if (count === 0) this.error(`${id}: no literal weight URLs found (was @irn/weights built by its build.mjs?)`);
      return { code: out, map: null };
    },
  };
}

/**
 * With `inlineDynamicImports`, rollup 4.68 drops the namespace of a dynamic import that is
 * destructured inside `Promise.all([...])` (as @irn/core's Rescaler does for its engine and
 * pipeline): the bundle then reads `RescaleEngine` of undefined. Passing each namespace through
 * `.then((m) => m)` makes it opaque to tree-shaking, so it is kept whole.
 */
function keepDynamicImportNamespaces() {
  return {
    name: 'irn-keep-dynamic-import-namespaces',
    transform(code, id) {
      if (!id.includes('/packages/core/dist/') || !code.includes('import(')) return null;
      return { code: code.replace(/\bimport\(('[^']+')\)/g, 'import($1).then((m) => m)'), map: null };
    },
  };
}

export default [
  {
    input: join(here, 'src/index.ts'),
    external,
    output: { dir: join(here, 'dist'), format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
    plugins: [cleanDist(), esbuild({ target: 'es2022', tsconfig })],
  },
  {
    input: join(here, 'src/bundle.ts'),
    external: nodeOnly,
    output: { file: join(here, 'dist/irn-image.bundle.js'), format: 'es', inlineDynamicImports: true },
    plugins: [
      tfjsWasmBinaries(),
      coreWorkerFiles(),
      weightsAssets(),
      keepDynamicImportNamespaces(),
      nodeResolve({ browser: true, exportConditions: ['browser', 'import', 'default'], preferBuiltins: false }),
      commonjs({ ignore: nodeOnly }),
      // tfjs-backend-wasm's Emscripten glue reads `typeof __filename<"u"&&(s=s||__filename)`
      // when it is first evaluated. An app that imports this bundle through webpack 5.103 or
      // later (to 5.113 at least) gets that test folded to `true` in an ES module and
      // `__filename` left free: wherever the bundle runs without `document.currentScript` (a
      // `<script type="module">`, webpack's ES module output) the page threw "__filename is not
      // defined", the wasm backend never registered and <irn-image> stayed "running" for ever
      // (the webpack route of test/consumer/web.e2e.ts; @irn/core's bundle-worker.mjs does the
      // same for the worker). The bundle is browser-only: there is no __filename to find, and
      // the glue's other uses sit in its Node branches. esbuild's define replaces identifiers,
      // not text, so the copy inside the glue's worker source (a string) is left as it is; it
      // applies to the whole chunk in esbuild's renderChunk, which runs because of `minify`
      // (its transform skips node_modules), and scripts/check-bundle.mjs checks the result.
      esbuild({ target: 'es2022', tsconfig, minify: true, define: { __filename: 'undefined', __dirname: 'undefined' } }),
    ],
    onwarn(warning, warn) {
      // tfjs's UMD-style modules use `this` at the top level and some have circular imports: harmless.
      if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
      // tfjs-core's Node platform (`require('node-fetch')`, `require('util')`) runs only in Node.
      if (warning.plugin === 'esbuild' && /"require" to "esm"/.test(warning.message)) return;
      warn(warning);
    },
  },
];
