import * as tf from '@tensorflow/tfjs-core';
import { axisWeights, DEFAULT_TILE_SIZE, FREE_TILES, MAX_TILE_WORK, MIN_PIXELS_PER_TILE, planAxis, tileCount, tileWork, tooManyTiles } from './tiles.js';

/** Progress of a tiled rescale, reported after each tile. */
export interface TileProgress {
  /** Tiles finished. */
  done: number;
  /** Tiles in all. */
  total: number;
  /** `done / total`, in [0, 1]. */
  fraction: number;
}

/** How {@link downscaleImage} and {@link upscaleImage} split an image into tiles. */
export interface TileOptions {
  /**
   * Side of a tile's core, in LR pixels; 0 runs the whole image at once. Peak tensor memory
   * grows with `(tileSize + 2 * overlap)^2`, not with the image. Default
   * {@link DEFAULT_TILE_SIZE}.
   */
  tileSize?: number;
  /**
   * Context computed around each tile, in LR pixels each side. At least the model's
   * {@link receptiveField} (the default) makes the result equal the untiled one; less is
   * faster, and the seams are then cross-faded over the inner half of the overlap (see
   * bench/README.md for what each setting costs in PSNR).
   */
  overlap?: number;
  /**
   * Bytes of tensor memory one tile's pass may take; a tiling whose largest tile would need
   * more is refused before it starts (`TileMemoryError`, with a tile size that fits). The
   * backend's own bound applies as well (the wasm heap: 4 GiB). Default: no other bound.
   */
  memoryBudget?: number;
  /** Called after each tile. */
  onProgress?: (progress: TileProgress) => void;
  /**
   * Checked before each tile: once aborted, the call rejects with `signal.reason` (a
   * DOMException named `AbortError` unless the caller gave another reason) and frees
   * every tensor it made.
   */
  signal?: AbortSignal;
}

/** An LR-pixel rectangle. */
export interface LrRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** One direction of the model, tile by tile. */
export interface TiledPass {
  /** The LR grid the tiles are laid on. */
  lrWidth: number;
  lrHeight: number;
  /** Output pixels per LR pixel: 1 downscaling, the scale upscaling. */
  factor: number;
  /**
   * Computes the output of the LR rectangle `crop`: `[1, height * factor, width * factor, 3]`.
   * Runs inside `tf.tidy`.
   */
  run(crop: LrRect): tf.Tensor4D;
}

/** Where stitched output goes: `width x height` pixels of `channels` interleaved values (RGB first). */
export interface StitchTarget {
  width: number;
  height: number;
  channels: number;
  data: Float32Array;
}

/** Resolved tiling settings. */
export interface Tiling {
  tileSize: number;
  overlap: number;
  /** Half-width of the seam ramps in LR pixels; 0 cuts seams (exact with overlap >= receptive field). */
  blend: number;
}

/** Checks `tileSize` and `overlap` and fills in the defaults. */
export function resolveTiling(options: TileOptions, receptiveField: number): Tiling {
  const tileSize = options.tileSize ?? DEFAULT_TILE_SIZE;
  const overlap = options.overlap ?? receptiveField;
  if (!Number.isSafeInteger(tileSize) || tileSize < 0) {
    throw new RangeError(`tileSize must be an integer >= 0 (0: the whole image), got ${String(tileSize)}`);
  }
  if (!Number.isSafeInteger(overlap) || overlap < 0) {
    throw new RangeError(`overlap must be an integer >= 0, got ${String(overlap)}`);
  }
  // With the receptive field covered both sides agree on the seam, so it is cut exactly.
  // With less, neither side is exact and a cross-fade hides the step between them; it spans
  // the inner half of the overlap only, because a tile's output is worst near its crop edge
  // (ramps across the whole overlap measured 3 to 30 dB worse than this; bench/README.md).
  return { tileSize, overlap, blend: overlap >= receptiveField ? 0 : overlap / 2 };
}

/**
 * Thrown before a pass whose tiles would compute more than {@link MAX_TILE_WORK} times the
 * image's pixels, or that would cut it into more tiles than {@link tooManyTiles} allows
 * (`tiles` set).
 */
export class TileWorkError extends RangeError {
  override name = 'TileWorkError';
  constructor(
    readonly tileSize: number,
    readonly overlap: number,
    /** How many times the image's LR pixels the tiles would compute. */
    readonly work: number,
    size: string,
    /** How many tiles there would be, when that is what is wrong. */
    readonly tiles?: number,
  ) {
    super(
      tiles == null
        ? `tiles of ${tileSize} LR pixels with an overlap of ${overlap} would compute the ${size} LR image's pixels ${Math.round(work)} times over ` +
            `(at most ${MAX_TILE_WORK}); use a larger tile size or a smaller overlap`
        : `tiles of ${tileSize} LR pixels would cut the ${size} LR image into ${tiles.toLocaleString('en-US')} tiles ` +
            `(at most ${FREE_TILES.toLocaleString('en-US')} or one per ${MIN_PIXELS_PER_TILE} of its pixels, whichever is more); use a larger tile size`,
    );
  }
}

/**
 * Throws a {@link TileWorkError} when `tiling` over an LR grid of `lrWidth x lrHeight` would
 * compute more than {@link MAX_TILE_WORK} times its pixels (crops clipped to the image, as
 * {@link runTiled} computes them), or cut it into more tiles than {@link tooManyTiles} allows.
 */
export function checkTileWork(tiling: { tileSize: number; overlap: number }, lrWidth: number, lrHeight: number): void {
  const size = `${lrWidth}x${lrHeight}`;
  const work = tileWork(tiling, lrWidth, lrHeight);
  if (work > MAX_TILE_WORK) throw new TileWorkError(tiling.tileSize, tiling.overlap, work, size);
  if (tooManyTiles(tiling, lrWidth, lrHeight)) throw new TileWorkError(tiling.tileSize, tiling.overlap, work, size, tileCount(tiling, lrWidth, lrHeight));
}

/** Throws the signal's reason if it is aborted. */
function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Lets the event loop run (input, rendering, timers) between tiles. */
function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * Runs `pass` tile by tile and adds each tile's weighted output into `target` (which must
 * start at zero): only one tile's tensors exist at a time, and each is read back with
 * `await data()` and freed before the next starts.
 */
export async function runTiled(pass: TiledPass, tiling: Tiling, target: StitchTarget, options: TileOptions): Promise<void> {
  const { lrWidth, lrHeight, factor } = pass;
  const cols = planAxis(lrWidth, tiling.tileSize, tiling.overlap);
  const rows = planAxis(lrHeight, tiling.tileSize, tiling.overlap);
  const colWeights = axisWeights(cols, lrWidth, factor, target.width, tiling.blend);
  const rowWeights = axisWeights(rows, lrHeight, factor, target.height, tiling.blend);
  const total = cols.length * rows.length;
  let done = 0;
  for (let r = 0; r < rows.length; r++) {
    for (let c = 0; c < cols.length; c++) {
      throwIfAborted(options.signal);
      const crop: LrRect = {
        left: cols[c].cropStart,
        top: rows[r].cropStart,
        width: cols[c].cropEnd - cols[c].cropStart,
        height: rows[r].cropEnd - rows[r].cropStart,
      };
      let out: tf.Tensor4D;
      try {
        out = tf.tidy(() => pass.run(crop));
      } catch (e) {
        // The estimate before the pass (pass-memory.ts) should prevent this; if the backend
        // still cannot allocate, say so instead of "Invalid typed array length: 342000000".
        if (e instanceof RangeError && /^(Invalid typed array length|Array buffer allocation failed|Invalid array buffer length)/.test(e.message)) {
          throw new Error(`out of memory on a tile of ${crop.width}x${crop.height} LR pixels; use a smaller tile size`, { cause: e });
        }
        throw e;
      }
      let values: Float32Array;
      try {
        values = (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
      addWeighted(values, crop.width * factor, colWeights[c], rowWeights[r], target);
      done++;
      options.onProgress?.({ done, total, fraction: done / total });
      if (done < total) await yieldToEventLoop();
    }
  }
}

/** Adds an RGB tile (`tileWidth` wide) times its separable weights into the target. */
function addWeighted(
  values: Float32Array,
  tileWidth: number,
  col: { start: number; weights: Float32Array },
  row: { start: number; weights: Float32Array },
  target: StitchTarget,
): void {
  const { data, channels, width } = target;
  for (let y = 0; y < row.weights.length; y++) {
    const wy = row.weights[y];
    if (wy === 0) continue;
    const src = y * tileWidth * 3;
    const dst = ((row.start + y) * width + col.start) * channels;
    for (let x = 0; x < col.weights.length; x++) {
      const w = wy * col.weights[x];
      if (w === 0) continue;
      const s = src + x * 3;
      const d = dst + x * channels;
      data[d] += w * values[s];
      data[d + 1] += w * values[s + 1];
      data[d + 2] += w * values[s + 2];
    }
  }
}
