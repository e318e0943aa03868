import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { assertRank4, InvertibleLayer, type FlowResult } from './flow.js';

/** log|det| of one 2x2 group: a 4x4 Hadamard matrix (|det| 16) times 1/4 (factor 4^-4). */
const LOG_DET_PER_GROUP = Math.log(1 / 16);

/**
 * Haar wavelet downsampling, `[B, H, W, C] -> [B, H/2, W/2, 4C]` (IRN.md, "Haar downsampling").
 *
 * For each 2x2 patch `a b / c d` of each channel: k0 = (a+b+c+d)/4 (the box mean),
 * k1 = (a-b+c-d)/4, k2 = (a+b-c-d)/4, k3 = (a-b-c+d)/4. Output channel `k * C + c`
 * (wavelet-major), so the first C channels are the box-downscaled image. No weights.
 * Built from reshapes and slices (tfjs has no spaceToDepth, and depthToSpace has no gradient).
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
    assertRank4(x, 'HaarDownsampling.forward');
    const [b, h, w, c] = x.shape;
    if (h % 2 !== 0 || w % 2 !== 0) {
      throw new Error(`HaarDownsampling needs even height and width, got ${h}x${w}`);
    }
    return tf.tidy(() => {
      const h2 = h / 2;
      const w2 = w / 2;
      // [B*H/2, 2 (row in patch), W/2, 2*C (column in patch, channel)]
      const r = tf.reshape(x, [b * h2, 2, w2, 2 * c]);
      const top = tf.reshape(tf.slice(r, [0, 0, 0, 0], [-1, 1, -1, -1]), [b * h2, w2, 2 * c]);
      const bot = tf.reshape(tf.slice(r, [0, 1, 0, 0], [-1, 1, -1, -1]), [b * h2, w2, 2 * c]);
      const pa = tf.slice(top, [0, 0, 0], [-1, -1, c]);
      const pb = tf.slice(top, [0, 0, c], [-1, -1, c]);
      const pc = tf.slice(bot, [0, 0, 0], [-1, -1, c]);
      const pd = tf.slice(bot, [0, 0, c], [-1, -1, c]);
      const ab = tf.add(pa, pb);
      const aMinusB = tf.sub(pa, pb);
      const cd = tf.add(pc, pd);
      const cMinusD = tf.sub(pc, pd);
      const k0 = tf.add(ab, cd);
      const k1 = tf.add(aMinusB, cMinusD);
      const k2 = tf.sub(ab, cd);
      const k3 = tf.sub(aMinusB, cMinusD);
      const out = tf.mul(tf.concat([k0, k1, k2, k3], 2), 0.25);
      const logDet = tf.fill([b], ((h * w * c) / 4) * LOG_DET_PER_GROUP) as tf.Tensor1D;
      return { output: tf.reshape(out, [b, h2, w2, 4 * c]) as tf.Tensor4D, logDet };
    });
  }

  protected inverseImpl(y: tf.Tensor4D): FlowResult {
    assertRank4(y, 'HaarDownsampling.inverse');
    const [b, h2, w2, c4] = y.shape;
    if (c4 % 4 !== 0) {
      throw new Error(`HaarDownsampling.inverse needs a multiple of 4 channels, got ${c4}`);
    }
    const c = c4 / 4;
    return tf.tidy(() => {
      const r = tf.reshape(y, [b * h2, w2, c4]);
      const k0 = tf.slice(r, [0, 0, 0], [-1, -1, c]);
      const k1 = tf.slice(r, [0, 0, c], [-1, -1, c]);
      const k2 = tf.slice(r, [0, 0, 2 * c], [-1, -1, c]);
      const k3 = tf.slice(r, [0, 0, 3 * c], [-1, -1, c]);
      const s01 = tf.add(k0, k1);
      const d01 = tf.sub(k0, k1);
      const s23 = tf.add(k2, k3);
      const d23 = tf.sub(k2, k3);
      const pa = tf.add(s01, s23); // k0+k1+k2+k3
      const pb = tf.add(d01, d23); // k0-k1+k2-k3
      const pc = tf.sub(s01, s23); // k0+k1-k2-k3
      const pd = tf.sub(d01, d23); // k0-k1-k2+k3
      const top = tf.concat([pa, pb], 2);
      const bot = tf.concat([pc, pd], 2);
      const out = tf.reshape(tf.stack([top, bot], 1), [b, h2 * 2, w2 * 2, c]) as tf.Tensor4D;
      const logDet = tf.fill([b], -((h2 * w2 * c4) / 4) * LOG_DET_PER_GROUP) as tf.Tensor1D;
      return { output: out, logDet };
    });
  }
}
tf.serialization.registerClass(HaarDownsampling);
