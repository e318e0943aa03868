import { parameterCount } from '../model/architecture.js';
import { levelsOf, type IrnConfig } from '../model/config.js';

/**
 * Estimated peak tensor bytes of one training step (`IrnTrainer.trainStep`) on `samples`
 * patches of `patch x patch` HR pixels: everything the forward pass keeps for the backward
 * one, per HR pixel, plus the weights with their gradients and Adam's two moments. Unlike an
 * inference pass, which holds one block at a time, a step keeps every block's activations, so
 * the cost grows with `blocks` and with the growth of each dense block.
 *
 * Measured with `withPeakMemory` around `trainStep` (wasm; batch 2 of 64x64, 2026-12-04), in
 * bytes per HR pixel: x2 with 2 blocks 5,921 / 7,938 / 14,022 / 20,262 at growth 4 / 8 / 16 /
 * 32, with 4 blocks 9,875 / 15,851 / 21,307 / 40,192; x4 19,427 and 34,163 (growth 16, 2 and
 * 4 blocks), 31,503 (growth 32, 2 blocks); x2 with 1 block of growth 4 2,826 (batch 2 of
 * 32x32). The estimate, `8000 + blocks * levels * (2000 + 300 * growth)` per HR pixel, is
 * above every one of them: 1.35x (x2, 4 blocks, growth 32) to 4x (the 1-block model, where
 * the fixed part dominates).
 */
export function trainStepBytes(config: IrnConfig, samples: number, patch: number): number {
  const perHrPixel = 8000 + config.blocks * levelsOf(config.scale) * (2000 + 300 * config.growth);
  return samples * patch * patch * perHrPixel + 16 * parameterCount(config);
}

/**
 * The most patches of `patch x patch` HR pixels whose training step fits `budget` bytes by
 * {@link trainStepBytes}; 0 when not even one does.
 */
export function samplesFitting(config: IrnConfig, patch: number, budget: number): number {
  const one = trainStepBytes(config, 1, patch) - trainStepBytes(config, 0, patch);
  return Math.max(0, Math.floor((budget - trainStepBytes(config, 0, patch)) / one));
}
