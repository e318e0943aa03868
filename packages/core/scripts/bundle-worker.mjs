// Makes dist/browser/worker.js self-contained (run by `pnpm build` after rollup): TensorFlow.js
// and the rescaler's code bundled in, each backend split into a chunk beside it
// (`worker.tfjs-backend-webgl-<hash>.js`, ...; loaded only when chosen), no bare imports left.
//
// Why: a module worker started with `new Worker(new URL('./worker.js', import.meta.url))` is
// bundled by an app's bundler at build time, but Vite's dev server serves it from
// node_modules as it is (vitejs/vite#23045), where the browser cannot resolve
// `@tensorflow/tfjs-core`, and tfjs's CommonJS dependencies (`long`) would not run anyway:
// "module is not defined". Bundled here, the worker runs under any server, with or without a
// bundler. The page side stays unbundled (the app's bundler dedupes it with the app's own
// tfjs); the worker loads TensorFlow.js once, its own copy, as it did when the app's bundler
// built it. The chunks sit in the same folder as worker.js, so `new URL('./tfjs-backend-wasm.wasm',
// import.meta.url)` in locations.ts finds the binaries whichever file it ends up in.
//
// The esbuild metafile (inputs of each output file, after the renames) goes to
// build-info/worker-meta.json, outside dist/ (not published): bench/bundle-size.ts reads it to
// see through the prebuilt files.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkg = join(dirname(fileURLToPath(import.meta.url)), '..');
const repo = join(pkg, '..', '..');
const dist = join(pkg, 'dist', 'browser');
const out = mkdtempSync(join(tmpdir(), 'irn-worker-'));
try {
  const { metafile } = await build({
    entryPoints: { worker: join(dist, 'worker.js') },
    absWorkingDir: repo,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: out,
    chunkNames: 'worker.[name]-[hash]',
    minify: true,
    // Presets load in the page, never in the worker; kept out in case that changes.
    external: ['@irn/weights'],
    // tfjs-backend-wasm's Emscripten glue reads `typeof __filename<"u"&&(a=a||__filename)`.
    // webpack 5.103 and later (to 5.113 at least) turn that test into `true` in an ES module but
    // leave `__filename` free, so in an app built by webpack the worker threw "__filename is not
    // defined" and the wasm backend never started (the webpack route of test/consumer/web.e2e.ts).
    // There is no __filename in a browser.
    define: { __filename: 'undefined', __dirname: 'undefined' },
    legalComments: 'eof',
    metafile: true,
    logLevel: 'warning',
  });
  // Name each backend's chunk after its package, so that a reader (or a bundle analyser) sees
  // which file is which; the hashed names are unique, so replacing them in the text is safe.
  const renames = new Map();
  for (const [file, info] of Object.entries(metafile.outputs)) {
    const backend = /@tensorflow\/(tfjs-backend-[a-z]+)\//.exec(info.entryPoint ?? '')?.[1];
    if (backend == null || info.entryPoint.includes('worker.js')) continue;
    const hash = /-([A-Z0-9]+)\.js$/.exec(basename(file))[1];
    renames.set(basename(file), `worker.${backend}-${hash}.js`);
  }
  for (const name of readdirSync(dist)) if (/^worker(\.[^/]*)?\.js(\.map)?$/.test(name)) rmSync(join(dist, name));
  // worker-main.js was rollup's module for worker.js to import; it is inside worker.js now and
  // nothing else imports it, so it would only be dead weight in the tarball (check-publish).
  for (const name of ['worker-main.js', 'worker-main.js.map']) rmSync(join(dist, name), { force: true });
  const meta = {};
  for (const [file, info] of Object.entries(metafile.outputs)) {
    const name = renames.get(basename(file)) ?? basename(file);
    let text = readFileSync(join(repo, file), 'utf8');
    for (const [from, to] of renames) text = text.split(from).join(to);
    writeFileSync(join(dist, name), text);
    meta[name] = { entryPoint: info.entryPoint, inputs: Object.fromEntries(Object.entries(info.inputs).map(([k, v]) => [k, v.bytesInOutput])) };
  }
  mkdirSync(join(pkg, 'build-info'), { recursive: true });
  writeFileSync(join(pkg, 'build-info', 'worker-meta.json'), JSON.stringify({ note: `made by ${relative(repo, fileURLToPath(import.meta.url))}`, outputs: meta }, null, 1));
} finally {
  rmSync(out, { recursive: true, force: true });
}
