// Which preset restores an LR file: the one its metadata names (`model`, written by
// `irn downscale` for a preset), else the lossless preset of its scale. Header reading only
// (no pixels, no TensorFlow.js), so a page can pick the model before it loads one.
import type { Limits } from '../limits.js';
import type { LrMetadata } from '../image/lr-metadata.js';
import { readLrHeader } from '../image/lr-formats.js';

// The reader itself lives with the LR formats (`@irn/core/lr-formats`), where <irn-image>
// loads it without the Rescaler.
export { readLrHeader, type LrHeader } from '../image/lr-formats.js';

/**
 * The preset to restore an LR with, from its metadata: `meta.model` when set (a lossy
 * decoder such as `irn-x2-jpeg`, or `irn-x4`), else `irn-x<meta.scale>`, else `irn-x2`.
 */
export function presetForLr(meta: LrMetadata | null): string {
  return meta?.model ?? `irn-x${meta?.scale ?? 2}`;
}

/**
 * The `irn` metadata of an LR file (PNG, WebP, JPEG or AVIF), from its headers and text
 * ({@link readLrHeader}), within `limits` (default `DEFAULT_LIMITS`): null when it has none.
 * @throws the format's error for a malformed file; Error for malformed metadata.
 */
export function lrFileMetadata(bytes: Uint8Array, limits?: Partial<Limits>): LrMetadata | null {
  return readLrHeader(bytes, limits).lrMetadata;
}
