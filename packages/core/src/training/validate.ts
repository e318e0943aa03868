import * as tf from '@tensorflow/tfjs-core';
import type { IrnModel } from '../model/irn.js';

/**
 * PSNR (dB) on the Y channel of ITU-R BT.601 (`16 + (65.481 R + 128.553 G + 24.966 B) / 255`
 * on 0..255 values) with `shave` pixels cut from every border, of two images `[1, H, W, 3]`
 * in [0, 1] (the evaluation protocol of the IRN results).
 */
export function psnrY(a: tf.Tensor4D, b: tf.Tensor4D, shave: number): number {
  return tf.tidy(() => {
    const [, h, w] = a.shape;
    const k = tf.tensor1d([65.481, 128.553, 24.966]);
    const y = (t: tf.Tensor4D) => tf.sum(tf.mul(tf.slice(t, [0, shave, shave, 0], [1, h - 2 * shave, w - 2 * shave, 3]), k), 3);
    const mse = tf.mean(tf.square(tf.sub(y(a), y(b)))).dataSync()[0];
    return 10 * Math.log10((255 * 255) / mse);
  });
}

/**
 * Round-trip PSNR of one HR image `[1, H, W, 3]` (H, W multiples of the scale) under the
 * test protocol with z = 0: 8-bit LR, upscale, clamp, round to 8 bits, Y-channel PSNR
 * shaving `scale` pixels.
 */
export function roundTripPsnrY(model: IrnModel, xHr: tf.Tensor4D): number {
  return tf.tidy(() => {
    const lr = model.downscale(xHr);
    const up = model.upscale(lr, { z: 'zeros' });
    const rounded = tf.div(tf.round(tf.mul(up, 255)), 255) as tf.Tensor4D;
    const ref = tf.div(tf.round(tf.mul(xHr, 255)), 255) as tf.Tensor4D;
    return psnrY(rounded, ref, model.scale);
  });
}
