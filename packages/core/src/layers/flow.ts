import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { FlowResult } from './flow-ops.js';

export { assertRank4, type FlowResult } from './flow-ops.js';

/**
 * A layer f with an exact inverse (NHWC tensors, `[B, H, W, C]`).
 *
 * Implementers MUST: return f(x) and log|det df/dx| per sample from `forward`; return
 * f^-1(y) and the log-determinant of the inverse map (the negative of forward's) from
 * `inverse`; never mutate, dispose or retain their inputs. They MAY assume the layer is
 * built: the base class builds it on first use from the input's shape.
 *
 * `call` (used by `tf.LayersModel` and `apply`) returns the forward output only, so an
 * invertible layer also works inside an ordinary tfjs model.
 */
export abstract class InvertibleLayer extends tfl.layers.Layer {
  /** f(x) and log|det J_f(x)| per sample. */
  forward(x: tf.Tensor4D): FlowResult {
    this.ensureBuilt(x.shape);
    return this.forwardImpl(x);
  }

  /** f^-1(y) and log|det J_{f^-1}(y)| per sample. */
  inverse(y: tf.Tensor4D): FlowResult {
    this.ensureBuilt(this.inverseInputShapeToForward(y.shape));
    return this.inverseImpl(y);
  }

  protected abstract forwardImpl(x: tf.Tensor4D): FlowResult;
  protected abstract inverseImpl(y: tf.Tensor4D): FlowResult;

  /** Shape of the forward input that produces an output of `outputShape` (identity by default). */
  protected inverseInputShapeToForward(outputShape: number[]): number[] {
    return outputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    return tf.tidy(() => this.forward(x).output);
  }

  private ensureBuilt(shape: number[]): void {
    if (!this.built) {
      this.build(shape);
      this.built = true;
      // A layer used on its own (not through a model) owns its weights: let dispose() free them.
      if (this._refCount == null) this._refCount = 1;
    }
  }
}
