/**
 * The PNG writer of {@link RasterImage}s for files that are kept or shipped (small: see
 * png-encode.ts), apart from the reader (png.ts) so that what only decodes (a browser restore,
 * whose worker turns LRs into tensors) does not load its deflate library (pako): the browser
 * pipeline loads this module only for a downscale asked for as a PNG `Blob` (an upscale's is
 * written by png-quick.ts).
 */
import { makeTextChunk } from './png-chunks.js';
import { encodePngSamples, type PngEffort } from './png-encode.js';
import { rasterSamples } from './png-rows.js';
import type { RasterImage } from './raster.js';

/** Options of {@link encodePng}. */
export interface EncodePngOptions {
  /** Bits per sample. Default 8. */
  bitDepth?: 8 | 16;
  /**
   * Text chunks to write, keyword (1 to 79 printable Latin-1 characters) -> text. Latin-1
   * text goes in tEXt chunks, anything else in iTXt (UTF-8).
   */
  text?: Record<string, string>;
  /**
   * `'fast'` (default): one adaptive filtering, one deflate; `'max'`: nine filter and zlib
   * settings, the smallest kept (about 3x slower; what `irn downscale` uses for LR images,
   * which are written once and downloaded many times). See `encodePngSamples`.
   */
  effort?: PngEffort;
}

/**
 * Encodes an image as a PNG file (grey, grey + alpha, RGB or RGBA by its channel count),
 * each value clamped to [0, 1] and rounded to the nearest of the `2^bitDepth` levels, so
 * that `k / 255` is stored as `k` at 8 bits. Rows are filtered adaptively and deflated at
 * zlib's strongest settings (see `encodePngSamples`); `effort: 'max'` makes files as small
 * as OptiPNG -o7 does.
 *
 * @throws Error when the image is malformed, holds NaN, or a text keyword is invalid.
 * @example
 * const bytes = encodePng({ width: 1, height: 1, channels: 3, data: Float32Array.of(1, 0.5, 0) });
 */
export function encodePng(img: RasterImage, options: EncodePngOptions = {}): Uint8Array {
  const textChunks = Object.entries(options.text ?? {}).map(([k, v]) => makeTextChunk(k, v));
  return encodePngSamples(rasterSamples(img, options.bitDepth ?? 8), textChunks, options.effort ?? 'fast');
}
