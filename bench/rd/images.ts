// Conversions between core's float rasters and the codecs' 8-bit RGBA, and the evaluation's
// mod-crop (@irn/cli's `modCrop`: drop the right and bottom remainders) of the RGB image.
import type { RasterImage } from '@irn/core';
import { modCrop } from '../../packages/cli/src/eval/evaluate.js';
import type { Rgba } from './codecs.js';

/** The RGB image cropped to a multiple of `scale` on both sides (grey replicated, alpha dropped). */
export function modCropRgb(img: RasterImage, scale: number): RasterImage {
  if (img.channels === 3) return modCrop(img, scale);
  const n = img.width * img.height;
  const c = img.channels;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) data[3 * i + k] = img.data[i * c + (c <= 2 ? 0 : k)];
  return modCrop({ width: img.width, height: img.height, channels: 3, data }, scale);
}

/** 8-bit RGBA of an RGB raster, rounded and clamped as the PNG writer and the metrics round. */
export function toRgba(img: RasterImage): Rgba {
  if (img.channels !== 3) throw new Error(`expected RGB, got ${img.channels} channels`);
  const n = img.width * img.height;
  const data = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 3; k++) data[4 * i + k] = Math.round(Math.min(1, Math.max(0, img.data[3 * i + k])) * 255);
    data[4 * i + 3] = 255;
  }
  return { width: img.width, height: img.height, data };
}

/** RGB raster (0..1) of 8-bit RGBA (alpha dropped). */
export function toRaster(img: Rgba): RasterImage {
  const n = img.width * img.height;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) data[3 * i + k] = img.data[4 * i + k] / 255;
  return { width: img.width, height: img.height, channels: 3, data };
}
