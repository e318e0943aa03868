// Which preset restores an LR file: the one its metadata names (`model`, written by
// `irn downscale` for a preset), else the lossless preset of its scale. Header reading only
// (no pixels, no TensorFlow.js), so a page can pick the model before it loads one.
import { resolveLimits, type Limits } from '../limits.js';
import { LR_TEXT_KEY, readLrMetadata, type LrMetadata } from '../image/lr-metadata.js';
import { readLrFileInfo } from '../image/lr-formats.js';
import { readChunks, readTextChunks } from '../image/png-chunks.js';

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
  const resolved = resolveLimits(limits);
  if (bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
    return readLrMetadata(readTextChunks(readChunks(bytes), resolved, { required: [LR_TEXT_KEY] }));
  }
  return readLrFileInfo(bytes, resolved).lrMetadata;
}
