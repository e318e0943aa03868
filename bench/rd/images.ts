// Conversions between core's float rasters and the codecs' 8-bit RGBA, and the mod-crop of the
// repository's evaluation (packages/core/src/eval/evaluate.ts, `modCrop`: not public, so
// repeated here; same rule: drop the right and bottom remainders).
import type { RasterImage } from '@irn/core';
import type { Rgba } from './codecs.js';

/** The RGB image cropped to a multiple of `scale` on both sides (grey replicated, alpha dropped). */
export function modCropRgb(img: RasterImage, scale: number): RasterImage {
  const w = img.width - (img.width % scale);
  const h = img.height - (img.height % scale);
  const c = img.channels;
  const data = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const s = (y * img.width + x) * c;
      const d = (y * w + x) * 3;
      for (let k = 0; k < 3; k++) data[d + k] = img.data[s + (c <= 2 ? 0 : k)];
    }
  }
  return { width: w, height: h, channels: 3, data };
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
