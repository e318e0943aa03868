import * as tf from '@tensorflow/tfjs-core';
import { AffineCoupling } from '../layers/affine-coupling.js';
import { IrnModel } from '../model/irn.js';
import { importIrnCheckpoint, type DenseBlockWeights, type ImportedIrn } from './pytorch/irn-checkpoint.js';

/**
 * Builds an IRN model from a published PyTorch checkpoint (`IRN_x2.pth`, `IRN_x4.pth`,
 * `IRN_x8.pth`, or one of the same layout): reads the `state_dict` (zip or legacy pickle
 * format, without executing anything), infers scale, blocks and growth from its keys, checks
 * every shape and copies the weights.
 *
 * @param bytes the whole `.pth` file
 * @param source provenance recorded in the model's metadata, e.g. the file name
 * @example
 * const model = modelFromCheckpoint(new Uint8Array(await (await fetch('IRN_x4.pth')).arrayBuffer()));
 */
export function modelFromCheckpoint(bytes: Uint8Array, source?: string): IrnModel {
  return modelFromImported(importIrnCheckpoint(bytes), source);
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
