/**
 * The RIFF container of WebP files (RFC 9649): reading a file's size, alpha and XMP
 * metadata without decoding it, and adding an XMP chunk to the file an encoder wrote.
 * Browser-safe and dependency-free.
 *
 * The reader is meant for files from strangers: every length a file claims is checked
 * against the bytes that are really there before it is used, nothing is allocated from a
 * claimed length (chunks are views into the input), and anything malformed is refused with
 * one {@link WebpFormatError} line.
 */
import { printable } from './bytes.js';

/** Thrown for bytes that are not a WebP file, or a damaged one. The message says what is wrong. */
export class WebpFormatError extends Error {
  override name = 'WebpFormatError';
}

/** What {@link readWebpInfo} finds in a WebP file. */
export interface WebpInfo {
  /** Size of the (canvas of the) image, from the VP8X, VP8L or VP8 header. */
  width: number;
  height: number;
  /** Whether the file says it has alpha (VP8X flag, ALPH chunk, or VP8L's alpha hint). */
  alpha: boolean;
  /** Lossless (VP8L) or lossy (VP8) bitstream. */
  lossless: boolean;
  /** The payload of the first `XMP ` chunk, or null: a view into the input, not a copy. */
  xmp: Uint8Array | null;
}

/** One RIFF chunk: its FourCC and its payload (a view into the file). */
interface Chunk {
  fourcc: string;
  data: Uint8Array;
}

/** Whether `bytes` starts like a WebP file (`RIFF....WEBP`). */
export function isWebp(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && fourcc(bytes, 0) === 'RIFF' && fourcc(bytes, 8) === 'WEBP';
}

/**
 * Reads the size, alpha and XMP chunk of a still WebP image from its container and
 * bitstream headers, without decoding pixels. Use it to check the size against a pixel
 * limit before a decoder allocates.
 * @throws WebpFormatError when the bytes are not a WebP file, are cut short, claim chunks
 *   larger than the file, have more than {@link MAX_WEBP_CHUNKS} chunks, are animated, or
 *   their headers disagree.
 */
export function readWebpInfo(bytes: Uint8Array): WebpInfo {
  const chunks = readChunks(bytes);
  const first = chunks[0];
  if (first.fourcc === 'VP8X') return readExtended(chunks);
  if (first.fourcc === 'VP8L' || first.fourcc === 'VP8 ') {
    const size = bitstreamSize(first);
    return { ...size, xmp: null };
  }
  throw new WebpFormatError(`not a WebP image: its first chunk is "${printable(first.fourcc)}", not VP8, VP8L or VP8X`);
}

/**
 * A copy of the WebP file `webp` with `xmp` as its XMP metadata, in the extended format
 * (a VP8X chunk first, flags set, the XMP chunk last, as RFC 9649 orders them). Browsers and
 * libwebp decode the result as they decode `webp`. Any XMP chunk `webp` had is replaced.
 * @throws WebpFormatError when `webp` is not a still WebP image.
 */
export function withWebpXmp(webp: Uint8Array, xmp: Uint8Array): Uint8Array {
  const info = readWebpInfo(webp);
  const chunks = readChunks(webp);
  // Everything but the header and old metadata, in the order the file had it (ICCP, ALPH,
  // the bitstream, EXIF).
  const kept = chunks.filter((c) => c.fourcc !== 'VP8X' && c.fourcc !== 'XMP ');
  const vp8x = chunks[0].fourcc === 'VP8X' ? chunks[0].data : null;
  // Flags: ICC 0x20, alpha 0x10, EXIF 0x08, XMP 0x04, animation 0x02 (never: refused above).
  let flags = (vp8x?.[0] ?? 0) & 0x28;
  if (info.alpha) flags |= 0x10;
  flags |= 0x04;
  const header = new Uint8Array(10);
  header[0] = flags;
  writeU24(header, 4, info.width - 1);
  writeU24(header, 7, info.height - 1);
  const out = [{ fourcc: 'VP8X', data: header }, ...kept, { fourcc: 'XMP ', data: xmp }];
  const total = 12 + out.reduce((n, c) => n + 8 + c.data.length + (c.data.length & 1), 0);
  if (total - 8 > 0xfffffffe) throw new WebpFormatError('the WebP file would pass the 4 GiB RIFF limit');
  const file = new Uint8Array(total);
  const view = new DataView(file.buffer);
  writeFourcc(file, 0, 'RIFF');
  view.setUint32(4, total - 8, true);
  writeFourcc(file, 8, 'WEBP');
  let at = 12;
  for (const c of out) {
    writeFourcc(file, at, c.fourcc);
    view.setUint32(at + 4, c.data.length, true);
    file.set(c.data, at + 8);
    // The pad byte of an odd-sized chunk stays 0.
    at += 8 + c.data.length + (c.data.length & 1);
  }
  return file;
}

/**
 * The most chunks {@link readChunks} walks in one file. A still WebP has one to six (VP8X,
 * ICCP, ALPH, the bitstream, EXIF, XMP); 10,000 is the AVIF reader's cap on boxes. Every chunk
 * walked costs an object, so 8 million empty 8-byte chunks (64 MB) took 25 s and 2.9 GB.
 */
export const MAX_WEBP_CHUNKS = 10_000;

/** The chunks of the RIFF container, each checked to lie within the file; at most {@link MAX_WEBP_CHUNKS}. */
function readChunks(bytes: Uint8Array): Chunk[] {
  if (!isWebp(bytes)) throw new WebpFormatError('not a WebP file (no RIFF/WEBP header)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const riffSize = view.getUint32(4, true);
  // The RIFF size counts from byte 8. Bytes after it are ignored, as libwebp ignores them.
  if (riffSize < 4 + 8) throw new WebpFormatError(`the RIFF header claims ${riffSize} bytes, too few for any image`);
  if (riffSize > bytes.length - 8) {
    throw new WebpFormatError(`the file is cut short: its RIFF header claims ${riffSize + 8} bytes, the file has ${bytes.length}`);
  }
  const end = 8 + riffSize;
  const chunks: Chunk[] = [];
  for (let at = 12; at < end; ) {
    if (end - at < 8) throw new WebpFormatError(`a chunk header at byte ${at} is cut short`);
    if (chunks.length === MAX_WEBP_CHUNKS) throw new WebpFormatError(`it has more than ${MAX_WEBP_CHUNKS.toLocaleString('en-US')} chunks`);
    const id = fourcc(bytes, at);
    const size = view.getUint32(at + 4, true);
    // Compared without adding to `at` first: a size near 2^32 must not wrap anything.
    if (size > end - at - 8) {
      throw new WebpFormatError(`the "${printable(id)}" chunk at byte ${at} claims ${size} bytes, more than the ${end - at - 8} left in the file`);
    }
    chunks.push({ fourcc: id, data: bytes.subarray(at + 8, at + 8 + size) });
    at += 8 + size + (size & 1);
  }
  if (chunks.length === 0) throw new WebpFormatError('the WebP file has no chunks');
  return chunks;
}

/** The extended format: VP8X's canvas, checked against the image chunk that must follow. */
function readExtended(chunks: Chunk[]): WebpInfo {
  const header = chunks[0].data;
  if (header.length < 10) throw new WebpFormatError(`its VP8X chunk has ${header.length} bytes, not 10`);
  const flags = header[0];
  if ((flags & 0x02) !== 0 || chunks.some((c) => c.fourcc === 'ANIM' || c.fourcc === 'ANMF')) {
    throw new WebpFormatError('it is an animated WebP; only still images can be rescaled');
  }
  const width = readU24(header, 4) + 1;
  const height = readU24(header, 7) + 1;
  const image = chunks.find((c) => c.fourcc === 'VP8 ' || c.fourcc === 'VP8L');
  if (image == null) throw new WebpFormatError('its VP8X header is not followed by an image (no VP8 or VP8L chunk)');
  const size = bitstreamSize(image);
  if (size.width !== width || size.height !== height) {
    throw new WebpFormatError(`its VP8X header says ${width}x${height} but its image is ${size.width}x${size.height}`);
  }
  const alpha = (flags & 0x10) !== 0 || size.alpha || chunks.some((c) => c.fourcc === 'ALPH');
  const xmp = chunks.find((c) => c.fourcc === 'XMP ')?.data ?? null;
  return { width, height, alpha, lossless: size.lossless, xmp };
}

/** Size, alpha hint and kind of a VP8 (lossy) or VP8L (lossless) bitstream, from its header. */
function bitstreamSize(chunk: Chunk): { width: number; height: number; alpha: boolean; lossless: boolean } {
  const d = chunk.data;
  if (chunk.fourcc === 'VP8L') {
    if (d.length < 5 || d[0] !== 0x2f) throw new WebpFormatError('its VP8L chunk has no valid lossless header');
    const bits = (d[1] | (d[2] << 8) | (d[3] << 16) | (d[4] << 24)) >>> 0;
    if (bits >>> 29 !== 0) throw new WebpFormatError(`its VP8L header has version ${bits >>> 29}, not 0`);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1, alpha: ((bits >>> 28) & 1) === 1, lossless: true };
  }
  // VP8: a 3-byte frame tag (bit 0 clear: a key frame), the start code 9d 01 2a, then 14-bit
  // width and height, each with 2 bits of upscaling hint above.
  if (d.length < 10 || (d[0] & 1) !== 0 || d[3] !== 0x9d || d[4] !== 0x01 || d[5] !== 0x2a) {
    throw new WebpFormatError('its VP8 chunk has no valid key frame header');
  }
  const width = (d[6] | (d[7] << 8)) & 0x3fff;
  const height = (d[8] | (d[9] << 8)) & 0x3fff;
  if (width === 0 || height === 0) throw new WebpFormatError(`its VP8 header says ${width}x${height}`);
  return { width, height, alpha: false, lossless: false };
}

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

function writeFourcc(bytes: Uint8Array, at: number, id: string): void {
  for (let i = 0; i < 4; i++) bytes[at + i] = id.charCodeAt(i);
}

function readU24(bytes: Uint8Array, at: number): number {
  return bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16);
}

function writeU24(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value & 0xff;
  bytes[at + 1] = (value >>> 8) & 0xff;
  bytes[at + 2] = (value >>> 16) & 0xff;
}
