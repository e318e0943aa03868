import * as tf from '@tensorflow/tfjs-core';
import { encodePng } from '../image/png.js';
import type { RasterImage } from '../image/raster.js';

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

/**
 * Converts a raster to `kind`. `pngText` adds text chunks to a PNG. Rounding to 8 bits is
 * the same as {@link encodePng}'s, so the `'imagedata'`, `'bitmap'` and `'blob'` forms hold
 * the same pixels.
 */
export async function encodeOutput<K extends OutputKind>(raster: RasterImage, kind: K, pngText?: Record<string, string>): Promise<OutputTypes[K]> {
  switch (kind) {
    case 'raster':
      return raster as OutputTypes[K];
    case 'tensor':
      return rasterToTensor(raster) as OutputTypes[K];
    case 'blob':
      return new Blob([encodePng(raster, { text: pngText }) as BlobPart], { type: 'image/png' }) as OutputTypes[K];
    case 'imagedata':
      return rasterToImageData(raster) as OutputTypes[K];
    case 'bitmap':
      return (await createImageBitmap(rasterToImageData(raster), { premultiplyAlpha: 'none' })) as OutputTypes[K];
  }
  checkOutputKind(kind);
  throw new Error('unreachable');
}

/** RGBA 8-bit pixels of a raster (grey replicated, alpha 255 when it has none). */
export function rasterToImageData(raster: RasterImage): ImageData {
  const { width, height, channels, data } = raster;
  const out = new Uint8ClampedArray(width * height * 4);
  const byte = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);
  const grey = channels <= 2;
  const alpha = channels === 2 || channels === 4;
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    const d = i * 4;
    out[d] = byte(data[s]);
    out[d + 1] = byte(data[grey ? s : s + 1]);
    out[d + 2] = byte(data[grey ? s : s + 2]);
    out[d + 3] = alpha ? byte(data[s + channels - 1]) : 255;
  }
  return new ImageData(out, width, height);
}

/** A `[H, W, C]` float32 tensor of a raster. */
export function rasterToTensor(raster: RasterImage): tf.Tensor3D {
  return tf.tensor3d(raster.data, [raster.height, raster.width, raster.channels], 'float32');
}
