/**
 * Tile layout and seam weights for tiled rescaling, along one axis at a time (a tile is
 * the product of a column span and a row span). Pure arithmetic, no tensors.
 */

/**
 * Default tile side in LR pixels (see bench/README.md for the measurements behind it).
 */
export const DEFAULT_TILE_SIZE = 256;

/** One tile's extent along an axis, in LR pixels, ends exclusive. */
export interface AxisTile {
  /** The pixels this tile is responsible for; the cores partition the axis. */
  coreStart: number;
  coreEnd: number;
  /** The pixels it is computed on: the core plus `overlap` each side, within the image. */
  cropStart: number;
  cropEnd: number;
}

/**
 * Splits an axis of `length` LR pixels into `ceil(length / tileSize)` cores of nearly equal
 * size (at most `tileSize`; sizes differ by at most one, so no sliver of a last tile pays
 * for a full overlap), each extended by `overlap` on both sides within `[0, length)`.
 * `tileSize` 0 means one tile.
 */
export function planAxis(length: number, tileSize: number, overlap: number): AxisTile[] {
  const count = tileSize === 0 ? 1 : Math.ceil(length / tileSize);
  const tiles: AxisTile[] = [];
  for (let i = 0; i < count; i++) {
    const coreStart = Math.floor((i * length) / count);
    const coreEnd = Math.floor(((i + 1) * length) / count);
    tiles.push({ coreStart, coreEnd, cropStart: Math.max(0, coreStart - overlap), cropEnd: Math.min(length, coreEnd + overlap) });
  }
  return tiles;
}

/** A tile's weights along one axis over its output pixels `[start, start + weights.length)`. */
export interface AxisWeights {
  start: number;
  weights: Float32Array;
}

/**
 * The weight of each tile's output pixels along an axis, summing to 1 over the tiles at
 * every output pixel. `factor` is output pixels per LR pixel (1 downscaling, the scale
 * upscaling) and `outLength` the output length (crops a padded upscale).
 *
 * With `blend` 0 a tile counts only on its core: seams are cut, which is exact when the
 * overlap covers the receptive field (both sides agree there). With `blend` h > 0, a
 * tile's weight ramps linearly from 0 to 1 across `[coreStart - h, coreStart + h]` (and
 * back down at the far side) wherever it meets a neighbour, so that a seam computed with
 * too little context is cross-faded rather than a visible edge. Image borders need no
 * ramp: there a tile sees exactly what the whole image sees.
 */
export function axisWeights(tiles: AxisTile[], length: number, factor: number, outLength: number, blend: number): AxisWeights[] {
  const out: AxisWeights[] = tiles.map((t) => {
    const start = t.cropStart * factor;
    const end = Math.min(t.cropEnd * factor, outLength);
    const weights = new Float32Array(Math.max(0, end - start));
    for (let i = 0; i < weights.length; i++) {
      const u = (start + i + 0.5) / factor; // the output pixel's centre, in LR pixels
      weights[i] = Math.min(edgeWeight(u - t.coreStart, t.coreStart > 0, blend), edgeWeight(t.coreEnd - u, t.coreEnd < length, blend));
    }
    return { start, weights };
  });
  // Normalise, so that the weights sum to 1 even where ramps of more than two tiles meet.
  const sum = new Float64Array(outLength);
  for (const { start, weights } of out) for (let i = 0; i < weights.length; i++) sum[start + i] += weights[i];
  for (const { start, weights } of out) for (let i = 0; i < weights.length; i++) if (weights[i] > 0) weights[i] /= sum[start + i];
  return out;
}

/** Weight at signed distance `d` inside a core edge (negative: outside the core). */
function edgeWeight(d: number, shared: boolean, blend: number): number {
  if (!shared) return 1;
  if (blend === 0) return d > 0 ? 1 : 0;
  return Math.min(1, Math.max(0, (d + blend) / (2 * blend)));
}

/**
 * The most LR pixels a tiled pass may compute, over all its tiles' crops (core plus overlap),
 * as a multiple of the image's own: tiles much smaller than their overlap repeat the same
 * pixels over and over (tile 1 with overlap 40 computes each pixel 6,561 times, and a small
 * photo took minutes). The default tile, 256, costs 1.7x at x2 (overlap 40) and 3.8x with the
 * published x4 model's 120; tile 64 with 120 costs 23x.
 */
export const MAX_TILE_WORK = 64;

/**
 * The fewest LR pixels per tile, on average, that a tiled pass of more than {@link FREE_TILES}
 * tiles may have: each tile costs a fixed time besides its pixels (its tensors, a read-back, a
 * turn of the event loop: about 2 ms on wasm), so tile 1 with no overlap took 34 s on a 128x128
 * LR that takes 0.2 s whole. At one tile per 16 pixels that cost stays within about 10 times
 * the image's own work.
 */
export const MIN_PIXELS_PER_TILE = 16;

/** Tiles that any pass may have, however small (about 2 s of fixed cost). */
export const FREE_TILES = 1024;

/** How many tiles `tiling` cuts a `lrWidth x lrHeight` grid into. */
export function tileCount(tiling: { tileSize: number; overlap: number }, lrWidth: number, lrHeight: number): number {
  return planAxis(lrWidth, tiling.tileSize, tiling.overlap).length * planAxis(lrHeight, tiling.tileSize, tiling.overlap).length;
}

/** Whether `tiling` cuts a `lrWidth x lrHeight` grid into more than {@link FREE_TILES} tiles and more than one per {@link MIN_PIXELS_PER_TILE} of its pixels. */
export function tooManyTiles(tiling: { tileSize: number; overlap: number }, lrWidth: number, lrHeight: number): boolean {
  const tiles = tileCount(tiling, lrWidth, lrHeight);
  return tiles > FREE_TILES && tiles * MIN_PIXELS_PER_TILE > lrWidth * lrHeight;
}

/**
 * How many times the LR pixels of a `lrWidth x lrHeight` grid the crops of `tiling` compute
 * (crops clipped to the image, as the tiled passes compute them): 1 for one tile, more with
 * each overlap.
 */
export function tileWork(tiling: { tileSize: number; overlap: number }, lrWidth: number, lrHeight: number): number {
  const span = (length: number) => planAxis(length, tiling.tileSize, tiling.overlap).reduce((sum, t) => sum + t.cropEnd - t.cropStart, 0);
  return (span(lrWidth) / lrWidth) * (span(lrHeight) / lrHeight);
}
