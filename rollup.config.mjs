// One rollup config for every package: `rollup -c ../../rollup.config.mjs --environment PKG:<name>`.
// TypeScript is transpiled by esbuild (TypeScript 7 has no JS API for rollup plugins);
// `tsc` writes the .d.ts files and does the type checking.
import { readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import esbuild from 'rollup-plugin-esbuild';

const root = dirname(fileURLToPath(import.meta.url));
const pkgName = process.env.PKG;
if (!pkgName) throw new Error('set PKG, e.g. rollup -c --environment PKG:core');
const pkgDir = join(root, 'packages', pkgName);
const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));

// Dependencies stay imports: the user's bundler or Node resolves them.
const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {})];
const external = (id) =>
  id.startsWith('node:') || builtinModules.includes(id) || deps.some((d) => id === d || id.startsWith(`${d}/`));

const entries = {
  core: {
    index: 'src/index.ts',
    node: 'src/node.ts',
    browser: 'src/browser.ts',
    // At dist/browser/ as in src/browser/: locations.ts finds worker.js and weights/ relative
    // to import.meta.url (see the comment there).
    'browser/locations': 'src/browser/locations.ts',
    'browser/worker': 'src/browser/worker.js',
    // The package's `./browser/rescaler` subpath (<irn-image> loads it lazily): an entry, so
    // that all of its exports stay, not only those another module imports.
    'browser/rescaler': 'src/browser/rescaler.ts',
  },
  // The `irn` command (cli.js, with the shebang) and its Node library; @irn/core stays an import.
  cli: {
    index: 'src/index.ts',
    cli: 'src/cli/main.ts',
    // Node's data-parallel training worker, found relative to import.meta.url by
    // training/parallel-locations, so both sit at dist/training/ as in src/training/.
    'training/parallel-locations': 'src/training/parallel-locations.ts',
    'training/parallel-worker': 'src/training/parallel-worker.ts',
  },
}[pkgName];
if (!entries) throw new Error(`no rollup entries for package ${pkgName}`);

/**
 * tfjs-backend-wasm's three binaries (plain, SIMD, threaded SIMD) as files of dist/browser/,
 * next to locations.js: the browser rescaler's default `wasmPaths` (see locations.ts), so the
 * wasm backend works from the package with no set-up.
 */
function tfjsWasmBinaries(dir) {
  const wasmDist = join(dirname(createRequire(join(pkgDir, 'package.json')).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  return {
    name: 'irn-tfjs-wasm-binaries',
    generateBundle() {
      for (const name of names) this.emitFile({ type: 'asset', fileName: `${dir}/${name}`, source: readFileSync(join(wasmDist, name)) });
    },
  };
}

/**
 * Empties dist/ before a build: rollup keeps the hashed chunks of earlier builds, which
 * `pnpm pack` would then ship (scripts/check-publish.mjs checks what a tarball holds).
 */
function cleanDist(dir) {
  return {
    name: 'irn-clean-dist',
    buildStart() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export default {
  input: Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, join(pkgDir, v)])),
  external,
  // Dependencies count as free of side effects: otherwise rollup keeps a bare
  // `import '@tensorflow/tfjs-core'` (or 'pako') in every entry that re-exports a module using
  // one, and an app loads all of tfjs for `readLrMetadata`. The modules that use a dependency
  // import it. Kept: the bare imports of tfjs-layers (it registers op gradients) and backends.
  treeshake: { moduleSideEffects: (id, external) => !external || /^@tensorflow\/tfjs-(layers|backend-)/.test(id) },
  output: {
    dir: join(pkgDir, 'dist'),
    format: 'es',
    sourcemap: true,
    entryFileNames: '[name].js',
    chunkFileNames: 'chunks/[name]-[hash].js',
    // @irn/core keeps one file per source module (dist/ mirrors src/), so that an app's
    // bundler drops what a page does not use: merged chunks would tie the browser Rescaler
    // to the trainer, the PyTorch importer and tfjs-layers (see bench/bundle-size.ts).
    ...(pkgName === 'core' ? { preserveModules: true, preserveModulesRoot: join(pkgDir, 'src') } : {}),
    banner: (chunk) => (chunk.name === 'cli' ? '#!/usr/bin/env node' : ''),
  },
  plugins: [cleanDist(join(pkgDir, 'dist')), esbuild({ target: 'es2022', tsconfig: join(root, 'tsconfig.json') }), ...(pkgName === 'core' ? [tfjsWasmBinaries('browser')] : [])],
};
