// What a page downloads to restore at all, besides the model: the JavaScript of `<irn-image>`
// with a wasm restore in a worker (page and worker, as an app's bundler emits it; the figures
// of `pnpm bench:bundle`) and the wasm backend's binary. Both gzipped (level 9), as any static
// server or CDN serves JavaScript and wasm. The model comes on top (bench/rd/cache.ts,
// `modelBytes`). A codec of the full photo needs none of it: the browser decodes it.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { measureBundles, restoreTotal, SCENARIOS } from '../bundle-size.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The wasm binary a restore fetches in a browser with SIMD and without cross-origin isolation
 * (every current browser on a page without COOP/COEP headers): tfjs-backend-wasm's SIMD build.
 */
export const WASM_BINARY = join(root, 'packages/core/dist/browser/tfjs-backend-wasm-simd.wasm');

/** Gzipped bytes of the restoring runtime, by part. */
export interface RuntimeBytes {
  /** JavaScript of `<irn-image>` and its worker that a wasm restore loads. */
  js: number;
  /** The wasm backend's binary ({@link WASM_BINARY}). */
  wasm: number;
  total: number;
}

/** Bundles `<irn-image>` as an app would (esbuild, from the built `dist/` folders) and measures what a wasm restore loads. */
export async function runtimeBytes(): Promise<RuntimeBytes> {
  const [element] = await measureBundles(SCENARIOS.filter((s) => s.name === 'element'));
  if (element == null) throw new Error('bench/bundle-size.ts has no "element" scenario');
  const js = restoreTotal(element).gzip;
  const wasm = gzipSync(readFileSync(WASM_BINARY), { level: 9 }).length;
  return { js, wasm, total: js + wasm };
}
