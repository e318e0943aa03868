/**
 * How much tensor memory one pass of the model over a tile takes, estimated before the
 * pass so that a tile too large for the backend is refused with a tile size that fits,
 * instead of failing deep inside a kernel ("Invalid typed array length: 342000000").
 */
import * as tf from '@tensorflow/tfjs-core';
import { levelsOf, type IrnConfig } from '../model/config.js';
import { DEFAULT_TILE_SIZE, MAX_TILE_WORK, planAxis, tileWork, tooManyTiles } from './tiles.js';

/**
 * Most bytes the wasm backend's heap can grow to: WebAssembly memory is 32-bit, and
 * tfjs-backend-wasm 4.22's Emscripten build caps it at 4 GiB less one 64 KiB page
 * (`getHeapMax()` in its tfjs-backend-wasm.js).
 */
export const WASM_HEAP_MAX_BYTES = 4294901760;

/** Heap kept back from a wasm pass: the module's own data and stack, and fragmentation. */
const WASM_HEAP_RESERVE_BYTES = 256 * 1024 * 1024;

/**
 * The peak tensor bytes of one pass, per HR pixel of its crop. A dense block's largest
 * tensor is its last concatenation, `(c - 3) + 4 * growth` channels at a level with `c =
 * 3 * 4^l` channels and `1 / 4^l` of the HR pixels (IRN.md, "Subnet: dense block"); the
 * first level's is the largest. Measured with `withPeakMemory` on 128 x 128 images (wasm
 * and cpu alike; the number of blocks does not matter, one block runs at a time): the peak
 * is about twice that tensor plus 140 bytes per HR pixel for the image, z and the
 * coupling's halves, e.g. 287 B per HR pixel upscaling with growth 16 and 415 with growth
 * 32 (x2, x4 and x8 alike), 155 with growth 1. The estimate takes 2.5 times the tensor plus
 * 160 bytes, 10 to 30 % above every measurement.
 */
export function passBytesPerHrPixel(config: Pick<IrnConfig, 'scale' | 'growth'>): number {
  let largest = 0;
  for (let l = 1; l <= levelsOf(config.scale); l++) {
    const channels = 3 * 4 ** l;
    largest = Math.max(largest, (4 * (channels - 3 + 4 * config.growth)) / 4 ** l);
  }
  return 2.5 * largest + 160;
}

/**
 * Bytes of tensor memory a pass may take on the current backend: on wasm, what its heap can
 * still grow to (the 4 GiB cap less the tensors alive and a reserve); elsewhere unbounded
 * (the cpu backend and Node's typed arrays follow the machine's memory: callers that know it
 * pass `memoryBudget`).
 */
export function backendMemoryBudget(): number {
  if (tf.getBackend() !== 'wasm') return Number.POSITIVE_INFINITY;
  return Math.max(0, WASM_HEAP_MAX_BYTES - WASM_HEAP_RESERVE_BYTES - tf.memory().numBytes);
}

/** Thrown before a pass whose tile would need more tensor memory than there is. */
export class TileMemoryError extends Error {
  override name = 'TileMemoryError';
  /** The message without its advice, e.g. "processing the whole ... than the 4.0 GB available". */
  readonly problem: string;
  constructor(
    /** What would be processed at once, e.g. "processing the whole 6000x4000 image at once". */
    readonly what: string,
    /** The estimated peak tensor bytes of that pass. */
    readonly neededBytes: number,
    /** The bytes there are. */
    readonly budgetBytes: number,
    /**
     * A tile side in LR pixels whose passes fit, with the same overlap: the default tile
     * size when it fits, else the largest that does; 0 when none fits, or when the one that
     * fits would compute the image more than `MAX_TILE_WORK` times over (then the overlap is
     * too large).
     */
    readonly suggestedTileSize: number,
  ) {
    const problem = `${what} needs about ${gigabytes(neededBytes)} of tensor memory, more than the ${gigabytes(budgetBytes)} available`;
    super(`${problem}; ${suggestedTileSize > 0 ? `use a tile size of ${suggestedTileSize} or less` : 'use a smaller overlap'}`);
    this.problem = problem;
  }
}

/** `8.2 GB`, `512 MB`. */
export function gigabytes(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)} GB` : `${Math.round(n / 1e6)} MB`;
}

/**
 * The largest tile side (LR pixels) whose crop, `tile + 2 * overlap` on a side (at most the
 * image), fits `budget` bytes at `bytesPerLrPixel`: a multiple of 64 when at least 64.
 */
export function largestTileFitting(budget: number, bytesPerLrPixel: number, overlap: number, lrWidth: number, lrHeight: number): number {
  const fits = (t: number) => Math.min(t + 2 * overlap, lrWidth) * Math.min(t + 2 * overlap, lrHeight) * bytesPerLrPixel <= budget;
  let lo = 0;
  let hi = Math.max(lrWidth, lrHeight);
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (fits(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo >= 64 ? lo - (lo % 64) : lo;
}

/**
 * Throws a {@link TileMemoryError} when the largest crop of `tiling` over an LR grid of
 * `lrWidth x lrHeight` would need more tensor memory than `budget` (default: unbounded) or
 * the backend allows ({@link backendMemoryBudget}). `size` names the image, e.g. "6000x4000".
 */
export function checkPassMemory(
  config: Pick<IrnConfig, 'scale' | 'growth'>,
  tiling: { tileSize: number; overlap: number },
  lrWidth: number,
  lrHeight: number,
  size: string,
  budget = Number.POSITIVE_INFINITY,
): void {
  const crop = (length: number) => Math.max(...planAxis(length, tiling.tileSize, tiling.overlap).map((t) => t.cropEnd - t.cropStart));
  const bytesPerLrPixel = passBytesPerHrPixel(config) * config.scale * config.scale;
  const needed = crop(lrWidth) * crop(lrHeight) * bytesPerLrPixel;
  const available = Math.min(budget, backendMemoryBudget());
  if (needed <= available) return;
  const whole = tiling.tileSize === 0 || (tiling.tileSize >= lrWidth && tiling.tileSize >= lrHeight);
  const what = whole ? `processing the whole ${size} image at once` : `a tile of ${tiling.tileSize} LR pixels (overlap ${tiling.overlap})`;
  // The default when it fits (the measured best trade-off; bench/README.md), rather than the
  // largest tile that fits by the estimate, which leaves the heap little room to spare.
  // A tile that fits but that checkTileWork would refuse (so small against its overlap, or so
  // small that the tiles are too many) is no advice: then only a smaller overlap helps.
  const fitting = Math.min(largestTileFitting(available, bytesPerLrPixel, tiling.overlap, lrWidth, lrHeight), DEFAULT_TILE_SIZE);
  const advised = { tileSize: fitting, overlap: tiling.overlap };
  const workable = fitting > 0 && tileWork(advised, lrWidth, lrHeight) <= MAX_TILE_WORK && !tooManyTiles(advised, lrWidth, lrHeight);
  throw new TileMemoryError(what, needed, available, workable ? fitting : 0);
}
