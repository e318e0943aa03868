import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { InvertibleLayer, type FlowResult } from './flow.js';
import { foldFlow } from './flow-ops.js';

/**
 * Invertible layers composed in order: `forward` runs them in list order and `inverse` in
 * reverse, summing the per-sample log-determinants.
 *
 * It is a `tf.Sequential`, so it saves and loads with `tf.io` handlers (`model.json` plus
 * weight shards) and `tf.loadLayersModel` returns an `InvertibleSequence` again.
 * `predict`/`apply` give the forward output only.
 */
export class InvertibleSequence extends tfl.Sequential {
  static override className = 'InvertibleSequence';

  /** Appends an invertible layer; the first one needs `inputShape`. Shapes are checked. */
  override add(layer: tfl.layers.Layer): void {
    if (!(layer instanceof InvertibleLayer)) {
      throw new Error(`InvertibleSequence only takes invertible layers, got ${layer.getClassName()} "${layer.name}"`);
    }
    const before = this.outputs.length > 0 ? this.outputs[0].shape : layer.batchInputShape;
    try {
      super.add(layer);
    } catch (e) {
      const shape = (s: unknown) => `[${(s as (number | null)[] | undefined)?.map((d) => d ?? '?').join(', ') ?? '?'}]`;
      // Name the layer and the shape it was given; the cause is usually a shape mismatch.
      throw new Error(
        `InvertibleSequence.add(${layer.getClassName()} "${layer.name}") on input shape ${shape(before)}: ${(e as Error).message}`,
      );
    }
  }

  /** The layers, in forward order. */
  get flowLayers(): InvertibleLayer[] {
    return this.layers as InvertibleLayer[];
  }

  /** Runs every layer forward; returns the output and the summed log|det J| per sample. */
  forward(x: tf.Tensor4D): FlowResult {
    return tf.tidy(() => foldFlow(x, this.flowLayers, (layer, t) => layer.forward(t)));
  }

  /** Runs every layer's inverse in reverse order. */
  inverse(y: tf.Tensor4D): FlowResult {
    return tf.tidy(() => foldFlow(y, [...this.flowLayers].reverse(), (layer, t) => layer.inverse(t)));
  }
}
tf.serialization.registerClass(InvertibleSequence);
