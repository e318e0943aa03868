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
  DEFAULT_AVIF_QUALITY,
  DEFAULT_JPEG_QUALITY,
  lrEncoderOptions,
  lrEncoderVariants,
  lrMetadataText,
  readLrFileInfo,
  readLrMetadata,
  resolveLimits,
  rgba8ToRaster,
  sniffLrFormat,
  withLrMetadata,
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
   * How hard the encoder searches (default `'max'` for PNG and WebP, `'fast'` for AVIF). WebP
   * `'max'` is `cwebp -z 9` (method 6, quality 100): on Kodak24 LRs (384x256 at x2) 20-60 s
   * each for files 0-2 % smaller than `'fast'`, which is `cwebp -z 5` (method 4, quality 50)
   * at about 0.2 s. AVIF: libavif speed 4 (`'max'`) or 6 (core's lrEncoderOptions: at equal
   * bytes about +0.28 dB restored, for 9x the encode time). PNG: see encodePngSamples. JPEG ignores it.
   */
  effort?: PngEffort;
}

// The encoder settings live in core (lr-encoders.ts), for pages that encode LRs themselves.
export { AVIF_SPEED, AVIF_SUBSAMPLE, DEFAULT_AVIF_QUALITY, DEFAULT_JPEG_QUALITY } from '@irn/core';

/**
 * Encodes an LR image in `options.format`, with `options.metadata`: PNG at the PNG writer's
 * strongest effort; WebP lossless at libwebp's strongest settings (what
 * `cwebp -lossless -z 9 -exact` does), colour under transparent pixels kept, the metadata
 * in an XMP chunk; JPEG (lossy) by MozJPEG at `options.quality`, progressive, 4:2:0, the
 * metadata in a COM segment; AVIF (lossy) by libavif + libaom at `options.quality`,
 * {@link AVIF_SPEED} (`AVIF_SPEED_MAX` at effort `'max'`), 8-bit 4:4:4 ({@link AVIF_SUBSAMPLE}; alpha, when the image has it, in an
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
  if (format === 'avif') return encodeAvif(img, options.quality ?? DEFAULT_AVIF_QUALITY, meta, options.effort);
  const encode = await codec('webp', 'encode');
  const out = await encode({ data: toRgba8(img), width: img.width, height: img.height }, lrEncoderOptions('webp', undefined, options.effort ?? 'max'));
  const webp = new Uint8Array(out);
  return meta == null ? webp : withLrMetadata(webp, meta);
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

/** The smallest of MozJPEG's files at `quality` (core's lrEncoderVariants: progressive or baseline). */
async function encodeJpeg(img: RasterImage, quality: number, meta: LrMetadata | undefined): Promise<Uint8Array> {
  const variants = lrEncoderVariants('jpeg', quality);
  if (img.channels === 2 || img.channels === 4) {
    throw new Error('JPEG has no alpha channel; write images with transparency as png or webp');
  }
  const encode = await codec('jpeg', 'encode');
  const rgba = toRgba8(img);
  let jpeg: Uint8Array | null = null;
  for (const settings of variants) {
    const out = new Uint8Array(await encode({ data: rgba, width: img.width, height: img.height }, settings));
    if (jpeg == null || out.length < jpeg.length) jpeg = out;
  }
  return meta == null ? jpeg! : withLrMetadata(jpeg!, meta);
}

async function encodeAvif(img: RasterImage, quality: number, meta: LrMetadata | undefined, effort: PngEffort | undefined): Promise<Uint8Array> {
  const settings = lrEncoderOptions('avif', quality, effort);
  const encode = await codec('avif', 'encode');
  const out = await encode({ data: toRgba8(img), width: img.width, height: img.height }, settings);
  const avif = new Uint8Array(out);
  return meta == null ? avif : withLrMetadata(avif, meta);
}

/**
 * What MozJPEG's decoder printed during the decode in progress: libjpeg writes its warnings
 * (the first of a decode, such as "Corrupt JPEG data: premature end of data segment") to
 * stderr, which Emscripten hands to the module's `printErr` (see the `overrides` of
 * {@link MODULES}), here instead of the console.
 */
let jpegMessages: string[] = [];
/** The JPEG decode before the next one: one at a time, so that each file's messages are its own. */
let jpegQueue: Promise<unknown> = Promise.resolve();

/** libjpeg's warnings that say the image data is damaged (the decoder fills in grey or guesses). */
const CORRUPT_JPEG = /Corrupt JPEG data|Premature end of JPEG file|Inconsistent progression sequence/;

/**
 * Decodes a JPEG with MozJPEG. A file libjpeg calls corrupt (it warns and decodes on, filling in
 * what is missing) is refused; other warnings are dropped, and nothing reaches stderr.
 */
async function decodeJpeg(bytes: Uint8Array, info: { width: number; height: number }): Promise<RasterImage> {
  const decode = await codec('jpeg', 'decode');
  const run = jpegQueue.then(async () => {
    jpegMessages = [];
    try {
      return await decodeWith(decode, bytes, info, 'JPEG', 'data', () => jpegMessages.find((m) => CORRUPT_JPEG.test(m)), (e) => mozjpegStopped(e, jpegMessages));
    } finally {
      jpegMessages = [];
    }
  });
  jpegQueue = run.catch(() => undefined);
  return run;
}

/**
 * Why MozJPEG gave up on a file, for the one error line: libjpeg's own message (its
 * error_exit prints it through `printErr`, then calls exit(1), which Emscripten throws as
 * "Program terminated with exit(1)") as `MozJPEG: <message>`, or, when it printed none,
 * `MozJPEG stopped on it: corrupt data`. Messages of the decoder's JavaScript glue (not an
 * exit) pass through.
 */
function mozjpegStopped(e: unknown, messages: readonly string[]): string {
  const last = messages.map((m) => m.replace(/\s+/g, ' ').trim()).filter((m) => m !== '').at(-1);
  if (last != null) return `MozJPEG: ${last.length > 200 ? `${last.slice(0, 197)}...` : last}`;
  if (isExit(e)) return 'MozJPEG stopped on it: corrupt data';
  return e instanceof Error ? e.message : String(e);
}

/** Emscripten's ExitStatus: exit() called in the C code ("Program terminated with exit(1)"). */
function isExit(e: unknown): boolean {
  return typeof e === 'object' && e != null && ((e as { name?: unknown }).name === 'ExitStatus' || /^Program terminated with exit\(/.test(String((e as { message?: unknown }).message)));
}

/**
 * Decodes `bytes` with a Squoosh codec's `decode`, checking that it gives the size the header
 * said (`info`, checked against the pixel limit before this), as a raster. `corrupt`, called
 * after the decode, says what the decoder found damaged, if anything: that refuses the file.
 */
async function decodeWith(
  decode: Decode,
  bytes: Uint8Array,
  info: { width: number; height: number },
  format: string,
  part: string,
  corrupt: () => string | undefined = () => undefined,
  failed: (e: unknown) => string = (e) => (e instanceof Error ? e.message : String(e)),
): Promise<RasterImage> {
  let decoded: { width: number; height: number; data: Uint8ClampedArray };
  try {
    // A copy of exactly the file's bytes: the decoder takes a whole ArrayBuffer, and a Node
    // Buffer's (even a slice()'s) is a shared pool.
    const copy = new Uint8Array(bytes.length);
    copy.set(bytes);
    decoded = await decode(copy.buffer);
  } catch (e) {
    // The C code stopped part-way (exit() or a trap): its stack pointer and heap are left as
    // they were, and after some 70 such files MozJPEG's instance fails on good files or hangs.
    // The next decode gets a fresh instance.
    forgetDecoder(decode);
    throw new Error(`its ${format} ${part} cannot be decoded (${failed(e)})`, { cause: e });
  }
  const damage = corrupt();
  if (damage != null) throw new Error(`its ${format} ${part} is corrupt (${damage})`);
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

type Encode = (image: { data: Uint8ClampedArray; width: number; height: number }, options: Record<string, number | boolean>) => Promise<ArrayBuffer>;
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
    decode: {
      load: () => import('@jsquash/jpeg/decode.js'),
      entry: '@jsquash/jpeg/decode.js',
      wasm: 'codec/dec/mozjpeg_dec.wasm',
      // libjpeg's warnings, off the console (Emscripten binds these when the module starts).
      overrides: { print: (line: string) => void jpegMessages.push(line), printErr: (line: string) => void jpegMessages.push(line) },
    },
  },
  avif: {
    encode: { load: () => import('@jsquash/avif/encode.js'), entry: '@jsquash/avif/encode.js', wasm: 'codec/enc/avif_enc.wasm' },
    decode: { load: () => import('@jsquash/avif/decode.js'), entry: '@jsquash/avif/decode.js', wasm: 'codec/dec/avif_dec.wasm' },
  },
} as const;

const loading = new Map<string, Promise<Encode | Decode>>();
/** Each codec's compiled .wasm, kept when an instance is dropped ({@link forgetDecoder}). */
const compiled = new Map<string, Promise<WebAssembly.Module>>();
/** The cache key of each decode function {@link codec} handed out. */
const decoderKeys = new WeakMap<object, string>();

/** Drops the instance `decode` belongs to, so that the next {@link codec} call starts a fresh one. */
function forgetDecoder(decode: Decode): void {
  const key = decoderKeys.get(decode);
  if (key != null) loading.delete(key);
}

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
  const spec: { load: () => Promise<unknown>; entry: string; wasm: string; overrides?: object } = MODULES[format][kind];
  const { load, entry, wasm, overrides } = spec;
  const loaded = (async () => {
    const { readFile } = await import('node:fs/promises');
    const mod = (await load()) as unknown as { init: (module: WebAssembly.Module, overrides?: object) => Promise<unknown>; default: Codec[K] };
    let module = compiled.get(key);
    if (module == null) {
      module = (async () => WebAssembly.compile(await readFile(new URL(wasm, import.meta.resolve(entry)))))();
      module.catch(() => compiled.delete(key));
      compiled.set(key, module);
    }
    // init starts a new instance of the module (jsquash's default export uses the latest).
    await mod.init(await module, overrides);
    // One wrapper per instance, so that a failed decode drops this instance only.
    const fn = ((...args: unknown[]) => (mod.default as (...a: unknown[]) => unknown)(...args)) as Codec[K];
    decoderKeys.set(fn, key);
    return fn;
  })();
  loaded.catch(() => loading.delete(key));
  loading.set(key, loaded);
  return loaded;
}
