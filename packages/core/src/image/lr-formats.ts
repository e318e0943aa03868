/**
 * The file formats an LR image can travel in, and where each keeps the `irn` metadata
 * (see lr-metadata.ts): PNG in its `irn` text chunk; WebP in an XMP packet (RFC 9649's
 * `XMP ` chunk of the extended format), as the attribute `irn:lr` holding the same JSON;
 * JPEG in a comment (COM) segment `irn {json}`; AVIF in a top-level `uuid` box of our own at the
 * end of the file (see avif-container.ts), holding the JSON.
 * Browser-safe: reading a file's header and metadata needs no codec ({@link readLrHeader}, the
 * one reader of an LR's size and metadata that the restore and `<irn-image>` share). Encoding
 * and decoding pixels is in lr-codecs.ts (Node).
 */
import { checkLimit, resolveLimits, type Limits } from '../limits.js';
import { LR_TEXT_KEY, lrMetadataText, readLrMetadata, type LrMetadata } from './lr-metadata.js';
import { checkJpegDataSize, isJpeg, readJpegInfo, withJpegComment } from './jpeg-segments.js';
import { isAvif, readAvifInfo, withAvifMetadata } from './avif-container.js';
import { isWebp, readWebpInfo, WebpFormatError, withWebpXmp } from './webp-container.js';
import { readU32BE } from './bytes.js';
import { checkPngChunks, insertAfterHeader, makeTextChunk, PngFormatError, readChunks, readPngHeader, readTextChunks } from './png-chunks.js';

/** The formats `irn downscale --format` writes: PNG and WebP lossless, JPEG and AVIF lossy. */
export type LrFormat = 'png' | 'webp' | 'jpeg' | 'avif';

/** The formats, in the order help lists them. */
export const LR_FORMATS: readonly LrFormat[] = ['png', 'webp', 'jpeg', 'avif'];

/** File name extension of each format. */
export const LR_EXTENSIONS: Readonly<Record<LrFormat, string>> = { png: '.png', webp: '.webp', jpeg: '.jpg', avif: '.avif' };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The format of an image file from its first bytes, or null when it is none of {@link LrFormat}. */
export function sniffLrFormat(bytes: Uint8Array): LrFormat | null {
  if (bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b)) return 'png';
  if (isWebp(bytes)) return 'webp';
  if (isJpeg(bytes)) return 'jpeg';
  if (isAvif(bytes)) return 'avif';
  return null;
}

/** XMP namespace of the `irn:lr` property. */
export const IRN_XMP_NAMESPACE = 'urn:irn:lr:1.0#';

/**
 * The XMP packet that carries `meta` in a WebP file: one `rdf:Description` whose `irn:lr`
 * attribute is {@link lrMetadataText}'s JSON (XML-escaped). Any XMP reader shows it.
 */
export function lrMetadataXmp(meta: LrMetadata): Uint8Array {
  const json = lrMetadataText(meta).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');
  const xml =
    '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>' +
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' +
    `<rdf:Description rdf:about="" xmlns:${LR_TEXT_KEY}="${IRN_XMP_NAMESPACE}" ${LR_TEXT_KEY}:lr="${json}"/>` +
    '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>';
  return new TextEncoder().encode(xml);
}

/**
 * The {@link LrMetadata} in an XMP packet written by {@link lrMetadataXmp}: null when the
 * packet has no `irn:lr` attribute (XMP from other tools); throws when it has a malformed one.
 * The packet is refused above `limits.textBytes` before it is decoded as text.
 */
export function readLrMetadataXmp(xmp: Uint8Array, limits?: Partial<Limits>): LrMetadata | null {
  checkLimit(resolveLimits(limits), 'textBytes', xmp.length, 'its XMP metadata', 'bytes');
  const text = new TextDecoder().decode(xmp);
  const match = new RegExp(`\\b${LR_TEXT_KEY}:lr\\s*=\\s*"([^"]*)"`).exec(text);
  if (match == null) return null;
  const json = match[1].replace(/&(quot|lt|gt|apos|amp);/g, (_, e: string) => ({ quot: '"', lt: '<', gt: '>', apos: "'", amp: '&' })[e] ?? '');
  try {
    return readLrMetadata({ [LR_TEXT_KEY]: json });
  } catch (e) {
    throw new Error((e as Error).message.replace('text chunk', 'XMP metadata'));
  }
}

/** The start of the COM segment that carries the metadata in a JPEG: `irn ` then the JSON. */
const JPEG_COMMENT_PREFIX = `${LR_TEXT_KEY} `;

/** The JPEG comment that carries `meta`: `irn {"scale":2,"width":W,"height":H}`. */
export function lrMetadataJpegComment(meta: LrMetadata): Uint8Array {
  return new TextEncoder().encode(JPEG_COMMENT_PREFIX + lrMetadataText(meta));
}

/**
 * The {@link LrMetadata} in a JPEG's comments: from the first that starts with `irn `; null
 * when none does; throws when that one is malformed.
 */
export function readLrMetadataJpegComments(comments: Uint8Array[], limits?: Partial<Limits>): LrMetadata | null {
  const prefix = new TextEncoder().encode(JPEG_COMMENT_PREFIX);
  const ours = comments.find((c) => c.length >= prefix.length && prefix.every((b, i) => c[i] === b));
  if (ours == null) return null;
  checkLimit(resolveLimits(limits), 'textBytes', ours.length, 'its JPEG comment', 'bytes');
  try {
    return readLrMetadata({ [LR_TEXT_KEY]: new TextDecoder().decode(ours.subarray(prefix.length)) });
  } catch (e) {
    throw new Error((e as Error).message.replace('text chunk', 'JPEG comment'));
  }
}

/**
 * The {@link LrMetadata} in the payload of an AVIF's IRN box (see avif-container.ts: the JSON
 * of {@link lrMetadataText}); throws when it is malformed. The payload is refused above
 * `limits.textBytes` before it is decoded as text.
 */
export function readLrMetadataAvif(payload: Uint8Array, limits?: Partial<Limits>): LrMetadata | null {
  checkLimit(resolveLimits(limits), 'textBytes', payload.length, 'its AVIF metadata box', 'bytes');
  try {
    return readLrMetadata({ [LR_TEXT_KEY]: new TextDecoder().decode(payload) });
  } catch (e) {
    throw new Error((e as Error).message.replace('text chunk', 'AVIF metadata box'));
  }
}

/** What {@link readLrFileInfo} reads from a non-PNG LR file's headers. */
export interface LrFileInfo {
  format: LrFormat;
  width: number;
  height: number;
  /** Whether the file says it has alpha. */
  alpha: boolean;
  lrMetadata: LrMetadata | null;
}

/**
 * The size, alpha and `irn` metadata of a WebP, JPEG or AVIF file, from its headers alone (no
 * pixels are decoded), with the size checked against `limits.pixels`: call it before handing
 * the file to a decoder. ({@link readLrHeader} reads PNG too, as decodePng reads it.)
 * @throws WebpFormatError / JpegFormatError / AvifFormatError for a malformed file (a JPEG also
 *   when it is cut short or has too many scans: see checkJpegDataSize, MAX_JPEG_SCANS); LimitError when it claims
 *   more than `limits.pixels` pixels or more than `limits.textBytes` of metadata; Error for
 *   malformed metadata.
 */
export function readLrFileInfo(bytes: Uint8Array, limits?: Partial<Limits>): LrFileInfo {
  const resolved = resolveLimits(limits);
  if (isJpeg(bytes)) {
    const jpeg = readJpegInfo(bytes);
    checkLimit(resolved, 'pixels', jpeg.width * jpeg.height, `the image (${jpeg.width}x${jpeg.height})`, 'pixels');
    // A file cut short would decode to grey (and a small one claiming a large frame would
    // cost the decoder that frame): refused from its size, here, where a browser that
    // decodes JPEG itself checks too.
    checkJpegDataSize(jpeg);
    const lrMetadata = readLrMetadataJpegComments(jpeg.comments, resolved);
    return { format: 'jpeg', width: jpeg.width, height: jpeg.height, alpha: false, lrMetadata };
  }
  if (isAvif(bytes)) {
    const avif = readAvifInfo(bytes);
    checkLimit(resolved, 'pixels', avif.width * avif.height, `the image (${avif.width}x${avif.height})`, 'pixels');
    const lrMetadata = avif.irn == null ? null : readLrMetadataAvif(avif.irn, resolved);
    return { format: 'avif', width: avif.width, height: avif.height, alpha: avif.alpha, lrMetadata };
  }
  if (!isWebp(bytes)) throw new WebpFormatError('not a WebP file (no RIFF/WEBP header)');
  const info = readWebpInfo(bytes);
  checkLimit(resolved, 'pixels', info.width * info.height, `the image (${info.width}x${info.height})`, 'pixels');
  const lrMetadata = info.xmp == null ? null : readLrMetadataXmp(info.xmp, resolved);
  return { format: 'webp', width: info.width, height: info.height, alpha: info.alpha, lrMetadata };
}

/** What {@link readLrHeader} reads: the LR's size and metadata, no pixels. */
export interface LrHeader {
  format: LrFormat;
  width: number;
  height: number;
  lrMetadata: LrMetadata | null;
}

/**
 * The format, size and `irn` metadata of an LR file (PNG, WebP, JPEG or AVIF) from its headers
 * alone, the size checked against `limits.pixels`: enough to pick the model and check the
 * restored size (`restoredSize`) before a decoder allocates anything. A PNG is read as decodePng
 * reads it (every chunk's length and critical checksum, IEND; a damaged text chunk dropped;
 * of two `irn` chunks, the later), so what this says is what the restore finds.
 * @throws PngFormatError / WebpFormatError / JpegFormatError / AvifFormatError for a malformed
 *   file; LimitError past a limit; Error for a file in none of these formats, or malformed
 *   metadata.
 */
export function readLrHeader(bytes: Uint8Array, limits?: Partial<Limits>): LrHeader {
  const resolved = resolveLimits(limits);
  // The start of the signature only: readChunks says what is wrong with the rest.
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const chunks = readChunks(bytes);
    // readChunks checked that IHDR comes first; these are decodePng's own checks, in its order.
    const header = readPngHeader(chunks[0].data);
    const { width, height } = header;
    checkLimit(resolved, 'pixels', width * height, `the image (${width}x${height})`, 'pixels');
    checkPngChunks(chunks, header);
    return { format: 'png', width, height, lrMetadata: readLrMetadata(readTextChunks(chunks, resolved, { required: [LR_TEXT_KEY] })) };
  }
  if (sniffLrFormat(bytes) == null) throw new Error('it is not a PNG, WebP, JPEG or AVIF image');
  const info = readLrFileInfo(bytes, resolved);
  return { format: info.format, width: info.width, height: info.height, lrMetadata: info.lrMetadata };
}

/**
 * `image` (a PNG, WebP, JPEG or AVIF file, told apart by its first bytes) with `meta` written
 * where that format keeps it, as `irn downscale` writes it: for LRs encoded by another
 * encoder, such as a codec in the page (`@jsquash/avif`) or a canvas's `convertToBlob`, so
 * that `upscale`, `Rescaler.forLr` and `<irn-image>` know the original size and the preset.
 * The image data is not touched.
 * @throws Error for a file in none of these formats, or one that already has `irn` metadata
 *   (a file that says two things is worse than one that says nothing); the format's error for
 *   a malformed file.
 */
export function withLrMetadata(image: Uint8Array, meta: LrMetadata): Uint8Array {
  const format = sniffLrFormat(image);
  if (format == null) throw new Error('withLrMetadata: the image is not a PNG, WebP, JPEG or AVIF file');
  // Generous limits: this reads the caller's own file, only to find metadata already there.
  const limits = { pixels: Number.MAX_SAFE_INTEGER };
  const existing =
    format === 'png'
      ? readTextChunks(readChunks(image), resolveLimits(limits), { required: [LR_TEXT_KEY] })[LR_TEXT_KEY]
      : readLrFileInfo(image, limits).lrMetadata;
  if (existing != null) throw new Error(`withLrMetadata: the ${format.toUpperCase()} file already has irn metadata`);
  switch (format) {
    case 'png':
      return insertAfterHeader(image, [makeTextChunk(LR_TEXT_KEY, lrMetadataText(meta))]);
    case 'webp':
      return withWebpXmp(image, lrMetadataXmp(meta));
    case 'jpeg':
      return withJpegComment(image, lrMetadataJpegComment(meta));
    case 'avif':
      return withAvifMetadata(image, lrMetadataText(meta));
  }
}
