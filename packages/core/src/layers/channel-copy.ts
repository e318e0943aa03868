import { CHANNEL_COPY_WASM } from './channel-copy-wasm.js';

/**
 * A small WebAssembly SIMD kernel (channel-copy.wat) that runs on tfjs-backend-wasm's own
 * memory: strided copies of channel runs between tensors, optionally through LeakyReLU or its
 * gradient. The concat and split kernels of concat-channels.ts use it, pixel by pixel, so
 * that the destination is written once, in order, in 16-byte blocks.
 *
 * It needs the backend's `WebAssembly.Memory` (the emscripten module's `asm.memory`) and its
 * `_malloc`/`_free`. Where these are missing, or the memory is shared (tfjs-wasm's threaded
 * build, in cross-origin isolated pages), {@link channelCopier} returns null and the callers
 * keep their JavaScript path.
 */

/**
 * What a record does to each value it copies: nothing, LeakyReLU(alpha), or LeakyReLU's
 * gradient (the value where the LeakyReLU's input, read from `mask`, is > 0, else alpha
 * times it).
 */
export type CopyMode = 'copy' | 'leaky' | 'leakyGrad';
const MODES: Record<CopyMode, number> = { copy: 0, leaky: 1, leakyGrad: 2 };

/** One strided copy: `bytes` from `src` to `dst` per pixel, then both advance by their stride. */
export interface CopyRecord {
  src: number;
  srcStride: number;
  dst: number;
  dstStride: number;
  bytes: number;
  mode: CopyMode;
  /** For 'leakyGrad': where the LeakyReLU's input is, laid out like `src`. */
  mask?: number;
  maskStride?: number;
}

/** The parts of tfjs-backend-wasm's emscripten module used here. */
interface EmscriptenModule {
  asm?: { memory?: unknown };
  _malloc?: (bytes: number) => number;
  _free?: (ptr: number) => void;
}

type CopyExport = (desc: number, n: number, pixels: number, vecPixels: number, alpha: number) => void;

/** Runs {@link CopyRecord}s on one wasm memory. */
export interface ChannelCopier {
  /**
   * Copies `pixels` pixels for every record, records in order inside each pixel. The records
   * must be such that, within one call, whatever follows a record's slot (up to 12 bytes) is
   * written later by the same call: the next record of the pixel, or the next pixel.
   */
  run(records: CopyRecord[], pixels: number, alpha: number): void;
}

const RECORD_BYTES = 32;
/** Bytes a 16-byte block copy may read or write past a record's slot. */
const OVERRUN = 12;

let compiled: WebAssembly.Module | null | undefined;
const copiers = new WeakMap<object, ChannelCopier | null>();
let enabled = true;

/**
 * Turns the SIMD copy kernel off (the callers then take their JavaScript path) or back on.
 * For benchmarks and tests that compare the two; not part of the public API.
 */
export function setChannelCopyEnabled(on: boolean): void {
  enabled = on;
}

/** Runs `f` with the SIMD copy kernel on or off, then turns it back on. For benchmarks and tests. */
export function withChannelCopy<T>(on: boolean, f: () => T): T {
  setChannelCopyEnabled(on);
  try {
    return f();
  } finally {
    setChannelCopyEnabled(true);
  }
}

function compile(): WebAssembly.Module | null {
  if (compiled !== undefined) return compiled;
  try {
    const bin = atob(CHANNEL_COPY_WASM);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    // Under 500 bytes: small enough for a synchronous compile on a page's main thread (4 KB).
    compiled = new WebAssembly.Module(bytes);
  } catch {
    compiled = null; // no WebAssembly SIMD here
  }
  return compiled;
}

/**
 * The copier for a tfjs-backend-wasm module (`backend.wasm`), instantiated once per module;
 * null where it cannot run (see the file comment).
 */
export function channelCopier(wasmModule: unknown): ChannelCopier | null {
  if (!enabled || wasmModule == null || typeof wasmModule !== 'object') return null;
  const cached = copiers.get(wasmModule);
  if (cached !== undefined) return cached;
  const copier = instantiate(wasmModule as EmscriptenModule);
  copiers.set(wasmModule, copier);
  return copier;
}

function instantiate(m: EmscriptenModule): ChannelCopier | null {
  const memory = m.asm?.memory;
  const malloc = m._malloc;
  const free = m._free;
  if (!(memory instanceof WebAssembly.Memory) || typeof malloc !== 'function' || typeof free !== 'function') return null;
  if (typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer) return null;
  const mod = compile();
  if (mod == null) return null;
  let copy: CopyExport;
  try {
    copy = new WebAssembly.Instance(mod, { env: { memory } }).exports.copy as CopyExport;
  } catch {
    return null;
  }
  return {
    run(records, pixels, alpha) {
      if (records.length === 0 || pixels <= 0) return;
      let minStride = Infinity;
      for (const r of records) {
        if (!(r.bytes >= 4 && r.bytes % 4 === 0)) throw new Error(`channel copy: ${r.bytes} bytes per pixel`);
        minStride = Math.min(minStride, r.srcStride, r.dstStride);
        if (r.mode === 'leakyGrad') {
          if (r.mask == null || r.maskStride == null) throw new Error('channel copy: a leakyGrad record without its mask');
          minStride = Math.min(minStride, r.maskStride);
        }
      }
      // Block copies overrun a slot by up to 12 bytes: the last pixels, whose overrun could
      // leave the tensors, copy exactly.
      const vecPixels = minStride > 0 ? Math.max(0, pixels - Math.ceil(OVERRUN / minStride)) : 0;
      // `>>> 0`: _malloc returns a signed i32, negative for addresses above 2 GB.
      const desc = malloc.call(m, records.length * RECORD_BYTES) >>> 0;
      if (!desc) throw new Error('channel copy: out of wasm memory for the descriptor');
      try {
        // A view taken after malloc, which may have grown the memory.
        const heap = new Int32Array(memory.buffer, desc, records.length * (RECORD_BYTES / 4));
        records.forEach((r, i) => {
          heap.set([r.src, r.srcStride, r.dst, r.dstStride, r.bytes, MODES[r.mode], r.mask ?? 0, r.maskStride ?? 0], i * 8);
        });
        copy(desc, records.length, pixels, vecPixels, alpha);
      } finally {
        free.call(m, desc);
      }
    },
  };
}
