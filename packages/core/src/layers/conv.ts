import * as tf from '@tensorflow/tfjs-core';
import { conv2dFilterBiasGrad, conv2dSameBias } from './conv-simd.js';

/**
 * 2-D convolution, stride 1, "same" zero padding, with bias, and a gradient built from
 * forward convolutions only.
 *
 * Why: the tfjs wasm backend has no `Conv2DBackpropFilter` kernel, and the cpu backend's is
 * very slow (ENVIRONMENT.md). The input gradient is a convolution of dy with the spatially
 * flipped, in/out-transposed kernel. The filter and bias gradients come from core's SIMD
 * kernel on wasm (conv-simd.ts); elsewhere the filter gradient is a 'valid' convolution in
 * which the channels of the padded input play the batch role and dy plays the filter. On
 * wasm the forward conv and the input gradient's conv run on core's SIMD conv kernel where
 * it takes the shape ({@link conv2dBias}).
 *
 * @param x input `[B, H, W, Cin]`
 * @param kernel `[k, k, Cin, Cout]` with k odd
 * @param bias `[Cout]`
 */
export function conv2dSame(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  const k = kernel.shape[0];
  const pad = (k - 1) / 2;
  const op = tf.customGrad((...args: unknown[]) => {
    const [xi, wi, bi, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.GradSaveFunc];
    save([xi, wi]);
    const value = conv2dBias(xi, wi, bi);
    const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
      const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
      const dy4 = dy as tf.Tensor4D;
      // dL/dx: correlate dy with the kernel flipped in space and transposed in/out.
      const wFlip = tf.transpose(tf.reverse(ws, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
      const dx = conv2dSameBias(dy4, wFlip) ?? tf.conv2d(dy4, wFlip, 1, 'same');
      // On wasm, core's SIMD kernel gives dL/dW and dL/db in one pass over x and dy.
      const fast = conv2dFilterBiasGrad(xs, dy4, k);
      if (fast != null) return [dx, ...fast];
      // dL/dW[i, j, ci, co] = sum_{b, h, w} xpad[b, h + i, w + j, ci] * dy[b, h, w, co]
      const xPad = tf.pad(xs, [[0, 0], [pad, pad], [pad, pad], [0, 0]]);
      const xT = tf.transpose(xPad, [3, 1, 2, 0]) as tf.Tensor4D; // [Cin, H+2p, W+2p, B]
      const dyT = tf.transpose(dy4, [1, 2, 0, 3]) as tf.Tensor4D; // [H, W, B, Cout]
      const dwT = tf.conv2d(xT, dyT, 1, 'valid'); // [Cin, k, k, Cout]
      const dw = tf.transpose(dwT, [1, 2, 0, 3]);
      const db = tf.sum(dy4, [0, 1, 2]);
      return [dx, dw, db];
    };
    return { value, gradFunc };
  });
  return op(x, kernel, bias) as tf.Tensor4D;
}

/**
 * `conv2d(x, kernel, 1, 'same') + bias` for inference and the forward pass: core's SIMD kernel
 * on wasm where it is the faster one (conv-simd.ts; its results equal XNNPACK's), else tfjs's
 * fused conv2d with the bias added as it writes. No gradient: {@link conv2dSame} is the
 * differentiable one.
 */
export function conv2dBias(x: tf.Tensor4D, kernel: tf.Tensor4D, bias: tf.Tensor1D): tf.Tensor4D {
  return conv2dSameBias(x, kernel, bias) ?? tf.fused.conv2d({ x, filter: kernel, bias, strides: 1, pad: 'same' });
}
