// Which preset restores an LR file: the one its metadata names (`model`, written by
// `irn downscale` for a preset), else the lossless preset of its scale. Header reading only
// (no pixels, no TensorFlow.js), so a page can pick the model before it loads one.
import { checkLimit, resolveLimits, type Limits } from '../limits.js';
import { readU32BE } from '../image/bytes.js';
import { LR_TEXT_KEY, readLrMetadata, type LrMetadata } from '../image/lr-metadata.js';
import { readLrFileInfo, sniffLrFormat, type LrFormat } from '../image/lr-formats.js';
import { PngFormatError, readChunks, readTextChunks } from '../image/png-chunks.js';

/**
 * The preset to restore an LR with, from its metadata: `meta.model` when set (a lossy
 * decoder such as `irn-x2-jpeg`, or `irn-x4`), else `irn-x<meta.scale>`, else `irn-x2`.
 */
export function presetForLr(meta: LrMetadata | null): string {
  return meta?.model ?? `irn-x${meta?.scale ?? 2}`;
}

/**
 * The `irn` metadata of an LR file (PNG, WebP, JPEG or any format `readLrFileInfo` reads),
 * from its headers and text, within `limits` (default `DEFAULT_LIMITS`): null when it has none.
 * @throws the format's error for a malformed file; Error for malformed metadata.
 */
export function lrFileMetadata(bytes: Uint8Array, limits?: Partial<Limits>): LrMetadata | null {
  return readLrHeader(bytes, limits).lrMetadata;
}

/** What {@link readLrHeader} reads: the LR's size and metadata, no pixels. */
export interface LrHeader {
  format: LrFormat;
  width: number;
  height: number;
  lrMetadata: LrMetadata | null;
}

/**
 * The format, size and `irn` metadata of an LR file from its headers alone, the size checked
 * against `limits.pixels`: enough to pick the model and check the restored size
 * (`restoredSize`) before a decoder allocates anything.
 * @throws the format's error for a malformed file; LimitError past a limit; Error for
 *   malformed metadata.
 */
export function readLrHeader(bytes: Uint8Array, limits?: Partial<Limits>): LrHeader {
  const resolved = resolveLimits(limits);
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    const chunks = readChunks(bytes);
    // readChunks checked that IHDR comes first; its first 8 bytes are the width and height.
    const ihdr = chunks[0].data;
    if (ihdr.length < 8) throw new PngFormatError(`corrupt PNG: the IHDR chunk has ${ihdr.length} bytes, not 13`);
    const width = readU32BE(ihdr, 0);
    const height = readU32BE(ihdr, 4);
    checkLimit(resolved, 'pixels', width * height, `the image (${width}x${height})`, 'pixels');
    return { format: 'png', width, height, lrMetadata: readLrMetadata(readTextChunks(chunks, resolved, { required: [LR_TEXT_KEY] })) };
  }
  if (sniffLrFormat(bytes) == null) throw new Error('it is not a PNG, WebP, JPEG or AVIF image');
  const info = readLrFileInfo(bytes, resolved);
  return { format: info.format, width: info.width, height: info.height, lrMetadata: info.lrMetadata };
}
