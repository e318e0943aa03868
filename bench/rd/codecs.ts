// The image codecs of the rate–distortion benchmark (bench/rd.ts), in Node: Squoosh's builds
// compiled to WebAssembly (`@jsquash/jpeg` = MozJPEG, `@jsquash/webp` = libwebp,
// `@jsquash/avif` = libavif + libaom), pinned in the root package.json, so the figures are
// the same wherever they run (the same builds run in browsers). Emscripten's loaders would
// fetch the .wasm by URL, which Node cannot do for file: URLs, so each module is compiled here
// from the file beside the package's JavaScript and handed to `init` (as core's lr-codecs.ts does).
import { readFile } from 'node:fs/promises';
import { AVIF_SPEED_MAX } from '@irn/core';

/** 8-bit RGBA pixels, the codecs' common currency. */
export interface Rgba {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** The lossy codecs the benchmark sweeps. */
export type LossyCodec = 'jpeg' | 'webp' | 'avif';

/**
 * An encoding the benchmark writes: a lossy codec at a quality, or lossless WebP. `irnLr` marks
 * an IRN LR, which some codecs code differently ({@link IRN_LR_SETTINGS}); `effort: 'max'` adds
 * {@link EFFORT_MAX}'s settings (AVIF only).
 */
export type Encoding = { codec: LossyCodec; quality: number; irnLr?: boolean; effort?: 'max' } | { codec: 'webp-lossless' };

type Encode = (image: Rgba, options: Record<string, unknown>) => Promise<ArrayBuffer>;
type Decode = (buffer: ArrayBuffer) => Promise<Rgba>;

const wasmOf: Record<LossyCodec, { encode: [string, string]; decode: [string, string] }> = {
  jpeg: { encode: ['@jsquash/jpeg/encode.js', 'codec/enc/mozjpeg_enc.wasm'], decode: ['@jsquash/jpeg/decode.js', 'codec/dec/mozjpeg_dec.wasm'] },
  // Node >= 20 has wasm SIMD, the build jsquash's webp `init` picks.
  webp: { encode: ['@jsquash/webp/encode.js', 'codec/enc/webp_enc_simd.wasm'], decode: ['@jsquash/webp/decode.js', 'codec/dec/webp_dec.wasm'] },
  // In Node jsquash's avif `init` takes the single-threaded encoder.
  avif: { encode: ['@jsquash/avif/encode.js', 'codec/enc/avif_enc.wasm'], decode: ['@jsquash/avif/decode.js', 'codec/dec/avif_dec.wasm'] },
};

const loaded = new Map<string, Promise<Encode | Decode>>();

async function load(codec: LossyCodec, kind: 'encode' | 'decode'): Promise<Encode | Decode> {
  const key = `${codec}/${kind}`;
  let p = loaded.get(key);
  if (p == null) {
    p = (async () => {
      const [entry, wasmFile] = wasmOf[codec][kind];
      const mod = (await import(entry)) as { init: (m: WebAssembly.Module) => Promise<unknown>; default: Encode | Decode };
      await mod.init(await WebAssembly.compile(await readFile(new URL(wasmFile, import.meta.resolve(entry)))));
      return mod.default;
    })();
    loaded.set(key, p);
  }
  return p;
}

/**
 * Settings of each codec, fixed so that the figures are reproducible and named in the README:
 * MozJPEG's defaults (trellis, optimised Huffman, 4:2:0: what Squoosh ships), each file coded
 * progressive and baseline and the smaller kept (`smallestOf`, as `irn downscale` writes JPEG
 * LRs: core's lrEncoderVariants; baseline wins on small images, thumbnails and LRs, progressive
 * on full photos: `pnpm bench:jpeg-modes`);
 * libwebp lossy at method 6 (`cwebp -m 6`, its best, what the issue measured); libavif
 * at speed 6 (jsquash's default; speed 4, `--avif-max`, costs 8-9x the encode time for
 * +0.34 dB BD-PSNR on Kodak24's photos, bench/README.md),
 * 4:2:0, 8 bits; lossless WebP at `cwebp -lossless -z 9 -exact`.
 */
export const CODEC_SETTINGS = {
  jpeg: { smallestOf: [{}, { baseline: true }] },
  webp: { method: 6 },
  avif: { speed: 6 },
  'webp-lossless': { lossless: 1, method: 6, quality: 100, exact: 1 },
} as const;

/**
 * What IRN's LRs are coded with instead of {@link CODEC_SETTINGS}, as `irn downscale` writes
 * them (@irn/cli lr-codecs.ts): AVIF 4:4:4, because IRN hides the detail it restores in the
 * LR's colour channels and 4:2:0 throws half of it away (kodim01 x2, shipped model: AVIF
 * 4:2:0 q75 restores to 27.29 dB at 0.63 bpp, 4:4:4 q60 to 29.27 dB at 0.58 bpp). Kept apart
 * from CODEC_SETTINGS so that the other methods' cache keys do not change.
 */
export const IRN_LR_SETTINGS: Partial<Record<LossyCodec, Record<string, unknown>>> = { avif: { speed: 6, subsample: 3 } };

/**
 * What effort `'max'` changes (`bench:rd --avif-max`): AVIF at libavif speed 4, core's
 * AVIF_SPEED_MAX, what `irn downscale --effort max` writes; for the photo's and the
 * thumbnails' AVIFs too, so that both sides of a comparison spend the same encode effort.
 */
export const EFFORT_MAX: Partial<Record<LossyCodec, Record<string, unknown>>> = { avif: { speed: AVIF_SPEED_MAX } };

/** Encodes `image` as `enc` says; the file's bytes. */
export async function encode(image: Rgba, enc: Encoding): Promise<Uint8Array> {
  const codec = enc.codec === 'webp-lossless' ? 'webp' : enc.codec;
  const fn = (await load(codec, 'encode')) as Encode;
  const { smallestOf, ...options }: Record<string, unknown> & { smallestOf?: readonly Record<string, unknown>[] } =
    enc.codec === 'webp-lossless'
      ? { ...CODEC_SETTINGS['webp-lossless'] }
      : { ...((enc.irnLr === true ? IRN_LR_SETTINGS[enc.codec] : undefined) ?? CODEC_SETTINGS[enc.codec]), ...effortMax(enc.codec, enc.effort), quality: enc.quality };
  let best: Uint8Array | null = null;
  for (const variant of smallestOf ?? [{}]) {
    const file = await encodeWith(fn, image, { ...options, ...variant });
    if (best == null || file.length < best.length) best = file;
  }
  return best!;
}

/** Encodes `image` in `codec` with exactly `options` (the codec's own option names); the file's bytes. */
export async function encodeRaw(image: Rgba, codec: LossyCodec, options: Record<string, unknown>): Promise<Uint8Array> {
  return encodeWith((await load(codec, 'encode')) as Encode, image, options);
}

async function encodeWith(fn: Encode, image: Rgba, options: Record<string, unknown>): Promise<Uint8Array> {
  // The encoders read the buffer from offset 0: hand them a tight copy.
  const data = new Uint8ClampedArray(image.data);
  return new Uint8Array(await fn({ width: image.width, height: image.height, data }, options));
}

function effortMax(codec: LossyCodec, effort: 'max' | undefined): Record<string, unknown> {
  if (effort !== 'max') return {};
  const s = EFFORT_MAX[codec];
  if (s == null) throw new Error(`no effort-max setting for ${codec}`);
  return s;
}

/** Decodes a file written by {@link encode} back to RGBA; checks the size it claims. */
export async function decode(bytes: Uint8Array, codec: LossyCodec | 'webp-lossless', width: number, height: number): Promise<Rgba> {
  const fn = (await load(codec === 'webp-lossless' ? 'webp' : codec, 'decode')) as Decode;
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const out = await fn(copy.buffer);
  if (out.width !== width || out.height !== height) throw new Error(`${codec} decoded to ${out.width}x${out.height}, expected ${width}x${height}`);
  return { width: out.width, height: out.height, data: new Uint8ClampedArray(out.data) };
}
