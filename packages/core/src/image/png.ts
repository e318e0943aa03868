import { decode, encode } from 'fast-png';
import { insertAfterHeader, makeTextChunk, PngFormatError, readChunks, readTextChunk } from './png-chunks.js';
import { checkRaster, type RasterImage } from './raster.js';

export { PngFormatError } from './png-chunks.js';

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

/** Options of {@link encodePng}. */
export interface EncodePngOptions {
  /** Bits per sample. Default 8. */
  bitDepth?: 8 | 16;
  /**
   * Text chunks to write, keyword (1 to 79 printable Latin-1 characters) -> text. Latin-1
   * text goes in tEXt chunks, anything else in iTXt (UTF-8).
   */
  text?: Record<string, string>;
}

/**
 * Decodes a PNG file into a {@link RasterImage} with values `sample / (2^bitDepth - 1)`.
 *
 * Every PNG colour type is read: grey and grey + alpha (1 to 16 bits), RGB and RGBA (8 or
 * 16 bits), and palette images, which are expanded to RGB, or to RGBA when they have a tRNS
 * chunk. A tRNS colour key on a grey or RGB image becomes an alpha channel (0 where the
 * key matches, 1 elsewhere). Channels: 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA.
 *
 * @throws PngFormatError saying what is wrong: "not a PNG file", "truncated PNG: ...",
 *   "corrupt PNG: ...", "unsupported PNG: ..."
 * @example
 * const img = decodePng(new Uint8Array(await (await fetch('photo.png')).arrayBuffer()));
 */
export function decodePng(bytes: Uint8Array): DecodedPng {
  const chunks = readChunks(bytes);
  const text: Record<string, string> = {};
  for (const chunk of chunks) {
    const entry = readTextChunk(chunk);
    if (entry != null) text[entry[0]] = entry[1];
  }
  const header = chunks[0].data;
  if (header.length !== 13) throw new PngFormatError(`corrupt PNG: the IHDR chunk has ${header.length} bytes, not 13`);
  if (header[12] === 1 && header[8] < 8) {
    // fast-png's Adam7 decoder assumes at least one byte per pixel.
    throw new PngFormatError(`unsupported PNG: interlaced images with ${header[8]}-bit samples cannot be read; save it without interlacing`);
  }
  if (!chunks.some((c) => c.type === 'IDAT')) throw new PngFormatError('corrupt PNG: it has no image data (IDAT chunk)');
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (e) {
    const cause = (e as Error).cause as Error | undefined;
    const detail = cause?.message ? `${(e as Error).message} ${cause.message}` : (e as Error).message;
    throw new PngFormatError(`corrupt PNG: ${detail}`);
  }
  const { width, height, depth } = png;
  if (width < 1 || height < 1) throw new PngFormatError(`corrupt PNG: its size is ${width}x${height}`);
  const samples = unpack(png.data, width, height, png.channels, depth);
  let image: RasterImage;
  if (png.palette != null) {
    image = expandPalette(samples, width, height, png.palette);
  } else {
    const max = 2 ** depth - 1;
    image = applyColourKey(toFloat(samples, max), samples, width, height, png.channels, png.transparency);
  }
  return { ...image, bitDepth: depth, text };
}

/**
 * Encodes an image as a PNG file (grey, grey + alpha, RGB or RGBA by its channel count),
 * each value clamped to [0, 1] and rounded to the nearest of the `2^bitDepth` levels, so
 * that `k / 255` is stored as `k` at 8 bits.
 *
 * @throws Error when the image is malformed, holds NaN, or a text keyword is invalid.
 * @example
 * const bytes = encodePng({ width: 1, height: 1, channels: 3, data: Float32Array.of(1, 0.5, 0) });
 */
export function encodePng(img: RasterImage, options: EncodePngOptions = {}): Uint8Array {
  checkRaster(img);
  const bitDepth = options.bitDepth ?? 8;
  if (bitDepth !== 8 && bitDepth !== 16) throw new Error(`PNG bit depth must be 8 or 16, got ${String(bitDepth)}`);
  const max = bitDepth === 8 ? 255 : 65535;
  const out = bitDepth === 8 ? new Uint8Array(img.data.length) : new Uint16Array(img.data.length);
  for (let i = 0; i < img.data.length; i++) {
    const v = img.data[i];
    if (Number.isNaN(v)) throw new Error(`cannot encode a PNG: the image has a NaN at index ${i}`);
    out[i] = Math.round(Math.min(1, Math.max(0, v)) * max);
  }
  const textChunks = Object.entries(options.text ?? {}).map(([k, v]) => makeTextChunk(k, v));
  const bytes = encode({ width: img.width, height: img.height, channels: img.channels, depth: bitDepth, data: out });
  return insertAfterHeader(bytes, textChunks);
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
