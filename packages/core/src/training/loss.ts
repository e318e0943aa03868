import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own bundle registers no op gradients; tfjs-layers registers them on import.
import '@tensorflow/tfjs-layers';
import { concatChannels, splitChannels } from '../layers/concat-channels.js';
import type { IrnModel } from '../model/irn.js';
import { seededNormal } from '../model/noise.js';
import { bicubicDownscale } from './bicubic.js';
import { jpegProxy, MOZJPEG_RATE, realWithProxyGradient, type JpegRounding } from './jpeg-proxy.js';
import { quantizeSTE } from './quantize-ste.js';
import { Rng } from './rng.js';

/**
 * A lossy codec between the downscaler and the upscaler in training (issue 13): plain data,
 * so that it reaches data-parallel workers in the shard spec unchanged.
 */
export interface LrCodecOption {
  /** {@link jpegProxy}: MozJPEG's JPEG as `irn downscale --format jpeg` writes it. */
  kind: 'jpeg-proxy';
  /**
   * JPEG quality, or a range `[lo, hi]` from which each sample draws a whole number
   * uniformly, seeded by the step's `zSeed` and the sample's index in the whole batch, so
   * shards of a data-parallel batch draw what the whole batch would.
   */
  quality: number | [number, number];
  /** How the proxy rounds (default `'ste'`; see {@link JpegRounding}). */
  rounding?: JpegRounding;
  /** Weight of the rate term, in loss units per bit per full-size pixel (default 0). */
  lambdaRate?: number;
}

/** The quality each sample of a shard draws (see {@link LrCodecOption.quality}). */
export function lrCodecQualities(codec: LrCodecOption, seed: number, first: number, b: number): number[] {
  const q = codec.quality;
  if (typeof q === 'number') return new Array<number>(b).fill(q);
  const [lo, hi] = q;
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo >= 1 && hi <= 100 && lo <= hi)) {
    throw new RangeError(`lrCodec quality range must be whole numbers 1 <= lo <= hi <= 100, got [${lo}, ${hi}]`);
  }
  return Array.from({ length: b }, (_, i) => lo + new Rng((seed ^ 0x2545f491) + (first + i) * 7919).int(hi - lo + 1));
}

/** Options of {@link irnLoss}; defaults are the published configuration except `zScale`. */
export interface IrnLossOptions {
  /** Weight of the LR guidance term. Default scale^2 (IRN.md). */
  lambdaFit?: number;
  /** Weight of the reconstruction term. Default 1. */
  lambdaRec?: number;
  /** Weight of the latent term. Default 1. */
  lambdaDist?: number;
  /**
   * Standard deviation of the z drawn for the reconstruction term. The paper uses 1; 0 (the
   * default here) reconstructs with z = 0, which trains far more stably on small budgets
   * (a reference run with 1 collapsed early; see the training README).
   */
  zScale?: number;
  /** Seed of that draw; required when `zScale > 0` for reproducible steps. Default 0. */
  zSeed?: number;
  /**
   * Index of `xHr`'s first sample in the whole batch, when `xHr` is one shard of it
   * (data-parallel training): sample `i` draws its z from `zSeed + (zSampleOffset + i) * 7919`,
   * so the shards together draw exactly the z of the whole batch. Default 0.
   */
  zSampleOffset?: number;
  /** Charbonnier epsilon. Default 1e-6. */
  eps?: number;
  /**
   * A lossy codec stand-in applied to the 8-bit LR before the inverse, and its rate term
   * (see {@link LrCodecOption}). Absent: the lossless objective, unchanged.
   */
  lrCodec?: LrCodecOption;
  /**
   * The real codec's decoded LR of this batch (`[B, h, w, 3]`, made outside the gradient tape
   * from the same model's 8-bit LR, e.g. libavif's round trip): the reconstruction then sees
   * exactly it, with the gradient of the `lrCodec` stand-in (see `realWithProxyGradient`), or
   * straight through without one. The rate term, if any, stays the stand-in's estimate.
   */
  realLr?: tf.Tensor4D;
}

/** The loss terms of one batch, each a scalar tensor (already weighted in `total` only). */
export interface IrnLossTerms {
  /** lambdaFit * fit + lambdaRec * rec + lambdaDist * dist. */
  total: tf.Scalar;
  /** sum((y - bicubic(x))^2) / B, unweighted. */
  fit: tf.Scalar;
  /** sum(sqrt((x - x_hat)^2 + eps)) / B, unweighted. */
  rec: tf.Scalar;
  /** sum(z^2) / B, unweighted. */
  dist: tf.Scalar;
  /**
   * With `lrCodec`: the codec's estimated bits per full-size pixel, averaged over the batch,
   * without the per-file constant of the rate proxy (a patch is not a file), unweighted (in
   * `total` times `lrCodec.lambdaRate`).
   */
  rate?: tf.Scalar;
}

/**
 * The IRN training objective (IRN.md, "Training objective") on an HR batch `[B, P, P, 3]` in
 * [0, 1], P a multiple of the scale. Sums run over channels and pixels and are divided by the
 * batch size. The reconstruction uses the 8-bit LR with a straight-through gradient.
 *
 * @example
 * const { value, grads } = tf.variableGrads(() => irnLoss(model, xHr).total);
 */
export function irnLoss(model: IrnModel, xHr: tf.Tensor4D, options: IrnLossOptions = {}): IrnLossTerms {
  const scale = model.scale;
  const lambdaFit = options.lambdaFit ?? scale * scale;
  const lambdaRec = options.lambdaRec ?? 1;
  const lambdaDist = options.lambdaDist ?? 1;
  const zScale = options.zScale ?? 0;
  const eps = options.eps ?? 1e-6;
  const b = xHr.shape[0];
  return tf.tidy(() => {
    const { output } = model.forward(xHr);
    const [y, z] = splitChannels(output, [3, output.shape[3] - 3]) as [tf.Tensor4D, tf.Tensor4D];
    const target = bicubicDownscale(xHr, scale);
    const fit = tf.div(tf.sum(tf.square(tf.sub(y, target))), b) as tf.Scalar;
    const dist = tf.div(tf.sum(tf.square(z)), b) as tf.Scalar;
    const [, h, w, c] = z.shape;
    let zRec: tf.Tensor4D;
    if (zScale > 0) {
      const seed = options.zSeed ?? 0;
      const first = options.zSampleOffset ?? 0;
      const draws: tf.Tensor4D[] = [];
      for (let i = first; i < first + b; i++) draws.push(seededNormal(seed + i * 7919, [1, h, w, c]));
      zRec = tf.mul(tf.concat(draws, 0), zScale) as tf.Tensor4D;
    } else {
      zRec = tf.zeros([b, h, w, c]);
    }
    let lr = quantizeSTE(y);
    let rate: tf.Scalar | undefined;
    const codec = options.lrCodec;
    if (codec != null) {
      if (codec.kind !== 'jpeg-proxy') throw new Error(`unknown lrCodec kind '${codec.kind as string}'`);
      const seed = options.zSeed ?? 0;
      const first = options.zSampleOffset ?? 0;
      const coded = jpegProxy(lr, lrCodecQualities(codec, seed, first, b), { rounding: codec.rounding, seed, sampleOffset: first });
      lr = coded.image;
      // Without the per-file constant (headers and tables): a patch is not a file, and a
      // constant has no gradient anyway.
      rate = tf.div(tf.sub(tf.sum(coded.bits), b * MOZJPEG_RATE.file), b * xHr.shape[1] * xHr.shape[2]) as tf.Scalar;
    }
    const real = options.realLr;
    if (real != null) {
      if (real.shape.join() !== lr.shape.join()) throw new Error(`irnLoss realLr is [${real.shape.join(', ')}], the LR [${lr.shape.join(', ')}]`);
      // The real decoded LR forward; backward the stand-in's gradient (lr is its image here), or without one the identity.
      lr = realWithProxyGradient(real, lr);
    }
    const { output: xHat } = model.inverse(concatChannels([lr, zRec]));
    const rec = tf.div(tf.sum(tf.sqrt(tf.add(tf.square(tf.sub(xHr, xHat)), eps))), b) as tf.Scalar;
    const parts = [tf.mul(fit, lambdaFit), tf.mul(rec, lambdaRec), tf.mul(dist, lambdaDist)];
    if (rate != null) parts.push(tf.mul(rate, codec?.lambdaRate ?? 0));
    const total = tf.addN(parts) as tf.Scalar;
    return rate == null ? { total, fit, rec, dist } : { total, fit, rec, dist, rate };
  });
}
