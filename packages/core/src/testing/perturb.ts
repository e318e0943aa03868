import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * Overwrites every weight with seeded N(0, std^2) values. A fresh IRN block is the identity
 * (its last convolution is zero), so a round trip on it proves nothing (STYLE.md, "Perturb
 * before you trust a round trip").
 */
export function perturbWeights(weights: tfl.LayerVariable[], seed: number, std = 0.05): void {
  weights.forEach((w, i) => {
    tf.tidy(() => {
      w.write(tf.randomNormal(w.shape as number[], 0, std, 'float32', seed * 7919 + i));
    });
  });
}
