import * as tf from '@tensorflow/tfjs-core';

/**
 * The 8-bit storage of an LR image (IRN.md, "Quantization"):
 * `round(clamp(y, 0, 1) * 255) / 255`, rounding half to even (tfjs `round` is banker's).
 * No gradient of its own; training uses a straight-through version.
 */
export function quantize8(y: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(y, 0, 1), 255)), 255));
}
