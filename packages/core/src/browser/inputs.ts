import { decodePng } from '../image/png.js';
import { checkLimit, resolveLimits, type Limits } from '../limits.js';
import { fetchImageBytes } from './read-body.js';
import { checkRaster, cutSamples, resolveRegion, rgba8ToRaster, type ImageRegion, type RasterImage, type RegionOf } from '../image/raster.js';
import { readLrMetadata, type LrMetadata } from '../image/lr-metadata.js';
import { readLrFileInfo } from '../image/lr-formats.js';
import { checkJpegScans, countJpegScans, isJpeg, JpegFormatError } from '../image/jpeg-segments.js';
import { isWebp } from '../image/webp-container.js';
import { isAvif } from '../image/avif-container.js';
import { claimedImageSize } from '../image/claimed-size.js';
import { describe, drawableToBitmap, isDrawable, isRaster, isTensor, tensorToRaster, type ImageInput } from './kinds.js';

/** The most scans of a JPEG Chromium decodes (measured on Chromium 156: 99 decode, 100 do not; `pnpm bench:jpeg-scans`). */
const CHROMIUM_MAX_JPEG_SCANS = 99;

// Where they were first defined; kinds.ts holds them so that the page of a worker rescaler
// can use them without this module's decoders.
export { describe, drawableToBitmap, isDrawable, isRaster, isTensor, tensorToRaster, type ImageInput };
export type { ImageRegion, RegionOf };

/** An input read into memory, and the `irn` metadata if it carried some. */
export interface DecodedInput {
  raster: RasterImage;
  /** The original size recorded by a downscale (PNG, WebP, JPEG and AVIF files: see lr-formats.ts). */
  lrMetadata: LrMetadata | null;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Options of {@link decodeInput}. */
export interface DecodeInputOptions {
  /**
   * Resource limits (defaults: `DEFAULT_LIMITS`): `pixels` bounds every decoded image before
   * its float copy is made, `textBytes` and `inflatedBytes` a PNG's text chunks,
   * `inflatedBytes` also a file's size (a URL's body is cut off there while it streams).
   */
  limits?: Partial<Limits>;
  /** Stops the download of a URL input (the fetch and its body): the call rejects with the signal's reason. */
  signal?: AbortSignal;
  /**
   * The input is an LR image (an upscale's), which `irn downscale` and codecs made tidy: a
   * JPEG whose segments cannot be read, or that is cut short, is refused instead of handed to
   * the browser's decoder, which would fill in grey (default false: a photo from a camera or
   * an editor may have stray bytes that browsers skip).
   */
  lr?: boolean;
  /**
   * Reads only part of the image: called once with the image's size, it returns the rectangle
   * to keep (whole pixels, inside the image), or null for all of it. A file the browser decodes
   * (JPEG, WebP, AVIF) is still decoded whole, in the browser's own 8-bit memory, but only the
   * region is read out and copied as floats: a 1024 x 1024 crop of a 48-megapixel photo makes
   * 12 MB of floats instead of 580 MB (and more when it has alpha). The limits apply to the
   * whole image. A PNG is inflated whole at its own bit depth, and only the region becomes floats.
   * @throws RangeError (from the call) when the rectangle is not whole pixels inside the image
   */
  region?: RegionOf;
}

/**
 * Reads any {@link ImageInput} into a {@link RasterImage}. Works in pages and workers (no
 * DOM needed beyond `createImageBitmap` and `OffscreenCanvas`). The caller's objects are
 * not modified: bitmaps are not closed, tensors not disposed.
 *
 * PNG files are decoded by {@link decodePng}: exact values (16-bit too, straight alpha) and
 * the `irn` text chunk. WebP, JPEG and AVIF files are decoded by the browser; their headers are
 * read first for the size (checked against the pixel limit before the browser decodes) and
 * the `irn` metadata (a WebP's XMP chunk, a JPEG's comment, an AVIF's `uuid` box). Everything drawn through a canvas is 8-bit, and semi-transparent
 * pixels lose a little colour precision (canvases store premultiplied alpha). Images whose
 * alpha is 255 everywhere come back as RGB.
 *
 * An image over `options.limits.pixels` is refused with a `LimitError`: a PNG before it is
 * inflated, anything the browser decodes before its pixels are read and copied as floats
 * (the browser's own decoder has already run then; browsers cap what it allocates).
 */
export async function decodeInput(
  input: ImageInput,
  fetchFn: typeof fetch = globalThis.fetch.bind(globalThis),
  options: DecodeInputOptions = {},
): Promise<DecodedInput> {
  const limits = resolveLimits(options.limits);
  if (typeof input === 'string' || input instanceof URL) {
    const base = (globalThis as { location?: { href: string } }).location?.href;
    const url = base == null ? new URL(input) : new URL(input, base);
    const { bytes, type } = await fetchImageBytes(url.href, fetchFn, limits, options.signal);
    return decodeBytes(bytes, options, type);
  }
  if (input instanceof Blob) return decodeBlob(input, options);
  if (isTensor(input)) return { raster: cutRegion(await tensorToRaster(input), options), lrMetadata: null };
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return { raster: cutRegion(imageDataToRaster(input, limits), options), lrMetadata: null };
  if (isRaster(input)) {
    checkRaster(input);
    const cut = cutRegion(input, options);
    return { raster: cut === input ? { ...input, data: input.data.slice() } : cut, lrMetadata: null };
  }
  if (typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) return { raster: readBitmap(input, limits, options), lrMetadata: null };
  if (isDrawable(input)) {
    const bitmap = await drawableToBitmap(input);
    try {
      return { raster: readBitmap(bitmap, limits, options), lrMetadata: null };
    } finally {
      bitmap.close();
    }
  }
  throw new TypeError(`cannot read an image from ${describe(input)}; see ImageInput for what is accepted`);
}

/**
 * Reads a Blob: PNG exactly (with its `irn` chunk), anything else the browser decodes (a
 * WebP's, JPEG's or AVIF's headers and `irn` metadata read first); all within
 * `options.limits` (see {@link decodeInput}).
 * @throws WebpFormatError / AvifFormatError for a WebP / AVIF whose container is malformed;
 *   LimitError for a WebP, JPEG, AVIF, BMP, GIF or ICO that claims more than `limits.pixels`
 *   pixels (before the browser decodes it).
 */
export async function decodeBlob(blob: Blob, options: DecodeInputOptions = {}): Promise<DecodedInput> {
  checkLimit(resolveLimits(options.limits), 'inflatedBytes', blob.size, 'the image file', 'bytes');
  return decodeBytes(new Uint8Array(await blob.arrayBuffer()), options, blob.type, blob);
}

/**
 * {@link decodeBlob} on the file's bytes, of MIME type `type` ('' when unknown); `blob`: the
 * same bytes as a Blob, when the caller has one (else one is made only for the browser's decoder).
 */
async function decodeBytes(bytes: Uint8Array, options: DecodeInputOptions, type: string, blob?: Blob): Promise<DecodedInput> {
  const limits = resolveLimits(options.limits);
  // Said plainly: the browser's decoder would only say it could not decode 0 bytes.
  if (bytes.length === 0) throw new Error(`the image file is empty (${type || 'unknown type'}, 0 bytes)`);
  if (PNG_SIGNATURE.every((b, i) => bytes[i] === b)) {
    const png = decodePng(bytes, { limits, region: options.region });
    const { width, height, channels, data } = png;
    return { raster: { width, height, channels, data }, lrMetadata: readLrMetadata(png.text) };
  }
  // Header only: the size is checked before the browser's decoder allocates, and the
  // metadata comes without a codec of our own.
  const lrMetadata =
    isWebp(bytes) || isAvif(bytes) || (isJpeg(bytes) && options.lr === true)
      ? readLrFileInfo(bytes, limits).lrMetadata
      : isJpeg(bytes)
        ? jpegMetadata(bytes, limits)
        : null;
  // BMP, GIF and ICO are the browser's alone to decode: their size too is checked first.
  const claimed = claimedImageSize(bytes);
  if (claimed != null) checkLimit(limits, 'pixels', claimed.width * claimed.height, `the image (${claimed.width}x${claimed.height})`, 'pixels');
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob ?? new Blob([bytes as BlobPart], { type }), { premultiplyAlpha: 'none' });
  } catch (e) {
    // Chromium decodes no JPEG of 100 scans or more (bench/README.md, "JPEG scans"), which
    // core lets through up to 500: say so, since its own message does not.
    const scans = isJpeg(bytes) ? countJpegScans(bytes, CHROMIUM_MAX_JPEG_SCANS) : 0;
    const why = scans > CHROMIUM_MAX_JPEG_SCANS ? `, ${scans} scans or more: Chromium decodes no JPEG of more than ${CHROMIUM_MAX_JPEG_SCANS}` : '';
    throw new Error(`cannot decode the image (${type || 'unknown type'}, ${bytes.length} bytes${why}): ${(e as Error).message}`, { cause: e });
  }
  try {
    return { raster: readBitmap(bitmap, limits, options), lrMetadata };
  } finally {
    bitmap.close();
  }
}

/**
 * The `irn` metadata of a JPEG, its size checked against the pixel limit first. JPEGs from
 * cameras and editors are not always tidy (stray bytes between segments, which libjpeg and
 * browsers skip with a warning): when the segments cannot be read, the browser decodes the
 * file as before and the limit is checked on its pixels (see {@link bitmapToRaster}), unless
 * it has more than 500 scans (see {@link checkJpegScans}).
 */
function jpegMetadata(bytes: Uint8Array, limits: Limits): LrMetadata | null {
  try {
    return readLrFileInfo(bytes, limits).lrMetadata;
  } catch (e) {
    // A photo with stray bytes goes to the browser's decoder, which skips them; a scan bomb
    // does not (libjpeg takes each scan over the whole frame: minutes for a 344 KB file).
    if (!(e instanceof JpegFormatError)) throw e;
    checkJpegScans(bytes);
    return null;
  }
}

/**
 * 8-bit RGBA pixels -> RGB (when fully opaque) or RGBA raster, values k/255.
 * @throws LimitError when the image has more than `limits.pixels` pixels
 */
export function imageDataToRaster(image: ImageData, limits: Partial<Limits> = {}): RasterImage {
  const { width, height, data } = image;
  checkPixels(width, height, limits);
  return rgba8ToRaster(data, width, height);
}

/**
 * Draws a bitmap on an `OffscreenCanvas` and reads its pixels.
 * @throws LimitError when the bitmap has more than `limits.pixels` pixels (checked first)
 */
export function bitmapToRaster(bitmap: ImageBitmap, limits: Partial<Limits> = {}): RasterImage {
  return readBitmap(bitmap, limits, {});
}

/** {@link bitmapToRaster} of `options.region` only: just that rectangle is drawn and read. */
function readBitmap(bitmap: ImageBitmap, limits: Partial<Limits>, options: DecodeInputOptions): RasterImage {
  checkPixels(bitmap.width, bitmap.height, limits);
  const r = resolveRegion(bitmap.width, bitmap.height, options.region) ?? { x: 0, y: 0, width: bitmap.width, height: bitmap.height };
  const canvas = new OffscreenCanvas(r.width, r.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (ctx == null) throw new Error('cannot read pixels: no 2D context on an OffscreenCanvas');
  ctx.drawImage(bitmap, -r.x, -r.y);
  return imageDataToRaster(ctx.getImageData(0, 0, r.width, r.height), limits);
}

/** `raster` cut to `options.region` (the same object when it asks for all of it). */
function cutRegion(raster: RasterImage, options: DecodeInputOptions): RasterImage {
  const r = resolveRegion(raster.width, raster.height, options.region);
  if (r == null) return raster;
  const data = cutSamples(raster.data, raster.width, raster.channels, r, (n) => new Float32Array(n));
  return { width: r.width, height: r.height, channels: raster.channels, data };
}

/** The pixel limit, worded as decodePng and the CLI word it. */
function checkPixels(width: number, height: number, limits: Partial<Limits>): void {
  checkLimit(resolveLimits(limits), 'pixels', width * height, `the image (${width}x${height})`, 'pixels');
}

