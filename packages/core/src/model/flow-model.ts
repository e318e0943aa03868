import type * as tf from '@tensorflow/tfjs-core';
import { assertRank4, type FlowResult } from '../layers/flow-ops.js';
import { levelsOf, zChannelsOf, type IrnConfig } from './config.js';

/**
 * What {@link IrnModel} (tfjs-layers, trainable) and {@link IrnInference} (tfjs-core, inference
 * only) share: the architecture and its sizes, the checks of `forward` and `inverse` inputs,
 * and disposal.
 */
export abstract class IrnFlowModel {
  private disposed = false;

  protected constructor(
    /** The architecture. */
    readonly config: IrnConfig,
    /** The class name, for messages (bundlers rename classes). */
    private readonly what: string,
  ) {}

  /** Rescaling factor. */
  get scale(): number {
    return this.config.scale;
  }
  /** Number of Haar levels (log2 of the scale). */
  get levels(): number {
    return levelsOf(this.config.scale);
  }
  /** Channels of z. */
  get zChannels(): number {
    return zChannelsOf(this.config.scale);
  }
  /** Number of weights (1,667,952 for the published x2). */
  abstract countParams(): number;

  /** HR `[B, H, W, 3]` -> `[B, H/s, W/s, 3 s^2]` (LR channels first) and log|det J|. */
  forward(xHr: tf.Tensor4D): FlowResult {
    this.check();
    assertRank4(xHr, `${this.what}.forward`);
    const [, h, w, c] = xHr.shape;
    if (c !== 3) throw new Error(`IRN takes RGB input with 3 channels, got ${c}`);
    if (h % this.scale !== 0 || w % this.scale !== 0) {
      throw new Error(`IRN x${this.scale} needs height and width that are multiples of ${this.scale}, got ${w}x${h}`);
    }
    return this.runForward(xHr);
  }

  /** `[B, h, w, 3 s^2]` -> HR `[B, h s, w s, 3]` and log|det J| of the inverse. */
  inverse(y: tf.Tensor4D): FlowResult {
    this.check();
    assertRank4(y, `${this.what}.inverse`);
    const c = y.shape[3];
    if (c !== 3 + this.zChannels) {
      throw new Error(`IRN x${this.scale} inverse takes ${3 + this.zChannels} channels (LR + z), got ${c}`);
    }
    return this.runInverse(y);
  }

  /** Frees the weights. The model cannot be used afterwards. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.free();
  }

  protected abstract runForward(xHr: tf.Tensor4D): FlowResult;
  protected abstract runInverse(y: tf.Tensor4D): FlowResult;
  protected abstract free(): void;

  protected check(): void {
    if (this.disposed) throw new Error('this IRN model was disposed');
  }
}
