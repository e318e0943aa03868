import * as tf from '@tensorflow/tfjs-core';

/**
 * Assertions shared by the Node (node:test) and browser (mocha in @web/test-runner) suites,
 * so one contract runs everywhere. Each throws an Error that says what differed.
 */
export function assertTrue(cond: boolean, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** Largest absolute elementwise difference of two tensors of the same shape. */
export function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  if (a.shape.join() !== b.shape.join()) {
    throw new Error(`shapes differ: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`);
  }
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

/** Asserts |a - b| <= tol everywhere. */
export function assertClose(a: tf.Tensor, b: tf.Tensor, tol: number, what: string): void {
  const d = maxAbsDiff(a, b);
  if (!(d <= tol)) throw new Error(`${what}: max |difference| ${d} exceeds ${tol}`);
}

/** Asserts a tensor's shape. */
export function assertShape(t: tf.Tensor, shape: number[], what: string): void {
  if (t.shape.join() !== shape.join()) {
    throw new Error(`${what}: shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`);
  }
}

/** Asserts that every value is finite. */
export function assertFinite(t: tf.Tensor, what: string): void {
  const ok = tf.tidy(() => tf.all(tf.isFinite(t)).dataSync()[0]);
  if (!ok) throw new Error(`${what}: has non-finite values`);
}

/** Runs `fn` and asserts that it leaves the number of live tensors unchanged. */
export async function assertNoLeak(what: string, fn: () => void | Promise<void>): Promise<void> {
  const before = tf.memory().numTensors;
  await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new Error(`${what}: leaked ${after - before} tensors`);
}

/** Asserts that `fn` throws an error whose message matches `pattern`. */
export function assertThrows(fn: () => unknown, pattern: RegExp, what: string): void {
  try {
    fn();
  } catch (e) {
    const msg = (e as Error).message;
    if (!pattern.test(msg)) throw new Error(`${what}: error "${msg}" does not match ${pattern}`);
    return;
  }
  throw new Error(`${what}: expected an error matching ${pattern}, nothing was thrown`);
}
