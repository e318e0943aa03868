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
 * Runs `run` and reports the peak tensor memory: the engine's byte count (`tf.memory()
 * .numBytes`) at its highest, watched at every change, so the peaks inside a kernel (its
 * inputs and outputs alive together) are seen, which sampling `tf.memory()` between calls
 * would miss.
 *
 * Not `tf.profile`: under it, a kernel that throws on the wasm backend (an allocation that
 * fails) loses its error in a rejected promise and tfjs throws "Cannot read properties of
 * undefined (reading 'map')" instead, while the lost rejection ends the process. Here the
 * kernel's own error propagates, and nothing is timed or recorded per kernel.
 */
export async function withPeakMemory<T>(run: () => Promise<T>): Promise<PeakMemory<T>> {
  const state = tf.engine().state as { numBytes: number };
  // A data property normally; an accessor when a call of this function is running around us.
  const previous = Object.getOwnPropertyDescriptor(state, 'numBytes');
  const startBytes = state.numBytes;
  let current = startBytes;
  let peakBytes = startBytes;
  // Watch the counter: every tensor the engine tracks or frees passes through it.
  Object.defineProperty(state, 'numBytes', {
    configurable: true,
    enumerable: true,
    get: () => current,
    set: (v: number) => {
      current = v;
      if (v > peakBytes) peakBytes = v;
      previous?.set?.call(state, v);
    },
  });
  try {
    const result = await run();
    return { result, peakBytes, startBytes };
  } finally {
    if (previous != null) Object.defineProperty(state, 'numBytes', previous);
    else delete (state as { numBytes?: number }).numBytes;
    state.numBytes = current;
  }
}
