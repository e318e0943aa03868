import * as tf from '@tensorflow/tfjs-core';

/** What {@link withPeakMemory} measured. */
export interface PeakMemory<T> {
  result: T;
  /** Most tensor bytes alive at once while `run` ran (the model's weights included). */
  peakBytes: number;
  /** Tensor bytes alive when `run` started (typically the model's weights). */
  startBytes: number;
}

/**
 * Runs `run` under `tf.profile` and reports the peak tensor memory: the engine's byte
 * count after every kernel, which sees each op's inputs and outputs alive together (sampling
 * `tf.memory()` between calls would miss the peaks inside them). Kernel profiling records
 * every op, so use it for reports, not on every call.
 */
export async function withPeakMemory<T>(run: () => Promise<T>): Promise<PeakMemory<T>> {
  const startBytes = tf.memory().numBytes;
  let result: T | undefined;
  const info = await tf.profile(async () => {
    result = await run();
    return [];
  });
  // With no kernel run at all, the profile's peak is -Infinity.
  return { result: result as T, peakBytes: Math.max(startBytes, info.peakBytes), startBytes };
}
