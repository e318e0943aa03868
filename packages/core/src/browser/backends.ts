import * as tf from '@tensorflow/tfjs-core';

/** A TensorFlow.js backend the browser rescaler can run on. */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Which backend to use: `'auto'` picks the first of {@link BACKEND_ORDER} that works. */
export type BackendChoice = 'auto' | BackendName;

/** Fastest first: the order `'auto'` tries and a failing backend falls back along. */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Where the backend modules find their files. */
export interface BackendSetup {
  /**
   * Folder (URL ending in `/`) holding `tfjs-backend-wasm*.wasm`, or a map from those file
   * names to URLs; passed to `setWasmPaths` before the wasm backend starts. Without it the
   * wasm backend looks next to the page (or the worker script) and usually fails, so `'auto'`
   * moves on to cpu.
   */
  wasmPaths?: string | Record<string, string>;
}

type GpuAdapterLike = { info?: { isFallbackAdapter?: boolean }; isFallbackAdapter?: boolean };
type GpuNavigator = Navigator & { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } };

/**
 * Whether the WebGPU adapter is a software fallback (e.g. SwiftShader, `isFallbackAdapter`):
 * WebGL, also software there, runs IRN several times faster, so `'auto'` tries WebGL first.
 */
export async function webgpuIsFallback(): Promise<boolean> {
  const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
  try {
    const adapter = await gpu?.requestAdapter();
    return adapter?.info?.isFallbackAdapter === true || adapter?.isFallbackAdapter === true;
  } catch {
    return false;
  }
}

/**
 * The order `'auto'` tries backends in: {@link BACKEND_ORDER}, except that a software
 * fallback WebGPU adapter goes after WebGL.
 */
export async function autoBackendOrder(): Promise<BackendName[]> {
  if (!(await webgpuIsFallback())) return [...BACKEND_ORDER];
  return ['webgl', 'webgpu', ...BACKEND_ORDER.filter((b) => b !== 'webgl' && b !== 'webgpu')];
}

/**
 * Why `name` cannot start here, or null when it plausibly can (it is not started): WebGPU
 * needs `navigator.gpu` and a non-null adapter (tfjs 4.22 does not check for null and fails
 * later with a TypeError), WebGL an `OffscreenCanvas` or a document, wasm `WebAssembly`.
 */
export async function backendUnavailable(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'webgpu': {
      const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
      if (gpu == null) return 'this browser has no WebGPU (navigator.gpu is missing)';
      try {
        if ((await gpu.requestAdapter()) == null) return 'navigator.gpu.requestAdapter() returned null (no usable GPU adapter)';
        return null;
      } catch (e) {
        return `navigator.gpu.requestAdapter() failed: ${(e as Error).message}`;
      }
    }
    case 'webgl':
      return typeof OffscreenCanvas !== 'undefined' || typeof document !== 'undefined' ? null : 'no canvas to create a WebGL context on';
    case 'wasm':
      return typeof WebAssembly === 'object' ? null : 'this browser has no WebAssembly';
    case 'cpu':
      return null;
  }
}

/** The backends of {@link BACKEND_ORDER} that can plausibly start here, in that order. */
export async function availableBackends(): Promise<BackendName[]> {
  const reasons = await Promise.all(BACKEND_ORDER.map((b) => backendUnavailable(b)));
  return BACKEND_ORDER.filter((_, i) => reasons[i] == null);
}

let wasmPathsApplied = false;

/**
 * Imports the backend's module (lazily: a page only downloads the backends it tries) and
 * makes it tfjs's active backend. On failure the active backend is left as it was and the
 * reason is returned. The active backend is global to the page (or worker).
 */
export async function activateBackend(name: BackendName, setup: BackendSetup = {}): Promise<{ ok: true } | { ok: false; reason: string }> {
  const unavailable = await backendUnavailable(name);
  if (unavailable != null) return { ok: false, reason: unavailable };
  const previous = tf.getBackend();
  try {
    await importBackend(name, setup);
    if (!(await tf.setBackend(name))) {
      const hint = name === 'wasm' && setup.wasmPaths == null ? ' (set wasmPaths to the folder of the tfjs-backend-wasm .wasm files)' : '';
      return { ok: false, reason: `tf.setBackend('${name}') failed${hint}` };
    }
    await tf.ready();
    if (tf.getBackend() !== name) return { ok: false, reason: `the active backend is ${tf.getBackend()}, not ${name}` };
    return { ok: true };
  } catch (e) {
    if (previous != null && tf.getBackend() !== previous) await tf.setBackend(previous).catch(() => false);
    return { ok: false, reason: (e as Error).message };
  }
}

async function importBackend(name: BackendName, setup: BackendSetup): Promise<void> {
  switch (name) {
    case 'webgpu':
      await import('@tensorflow/tfjs-backend-webgpu');
      return;
    case 'webgl':
      await import('@tensorflow/tfjs-backend-webgl');
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // setWasmPaths must run before the backend's first start (it throws after a failed one).
      if (setup.wasmPaths != null && !wasmPathsApplied && tf.engine().registry['wasm'] == null) {
        wasm.setWasmPaths(setup.wasmPaths as Parameters<typeof wasm.setWasmPaths>[0]);
        wasmPathsApplied = true;
      }
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}
