// The two URLs the browser rescaler finds relative to its own code. This module is a rollup
// entry of its own (rollup.config.mjs), so it sits at src/browser/locations.ts and at
// dist/browser/locations.js alike: the same relative paths work from the sources (the test
// runner's dev server) and from the bundle. Keep it free of imports, so that rollup never
// merges other code into its chunk.

/**
 * Starts the rescaler's module worker, `worker.js` next to this module. Written as
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })` on purpose:
 * Vite, webpack 5 and Parcel recognise exactly this form and bundle the worker themselves.
 */
export function startDefaultWorker(): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
}

/** `weights/` at the repository root, from packages/core/{src,dist}/browser/. */
const WEIGHTS_DIR = '../../../../weights/';

/**
 * Where presets are looked up when `weightsUrl` is not given: the repository's `weights/`
 * folder, resolved from this module (`packages/core/{src,dist}/browser/locations.*`). That
 * suits the monorepo's own pages and tests; an app that installs `@irn/core` serves the
 * `weights/` folders it wants (with their `manifest.json`) and passes `weightsUrl`.
 */
export function defaultWeightsUrl(): URL {
  // Not a literal inside `new URL(..., import.meta.url)`: bundlers would try to bundle a folder.
  return new URL(WEIGHTS_DIR, import.meta.url);
}

/** This module's folder, where the builds put tfjs-backend-wasm's binaries. */
const HERE = './';

/**
 * Where the wasm backend finds `tfjs-backend-wasm.wasm`, `-simd.wasm` and `-threaded-simd.wasm`
 * when `wasmPaths` is not given: the folder of this module. The builds put copies there
 * (`@irn/core`'s `dist/browser/`, and `@irn/element`'s `dist/` beside its one-file bundle,
 * whose code this module becomes part of); in the sources, `src/browser/` has links to
 * `node_modules/@tensorflow/tfjs-backend-wasm/dist/`.
 */
export function defaultWasmPaths(): string {
  // Not a literal inside `new URL(..., import.meta.url)`: bundlers would try to bundle a folder.
  return new URL(HERE, import.meta.url).href;
}

