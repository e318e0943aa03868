/**
 * The encoder settings of IRN's LR files, shared by `irn downscale --format` (Node) and pages
 * that encode LRs themselves: the shipped lossy presets were trained and measured on LRs made
 * with exactly these, and other settings restore worse (4:2:0 AVIF: see {@link AVIF_SUBSAMPLE}).
 * Option names are those of Squoosh's codecs as `@jsquash/jpeg`, `@jsquash/avif` and
 * `@jsquash/webp` take them; no codec is loaded here.
 */
import type { LrFormat } from './lr-formats.js';

/** The JPEG quality `irn downscale --format jpeg` uses unless told. */
export const DEFAULT_JPEG_QUALITY = 90;

/**
 * The AVIF quality `irn downscale --format avif` uses unless told. With the shipped x2 model
 * on Kodak photos (kodim01, 05, 23) it restores to about the Y-PSNR of the LR as JPEG at
 * {@link DEFAULT_JPEG_QUALITY} (29.3 / 29.8 / 36.4 dB against 29.1 / 28.2 / 36.3) in 35-64 %
 * of its bytes (0.58 / 0.78 / 0.21 bpp against 1.08 / 1.22 / 0.60).
 */
export const DEFAULT_AVIF_QUALITY = 60;

/**
 * libavif's speed for AVIF LRs (0 slowest, 10 fastest). Measured on Kodak LRs at x2 (384x256,
 * quality 60, 4:4:4, Node, one thread, on a busy 2-core machine): speed 6 takes 0.3-1.3 s
 * per LR; speed 4 takes 2.6-10 s for the same bytes and +0.2-0.4 dB restored Y-PSNR; speed 8
 * takes 0.1-0.4 s for 2-6 % fewer bytes and -0.2-0.6 dB. 6 (jsquash's default) keeps a
 * folder of photos at about a second each.
 */
export const AVIF_SPEED = 6;

/**
 * libavif's speed for AVIF LRs at effort `'max'` (`irn downscale --effort max`): the same
 * bytes restore better, for a slower encode. With `irn-x2-avif-v2` on six Kodak photos
 * (bench/lr-settings.ts, qualities 25-80): speed 4 +0.28 dB BD-PSNR over speed 6 (+0.13 to
 * +0.35 per photo) for 9.3x the encode time; speed 2 +0.35 dB for 23x (bench/README.md).
 */
export const AVIF_SPEED_MAX = 4;

/**
 * libavif's chroma subsampling for AVIF LRs: 3 is 4:4:4, full-resolution chroma. An IRN LR
 * hides the detail it drops in all three channels, and 4:2:0 throws half of the chroma
 * away: with the shipped x2 model on kodim01, 4:2:0 at quality 75 restores to 27.29 dB
 * Y-PSNR at 0.63 bpp where 4:4:4 at quality 60 restores to 29.27 dB at 0.58 bpp (kodim23:
 * 36.09 dB at 0.25 bpp against 36.44 at 0.21).
 */
export const AVIF_SUBSAMPLE = 3;

/**
 * Every setting worth coding an LR in `format` with, at `quality` and `effort`: code the LR
 * with each and keep the smallest file. They differ in how the file is laid out, not in what
 * it keeps (the same quality within a few hundredths of a dB), so the smallest is the one to
 * send. JPEG has two: {@link lrEncoderOptions}'s progressive file and a baseline one
 * (`baseline: true`: one scan, and quantization tables clamped to 8 bits). MozJPEG's table
 * passes 255 below quality 70, so a progressive file there carries 16-bit tables, 128 bytes
 * more, plus its scans' headers: on Kodak24's x4 thumbnails (192x128) baseline is 4-23 % smaller
 * at qualities 5-69, on its x2 thumbnails (384x256) 0.6-6.6 %; on the full photos it is about
 * as big at qualities 10-50 (smaller for 10-17 of the 24) and 0.5-3.4 % bigger from 60
 * (`pnpm bench:jpeg-modes`, bench/README.md). The other formats have one setting.
 * @example
 * const files = await Promise.all(lrEncoderVariants('jpeg', 60).map(async (o) => new Uint8Array(await encode(image, o))));
 * const smallest = files.reduce((a, b) => (b.length < a.length ? b : a));
 */
export function lrEncoderVariants(format: LrFormat, quality?: number, effort?: LrEffort): Record<string, number | boolean>[] {
  const options = lrEncoderOptions(format, quality, effort);
  return format === 'jpeg' ? [options, { ...options, baseline: true }] : [options];
}

/** How hard an encoder searches: `'max'` for the smallest file (or best restore) at a given quality, `'fast'` for speed. */
export type LrEffort = 'fast' | 'max';

/**
 * The options to hand a Squoosh codec's `encode(imageData, options)` for an LR in `format`:
 * - `'avif'`: `quality` (0 to 100, default {@link DEFAULT_AVIF_QUALITY}), 4:4:4
 *   ({@link AVIF_SUBSAMPLE}), 8 bits, speed {@link AVIF_SPEED} at effort `'fast'` (the
 *   default for AVIF) or {@link AVIF_SPEED_MAX} at `'max'`;
 * - `'jpeg'`: `quality` (1 to 100, default {@link DEFAULT_JPEG_QUALITY}); MozJPEG's defaults
 *   otherwise (progressive, trellis, 4:2:0 below quality 80);
 * - `'webp'`: lossless, colour under transparent pixels kept (`exact`), effort `'max'`
 *   (`cwebp -lossless -z 9`, the default for WebP) or `'fast'` (`-z 5`); `quality` is not used.
 * PNG is not a Squoosh codec here: core's `encodePng` writes it.
 * @throws RangeError for a quality out of the format's range or not a whole number, or `'png'`.
 * @example
 * import encode from '@jsquash/avif/encode.js';
 * const { image, lrMetadata } = await rescaler.downscale(file);       // ImageData
 * const avif = withLrMetadata(new Uint8Array(await encode(image, lrEncoderOptions('avif', 60))), lrMetadata);
 */
export function lrEncoderOptions(format: LrFormat, quality?: number, effort?: LrEffort): Record<string, number> {
  switch (format) {
    case 'avif': {
      const q = quality ?? DEFAULT_AVIF_QUALITY;
      if (!Number.isInteger(q) || q < 0 || q > 100) throw new RangeError(`the AVIF quality must be a whole number from 0 to 100, got ${q}`);
      return { quality: q, speed: effort === 'max' ? AVIF_SPEED_MAX : AVIF_SPEED, subsample: AVIF_SUBSAMPLE };
    }
    case 'jpeg': {
      const q = quality ?? DEFAULT_JPEG_QUALITY;
      if (!Number.isInteger(q) || q < 1 || q > 100) throw new RangeError(`the JPEG quality must be a whole number from 1 to 100, got ${q}`);
      return { quality: q };
    }
    case 'webp':
      // lossless 1 + method 6 + quality 100: libwebp's slowest, smallest lossless search
      // (WebPConfigLosslessPreset level 9); method 4 + quality 50 is level 5. exact: keep RGB
      // where alpha is 0, as PNG does.
      return (effort ?? 'max') === 'max' ? { lossless: 1, method: 6, quality: 100, exact: 1 } : { lossless: 1, method: 4, quality: 50, exact: 1 };
    default:
      throw new RangeError(`lrEncoderOptions: ${String(format)} is not written by a Squoosh codec (PNG: encodePng)`);
  }
}
