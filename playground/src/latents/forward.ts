/**
 * The Latents tab's forward pass, as the latents worker runs it (worker-main.ts): the model's
 * output split into the LR and one plane per z channel, with what the tab shows beside them.
 * No DOM: it runs in the worker.
 */
import * as tf from '@tensorflow/tfjs-core';
import { imresize, type IrnModel, type RasterImage } from '@irn/core';
import { histogram, moments, round8 } from '../images.js';

/** What the Latents tab shows of one photo through one model; all at LR size. */
export interface LatentsResult {
  width: number;
  height: number;
  /** IRN's LR rounded to 8 bits (k/255): what an LR PNG keeps, and what the restores start from. */
  lr: RasterImage;
  /** The MATLAB-bicubic LR of the photo rounded to 8 bits: the target of the guidance loss. */
  lrBicubic: RasterImage;
  /** One plane per z channel, row-major `[height, width]`. */
  z: Float32Array[];
  /** Mean and standard deviation of each z plane. */
  stats: { mean: number; std: number }[];
  /** Each z plane's histogram on {@link HISTOGRAM} bins, as a density (to draw against N(0, 1)). */
  histograms: { centres: number[]; density: number[] }[];
}

/** The histograms' range and bins: ±4, where N(0, 1) has all but 6e-5 of its mass. */
export const HISTOGRAM = { lo: -4, hi: 4, bins: 64 } as const;

/**
 * Splits an NHWC forward output of `channels` channels (`[1, height, width, channels]`, as
 * `data()` reads it) into the RGB LR (the first 3) and one plane per z channel (the rest).
 */
export function splitChannels(data: Float32Array, width: number, height: number, channels: number): { lr: RasterImage; z: Float32Array[] } {
  if (channels < 3 || data.length !== width * height * channels) throw new Error(`splitChannels: ${data.length} values are not ${width}x${height}x${channels} with at least 3 channels`);
  const n = width * height;
  const lr = new Float32Array(n * 3);
  const z = Array.from({ length: channels - 3 }, () => new Float32Array(n));
  for (let i = 0; i < n; i++) {
    const o = i * channels;
    lr[i * 3] = data[o];
    lr[i * 3 + 1] = data[o + 1];
    lr[i * 3 + 2] = data[o + 2];
    for (let k = 3; k < channels; k++) z[k - 3][i] = data[o + k];
  }
  return { lr: { width, height, channels: 3, data: lr }, z };
}

/** Runs `model` forward on `hr` (RGB, sides multiples of the scale) on tfjs's active backend; no tensor outlives the call. */
export async function computeLatents(model: IrnModel, hr: RasterImage): Promise<LatentsResult> {
  const { scale } = model;
  if (hr.channels !== 3) throw new Error(`latents: the photo must be RGB, got ${hr.channels} channels`);
  if (hr.width % scale !== 0 || hr.height % scale !== 0) throw new Error(`latents: the image must be a multiple of ${scale} on each side`);
  const out = tf.tidy(() => model.forward(tf.tensor4d(hr.data, [1, hr.height, hr.width, 3])).output);
  const [, height, width, channels] = out.shape;
  let data: Float32Array;
  try {
    data = (await out.data()) as Float32Array;
  } finally {
    out.dispose();
  }
  const { lr, z } = splitChannels(data, width, height, channels);
  return {
    width,
    height,
    lr: round8(lr),
    lrBicubic: round8(imresize(hr, hr.width / scale, hr.height / scale)),
    z,
    stats: z.map(moments),
    histograms: z.map((plane) => histogram(plane, HISTOGRAM.lo, HISTOGRAM.hi, HISTOGRAM.bins)),
  };
}

/** The buffers of a result, to transfer it from the worker. */
export function resultBuffers(r: LatentsResult): ArrayBuffer[] {
  return [r.lr.data, r.lrBicubic.data, ...r.z].map((a) => a.buffer as ArrayBuffer);
}
