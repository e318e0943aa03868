import { decode } from 'fast-png';
import { checkLimit, isOutOfMemory, resolveLimits, type Limits } from '../limits.js';
import { LR_TEXT_KEY } from './lr-metadata.js';
import { checkPngChunks, inflateBounded, PngFormatError, readChunks, readPngHeader, readTextChunks, type PngChunk, type PngHeader } from './png-chunks.js';
import { cutSamples, resolveRegion, type RasterImage, type RegionOf } from './raster.js';

export { PngFormatError } from './png-chunks.js';
// The encoder lives in png-write.ts: a page or worker that only decodes loads no deflate (pako).
export type { EncodePngOptions } from './png-write.js';

/** A decoded PNG: the image as floats in [0, 1], plus what the file said about itself. */
export interface DecodedPng extends RasterImage {
  /**
   * Bits per sample in the file's header: 1, 2, 4, 8 or 16. Palette images report their
   * index depth (their colours are 8-bit).
   */
  bitDepth: 1 | 2 | 4 | 8 | 16;
  /** The file's text chunks (tEXt, zTXt and iTXt), keyword -> text. */
  text: Record<string, string>;
}

/** Options of {@link decodePng}. */
export interface DecodePngOptions {
  /**
   * Resource limits (defaults: `DEFAULT_LIMITS`): `pixels` bounds width x height,
   * `textBytes` one compressed text chunk, and 8 x `textBytes` all of them together.
   */
  limits?: Partial<Limits>;
  /**
   * Keeps only a part of the image: called once with its size (after the pixel limit is
   * checked), it returns the rectangle, or null for all of it. The file is still inflated whole,
   * at its own bit depth, but only the rectangle becomes floats.
   * @throws RangeError (from the call) when the rectangle is not whole pixels inside the image
   */
  region?: RegionOf;
}

/**
 * Decodes a PNG file into a {@link RasterImage} with values `sample / (2^bitDepth - 1)`.
 *
 * Every PNG colour type is read: grey and grey + alpha (1 to 16 bits), RGB and RGBA (8 or
 * 16 bits), and palette images, which are expanded to RGB, or to RGBA when they have a tRNS
 * chunk. A tRNS colour key on a grey or RGB image becomes an alpha channel (0 where the
 * key matches, 1 elsewhere). Channels: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
 *
 * Files from strangers are safe to pass: the header is checked against `limits.pixels`
 * before anything is inflated, the image data is inflated only as far as the header says it
 * reaches, and compressed text chunks stop at `limits.textBytes` each and 8 x `textBytes`
 * together (`TEXT_CHUNKS_PER_FILE`). A text chunk past `textBytes` is skipped (text chunks are
 * ancillary), except the `irn` chunk of a downscaled image, which is refused rather than lost.
 * Chunks nothing here uses (iCCP profiles, ...) are never inflated.
 *
 * @throws PngFormatError saying what is wrong: "not a PNG file", "truncated PNG: ...",
 *   "corrupt PNG: ...", "unsupported PNG: ..."
 * @throws LimitError when the image has more than `limits.pixels` pixels or its text chunks
 *   pass a limit (the message says which, and how to raise it)
 * @throws Error "out of memory decoding the WxH PNG" when the decoder cannot allocate
 * @example
 * const img = decodePng(new Uint8Array(await (await fetch('photo.png')).arrayBuffer()));
 * const big = decodePng(bytes, { limits: { pixels: 400e6 } });
 */
export function decodePng(bytes: Uint8Array, options: DecodePngOptions = {}): DecodedPng {
  const limits = resolveLimits(options.limits);
  const chunks = readChunks(bytes);
  const header = readPngHeader(chunks[0].data);
  const { width, height, depth } = header;
  checkLimit(limits, 'pixels', width * height, `the image (${width}x${height})`, 'pixels');
  checkPngChunks(chunks, header);
  const idat = chunks.filter((c) => c.type === 'IDAT').map((c) => c.data);
  const text = readTextChunks(chunks, limits, { required: [LR_TEXT_KEY] });
  const file = rebuild(bytes, chunks, idat, header);
  let png: ReturnType<typeof decode>;
  try {
    png = decode(file);
  } catch (e) {
    throw decodeFailure(e, width, height);
  }
  let samples = unpack(png.data, width, height, png.channels, depth);
  let [w, h] = [width, height];
  const region = resolveRegion(width, height, options.region);
  if (region != null) {
    // Cut while the samples are still integers: only the region becomes floats.
    const typed = samples as Uint8Array | Uint16Array;
    samples = cutSamples(typed, width, png.channels, region, (n) => (typed instanceof Uint16Array ? new Uint16Array(n) : new Uint8Array(n)));
    [w, h] = [region.width, region.height];
  }
  let image: RasterImage;
  if (png.palette != null) {
    image = expandPalette(samples, w, h, png.palette);
  } else {
    const max = 2 ** depth - 1;
    image = applyColourKey(toFloat(samples, max), samples, w, h, png.channels, png.transparency);
  }
  return { ...image, bitDepth: depth, text };
}

/** fast-png's own RangeErrors about the data (its others are about the image it encodes). */
const FAST_PNG_RANGE = /^(PLTE field length must be|tRNS chunk length must be)/;

/**
 * The one line for an error of fast-png's decoder: its own messages about the data as
 * "corrupt PNG: ...", but never an engine message ("Invalid typed array length: 30000000000",
 * "Offset is outside the bounds of the DataView") passed off as one: a failed allocation says
 * so, and any other engine error says the decoder failed and which kind (the original is the
 * `cause`, for a debugger).
 * @internal exported for the tests; not part of the package's API.
 */
export function decodeFailure(e: unknown, width: number, height: number): Error {
  if (isOutOfMemory(e)) {
    return new Error(`out of memory decoding the ${width}x${height} PNG`, { cause: e });
  }
  // fast-png throws Error, and RangeError for two checks; TypeError and the rest are the engine's.
  const own = e instanceof Error && (e.constructor === Error || (e.constructor === RangeError && FAST_PNG_RANGE.test(e.message)));
  if (!own) {
    const kind = e instanceof Error ? e.name : typeof e;
    return new PngFormatError(`corrupt PNG: the decoder failed on its image data (${kind})`, { cause: e });
  }
  const cause = e.cause instanceof Error ? e.cause : undefined;
  const detail = (cause?.message ? `${e.message} ${cause.message}` : e.message).replace(/\s*\n\s*/g, ' ').trim();
  return new PngFormatError(`corrupt PNG: ${detail || 'its image data cannot be decoded'}`);
}


/** Adam7's passes: first column, first row, column step, row step (PNG spec 8.2). */
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** Bytes the image data of a PNG with this header inflates to: each row's filter byte and samples. */
function imageDataBytes(header: Pick<PngHeader, 'width' | 'height' | 'depth' | 'channels' | 'interlaced'>): number {
  const { width, height, depth, channels } = header;
  const rowBytes = (w: number): number => 1 + Math.ceil((w * channels * depth) / 8);
  if (!header.interlaced) return height * rowBytes(width);
  let total = 0;
  for (const [x0, y0, dx, dy] of ADAM7) {
    const w = Math.ceil((width - x0) / dx);
    const h = Math.ceil((height - y0) / dy);
    if (w > 0 && h > 0) total += h * rowBytes(w);
  }
  return total;
}

/** The largest chunk fast-png reads (it takes the length as an unsigned 32-bit number). */
const MAX_CHUNK = 2 ** 32 - 1;

/**
 * The file as fast-png gets it: its IHDR, PLTE and tRNS chunks as they are, then one IDAT
 * chunk holding the image data inflated once, bounded by what the header says it holds, and
 * re-wrapped as a zlib stream of stored (uncompressed) blocks, then IEND.
 *
 * Why: fast-png inflates whatever it is given, so it must get a stream whose size is already
 * known; copying stored blocks costs it little next to inflating the file's stream a second
 * time (which made decoding a photo half again as slow). Every other chunk is left out
 * (fast-png would inflate an iCCP profile without limit). The new chunks' CRCs and the
 * stream's Adler-32 are left 0: fast-png does not check them (its default), and computing
 * them cost a tenth of the decode; the round-trip tests fail if that changes.
 *
 * @throws PngFormatError when the image data does not inflate to exactly the header's size
 *   (a stream that would expand further stops one step past it).
 */
function rebuild(bytes: Uint8Array, chunks: PngChunk[], idat: Uint8Array[], header: PngHeader): Uint8Array {
  const expected = imageDataBytes(header);
  const BLOCK = 65535;
  const blocks = Math.max(1, Math.ceil(expected / BLOCK));
  const zlibLength = 2 + blocks * 5 + expected + 4;
  if (zlibLength > MAX_CHUNK) throw new PngFormatError(`unsupported PNG: its image data is ${expected} bytes, more than can be read (4 GiB)`);
  const keep = chunks.filter((c) => c.type === 'IHDR' || c.type === 'PLTE' || c.type === 'tRNS');
  const out = new Uint8Array(keep.reduce((n, c) => n + c.data.length + 12, 8) + 12 + zlibLength + 12);
  const view = new DataView(out.buffer);
  out.set(bytes.subarray(0, 8));
  let at = 8;
  for (const c of keep) {
    out.set(bytes.subarray(c.offset, c.offset + c.data.length + 12), at);
    at += c.data.length + 12;
  }
  view.setUint32(at, zlibLength);
  out.set([73, 68, 65, 84], at + 4); // IDAT
  const z = out.subarray(at + 8, at + 8 + zlibLength);
  out.set([0, 0, 0, 0, 73, 69, 78, 68], at + 12 + zlibLength); // IEND, after the IDAT's CRC
  z[0] = 0x78; // deflate, 32 KiB window
  z[1] = 0x01; // no dictionary; 0x7801 is a multiple of 31 as RFC 1950 asks
  for (let b = 0; b < blocks; b++) {
    const len = Math.min(BLOCK, expected - b * BLOCK);
    z.set([b === blocks - 1 ? 1 : 0, len & 0xff, len >>> 8, ~len & 0xff, (~len >>> 8) & 0xff], 2 + b * (BLOCK + 5));
  }
  const copy = (piece: Uint8Array, offset: number): void => {
    for (let i = 0; i < piece.length; ) {
      const p = offset + i;
      const inBlock = p % BLOCK;
      const n = Math.min(piece.length - i, BLOCK - inBlock);
      z.set(piece.subarray(i, i + n), 2 + Math.floor(p / BLOCK) * (BLOCK + 5) + 5 + inBlock);
      i += n;
    }
  };
  const what = `a ${header.width}x${header.height} ${header.depth}-bit ${header.colourName}${header.interlaced ? ' interlaced' : ''} image`;
  let result;
  try {
    result = inflateBounded(idat, expected, copy);
  } catch (e) {
    throw new PngFormatError(`corrupt PNG: its image data cannot be inflated (${(e as Error).message})`);
  }
  if (result.over) throw new PngFormatError(`corrupt PNG: its image data inflates to more than the ${expected} bytes of ${what}`);
  if (result.length < expected) {
    throw new PngFormatError(`truncated PNG: its image data inflates to ${result.length} bytes, short of the ${expected} bytes of ${what}`);
  }
  return out;
}

/** Samples of packed 1/2/4-bit rows as one value per entry; 8/16-bit data is returned as is. */
function unpack(data: ArrayLike<number>, width: number, height: number, channels: number, depth: number): ArrayLike<number> {
  if (depth >= 8) return data;
  const perRow = width * channels;
  const rowBytes = Math.ceil((perRow * depth) / 8);
  const mask = (1 << depth) - 1;
  const out = new Uint8Array(perRow * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < perRow; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)] ?? 0;
      out[y * perRow + x] = (byte >> (8 - depth - (bit & 7))) & mask;
    }
  }
  return out;
}

function toFloat(samples: ArrayLike<number>, max: number): Float32Array {
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] / max;
  return out;
}

/** Palette indices -> RGB, or RGBA when the palette carries alpha (from tRNS). */
function expandPalette(indices: ArrayLike<number>, width: number, height: number, palette: number[][]): RasterImage {
  const channels = palette.some((c) => c.length === 4) ? 4 : 3;
  const n = width * height;
  const data = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const colour = palette[indices[i]];
    if (colour == null) throw new PngFormatError(`corrupt PNG: pixel ${i} uses palette entry ${indices[i]} of ${palette.length}`);
    for (let c = 0; c < channels; c++) data[i * channels + c] = (colour[c] ?? 255) / 255;
  }
  return { width, height, channels, data };
}

/** Adds an alpha channel from a tRNS colour key (grey: 1 value, RGB: 3), if there is one. */
function applyColourKey(
  data: Float32Array,
  samples: ArrayLike<number>,
  width: number,
  height: number,
  channels: number,
  key: Uint16Array | undefined,
): RasterImage {
  const c = channels as RasterImage['channels'];
  if (key == null || (c !== 1 && c !== 3) || key.length !== c) return { width, height, channels: c, data };
  const n = width * height;
  const out = new Float32Array(n * (c + 1));
  for (let i = 0; i < n; i++) {
    let match = true;
    for (let k = 0; k < c; k++) {
      out[i * (c + 1) + k] = data[i * c + k];
      if (samples[i * c + k] !== key[k]) match = false;
    }
    out[i * (c + 1) + c] = match ? 0 : 1;
  }
  return { width, height, channels: (c + 1) as 2 | 4, data: out };
}
