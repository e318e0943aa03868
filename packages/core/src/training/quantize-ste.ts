import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's own bundle registers no op gradients; tfjs-layers registers them on import.
import '@tensorflow/tfjs-layers';
import { quantize8 } from '../model/quantize.js';

/**
 * 8-bit quantization with a straight-through gradient (IRN.md, "Quantization"): the value is
 * `quantize8(y)` (`round(clamp(y, 0, 1) * 255) / 255`), the gradient is the identity, clamp
 * included. tfjs's `round` has a zero gradient, hence the custom one.
 */
export function quantizeSTE<T extends tf.Tensor>(y: T): T {
  const op = tf.customGrad((...args: unknown[]) => {
    const [x] = args as [tf.Tensor];
    return { value: quantize8(x), gradFunc: (dy: tf.Tensor) => [tf.clone(dy)] };
  });
  return op(y) as T;
}
