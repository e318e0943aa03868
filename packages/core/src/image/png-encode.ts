import { deflate, Z_DEFAULT_STRATEGY, Z_FILTERED, Z_HUFFMAN_ONLY, Z_RLE, type Z_Strategy } from 'pako';
import { makeChunk } from './png-chunks.js';
import { concatBytes } from './bytes.js';

/**
 * A PNG writer that makes small files (PNG spec, sections 9 and 10): every row gets the
 * filter that suits it, several filter strategies are each deflated at the strongest level,
 * and the smallest result is kept, as optimising encoders (OptiPNG, oxipng) do. Browser-safe.
 */

/** The samples of one image, ready to write. */
export interface PngSamples {
  width: number;
  height: number;
  /** 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** Bits per sample. */
  depth: 8 | 16;
  /** `width * height * channels` samples, row by row, pixel by pixel. */
  data: Uint8Array | Uint16Array;
}

/** How hard {@link encodePngSamples} tries. */
export type PngEffort = 'fast' | 'max';

/**
 * The row filters tried: one filter for every row (0 None ... 4 Paeth), or `'adaptive'`, each
 * row's filter chosen by the smallest sum of absolute filtered bytes (read as signed), the
 * heuristic libpng and the PNG spec (12.8) recommend.
 */
type RowFilter = 0 | 1 | 2 | 3 | 4 | 'adaptive';

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
  const { width, height, channels, depth, data } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`a PNG is 1 to 2^31 - 1 pixels on each side, got ${width}x${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${width}x${height}x${channels} needs ${width * height * channels} samples, got ${data.length}`);
  }
  const raw = toBytes(data, depth);
  const bpp = (channels * depth) / 8;
  const stride = width * bpp;
  let best: Uint8Array | null = null;
  const filtered = new Map<RowFilter, Uint8Array>();
  for (const { filter, strategy, level, memLevel } of TRIALS[effort]) {
    let rows = filtered.get(filter);
    if (rows == null) filtered.set(filter, (rows = filterRows(raw, height, stride, bpp, filter)));
    const compressed = deflate(rows, { level, memLevel, windowBits: 15, strategy });
    if (best == null || compressed.length < best.length) best = compressed;
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = depth;
  header[9] = [0, 0, 4, 2, 6][channels]; // colour type: grey, grey + alpha, RGB, RGBA
  // header[10..12]: deflate, adaptive filtering, no interlace (all 0).
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), makeChunk('IHDR', header), ...extraChunks, makeChunk('IDAT', best!), makeChunk('IEND', new Uint8Array(0))];
  return concatBytes(parts);
}

/** Samples as the bytes PNG stores: 8-bit as is, 16-bit big-endian. */
function toBytes(data: Uint8Array | Uint16Array, depth: 8 | 16): Uint8Array {
  if (depth === 8) {
    if (!(data instanceof Uint8Array)) throw new TypeError('8-bit samples must be a Uint8Array');
    return data;
  }
  if (!(data instanceof Uint16Array)) throw new TypeError('16-bit samples must be a Uint16Array');
  const out = new Uint8Array(data.length * 2);
  for (let i = 0; i < data.length; i++) {
    out[2 * i] = data[i] >>> 8;
    out[2 * i + 1] = data[i] & 0xff;
  }
  return out;
}

/** PNG spec 9.4: the Paeth predictor of left `a`, up `b` and up-left `c`. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Writes row `y` filtered with `type` into `out` at `at` (after its filter-type byte). */
function filterRow(raw: Uint8Array, y: number, stride: number, bpp: number, type: number, out: Uint8Array, at: number): void {
  const row = y * stride;
  const up = row - stride;
  for (let i = 0; i < stride; i++) {
    const x = raw[row + i];
    const a = i >= bpp ? raw[row + i - bpp] : 0;
    const b = y > 0 ? raw[up + i] : 0;
    const c = i >= bpp && y > 0 ? raw[up + i - bpp] : 0;
    let pred: number;
    switch (type) {
      case 0: pred = 0; break;
      case 1: pred = a; break;
      case 2: pred = b; break;
      case 3: pred = (a + b) >> 1; break;
      default: pred = paeth(a, b, c);
    }
    out[at + i] = (x - pred) & 0xff;
  }
}

/** Sum of |byte| over `n` bytes at `at`, reading each as a signed byte. */
function signedSum(bytes: Uint8Array, at: number, n: number): number {
  let s = 0;
  for (let i = at; i < at + n; i++) s += bytes[i] < 128 ? bytes[i] : 256 - bytes[i];
  return s;
}

/** The filtered image: each row its filter-type byte, then the filtered bytes. */
function filterRows(raw: Uint8Array, height: number, stride: number, bpp: number, filter: RowFilter): Uint8Array {
  const out = new Uint8Array(height * (stride + 1));
  const scratch = filter === 'adaptive' ? new Uint8Array(stride) : null;
  for (let y = 0; y < height; y++) {
    const at = y * (stride + 1);
    let type: number;
    if (scratch == null) {
      type = filter as number;
    } else {
      type = 0;
      let best = Infinity;
      for (let t = 0; t <= 4; t++) {
        filterRow(raw, y, stride, bpp, t, scratch, 0);
        const s = signedSum(scratch, 0, stride);
        if (s < best) {
          best = s;
          type = t;
        }
      }
    }
    out[at] = type;
    filterRow(raw, y, stride, bpp, type, out, at + 1);
  }
  return out;
}
