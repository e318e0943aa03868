import { zlibSync } from 'fflate';
import { assemblePng, filterRows, pngRows, rasterSamples, type RowFilter } from './png-rows.js';
import type { RasterImage } from './raster.js';

/**
 * A PNG writer for images that are shown, not shipped: a restored image handed to an `<img>`
 * on the page that made it (`<irn-image>`, a `Rescaler` upscale asked for a `'blob'`). One row
 * filter and fflate's fast deflate instead of encodePng's adaptive filtering and zlib level 9
 * (pako): on Kodak24's photos 4.2x faster for files 4.5 % larger
 * (`pnpm bench:png-quick`), and without loading pako. Browser-safe.
 */

/** How {@link encodePngQuick} writes: the row filter and fflate's level (0: stored, no compression). */
export interface PngQuickOptions {
  filter?: RowFilter;
  level?: 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
}

/** The settings {@link encodePngQuick} uses by default (chosen by `pnpm bench:png-quick`). */
export const PNG_QUICK_DEFAULTS: Required<PngQuickOptions> = { filter: 2, level: 1 };

/**
 * An 8-bit PNG of `img` (grey, grey + alpha, RGB or RGBA by its channel count; rounded as
 * encodePng rounds, so both hold the same pixels), written for speed.
 * @throws Error when the image is malformed or holds NaN.
 */
export function encodePngQuick(img: RasterImage, options: PngQuickOptions = {}): Uint8Array {
  const { filter, level } = { ...PNG_QUICK_DEFAULTS, ...options };
  const samples = rasterSamples(img, 8);
  const { raw, height, stride, bpp } = pngRows(samples);
  return assemblePng(samples, zlibSync(filterRows(raw, height, stride, bpp, filter), { level }));
}
