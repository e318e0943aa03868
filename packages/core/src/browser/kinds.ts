// What the browser rescaler accepts and returns, and the checks and conversions that need no
// decoder and no TensorFlow.js of their own: the page's side of a worker rescaler
// (worker-client.ts) imports only this, so that an app's bundler leaves the PNG codecs and
// TensorFlow.js out of the page when the worker computes (see bench/bundle-size.ts).
import type * as tf from '@tensorflow/tfjs-core';
import type { RasterImage } from '../image/raster.js';

/**
 * What the browser rescaler reads an image from: an `<img>` (decoded first if needed), a
 * canvas, `OffscreenCanvas`, `ImageBitmap`, `<video>` frame, `ImageData`, a `Blob` / `File`
 * (PNG read exactly, other formats through `createImageBitmap`), a URL, a tensor
 * `[H, W, C]` with C in 1..4 and values in `[0, 1]`, or a {@link RasterImage}.
 */
export type ImageInput =
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | OffscreenCanvas
  | ImageBitmap
  | ImageData
  | Blob
  | string
  | URL
  | tf.Tensor
  | RasterImage;

/**
 * A new `ImageBitmap` of an element, canvas or bitmap (an `<img>` is decoded first), as
 * {@link decodeInput} reads them; the caller closes it.
 */
export async function drawableToBitmap(input: ImageBitmapSource): Promise<ImageBitmap> {
  if (typeof HTMLImageElement !== 'undefined' && input instanceof HTMLImageElement && !input.complete) {
    await input.decode().catch(() => {
      throw new Error(`the image ${input.currentSrc || input.src} failed to load`);
    });
  }
  return createImageBitmap(input, { premultiplyAlpha: 'none' });
}

/** A tensor `[H, W, C]` (or `[1, H, W, C]`), C in 1..4, values in [0, 1] -> raster. */
export async function tensorToRaster(t: tf.Tensor): Promise<RasterImage> {
  const shape = t.rank === 4 && t.shape[0] === 1 ? t.shape.slice(1) : t.shape;
  const [height, width, channels] = shape;
  if (shape.length !== 3 || !(channels >= 1 && channels <= 4)) {
    throw new Error(`an image tensor must have shape [H, W, C] with C in 1..4, got [${t.shape.join(', ')}]`);
  }
  if (t.dtype !== 'float32') throw new Error(`an image tensor must be float32 with values in [0, 1], got ${t.dtype}`);
  // A copy: some backends hand out their own storage.
  const data = Float32Array.from((await t.data()) as Float32Array);
  return { width, height, channels: channels as RasterImage['channels'], data };
}

/**
 * Whether `x` is a TensorFlow.js tensor: told by its members, not by `instanceof`, so that the
 * check needs no TensorFlow.js of its own (and accepts a tensor of any copy of it).
 */
export function isTensor(x: unknown): x is tf.Tensor {
  const t = x as Partial<Record<keyof tf.Tensor, unknown>> | null;
  return (
    t != null &&
    typeof t === 'object' &&
    Array.isArray(t.shape) &&
    typeof t.dtype === 'string' &&
    typeof t.rank === 'number' &&
    typeof t.data === 'function' &&
    typeof t.dispose === 'function'
  );
}

/** Whether `x` is a {@link RasterImage}. */
export function isRaster(x: unknown): x is RasterImage {
  const r = x as Partial<RasterImage> | null;
  return r != null && typeof r === 'object' && r.data instanceof Float32Array && typeof r.channels === 'number';
}

/** Whether `x` is something `createImageBitmap` draws: an element, canvas or video frame (not a Blob or ImageData). */
export function isDrawable(x: unknown): x is ImageBitmapSource {
  const has = (name: string): boolean => {
    const ctor = (globalThis as Record<string, unknown>)[name];
    return typeof ctor === 'function' && x instanceof (ctor as new () => unknown);
  };
  return ['HTMLImageElement', 'HTMLCanvasElement', 'HTMLVideoElement', 'SVGImageElement', 'OffscreenCanvas', 'VideoFrame'].some(has);
}

/** `x` in a few words, for error messages. */
export function describe(x: unknown): string {
  if (x == null) return String(x);
  if (typeof x !== 'object') return `a ${typeof x}`;
  return `a ${(x as object).constructor?.name ?? 'object'}`;
}

/** The forms a rescaled image can be returned in. */
export interface OutputTypes {
  /** 8-bit RGBA pixels, for `putImageData`. */
  imagedata: ImageData;
  /** For `drawImage` or `<canvas>` bitmap renderers; the caller closes it. */
  bitmap: ImageBitmap;
  /** An 8-bit PNG; a downscale's carries the `irn` chunk with the original size. */
  blob: Blob;
  /** `[H, W, C]` float32 in [0, 1] on the page's active backend; the caller disposes it. */
  tensor: tf.Tensor3D;
  /** Floats in [0, 1], unrounded (an upscale's values are not multiples of 1/255). */
  raster: RasterImage;
}

/** Name of an output form: `'imagedata'` (default), `'bitmap'`, `'blob'`, `'tensor'`, `'raster'`. */
export type OutputKind = keyof OutputTypes;

export const OUTPUT_KINDS: readonly OutputKind[] = ['imagedata', 'bitmap', 'blob', 'tensor', 'raster'];

/** Throws unless `kind` is an {@link OutputKind}. */
export function checkOutputKind(kind: unknown): asserts kind is OutputKind {
  if (!OUTPUT_KINDS.includes(kind as OutputKind)) {
    throw new Error(`output must be one of ${OUTPUT_KINDS.map((k) => `"${k}"`).join(', ')}, got ${JSON.stringify(kind)}`);
  }
}

/** A `[H, W, C]` float32 tensor of a raster, on the active backend of this realm's TensorFlow.js. */
export async function rasterToTensor(raster: RasterImage): Promise<tf.Tensor3D> {
  // Imported here alone: a page whose rescaler runs in a worker loads TensorFlow.js only for
  // this output (an app that asks for tensors has it already; its bundler shares the copy).
  const tfc = await import('./tfjs-on-demand.js');
  return tfc.tensor3d(raster.data, [raster.height, raster.width, raster.channels], 'float32');
}
