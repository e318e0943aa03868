import { CHANNEL_COPY_WASM } from './channel-copy-wasm.js';
import { heapModule, kernelSwitch, type HeapModule } from './wasm-heap.js';

/**
 * A small WebAssembly SIMD kernel (channel-copy.wat) that runs on tfjs-backend-wasm's own
 * memory: strided copies of channel runs between tensors, optionally through LeakyReLU or its
 * gradient. The concat and split kernels of concat-channels.ts use it, pixel by pixel, so
 * that the destination is written once, in order, in 16-byte blocks.
 *
 * Where it cannot be instantiated (wasm-heap.ts: tfjs-wasm's threaded build in cross-origin
 * isolated pages, no WebAssembly SIMD), {@link channelCopier} returns null and the callers
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

const copiers = new WeakMap<HeapModule, ChannelCopier>();
const enabled = kernelSwitch();

/**
 * Turns the SIMD copy kernel off (the callers then take their JavaScript path) or back on.
 * For benchmarks and tests that compare the two; not part of the public API.
 */
export function setChannelCopyEnabled(on: boolean): void {
  enabled.set(on);
}

/** Runs `f` with the SIMD copy kernel on or off, then turns it back on. For benchmarks and tests. */
export function withChannelCopy<T>(on: boolean, f: () => T): T {
  return enabled.with(on, f);
}

/**
 * The copier for a tfjs-backend-wasm module (`backend.wasm`), instantiated once per module;
 * null where it cannot run (see the file comment).
 */
export function channelCopier(wasmModule: unknown): ChannelCopier | null {
  if (!enabled.on) return null;
  const heap = heapModule(wasmModule, CHANNEL_COPY_WASM);
  if (heap == null) return null;
  let copier = copiers.get(heap);
  if (copier == null) copiers.set(heap, (copier = makeCopier(heap)));
  return copier;
}

function makeCopier(heap: HeapModule): ChannelCopier {
  const copy = heap.exports.copy as CopyExport;
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
      const desc = heap.malloc(records.length * RECORD_BYTES);
      try {
        // A view taken after malloc, which may have grown the memory.
        const view = new Int32Array(heap.memory.buffer, desc, records.length * (RECORD_BYTES / 4));
        records.forEach((r, i) => {
          view.set([r.src, r.srcStride, r.dst, r.dstStride, r.bytes, MODES[r.mode], r.mask ?? 0, r.maskStride ?? 0], i * 8);
        });
        copy(desc, records.length, pixels, vecPixels, alpha);
      } finally {
        heap.free(desc);
      }
    },
  };
}
