import * as tf from '@tensorflow/tfjs-core';
import { checkRaster, hasAlpha, type RasterImage } from '../image/raster.js';
import { concatChannels } from '../layers/concat-channels.js';
import type { IrnModel, LatentOptions } from '../model/irn.js';
import type { IrnInference } from '../model/irn-inference.js';
import { seededNormal } from '../model/noise.js';
import { checkPassMemory } from './pass-memory.js';
import { bilinearAlphaInto, boxAlphaInto, checkFinite, quantize8InPlace, readRgb } from './pixels.js';
import { receptiveField } from './receptive-field.js';
import { checkTileWork, resolveTiling, runTiled, type LrRect, type TileOptions } from './tiled-pass.js';

/** What {@link downscaleImage} and {@link upscaleImage} run: an {@link IrnModel} or an {@link IrnInference}. */
export type RescaleModel = IrnModel | IrnInference;

/** Options of {@link downscaleImage}: how to tile. */
export type DownscaleOptions = TileOptions;

/** Options of {@link upscaleImage}: the choice of z, the output size and how to tile. */
export interface UpscaleOptions extends LatentOptions, TileOptions {
  /**
   * Size of the original HR image, to crop the result to (the LR of an image whose size is
   * not a multiple of the scale was made from an edge-padded copy). Default: LR size x scale.
   */
  width?: number;
  height?: number;
}

/**
 * Downscales an image with IRN: resolves to the 8-bit LR image (values k/255) of size
 * `ceil(width / scale) x ceil(height / scale)`.
 *
 * Large images are processed in tiles of `options.tileSize` LR pixels with `overlap` pixels
 * of context, so tensor memory is bounded by the tile, not the image; with the default
 * overlap (the model's {@link receptiveField}) the result does not depend on the tiling.
 * Between tiles the event loop runs; `onProgress` and `signal` report and cancel.
 *
 * Before any tensor is made, the peak tensor memory of the largest tile is estimated
 * (`passBytesPerHrPixel` in pass-memory.ts), and a tiling that does not fit the backend (the
 * wasm heap's 4 GiB) or `memoryBudget` is refused with a `TileMemoryError` that names a tile
 * size that fits. A result holding NaN or infinite values (damaged weights) is refused too.
 *
 * Sizes that are not multiples of the scale are handled by repeating the last row and column
 * up to the next multiple; pass the original size to {@link upscaleImage} to crop the restored
 * image back. Grey input is treated as RGB (the LR is RGB). Alpha is carried through: box-
 * averaged over each `scale x scale` block and rounded to 8 bits, never dropped.
 *
 * @example
 * const lr = await downscaleImage(model, photo, { onProgress: (p) => bar.value = p.fraction });
 */
export async function downscaleImage(model: RescaleModel, image: RasterImage, options: DownscaleOptions = {}): Promise<RasterImage> {
  const lr = await downscaleUnrounded(model, image, options);
  quantize8InPlace(lr.data);
  return lr;
}

/**
 * {@link downscaleImage} before its 8-bit rounding (RGB and alpha in [0, 1] as floats).
 * For tests of the tiling, which compare values before rounding.
 */
export async function downscaleUnrounded(model: RescaleModel, image: RasterImage, options: DownscaleOptions = {}): Promise<RasterImage> {
  checkRaster(image);
  const s = model.scale;
  if (image.width < s || image.height < s) {
    throw new Error(`image is ${image.width}x${image.height}; IRN x${s} needs at least ${s}x${s} pixels`);
  }
  const tiling = resolveTiling(options, receptiveField(model.config));
  const lrWidth = Math.ceil(image.width / s);
  const lrHeight = Math.ceil(image.height / s);
  checkTileWork(tiling, lrWidth, lrHeight);
  checkPassMemory(model.config, tiling, lrWidth, lrHeight, `${image.width}x${image.height}`, options.memoryBudget);
  const channels = hasAlpha(image) ? 4 : 3;
  const lr: RasterImage = { width: lrWidth, height: lrHeight, channels, data: new Float32Array(lrWidth * lrHeight * channels) };
  const run = (crop: LrRect): tf.Tensor4D => {
    const [w, h] = [crop.width * s, crop.height * s];
    const xHr = tf.tensor4d(readRgb(image, crop.left * s, crop.top * s, w, h), [1, h, w, 3]);
    return tf.slice(model.forward(xHr).output, [0, 0, 0, 0], [-1, -1, -1, 3]);
  };
  await runTiled({ lrWidth, lrHeight, factor: 1, run }, tiling, lr, options);
  checkFinite(lr, 'the LR image');
  if (channels === 4) boxAlphaInto(image, s, lr);
  return lr;
}

/**
 * The size `upscaleImage` restores `lr` to: `options.width` x `options.height`, or the LR size
 * times the scale. Throws unless it is one an image of that LR size can have come from.
 */
export function checkedRestoredSize(lr: { width: number; height: number }, scale: number, options: { width?: number; height?: number }): { width: number; height: number } {
  const fullW = lr.width * scale;
  const fullH = lr.height * scale;
  const width = options.width ?? fullW;
  const height = options.height ?? fullH;
  if (width > fullW || height > fullH || width <= fullW - scale || height <= fullH - scale) {
    throw new Error(
      `an LR image of ${lr.width}x${lr.height} at x${scale} restores to between ${fullW - scale + 1}x${fullH - scale + 1} and ${fullW}x${fullH}, not ${width}x${height}`,
    );
  }
  return { width, height };
}

/**
 * Restores the HR image from an IRN LR image: resolves to an image `scale` times larger (or
 * `width x height` when given), values in [0, 1] (not rounded; PNG encoders round). z is
 * chosen by `options` (zeros by default); a seeded Gaussian z is drawn per pixel position,
 * so it is the same whatever the tiling. Alpha is upsampled bilinearly.
 *
 * Tiling, progress, cancellation and the memory and NaN checks work as in
 * {@link downscaleImage}; `tileSize` and `overlap` are in LR pixels.
 *
 * @example
 * const hr = await upscaleImage(model, lr, { z: 'gaussian', seed: 7, width: 4000, height: 3000 });
 */
export async function upscaleImage(model: RescaleModel, lr: RasterImage, options: UpscaleOptions = {}): Promise<RasterImage> {
  checkRaster(lr, 'LR image');
  const s = model.scale;
  const { width, height } = checkedRestoredSize(lr, s, options);
  const tiling = resolveTiling(options, receptiveField(model.config));
  checkTileWork(tiling, lr.width, lr.height);
  checkPassMemory(model.config, tiling, lr.width, lr.height, `${lr.width}x${lr.height}`, options.memoryBudget);
  const latentOf = latentTiles(model, lr.width, lr.height, options);
  const channels = hasAlpha(lr) ? 4 : 3;
  const hr: RasterImage = { width, height, channels, data: new Float32Array(width * height * channels) };
  const run = (crop: LrRect): tf.Tensor4D => {
    const yLr = tf.tensor4d(readRgb(lr, crop.left, crop.top, crop.width, crop.height), [1, crop.height, crop.width, 3]);
    const { output } = model.inverse(concatChannels([yLr, latentOf(crop)]));
    // IrnModel.upscale's clamp to [0, 1], except that NaN and infinities are kept for
    // checkFinite: clamped, they would become a black or white image without a word.
    return tf.where(tf.isFinite(output), tf.clipByValue(output, 0, 1), output);
  };
  await runTiled({ lrWidth: lr.width, lrHeight: lr.height, factor: s, run }, tiling, hr, options);
  checkFinite(hr, 'the restored image');
  if (channels === 4) bilinearAlphaInto(lr, s, hr);
  return hr;
}

/**
 * Checks the latent options once for the whole image and returns the z of any LR
 * rectangle: zeros, a slice of the given tensor, or the Gaussian values of those pixel
 * positions in the full field (so tiles agree with the untiled draw).
 */
function latentTiles(model: RescaleModel, lrWidth: number, lrHeight: number, latent: LatentOptions): (crop: LrRect) => tf.Tensor4D {
  const zc = model.zChannels;
  const mode = latent.z ?? 'zeros';
  if (mode === 'zeros') return (crop) => tf.zeros([1, crop.height, crop.width, zc]);
  if (mode === 'gaussian') {
    const t = latent.temperature ?? 1;
    if (!(t >= 0 && Number.isFinite(t))) throw new Error(`temperature must be a finite number >= 0, got ${t}`);
    const seed = latent.seed ?? Math.floor(Math.random() * 2 ** 31);
    return (crop) =>
      tf.mul(
        seededNormal(seed, [1, crop.height, crop.width, zc], { top: crop.top, left: crop.left, fieldWidth: lrWidth }),
        t,
      ) as tf.Tensor4D;
  }
  if (mode instanceof tf.Tensor) {
    const shape = [1, lrHeight, lrWidth, zc];
    if (mode.shape.join() !== shape.join()) {
      throw new Error(`z must have shape [${shape.join(', ')}], got [${mode.shape.join(', ')}]`);
    }
    return (crop) => tf.slice(mode, [0, crop.top, crop.left, 0], [1, crop.height, crop.width, zc]);
  }
  throw new Error(`z must be "zeros", "gaussian" or a tensor, got ${String(mode)}`);
}
