/**
 * The PNG text chunk `irn` that `irn downscale` writes into an LR image: the scale and the
 * size of the original, so that `irn upscale` can restore exactly that size (the LR of an
 * image whose sides are not multiples of the scale comes from an edge-padded copy), and,
 * when the LR was made for a preset, that preset's name (`model`), so that `irn upscale`,
 * `Rescaler` users and `<irn-image>` restore it with the model it was made for (a lossy
 * preset such as `irn-x2-jpeg` restores a JPEG LR better than the lossless `irn-x2`).
 */
import { checkLimit, resolveLimits, type Limits } from '../limits.js';

/** Keyword of the text chunk. */
export const LR_TEXT_KEY = 'irn';

/** What the chunk holds. */
export interface LrMetadata {
  scale: number;
  width: number;
  height: number;
  /**
   * The preset the LR was made for: the model that restores it best (`irn-x2`, or a lossy
   * preset such as `irn-x2-jpeg`, whose own weights restore while another preset's made the
   * LR). Absent for an LR made with a model given by path. A plain name: {@link PRESET_NAME}.
   */
  model?: string;
}

/**
 * What a preset name looks like, in LR metadata and in a model's `encoder`: lowercase
 * letters, digits and `-`, 1 to 64 characters, starting with a letter or digit (a name, never
 * a path or a URL, so a file cannot point a reader anywhere).
 */
export const PRESET_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** The LR codecs a lossy model can be trained to restore (a model's `lrCodec`). */
export const LR_CODECS = ['jpeg', 'webp', 'avif'] as const;

/** One of {@link LR_CODECS}. */
export type LrCodec = (typeof LR_CODECS)[number];

/** The chunk's text: `{"scale":2,"width":W,"height":H}`, with `"model":"<name>"` after them when set. */
export function lrMetadataText(meta: LrMetadata): string {
  const fields: LrMetadata = { scale: meta.scale, width: meta.width, height: meta.height };
  if (meta.model != null) {
    if (typeof meta.model !== 'string' || !PRESET_NAME.test(meta.model)) throw new Error(`LR metadata model must be a preset name (${PRESET_NAME.source}), got ${quoted(String(meta.model))}`);
    fields.model = meta.model;
  }
  return JSON.stringify(fields);
}

/**
 * Reads the chunk from a PNG's text: null when there is none; throws when it is present but
 * malformed (a `model` that is not a plain preset name included). Keys it does not know are
 * ignored, so later writers can add fields.
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
  const { scale, width, height, model } = (meta ?? {}) as Partial<Record<keyof LrMetadata, unknown>>;
  const posInt = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) > 0;
  if (!posInt(scale) || !posInt(width) || !posInt(height)) {
    throw new Error(`its "${LR_TEXT_KEY}" text chunk should hold {"scale", "width", "height"} as positive integers, got ${quoted(raw)}`);
  }
  if (model === undefined) return { scale, width, height };
  if (typeof model !== 'string' || !PRESET_NAME.test(model)) {
    throw new Error(`its "${LR_TEXT_KEY}" text chunk names the model ${quoted(typeof model === 'string' ? model : JSON.stringify(model) ?? String(model))}, which is not a preset name (lowercase letters, digits and "-")`);
  }
  return { scale, width, height, model };
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
