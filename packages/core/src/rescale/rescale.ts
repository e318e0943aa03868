import * as tf from '@tensorflow/tfjs-core';
import { checkRaster, crop, joinRgbAlpha, padEdge, quantizeTo8Bit, splitRgbAlpha, type RasterImage } from '../image/raster.js';
import type { IrnModel, LatentOptions } from '../model/irn.js';

/** Options of {@link upscaleImage}. */
export interface UpscaleOptions extends LatentOptions {
  /**
   * Size of the original HR image, to crop the result to (the LR of an image whose size is
   * not a multiple of the scale was made from an edge-padded copy). Default: LR size x scale.
   */
  width?: number;
  height?: number;
}

/**
 * Downscales an image with IRN: returns the 8-bit LR image (values k/255) of size
 * `ceil(width / scale) x ceil(height / scale)`.
 *
 * Sizes that are not multiples of the scale are handled by repeating the last row and column
 * up to the next multiple; pass the original size to {@link upscaleImage} to crop the restored
 * image back. Grey input is treated as RGB (the LR is RGB). Alpha is carried through: box-
 * averaged over each `scale x scale` block and rounded to 8 bits, never dropped.
 */
export function downscaleImage(model: IrnModel, image: RasterImage): RasterImage {
  checkRaster(image);
  const s = model.scale;
  if (image.width < s || image.height < s) {
    throw new Error(`image is ${image.width}x${image.height}; IRN x${s} needs at least ${s}x${s} pixels`);
  }
  const w = Math.ceil(image.width / s) * s;
  const h = Math.ceil(image.height / s) * s;
  const { rgb, alpha } = splitRgbAlpha(image);
  const rgbPad = padEdge(rgb, image.width, image.height, 3, w, h);
  const lrRgb = tf.tidy(() => model.downscale(tf.tensor4d(rgbPad, [1, h, w, 3])));
  let lrData: Float32Array;
  try {
    lrData = lrRgb.dataSync() as Float32Array;
  } finally {
    lrRgb.dispose();
  }
  const lrAlpha = alpha == null ? null : quantizeTo8Bit(boxDownsample(padEdge(alpha, image.width, image.height, 1, w, h), w, h, s));
  return joinRgbAlpha(w / s, h / s, Float32Array.from(lrData), lrAlpha);
}

/**
 * Restores the HR image from an IRN LR image: `scale` times larger (or `width x height`
 * when given), values in [0, 1] (not rounded; PNG encoders round). z is chosen by
 * `options` (zeros by default). Alpha is upsampled bilinearly.
 */
export function upscaleImage(model: IrnModel, lr: RasterImage, options: UpscaleOptions = {}): RasterImage {
  checkRaster(lr, 'LR image');
  const s = model.scale;
  const fullW = lr.width * s;
  const fullH = lr.height * s;
  const width = options.width ?? fullW;
  const height = options.height ?? fullH;
  if (width > fullW || height > fullH || width <= fullW - s || height <= fullH - s) {
    throw new Error(
      `an LR image of ${lr.width}x${lr.height} at x${s} restores to between ${fullW - s + 1}x${fullH - s + 1} and ${fullW}x${fullH}, not ${width}x${height}`,
    );
  }
  const { rgb, alpha } = splitRgbAlpha(lr);
  const hr = tf.tidy(() => model.upscale(tf.tensor4d(rgb, [1, lr.height, lr.width, 3]), options));
  let hrData: Float32Array;
  try {
    hrData = hr.dataSync() as Float32Array;
  } finally {
    hr.dispose();
  }
  let hrAlpha: Float32Array | null = null;
  if (alpha != null) {
    const up = tf.tidy(() =>
      tf.clipByValue(tf.image.resizeBilinear(tf.tensor4d(alpha, [1, lr.height, lr.width, 1]), [fullH, fullW], false, true), 0, 1),
    );
    hrAlpha = up.dataSync() as Float32Array;
    up.dispose();
  }
  const rgbOut = crop(Float32Array.from(hrData), fullW, 3, width, height);
  return joinRgbAlpha(width, height, rgbOut, hrAlpha == null ? null : crop(Float32Array.from(hrAlpha), fullW, 1, width, height));
}

/** Mean of each `s x s` block of a single-plane image whose sides are multiples of s. */
function boxDownsample(plane: Float32Array, width: number, height: number, s: number): Float32Array {
  const w = width / s;
  const h = height / s;
  const out = new Float32Array(w * h);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / s) * w;
    for (let x = 0; x < width; x++) out[row + Math.floor(x / s)] += plane[y * width + x];
  }
  for (let i = 0; i < out.length; i++) out[i] /= s * s;
  return out;
}
