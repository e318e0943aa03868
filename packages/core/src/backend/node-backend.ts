import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';

/** TensorFlow.js backends {@link useNodeBackend} can select. */
export type NodeBackendName = 'wasm' | 'cpu';

let wasmPathsSet = false;

/**
 * The folder holding tfjs-backend-wasm's `.wasm` binaries, with a trailing separator.
 * Resolved through Node's module resolution from this file, so it is found both when running
 * from source and from a bundle in `dist/` (where the backend's own `__dirname` guess fails).
 */
function wasmFolder(): string {
  const require = createRequire(import.meta.url);
  let file: string;
  try {
    file = require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm');
  } catch (e) {
    throw new Error(`cannot find the binaries of @tensorflow/tfjs-backend-wasm (is it installed?): ${(e as Error).message}`);
  }
  return dirname(file) + sep;
}

/**
 * Selects and initializes a TensorFlow.js backend in Node: `"wasm"` (default; XNNPACK, about
 * 30x faster than `"cpu"` for IRN's convolutions) or `"cpu"` (plain JavaScript). Call it
 * before creating any tensor. Returns the name of the active backend.
 *
 * The wasm binaries are located through Node's module resolution, so this works from source
 * and from the bundled `dist/`. The banner tfjs-backend-cpu prints on its first tensor,
 * advising to install `@tensorflow/tfjs-node`, is turned off: this library does not use
 * tfjs-node, and the advice would mix into command-line output.
 *
 * @throws Error naming the backend and the reason when it cannot be initialized.
 * @example
 * import { useNodeBackend } from '@irn/core/node';
 * await useNodeBackend();        // 'wasm'
 */
export async function useNodeBackend(name: NodeBackendName = 'wasm'): Promise<string> {
  if (name !== 'wasm' && name !== 'cpu') {
    throw new Error(`unknown TensorFlow.js backend "${String(name)}"; use "wasm" or "cpu"`);
  }
  if (name === 'wasm' && !wasmPathsSet && tf.engine().registry['wasm'] == null) {
    // Must happen before the wasm backend's first initialization.
    try {
      setWasmPaths(wasmFolder());
    } catch (e) {
      throw new Error(`cannot start the TensorFlow.js wasm backend: ${(e as Error).message}`);
    }
    wasmPathsSet = true;
  }
  // Emscripten's loader reads the free variable `__dirname` in Node. It exists in the
  // backend's CommonJS build (used from source), not in an ES-module bundle of it; there the
  // global stands in, only while the backend starts (the wasm paths set above win anyway).
  const g = globalThis as { __dirname?: string };
  const shim = name === 'wasm' && g.__dirname === undefined;
  if (shim) g.__dirname = wasmFolder();
  let ok: boolean;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new Error(`cannot start the TensorFlow.js ${name} backend: ${(e as Error).message}`);
  } finally {
    if (shim) delete g.__dirname;
  }
  if (!ok || tf.getBackend() !== name) {
    throw new Error(`cannot start the TensorFlow.js ${name} backend (tf.setBackend returned false; see the warning above)`);
  }
  if (name === 'cpu') {
    // The banner is printed once, on the cpu backend's first tensor write (tfjs-backend-cpu, backend_cpu.ts).
    const backend = tf.backend() as unknown as { firstUse?: boolean };
    if (backend.firstUse === true) backend.firstUse = false;
  }
  return name;
}
