/**
 * Encoding and decoding LR images in every {@link LrFormat}, with their `irn` metadata, in
 * Node: PNG by png.ts, WebP by libwebp, JPEG by MozJPEG and AVIF by libavif with libaom, all
 * compiled to WebAssembly (`@jsquash/webp`, `@jsquash/jpeg`, `@jsquash/avif`: Squoosh's
 * builds). Each codec is loaded on first use, so other commands and formats never pay for it.
 */
import {
  decodePng,
  encodePng,
  LR_TEXT_KEY,
  lrMetadataJpegComment,
  lrMetadataText,
  lrMetadataXmp,
  readLrFileInfo,
  readLrMetadata,
  resolveLimits,
  rgba8ToRaster,
  sniffLrFormat,
  withAvifMetadata,
  withJpegComment,
  withWebpXmp,
  type Limits,
  type LrFormat,
  type LrMetadata,
  type PngEffort,
  type RasterImage,
} from '@irn/core';

/** Options of {@link encodeLr}. */
export interface EncodeLrOptions {
  /** The file format (default `'png'`). */
  format?: LrFormat;
  /** The `irn` metadata to write into the file. */
  metadata?: LrMetadata;
  /**
   * Quality of the lossy formats: JPEG 1 to 100 (default {@link DEFAULT_JPEG_QUALITY}), AVIF
   * 0 to 100 (default {@link DEFAULT_AVIF_QUALITY}); the lossless formats ignore it.
   */
  quality?: number;
  /**
   * How hard the lossless formats search for a small file (default `'max'`). WebP `'max'` is
   * `cwebp -z 9` (method 6, quality 100): on Kodak24 LRs (384x256 at x2) 20-60 s each for
   * files 0-2 % smaller than `'fast'`, which is `cwebp -z 5` (method 4, quality 50) at about
   * 0.2 s. PNG: see encodePngSamples. JPEG ignores it.
   */
  effort?: PngEffort;
}

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
 * libavif's chroma subsampling for AVIF LRs: 3 is 4:4:4, full-resolution chroma. An IRN LR
 * hides the detail it drops in all three channels, and 4:2:0 throws half of the chroma
 * away: with the shipped x2 model on kodim01, 4:2:0 at quality 75 restores to 27.29 dB
 * Y-PSNR at 0.63 bpp where 4:4:4 at quality 60 restores to 29.27 dB at 0.58 bpp (kodim23:
 * 36.09 dB at 0.25 bpp against 36.44 at 0.21).
 */
export const AVIF_SUBSAMPLE = 3;

/**
 * Encodes an LR image in `options.format`, with `options.metadata`: PNG at the PNG writer's
 * strongest effort; WebP lossless at libwebp's strongest settings (what
 * `cwebp -lossless -z 9 -exact` does), colour under transparent pixels kept, the metadata
 * in an XMP chunk; JPEG (lossy) by MozJPEG at `options.quality`, progressive, 4:2:0, the
 * metadata in a COM segment; AVIF (lossy) by libavif + libaom at `options.quality`,
 * {@link AVIF_SPEED}, 8-bit 4:4:4 ({@link AVIF_SUBSAMPLE}; alpha, when the image has it, in an
 * alpha plane at the same quality), the metadata in a `uuid` box at the end
 * (avif-container.ts). Values are
 * rounded to 8 bits as encodePng rounds them, so PNG and WebP hold the same pixels (grey
 * images become RGB in WebP and AVIF).
 * @throws Error for a JPEG of an image with alpha (JPEG has none) or a bad quality.
 */
export async function encodeLr(img: RasterImage, options: EncodeLrOptions = {}): Promise<Uint8Array> {
  const format = options.format ?? 'png';
  const meta = options.metadata;
  if (format === 'png') {
    return encodePng(img, { text: meta == null ? undefined : { [LR_TEXT_KEY]: lrMetadataText(meta) }, effort: options.effort ?? 'max' });
  }
  if (format === 'jpeg') return encodeJpeg(img, options.quality ?? DEFAULT_JPEG_QUALITY, meta);
  if (format === 'avif') return encodeAvif(img, options.quality ?? DEFAULT_AVIF_QUALITY, meta);
  const encode = await codec('webp', 'encode');
  const rgba = toRgba8(img);
  // lossless 1 + method 6 + quality 100: libwebp's slowest, smallest lossless search
  // (WebPConfigLosslessPreset level 9); method 4 + quality 50 is level 5. exact: keep RGB
  // where alpha is 0, as PNG does.
  const search = (options.effort ?? 'max') === 'max' ? { method: 6, quality: 100 } : { method: 4, quality: 50 };
  const out = await encode({ data: rgba, width: img.width, height: img.height }, { lossless: 1, ...search, exact: 1 });
  const webp = new Uint8Array(out);
  return meta == null ? webp : withWebpXmp(webp, lrMetadataXmp(meta));
}

/** An LR image read by {@link decodeLr}. */
export interface DecodedLr {
  image: RasterImage;
  format: LrFormat;
  /** The `irn` metadata, or null when the file has none. */
  lrMetadata: LrMetadata | null;
}

/**
 * Decodes an LR image file (PNG, WebP, JPEG or AVIF, told apart by their first bytes) and
 * its `irn` metadata within `limits`: what the file claims (pixels, metadata size) is
 * checked before anything is decoded or allocated, and the decoded size against the
 * header's. WebP and AVIF images come back as RGB, or RGBA when any pixel is not opaque.
 * @throws PngFormatError / WebpFormatError / JpegFormatError / AvifFormatError for a
 *   malformed file, LimitError past a limit, Error for malformed metadata or a bitstream
 *   the decoder rejects.
 */
export async function decodeLr(bytes: Uint8Array, limits?: Partial<Limits>): Promise<DecodedLr> {
  const resolved = resolveLimits(limits);
  const format = sniffLrFormat(bytes);
  if (format === 'png') {
    const png = decodePng(bytes, { limits: resolved });
    const { width, height, channels, data } = png;
    return { image: { width, height, channels, data }, format, lrMetadata: readLrMetadata(png.text) };
  }
  if (format == null) throw new Error('it is not a PNG, WebP, JPEG or AVIF image');
  // Header first: the pixel limit is checked before the decoder allocates anything.
  const info = readLrFileInfo(bytes, resolved);
  if (format === 'jpeg') return { image: await decodeJpeg(bytes, info), format, lrMetadata: info.lrMetadata };
  if (format === 'avif') {
    return { image: await decodeWith(await codec('avif', 'decode'), bytes, info, 'AVIF', 'image data'), format, lrMetadata: info.lrMetadata };
  }
  const image = await decodeWith(await codec('webp', 'decode'), bytes, info, 'WebP', 'bitstream');
  return { image, format, lrMetadata: info.lrMetadata };
}

async function encodeJpeg(img: RasterImage, quality: number, meta: LrMetadata | undefined): Promise<Uint8Array> {
  if (!Number.isInteger(quality) || quality < 1 || quality > 100) throw new Error(`the JPEG quality must be a whole number from 1 to 100, got ${quality}`);
  if (img.channels === 2 || img.channels === 4) {
    throw new Error('JPEG has no alpha channel; write images with transparency as png or webp');
  }
  const encode = await codec('jpeg', 'encode');
  // MozJPEG's defaults otherwise (progressive, optimised Huffman codes, 4:2:0 chroma,
  // trellis quantisation): what Squoosh ships.
  const out = await encode({ data: toRgba8(img), width: img.width, height: img.height }, { quality });
  const jpeg = new Uint8Array(out);
  return meta == null ? jpeg : withJpegComment(jpeg, lrMetadataJpegComment(meta));
}

async function encodeAvif(img: RasterImage, quality: number, meta: LrMetadata | undefined): Promise<Uint8Array> {
  if (!Number.isInteger(quality) || quality < 0 || quality > 100) throw new Error(`the AVIF quality must be a whole number from 0 to 100, got ${quality}`);
  const encode = await codec('avif', 'encode');
  // 8 bits, libaom's default tuning; the chroma at full resolution (see AVIF_SUBSAMPLE).
  const out = await encode({ data: toRgba8(img), width: img.width, height: img.height }, { quality, speed: AVIF_SPEED, subsample: AVIF_SUBSAMPLE });
  const avif = new Uint8Array(out);
  return meta == null ? avif : withAvifMetadata(avif, lrMetadataText(meta));
}

async function decodeJpeg(bytes: Uint8Array, info: { width: number; height: number }): Promise<RasterImage> {
  return decodeWith(await codec('jpeg', 'decode'), bytes, info, 'JPEG', 'data');
}

/**
 * Decodes `bytes` with a Squoosh codec's `decode`, checking that it gives the size the header
 * said (`info`, checked against the pixel limit before this), as a raster.
 */
async function decodeWith(
  decode: Decode,
  bytes: Uint8Array,
  info: { width: number; height: number },
  format: string,
  part: string,
): Promise<RasterImage> {
  let decoded: { width: number; height: number; data: Uint8ClampedArray };
  try {
    // A copy of exactly the file's bytes: the decoder takes a whole ArrayBuffer, and a Node
    // Buffer's (even a slice()'s) is a shared pool.
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    decoded = await decode(copy.buffer);
  } catch (e) {
    throw new Error(`its ${format} ${part} cannot be decoded (${(e as Error).message})`);
  }
  if (decoded.width !== info.width || decoded.height !== info.height) {
    throw new Error(`its ${format} header says ${info.width}x${info.height} but it decodes to ${decoded.width}x${decoded.height}`);
  }
  return rgba8ToRaster(decoded.data, decoded.width, decoded.height);
}

/** 8-bit RGBA of a raster, rounded as encodePng rounds (grey replicated, alpha 255 when absent). */
export function toRgba8(img: RasterImage): Uint8ClampedArray {
  const n = img.width * img.height;
  const c = img.channels;
  const out = new Uint8ClampedArray(n * 4);
  const q = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255);
  for (let i = 0; i < n; i++) {
    const s = i * c;
    const r = q(img.data[s]);
    out[4 * i] = r;
    out[4 * i + 1] = c >= 3 ? q(img.data[s + 1]) : r;
    out[4 * i + 2] = c >= 3 ? q(img.data[s + 2]) : r;
    out[4 * i + 3] = c === 2 || c === 4 ? q(img.data[s + c - 1]) : 255;
  }
  return out;
}

type Encode = (image: { data: Uint8ClampedArray; width: number; height: number }, options: Record<string, number>) => Promise<ArrayBuffer>;
type Decode = (buffer: ArrayBuffer) => Promise<{ width: number; height: number; data: Uint8ClampedArray }>;
interface Codec {
  encode: Encode;
  decode: Decode;
}

/**
 * Each jsquash module and the .wasm file beside it. The imports are written out so that tools
 * see them; Node >= 20 has wasm SIMD, which is the WebP encoder build jsquash's `init` picks;
 * in Node jsquash's AVIF `init` picks the single-threaded encoder.
 */
const MODULES = {
  webp: {
    encode: { load: () => import('@jsquash/webp/encode.js'), entry: '@jsquash/webp/encode.js', wasm: 'codec/enc/webp_enc_simd.wasm' },
    decode: { load: () => import('@jsquash/webp/decode.js'), entry: '@jsquash/webp/decode.js', wasm: 'codec/dec/webp_dec.wasm' },
  },
  jpeg: {
    encode: { load: () => import('@jsquash/jpeg/encode.js'), entry: '@jsquash/jpeg/encode.js', wasm: 'codec/enc/mozjpeg_enc.wasm' },
    decode: { load: () => import('@jsquash/jpeg/decode.js'), entry: '@jsquash/jpeg/decode.js', wasm: 'codec/dec/mozjpeg_dec.wasm' },
  },
  avif: {
    encode: { load: () => import('@jsquash/avif/encode.js'), entry: '@jsquash/avif/encode.js', wasm: 'codec/enc/avif_enc.wasm' },
    decode: { load: () => import('@jsquash/avif/decode.js'), entry: '@jsquash/avif/decode.js', wasm: 'codec/dec/avif_dec.wasm' },
  },
} as const;

const loading = new Map<string, Promise<Encode | Decode>>();

/**
 * libwebp's, MozJPEG's or libavif's encoder or decoder, instantiated once. Emscripten's loader would
 * fetch the .wasm file by URL, which Node cannot do for a file: URL, so the module is compiled
 * here from the file beside the package's JavaScript and handed to `init`. A failed load is
 * not cached: the next call tries again.
 */
function codec<K extends keyof Codec>(format: keyof typeof MODULES, kind: K): Promise<Codec[K]> {
  const key = `${format}/${kind}`;
  const cached = loading.get(key);
  if (cached != null) return cached as Promise<Codec[K]>;
  const { load, entry, wasm } = MODULES[format][kind];
  const loaded = (async () => {
    const { readFile } = await import('node:fs/promises');
    const mod = (await load()) as unknown as { init: (module: WebAssembly.Module) => Promise<unknown>; default: Codec[K] };
    await mod.init(await WebAssembly.compile(await readFile(new URL(wasm, import.meta.resolve(entry)))));
    return mod.default;
  })();
  loaded.catch(() => loading.delete(key));
  loading.set(key, loaded);
  return loaded;
}
