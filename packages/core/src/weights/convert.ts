import * as tf from '@tensorflow/tfjs-core';
import { AffineCoupling } from '../layers/affine-coupling.js';
import { IrnModel } from '../model/irn.js';
import type { Limits } from '../limits.js';
import { importIrnCheckpoint, type DenseBlockWeights, type ImportedIrn } from './pytorch/irn-checkpoint.js';

/** Options of {@link modelFromCheckpoint}. */
export interface ModelFromCheckpointOptions {
  /** Provenance recorded in the model's metadata, e.g. the file name. */
  source?: string;
  /**
   * Resource limits for reading the file (defaults: `DEFAULT_LIMITS`); see
   * `ReadCheckpointOptions` of `readTorchStateDict`.
   */
  limits?: Partial<Limits>;
}

/**
 * Builds an IRN model from a published PyTorch checkpoint (`IRN_x2.pth`, `IRN_x4.pth`,
 * `IRN_x8.pth`, or one of the same layout): reads the `state_dict` (zip or legacy pickle
 * format, without executing anything), infers scale, blocks and growth from its keys, checks
 * every shape and copies the weights. A crafted file is refused with a one-line
 * TorchFormatError or LimitError before it costs memory or time, and so is one with NaN or
 * infinite weights (see `importIrnCheckpoint`).
 *
 * @param bytes the whole `.pth` file
 * @param options `source` and `limits`; a string is the `source` (the older form)
 * @example
 * const model = modelFromCheckpoint(new Uint8Array(await (await fetch('IRN_x4.pth')).arrayBuffer()), { source: 'IRN_x4.pth' });
 */
export function modelFromCheckpoint(bytes: Uint8Array, options: string | ModelFromCheckpointOptions = {}): IrnModel {
  const { source, limits } = typeof options === 'string' ? { source: options, limits: undefined } : options;
  return modelFromImported(importIrnCheckpoint(bytes, { limits }), source);
}

/** Builds an IRN model from already imported checkpoint weights. */
export function modelFromImported(imported: ImportedIrn, source?: string): IrnModel {
  const model = IrnModel.create({ scale: imported.scale, blocks: imported.blocks, growth: imported.growth });
  try {
    // Build the layers (their weights are created lazily from the input shape).
    tf.tidy(() => {
      model.forward(tf.zeros([1, imported.scale, imported.scale, 3]));
    });
    const couplings = model.flow.flowLayers.filter((l): l is AffineCoupling => l instanceof AffineCoupling);
    if (couplings.length !== imported.couplings.length) {
      throw new Error(`checkpoint has ${imported.couplings.length} blocks, the model ${couplings.length}`);
    }
    couplings.forEach((layer, i) => {
      for (const role of ['F', 'G', 'H'] as const) setDenseBlock(layer, role, imported.couplings[i][role]);
    });
    if (source != null) model.source = source;
    return model;
  } catch (e) {
    model.dispose();
    throw e;
  }
}

function setDenseBlock(layer: AffineCoupling, role: 'F' | 'G' | 'H', weights: DenseBlockWeights): void {
  const net = layer.subnet(role);
  const values = weights.convs.flatMap((c) => [tf.tensor4d(c.kernel, c.kernelShape), tf.tensor1d(c.bias)]);
  try {
    net.setWeights(values);
  } finally {
    values.forEach((t) => t.dispose());
  }
}
