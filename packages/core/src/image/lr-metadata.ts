/**
 * The PNG text chunk `irn` that `irn downscale` writes into an LR image: the scale and the
 * size of the original, so that `irn upscale` can restore exactly that size (the LR of an
 * image whose sides are not multiples of the scale comes from an edge-padded copy).
 */
import { checkLimit, resolveLimits, type Limits } from '../limits.js';

/** Keyword of the text chunk. */
export const LR_TEXT_KEY = 'irn';

/** What the chunk holds. */
export interface LrMetadata {
  scale: number;
  width: number;
  height: number;
}

/** The chunk's text: `{"scale":2,"width":W,"height":H}`. */
export function lrMetadataText(meta: LrMetadata): string {
  return JSON.stringify({ scale: meta.scale, width: meta.width, height: meta.height });
}

/**
 * Reads the chunk from a PNG's text: null when there is none; throws when it is present but
 * malformed.
 */
export function readLrMetadata(text: Record<string, string>): LrMetadata | null {
  const raw = text[LR_TEXT_KEY];
  if (raw == null) return null;
  let meta: unknown;
  try {
    meta = JSON.parse(raw);
  } catch {
    throw new Error(`its "${LR_TEXT_KEY}" text chunk is not JSON: ${quoted(raw)}`);
  }
  const { scale, width, height } = (meta ?? {}) as Partial<LrMetadata>;
  const posInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (!posInt(scale) || !posInt(width) || !posInt(height)) {
    throw new Error(`its "${LR_TEXT_KEY}" text chunk should hold {"scale", "width", "height"} as positive integers, got ${quoted(raw)}`);
  }
  return { scale, width, height };
}

/** The start of a text from a file, quoted and escaped (no control characters reach a terminal). */
function quoted(raw: string): string {
  return JSON.stringify(raw.length > 80 ? `${raw.slice(0, 80)}...` : raw).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The scales IRN models have (one Haar level per factor of 2). */
const IRN_SCALES = [2, 4, 8];

/**
 * The size to restore an LR image of `lrWidth x lrHeight` to with a model of `scale`: the
 * size in its metadata when it is consistent, `lr x scale` when there is none. The result
 * is checked against `limits.pixels` (default: `DEFAULT_LIMITS`), so that an LR image
 * cannot make its caller allocate more than the limit allows.
 * @throws Error when the metadata names another scale, a scale no IRN model has, or a size
 *   this LR cannot come from; LimitError when the restored image would pass `limits.pixels`.
 */
export function restoredSize(
  meta: LrMetadata | null,
  scale: number,
  lrWidth: number,
  lrHeight: number,
  limits?: Partial<Limits>,
): { width: number; height: number } {
  const size = sizeFromMetadata(meta, scale, lrWidth, lrHeight);
  checkLimit(resolveLimits(limits), 'pixels', size.width * size.height, `the restored image (${size.width}x${size.height})`, 'pixels');
  return size;
}

function sizeFromMetadata(meta: LrMetadata | null, scale: number, lrWidth: number, lrHeight: number): { width: number; height: number } {
  if (meta == null) return { width: lrWidth * scale, height: lrHeight * scale };
  if (!IRN_SCALES.includes(meta.scale)) {
    // Not "use an x3 model": there is none. The chunk was written by something else, or edited.
    throw new Error(`its "${LR_TEXT_KEY}" text chunk claims scale ${meta.scale}, which no IRN model has (x2, x4, x8); the metadata is wrong`);
  }
  if (meta.scale !== scale) {
    throw new Error(`it was downscaled at x${meta.scale} but the model is x${scale}; use an x${meta.scale} model`);
  }
  const w = Math.ceil(meta.width / scale);
  const h = Math.ceil(meta.height / scale);
  if (w !== lrWidth || h !== lrHeight) {
    throw new Error(
      `it is ${lrWidth}x${lrHeight} but its metadata says it was downscaled from ${meta.width}x${meta.height}, ` +
        `which gives ${w}x${h} at x${scale}; was it resized after downscaling?`,
    );
  }
  return { width: meta.width, height: meta.height };
}
