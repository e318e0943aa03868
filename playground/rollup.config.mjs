// The playground's build (`pnpm --filter @irn/playground build`, part of `pnpm build`):
// dist/main.js (the page), dist/train-worker.js (the fine-tune worker),
// dist/latents-worker.js (the Latents tab's forward pass and scores) and
// dist/rescaler-worker.js (@irn/core's Rescaler worker, for round trips), ES modules with
// shared chunks, everything bundled (lit, uPlot, @irn/core, @irn/element, TensorFlow.js);
// plus the tfjs-backend-wasm .wasm files (dist/wasm/) and uPlot's stylesheet.
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import commonjs from '@rollup/plugin-commonjs';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import esbuild from 'rollup-plugin-esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, 'package.json'));
const nodeOnly = ['crypto', 'fs', 'path', 'os', 'perf_hooks', 'worker_threads', 'util'];

/** Files the page loads beside the bundle, copied from the packages that own them. */
function assets() {
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const uplotDir = dirname(require.resolve('uplot/package.json'));
  return {
    name: 'irn-playground-assets',
    generateBundle() {
      for (const f of readdirSync(join(wasmDir, 'dist')).filter((f) => f.endsWith('.wasm'))) {
        this.emitFile({ type: 'asset', fileName: `wasm/${f}`, source: readFileSync(join(wasmDir, 'dist', f)) });
      }
      this.emitFile({ type: 'asset', fileName: 'uPlot.min.css', source: readFileSync(join(uplotDir, 'dist/uPlot.min.css')) });
    },
  };
}

export default {
  input: {
    main: join(here, 'src/main.ts'),
    'train-worker': join(here, 'src/train/worker.ts'),
    'latents-worker': join(here, 'src/latents/worker.ts'),
    'rescaler-worker': require.resolve('@irn/core/browser/worker.js'),
  },
  external: nodeOnly,
  output: { dir: join(here, 'dist'), format: 'es', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: 'chunks/[name]-[hash].js' },
  plugins: [
    nodeResolve({ browser: true, exportConditions: ['browser', 'import', 'default'], preferBuiltins: false }),
    commonjs({ ignore: nodeOnly }),
    esbuild({ target: 'es2022', tsconfig: join(here, '../tsconfig.json'), minify: true }),
    assets(),
  ],
  onwarn(warning, warn) {
    // tfjs's UMD-style modules use `this` at the top level and some have circular imports: harmless.
    if (warning.code === 'THIS_IS_UNDEFINED' || warning.code === 'CIRCULAR_DEPENDENCY') return;
    if (warning.plugin === 'esbuild' && /"require" to "esm"/.test(warning.message)) return;
    warn(warning);
  },
};
