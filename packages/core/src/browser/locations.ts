// The files the browser rescaler finds relative to its own code. This module is a rollup
// entry of its own (rollup.config.mjs), so it sits at src/browser/locations.ts and at
// dist/browser/locations.js alike: the same relative paths work from the sources (the test
// runner's dev server) and from the bundle. Keep it free of imports, so that rollup never
// merges other code into its chunk.
//
// Every URL here is a literal `new URL('./file', import.meta.url)`, one per file, on purpose:
// Vite (its build, and since Vite 8 its dev server's dependency optimizer), webpack 5 and
// Parcel recognise exactly this form, copy the file into the app's output and put its final
// (possibly hashed) URL in the code. A computed folder URL (`new URL(dir, import.meta.url)`)
// is left alone, and breaks as soon as a bundler moves this code away from the files. The
// presets are found the same way, from the `@irn/weights` package (see model-loader.ts).
//
// esbuild and Rollup leave both forms as they are: the URLs then resolve against the app's
// own output file, where nothing is until the app copies the files there (the READMEs'
// "Bundlers"; test/consumer/esbuild-rollup.e2e.ts). What each failure then says, below, names them.

/**
 * Starts the rescaler's module worker, `worker.js` next to this module. Written as
 * `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })` on purpose:
 * Vite, webpack 5 and Parcel recognise exactly this form and bundle the worker themselves.
 */
export function startDefaultWorker(): Worker {
  return new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
}

/**
 * Where the wasm backend finds `tfjs-backend-wasm.wasm`, `-simd.wasm` and `-threaded-simd.wasm`
 * when `wasmPaths` is not given: a map from each file name to its URL next to this module, for
 * tfjs-backend-wasm's `setWasmPaths`. The builds put copies there (`@irn/core`'s
 * `dist/browser/`, and `@irn/element`'s `dist/` beside its one-file bundle, whose code this
 * module becomes part of); in the sources, `src/browser/` has links to
 * `node_modules/@tensorflow/tfjs-backend-wasm/dist/`. An app's bundler that understands
 * `new URL('./x.wasm', import.meta.url)` emits the three files and rewrites these URLs.
 */
export function defaultWasmPaths(): Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string> {
  return {
    'tfjs-backend-wasm.wasm': new URL('./tfjs-backend-wasm.wasm', import.meta.url).href,
    'tfjs-backend-wasm-simd.wasm': new URL('./tfjs-backend-wasm-simd.wasm', import.meta.url).href,
    'tfjs-backend-wasm-threaded-simd.wasm': new URL('./tfjs-backend-wasm-threaded-simd.wasm', import.meta.url).href,
  };
}

/**
 * Where the README says what to copy for a bundler that leaves `new URL('./file',
 * import.meta.url)` alone (esbuild, Rollup): quoted by each line about a file not found.
 */
export const COPY_FILES_HELP = `@irn/core's README, "Bundlers"`;

/**
 * Why the default worker (see {@link startDefaultWorker}) did not start, when its script
 * could not be loaded: the browser says no more than that (a 404 and a script that is not
 * JavaScript look alike), so this names the files and where they belong.
 */
export const DEFAULT_WORKER_UNLOADABLE =
  "its script could not be loaded: @irn/core's worker.js (and its worker.*.js chunks) is looked for beside the code that starts it, " +
  'where Vite and webpack put it; esbuild and Rollup leave it behind: copy node_modules/@irn/core/dist/browser/worker.js and worker.*.js ' +
  `next to the bundle (${COPY_FILES_HELP}), or pass workerUrl`;
