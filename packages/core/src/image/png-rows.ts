import { concatBytes } from './bytes.js';
import { makeChunk } from './png-chunks.js';
import { checkRaster, type RasterImage } from './raster.js';

/**
 * What every PNG writer here shares (PNG spec, sections 9 and 11): the samples as the bytes
 * PNG stores, row filtering, and the file around a zlib stream. No compressor: png-encode.ts
 * deflates with pako (small files), png-quick.ts with fflate (fast). Browser-safe.
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

/**
 * The row filters tried: one filter for every row (0 None ... 4 Paeth), or `'adaptive'`, each
 * row's filter chosen by the smallest sum of absolute filtered bytes (read as signed), the
 * heuristic libpng and the PNG spec (12.8) recommend.
 */
export type RowFilter = 0 | 1 | 2 | 3 | 4 | 'adaptive';

/**
 * A raster's values as PNG samples: each clamped to [0, 1] and rounded to the nearest of the
 * `2^bitDepth` levels (`k / 255` is stored as `k` at 8 bits).
 * @throws Error when the raster is malformed or holds NaN, or for another bit depth.
 */
export function rasterSamples(img: RasterImage, bitDepth: 8 | 16): PngSamples {
  checkRaster(img);
  if (bitDepth !== 8 && bitDepth !== 16) throw new Error(`PNG bit depth must be 8 or 16, got ${String(bitDepth)}`);
  const max = bitDepth === 8 ? 255 : 65535;
  const out = bitDepth === 8 ? new Uint8Array(img.data.length) : new Uint16Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i];
    if (Number.isNaN(v)) throw new Error(`cannot encode a PNG: the image has a NaN at index ${i}`);
    out[i] = Math.round(Math.min(1, Math.max(0, v)) * max);
  }
  return { width: img.width, height: img.height, channels: img.channels, depth: bitDepth, data: out };
}

/** The unfiltered bytes of `img`, checked, with the row layout. */
export function pngRows(img: PngSamples): { raw: Uint8Array; height: number; stride: number; bpp: number } {
  const { width, height, channels, depth, data } = img;
  if (!Number.isSafeInteger(width) || !Number.isSafeInteger(height) || width < 1 || height < 1 || width > 0x7fffffff || height > 0x7fffffff) {
    throw new RangeError(`a PNG is 1 to 2^31 - 1 pixels on each side, got ${width}x${height}`);
  }
  if (data.length !== width * height * channels) {
    throw new RangeError(`${width}x${height}x${channels} needs ${width * height * channels} samples, got ${data.length}`);
  }
  const bpp = (channels * depth) / 8;
  return { raw: toBytes(data, depth), height, stride: width * bpp, bpp };
}

/** A complete PNG file (signature, IHDR, `extraChunks`, one IDAT holding `zlib`, IEND), non-interlaced. */
export function assemblePng(img: PngSamples, zlib: Uint8Array, extraChunks: readonly Uint8Array[] = []): Uint8Array {
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, img.width);
  view.setUint32(4, img.height);
  header[8] = img.depth;
  header[9] = [0, 0, 4, 2, 6][img.channels]; // colour type: grey, grey + alpha, RGB, RGBA
  // header[10..12]: deflate, adaptive filtering, no interlace (all 0).
  const parts = [Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), makeChunk('IHDR', header), ...extraChunks, makeChunk('IDAT', zlib), makeChunk('IEND', new Uint8Array(0))];
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
export function filterRows(raw: Uint8Array, height: number, stride: number, bpp: number, filter: RowFilter): Uint8Array {
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
