import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { InvertibleLayer } from './flow.js';
import { haarForward, haarInverse, type FlowResult } from './flow-ops.js';

/**
 * Haar wavelet downsampling, `[B, H, W, C] -> [B, H/2, W/2, 4C]` (IRN.md, "Haar downsampling").
 *
 * For each 2x2 patch `a b / c d` of each channel: k0 = (a+b+c+d)/4 (the box mean),
 * k1 = (a-b+c-d)/4, k2 = (a+b-c-d)/4, k3 = (a-b-c+d)/4. Output channel `k * C + c`
 * (wavelet-major), so the first C channels are the box-downscaled image. No weights.
 * Built from reshapes and slices (tfjs has no spaceToDepth, and depthToSpace has no gradient);
 * the computation is flow-ops.ts's `haarForward` and `haarInverse`.
 */
export class HaarDownsampling extends InvertibleLayer {
  static className = 'HaarDownsampling';

  constructor(args: LayerArgs = {}) {
    super(args);
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const half = (d: number | null) => (d == null ? null : d / 2);
    return [s[0], half(s[1]), half(s[2]), s[3] == null ? null : s[3] * 4];
  }

  protected override inverseInputShapeToForward(outputShape: number[]): number[] {
    const [b, h, w, c] = outputShape;
    return [b, h * 2, w * 2, c / 4];
  }

  protected forwardImpl(x: tf.Tensor4D): FlowResult {
    return haarForward(x);
  }

  protected inverseImpl(y: tf.Tensor4D): FlowResult {
    return haarInverse(y);
  }
}
tf.serialization.registerClass(HaarDownsampling);
