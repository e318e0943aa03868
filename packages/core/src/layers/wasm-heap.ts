import type * as tf from '@tensorflow/tfjs-core';

/**
 * Core's small WebAssembly SIMD kernels (channel-copy.wat, filter-grad.wat) run on
 * tfjs-backend-wasm's own memory, so that they read and write tensors where they live. This
 * instantiates one of them on a backend's emscripten module.
 *
 * It needs the backend's `WebAssembly.Memory` (the emscripten module's `asm.memory`) and its
 * `_malloc`/`_free`. Where these are missing, the memory is shared (tfjs-wasm's threaded
 * build, in cross-origin isolated pages: the modules import an unshared memory), or the
 * engine has no WebAssembly SIMD, {@link heapModule} returns null and the callers keep their
 * other path.
 */

/** The members of tfjs-backend-wasm's `BackendWasm` that core's wasm kernels use. */
export interface WasmHeapBackend {
  wasm?: unknown;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  typedArrayFromHeap(t: tf.TensorInfo): tf.TypedArray;
}

export function isWasmHeapBackend(b: unknown): b is WasmHeapBackend {
  const o = b as Partial<WasmHeapBackend> | null;
  return o != null && typeof o.makeOutput === 'function' && typeof o.typedArrayFromHeap === 'function';
}

/** Runs `fill`; if it throws, frees the outputs made for it first. */
export function runOrFree(backend: WasmHeapBackend, outs: tf.TensorInfo[], fill: () => void): void {
  try {
    fill();
  } catch (e) {
    for (const o of outs) backend.disposeData(o.dataId, true);
    throw e;
  }
}

/** Turns one kernel off (its callers take their other path) and back on. */
export interface KernelSwitch {
  readonly on: boolean;
  set(on: boolean): void;
  /** Runs `f` with the kernel on or off, then turns it back on. */
  with<T>(on: boolean, f: () => T): T;
}

/** A {@link KernelSwitch}, on. For benchmarks and tests that compare a kernel with the other path. */
export function kernelSwitch(): KernelSwitch {
  let state = true;
  return {
    get on() {
      return state;
    },
    set(on) {
      state = on;
    },
    with(on, f) {
      state = on;
      try {
        return f();
      } finally {
        state = true;
      }
    },
  };
}

/** The parts of tfjs-backend-wasm's emscripten module used here. */
interface EmscriptenModule {
  asm?: { memory?: unknown };
  _malloc?: (bytes: number) => number;
  _free?: (ptr: number) => void;
}

/** A kernel module instantiated on a backend's memory. */
export interface HeapModule {
  exports: WebAssembly.Exports;
  memory: WebAssembly.Memory;
  /** The backend's malloc, as an unsigned address (throws when it returns 0). */
  malloc(bytes: number): number;
  free(ptr: number): void;
}

const compiled = new Map<string, WebAssembly.Module | null>();
const instances = new WeakMap<object, Map<string, HeapModule | null>>();

function compile(base64: string): WebAssembly.Module | null {
  const cached = compiled.get(base64);
  if (cached !== undefined) return cached;
  let mod: WebAssembly.Module | null;
  try {
    const bin = atob(base64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    // A few KB: small enough for a synchronous compile on a page's main thread (4 KB limit).
    mod = new WebAssembly.Module(bytes);
  } catch {
    mod = null; // no WebAssembly SIMD here
  }
  compiled.set(base64, mod);
  return mod;
}

/**
 * The module `base64` instantiated on a tfjs-backend-wasm module (`backend.wasm`), once per
 * backend module; null where it cannot run (see the file comment).
 */
export function heapModule(wasmModule: unknown, base64: string): HeapModule | null {
  if (wasmModule == null || typeof wasmModule !== 'object') return null;
  let byModule = instances.get(wasmModule);
  if (byModule == null) instances.set(wasmModule, (byModule = new Map()));
  let inst = byModule.get(base64);
  if (inst === undefined) {
    inst = instantiate(wasmModule as EmscriptenModule, base64);
    byModule.set(base64, inst);
  }
  return inst;
}

function instantiate(m: EmscriptenModule, base64: string): HeapModule | null {
  const memory = m.asm?.memory;
  const malloc = m._malloc;
  const free = m._free;
  if (!(memory instanceof WebAssembly.Memory) || typeof malloc !== 'function' || typeof free !== 'function') return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  const mod = compile(base64);
  if (mod == null) return null;
  let exports: WebAssembly.Exports;
  try {
    exports = new WebAssembly.Instance(mod, { env: { memory } }).exports;
  } catch {
    return null;
  }
  return {
    exports,
    memory,
    malloc(bytes) {
      // `>>> 0`: _malloc returns a signed i32, negative for addresses above 2 GB.
      const ptr = malloc.call(m, bytes) >>> 0;
      if (!ptr) throw new Error(`out of wasm memory (${bytes} bytes)`);
      return ptr;
    },
    free(ptr) {
      free.call(m, ptr);
    },
  };
}
