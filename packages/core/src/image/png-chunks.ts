import { crc32 } from '../crc32.js';
import { concatBytes, readU32BE, writeU32BE } from './bytes.js';
import { strFromU8, strToU8, Unzlib } from 'fflate';
import { LimitError, raiseAdvice, type Limits } from '../limits.js';

/**
 * The chunk layer of PNG files (PNG spec, section 5): checking the structure of a file
 * before its pixels are decoded, and reading and writing text chunks. Browser-safe.
 */

/** Thrown for bytes that are not a PNG file, or a damaged one. The message says what is wrong. */
export class PngFormatError extends Error {
  override name = 'PngFormatError';
}

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

/** One chunk: its four-letter type, where it starts in the file, and its data. */
export interface PngChunk {
  type: string;
  offset: number;
  data: Uint8Array;
}

const readU32 = readU32BE;
const writeU32 = writeU32BE;

/**
 * Bytes as Latin-1 text, byte k -> U+00k. Built 8 KiB at a time: one character at a time
 * made a 100 MB text chunk cost half a minute and gigabytes of rope strings. (TextDecoder's
 * 'latin1' is really windows-1252, which maps 0x80-0x9F elsewhere, so it is not used.)
 */
function latin1(bytes: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += 8192) {
    parts.push(String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[]));
  }
  return parts.join('');
}

/** A guess at what a non-PNG file is, from its first bytes, for error messages. */
function sniff(bytes: Uint8Array): string {
  const head = latin1(bytes.subarray(0, 12));
  if (bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return ' (it looks like a JPEG)';
  if (head.startsWith('GIF8')) return ' (it looks like a GIF)';
  if (head.startsWith('RIFF') && head.slice(8, 12) === 'WEBP') return ' (it looks like a WebP)';
  if (head.startsWith('BM')) return ' (it looks like a BMP)';
  if (head.startsWith('II*\0') || head.startsWith('MM\0*')) return ' (it looks like a TIFF)';
  if (head.startsWith('\x89PNG')) return ' (the signature is damaged)';
  return '';
}

/**
 * The most chunks other than IDAT {@link readChunks} walks in one file. Real files have a few
 * to a few dozen (IHDR, PLTE, text, colour, time, IEND); 10,000 is the AVIF reader's cap on
 * boxes. Every chunk walked costs an object of about 200 bytes and a few microseconds, so a
 * file of millions of empty 12-byte chunks (25 million in 300 MB) ran out of a 4 GB heap.
 */
export const MAX_PNG_OTHER_CHUNKS = 10_000;

/**
 * The most chunks of all kinds {@link readChunks} walks in one file: 50 MB and 0.7 s of a
 * flood of empty chunks at most. Only IDAT chunks come in numbers: libpng writes the image
 * data in IDATs of 8 KiB (PNG_ZBUF_SIZE), so 250,000 of them are 2 GB of compressed data, more
 * than a Node program reads into one buffer (fs.readFile stops at 2 GiB) and far more than the
 * default pixel limit lets through (100 MP of 16-bit RGBA is 800 MB raw, about 100,000 IDATs).
 */
export const MAX_PNG_CHUNKS = 250_000;

/** What an IHDR chunk says (PNG spec 11.2.2), checked. */
export interface PngHeader {
  width: number;
  height: number;
  depth: 1 | 2 | 4 | 8 | 16;
  colourType: 0 | 2 | 3 | 4 | 6;
  /** The colour type's name in messages ('grey', 'RGB', 'palette', 'grey + alpha', 'RGBA'). */
  colourName: string;
  /** Samples per pixel in the file (a palette index is one). */
  channels: number;
  interlaced: boolean;
}

/** Colour type -> its name in messages, samples per pixel, and the bit depths allowed. */
const COLOUR_TYPES: Record<number, { name: string; channels: number; depths: number[] }> = {
  0: { name: 'grey', channels: 1, depths: [1, 2, 4, 8, 16] },
  2: { name: 'RGB', channels: 3, depths: [8, 16] },
  3: { name: 'palette', channels: 1, depths: [1, 2, 4, 8] },
  4: { name: 'grey + alpha', channels: 2, depths: [8, 16] },
  6: { name: 'RGBA', channels: 4, depths: [8, 16] },
};

/** The largest width or height PNG allows (spec 11.2.2). */
const PNG_MAX_SIZE = 2 ** 31 - 1;

/**
 * The IHDR chunk's body (`data`), checked as decodePng checks it: 13 bytes, a size of 1 to
 * 2^31-1 each way, a known colour type at a bit depth it allows, the one compression, filter
 * and interlace methods there are.
 * @throws PngFormatError `corrupt PNG: ...`
 */
export function readPngHeader(data: Uint8Array): PngHeader {
  if (data.length !== 13) throw new PngFormatError(`corrupt PNG: the IHDR chunk has ${data.length} bytes, not 13`);
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const width = v.getUint32(0);
  const height = v.getUint32(4);
  const [depth, colourType, compression, filter, interlace] = data.subarray(8, 13);
  if (width < 1 || height < 1) throw new PngFormatError(`corrupt PNG: its size is ${width}x${height}`);
  for (const [what, n] of [['width', width], ['height', height]] as const) {
    if (n > PNG_MAX_SIZE) throw new PngFormatError(`corrupt PNG: its ${what} is ${n}, above the PNG maximum of ${PNG_MAX_SIZE}`);
  }
  const type = COLOUR_TYPES[colourType];
  if (type == null) throw new PngFormatError(`corrupt PNG: unknown colour type ${colourType} in the IHDR chunk`);
  if (!type.depths.includes(depth)) {
    throw new PngFormatError(`corrupt PNG: bit depth ${depth} is not allowed for ${type.name} images (${type.depths.join(', ')} are)`);
  }
  if (compression !== 0) throw new PngFormatError(`corrupt PNG: unknown compression method ${compression} in the IHDR chunk`);
  if (filter !== 0) throw new PngFormatError(`corrupt PNG: unknown filter method ${filter} in the IHDR chunk`);
  if (interlace > 1) throw new PngFormatError(`corrupt PNG: unknown interlace method ${interlace} in the IHDR chunk`);
  return {
    width,
    height,
    depth: depth as PngHeader['depth'],
    colourType: colourType as PngHeader['colourType'],
    colourName: type.name,
    channels: type.channels,
    interlaced: interlace === 1,
  };
}

/**
 * What decodePng needs of a PNG's chunks besides its header, checked before it decodes: image
 * data (IDAT), a palette (PLTE) for a palette image, and at least 8-bit samples if interlaced
 * (fast-png's Adam7 decoder assumes a byte per pixel). Header readers call it too, so a file
 * they accept is one the decoder starts on.
 * @throws PngFormatError
 */
export function checkPngChunks(chunks: readonly PngChunk[], header: PngHeader): void {
  if (header.interlaced && header.depth < 8) {
    throw new PngFormatError(`unsupported PNG: interlaced images with ${header.depth}-bit samples cannot be read; save it without interlacing`);
  }
  if (!chunks.some((c) => c.type === 'IDAT')) throw new PngFormatError('corrupt PNG: it has no image data (IDAT chunk)');
  if (header.colourType === 3 && !chunks.some((c) => c.type === 'PLTE')) {
    throw new PngFormatError('corrupt PNG: it is a palette image without a palette (PLTE chunk)');
  }
}

/**
 * Splits a PNG file into chunks, checking the signature, that IHDR comes first and only once,
 * every chunk's length and checksum (critical chunks only; a damaged ancillary chunk is
 * dropped), and that the file ends with IEND. Stops at {@link MAX_PNG_OTHER_CHUNKS} chunks
 * other than IDAT, or {@link MAX_PNG_CHUNKS} in all.
 *
 * @throws PngFormatError naming what is wrong ("not a PNG file", "truncated PNG", ...)
 */
export function readChunks(bytes: Uint8Array): PngChunk[] {
  if (bytes.length === 0) throw new PngFormatError('not a PNG file (the file is empty)');
  if (bytes.length < 8 || SIGNATURE.some((b, i) => bytes[i] !== b)) {
    if (bytes.length < 8 && SIGNATURE.slice(0, bytes.length).every((b, i) => bytes[i] === b)) {
      throw new PngFormatError(`truncated PNG: the file ends after ${bytes.length} bytes, inside the signature`);
    }
    throw new PngFormatError(`not a PNG file${sniff(bytes)}`);
  }
  const chunks: PngChunk[] = [];
  // Counted as walked, dropped chunks too, before anything is kept of them.
  let walked = 0;
  let others = 0;
  let at = 8;
  for (;;) {
    if (at + 12 > bytes.length) {
      throw new PngFormatError(`truncated PNG: the file ends at byte ${bytes.length} before the IEND chunk`);
    }
    const length = readU32(bytes, at);
    const type = latin1(bytes.subarray(at + 4, at + 8));
    if (!/^[A-Za-z]{4}$/.test(type)) throw new PngFormatError(`corrupt PNG: no valid chunk at byte ${at}`);
    if (++walked > MAX_PNG_CHUNKS) throw new PngFormatError(`unsupported PNG: it has more than ${count(MAX_PNG_CHUNKS)} chunks`);
    if (type !== 'IDAT' && ++others > MAX_PNG_OTHER_CHUNKS) {
      throw new PngFormatError(`unsupported PNG: it has more than ${count(MAX_PNG_OTHER_CHUNKS)} chunks other than IDAT`);
    }
    // PNG spec 5.6: IHDR comes first, once. The checks read the first; a decoder may use another.
    if (type === 'IHDR' && at !== 8) throw new PngFormatError(`corrupt PNG: it has a second IHDR chunk, at byte ${at}`);
    const end = at + 12 + length;
    if (end > bytes.length) {
      throw new PngFormatError(
        `truncated PNG: the ${type} chunk at byte ${at} holds ${length} bytes but the file ends at byte ${bytes.length}`,
      );
    }
    const critical = type.charCodeAt(0) < 97; // upper-case first letter (PNG spec 5.4)
    const crcOk = crc32(bytes, at + 4, end - 4) === readU32(bytes, end - 4);
    if (!crcOk && critical) throw new PngFormatError(`corrupt PNG: the checksum of the ${type} chunk at byte ${at} does not match`);
    if (chunks.length === 0 && type !== 'IHDR') throw new PngFormatError(`corrupt PNG: the first chunk is ${type}, not IHDR`);
    if (crcOk) chunks.push({ type, offset: at, data: bytes.subarray(at + 8, end - 4) });
    at = end;
    if (type === 'IEND') return chunks;
  }
}

/**
 * Compressed input is fed to the inflater in steps of about `max / 1024` bytes (within
 * these bounds), and the output counted after each. DEFLATE expands at most about 1032-fold,
 * so one step makes at most about `max` (or 1 MiB) more than asked for, however hostile the
 * stream; fflate sizes its buffers by what one step produces. Steps much smaller than 64 KiB
 * cost time on large images (each copies fflate's 32 KiB window).
 */
const MAX_INFLATE_STEP = 256 * 1024;
const MIN_INFLATE_STEP = 1024;

/** How far {@link inflateBounded} got. */
export interface BoundedInflate {
  /** Bytes inflated: the whole output, or (when `over`) what came out before it stopped. */
  length: number;
  /** Whether the output passed the bound (and inflating stopped there). */
  over: boolean;
}

/**
 * Inflates the zlib stream split over `parts` (one part, or a PNG's IDAT chunks in order),
 * stopping as soon as more than `max` bytes have come out, so that time and memory follow
 * `max` and not what the stream would expand to. `onData` gets the output in pieces, each
 * with its offset in the whole, as long as the total stays within `max`.
 *
 * @throws Error (fflate's) when the stream is corrupt or ends early; callers word it.
 */
export function inflateBounded(
  parts: readonly Uint8Array[],
  max: number,
  onData: (piece: Uint8Array, at: number) => void = () => {},
): BoundedInflate {
  let length = 0;
  let over = false;
  const stream = new Unzlib((piece) => {
    const at = length;
    length += piece.length;
    if (length > max) over = true;
    else onData(piece, at);
  });
  const step = Math.min(MAX_INFLATE_STEP, Math.max(MIN_INFLATE_STEP, Math.ceil(max / 1024)));
  for (const part of parts) {
    for (let i = 0; i < part.length && !over; i += step) stream.push(part.subarray(i, i + step), false);
  }
  if (!over) stream.push(new Uint8Array(0), true);
  return { length, over };
}

/**
 * The compressed text of one PNG together may inflate to this many times `limits.textBytes`:
 * room for several large metadata chunks (XMP, ICC notes), while a file of a thousand 1 MiB
 * text bombs stops after 8 MiB (a few tens of ms) instead of at `inflatedBytes` (1 GiB, 14 s).
 */
export const TEXT_CHUNKS_PER_FILE = 8;

/** Options of {@link readTextChunks}. */
export interface TextChunkOptions {
  /**
   * Keywords whose text the caller cannot do without: a compressed chunk with one of these
   * that inflates past `limits.textBytes` throws instead of being skipped.
   */
  required?: readonly string[];
}

/**
 * The text of a PNG's tEXt, zTXt and iTXt chunks (PNG spec 11.3.4), keyword -> text, a later
 * chunk replacing an earlier one with the same keyword.
 *
 * Text chunks are ancillary, so one that cannot be read (a bad keyword, a corrupt stream) is
 * skipped, as the spec lets decoders do; so is a compressed one that inflates to more than
 * `limits.textBytes`, unless its keyword is `required`. Inflating stops at that limit, and
 * all the compressed chunks of the file together may inflate to
 * {@link TEXT_CHUNKS_PER_FILE} x `textBytes` (and never past `limits.inflatedBytes`).
 *
 * @throws LimitError when the chunks together pass that, or a `required` one passes
 *   `textBytes`.
 */
export function readTextChunks(chunks: readonly PngChunk[], limits: Limits, options: TextChunkOptions = {}): Record<string, string> {
  const required = new Set(options.required ?? []);
  const budget = Math.min(limits.inflatedBytes, TEXT_CHUNKS_PER_FILE * limits.textBytes);
  const budgetLimit: keyof Limits = budget === limits.inflatedBytes ? 'inflatedBytes' : 'textBytes';
  const text: Record<string, string> = {};
  let inflated = 0;
  for (const chunk of chunks) {
    const { type, data } = chunk;
    if (type !== 'tEXt' && type !== 'zTXt' && type !== 'iTXt') continue;
    const nul = data.indexOf(0);
    if (nul < 1 || nul > 79) continue;
    const key = latin1(data.subarray(0, nul));
    let compressed: Uint8Array;
    let utf8: boolean;
    if (type === 'tEXt') {
      text[key] = latin1(data.subarray(nul + 1));
      continue;
    } else if (type === 'zTXt') {
      // keyword 0 method(0) compressed-text
      if (data[nul + 1] !== 0) continue;
      compressed = data.subarray(nul + 2);
      utf8 = false;
    } else {
      // iTXt: keyword 0 flag method language 0 translated-keyword 0 text (UTF-8)
      const flag = data[nul + 1];
      if (flag === 1 && data[nul + 2] !== 0) continue;
      const langEnd = data.indexOf(0, nul + 3);
      const transEnd = langEnd < 0 ? -1 : data.indexOf(0, langEnd + 1);
      if (transEnd < 0) continue;
      const body = data.subarray(transEnd + 1);
      if (flag !== 1) {
        text[key] = strFromU8(body);
        continue;
      }
      compressed = body;
      utf8 = true;
    }
    const room = budget - inflated;
    const max = Math.min(limits.textBytes, room);
    let result: BoundedInflate;
    const pieces: Uint8Array[] = [];
    try {
      result = inflateBounded([compressed], max, (piece) => pieces.push(piece));
    } catch {
      continue; // a corrupt stream: skipped, as an unreadable ancillary chunk
    }
    inflated += result.length;
    if (result.over && room <= limits.textBytes) {
      const raise = budgetLimit === 'textBytes' ? `${TEXT_CHUNKS_PER_FILE} x textBytes` : 'inflatedBytes';
      throw new LimitError(
        `the compressed text chunks of the PNG inflate to more than ${count(budget)} bytes together (${raise}; ${raiseAdvice(budgetLimit)})`,
        budgetLimit,
      );
    }
    if (result.over) {
      if (!required.has(key)) continue;
      throw new LimitError(
        `the PNG's ${type} chunk "${key}" at byte ${chunk.offset} inflates to more than the limit of ${count(limits.textBytes)} bytes (${raiseAdvice('textBytes')})`,
        'textBytes',
      );
    }
    const bytes = pieces.length === 1 ? pieces[0] : concatBytes(pieces);
    text[key] = utf8 ? strFromU8(bytes) : latin1(bytes);
  }
  return text;
}

function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** Checks a text keyword: 1 to 79 printable Latin-1 characters (PNG spec 11.3.4.2). */
function checkKeyword(key: string): void {
  const ok = key.length >= 1 && key.length <= 79 && [...key].every((ch) => {
    const c = ch.charCodeAt(0);
    return (c >= 32 && c <= 126) || (c >= 161 && c <= 255);
  });
  if (!ok) throw new Error(`PNG text keyword ${JSON.stringify(key)} must be 1 to 79 printable Latin-1 characters`);
}

/**
 * A complete text chunk for `key` and `value`: tEXt when the value is Latin-1 without NUL,
 * otherwise an uncompressed iTXt holding UTF-8.
 */
export function makeTextChunk(key: string, value: string): Uint8Array {
  checkKeyword(key);
  const keyBytes = Uint8Array.from(key, (ch) => ch.charCodeAt(0));
  let type: string;
  let body: Uint8Array;
  if (/^[\u0001-\u00ff]*$/.test(value)) {
    type = 'tEXt';
    body = new Uint8Array(keyBytes.length + 1 + value.length);
    body.set(keyBytes);
    for (let i = 0; i < value.length; i++) body[keyBytes.length + 1 + i] = value.charCodeAt(i);
  } else {
    type = 'iTXt';
    const text = strToU8(value);
    // keyword 0, compression flag 0, method 0, empty language 0, empty translated keyword 0
    body = new Uint8Array(keyBytes.length + 5 + text.length);
    body.set(keyBytes);
    body.set(text, keyBytes.length + 5);
  }
  return makeChunk(type, body);
}

/** A complete chunk (length, type, data, CRC) of four-letter `type` holding `body`. */
export function makeChunk(type: string, body: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(12 + body.length);
  writeU32(chunk, 0, body.length);
  for (let i = 0; i < 4; i++) chunk[4 + i] = type.charCodeAt(i);
  chunk.set(body, 8);
  writeU32(chunk, 8 + body.length, crc32(chunk, 4, 8 + body.length));
  return chunk;
}

/** `png` with `chunks` inserted right after its IHDR chunk (which fast-png writes first). */
export function insertAfterHeader(png: Uint8Array, chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 0) return png;
  const at = 8 + 12 + readU32(png, 8);
  const extra = chunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(png.length + extra);
  out.set(png.subarray(0, at));
  let o = at;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  out.set(png.subarray(at), o);
  return out;
}
