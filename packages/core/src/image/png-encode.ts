import { deflate, Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, type Z_Strategy } from 'pako';
import { assemblePng, filterRows, pngRows, type PngSamples, type RowFilter } from './png-rows.js';

export type { PngSamples } from './png-rows.js';

/**
 * A PNG writer that makes small files (PNG spec, sections 9 and 10): every row gets the
 * filter that suits it, several filter strategies are each deflated at the strongest level,
 * and the smallest result is kept, as optimising encoders (OptiPNG, oxipng) do. Browser-safe.
 */

/** How hard {@link encodePngSamples} tries. */
export type PngEffort = 'fast' | 'max';

/** One way to write the image data: a row filter, then zlib with these settings. */
interface Trial {
  filter: RowFilter;
  /** zlib's strategy: Z_FILTERED lets short matches give way to Huffman codes. */
  strategy: Z_Strategy;
  level: 1 | 8 | 9;
  memLevel: 8 | 9;
}

const trial = (filter: RowFilter, strategy: Z_Strategy, level: 1 | 8 | 9, memLevel: 8 | 9): Trial => ({ filter, strategy, level, memLevel });

/**
 * The trials of each effort; the smallest result is kept. On the x2 LRs of Kodak24
 * (`bench/png-size.ts`) adaptive filtering always wins, with Z_FILTERED on most photos and
 * Huffman coding alone on the rest (the settings OptiPNG -o7 ends up choosing, which `max`
 * matches byte for byte); fixed filters and the other strategies win on flat or synthetic
 * images. Level 8 and memLevel 8 change zlib's block splits, now and then for the better.
 */
const TRIALS: Record<PngEffort, Trial[]> = {
  fast: [trial('adaptive', Z_FILTERED, 9, 9)],
  max: [
    trial('adaptive', Z_FILTERED, 9, 9),
    trial('adaptive', Z_HUFFMAN_ONLY, 1, 9),
    trial('adaptive', Z_FILTERED, 8, 9),
    trial('adaptive', Z_FILTERED, 8, 8),
    trial('adaptive', Z_HUFFMAN_ONLY, 1, 8),
    trial('adaptive', Z_DEFAULT_STRATEGY, 9, 9),
    trial('adaptive', Z_RLE, 9, 9),
    trial(4, Z_FILTERED, 9, 9),
    trial(0, Z_DEFAULT_STRATEGY, 9, 9),
  ],
};

/**
 * A complete PNG file (signature, IHDR, `extraChunks`, IDAT, IEND) holding `img`,
 * non-interlaced.
 *
 * @param extraChunks complete chunks (see `makeChunk`) placed after IHDR, e.g. text.
 * @param effort `'max'` (default) tries nine filter and zlib settings and keeps the
 *   smallest; `'fast'` tries the first only (several times faster; on the Kodak x2 LRs
 *   0.3 % larger, up to 1 % where Huffman coding alone wins).
 */
export function encodePngSamples(img: PngSamples, extraChunks: readonly Uint8Array[] = [], effort: PngEffort = 'max'): Uint8Array {
  const { raw, height, stride, bpp } = pngRows(img);
  let best: Uint8Array | null = null;
  const filtered = new Map<RowFilter, Uint8Array>();
  for (const { filter, strategy, level, memLevel } of TRIALS[effort]) {
    let rows = filtered.get(filter);
    if (rows == null) filtered.set(filter, (rows = filterRows(raw, height, stride, bpp, filter)));
    const compressed = deflate(rows, { level, memLevel, windowBits: 15, strategy });
    if (best == null || compressed.length < best.length) best = compressed;
  }
  return assemblePng(img, best!, extraChunks);
}
