/**
 * Core's wasm kernels for channel concatenation and splitting against tfjs-wasm's own
 * `Concat` and `SplitV`, in Node, on the dense blocks' shapes (a 256 px LR tile, x2's F
 * subnet: 9 input channels, growth 16), with a zero fill of the same size as a measure of
 * this machine's single-thread memory speed:
 *
 *   node --import tsx bench/concat-kernels.ts [--side 256] [--rounds 20]
 *
 * Medians of `--rounds` calls after one warmup call, interleaved per shape; results are
 * checked equal to tfjs's before timing.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { concatChannels, splitChannels } from '../packages/core/src/layers/concat-channels.js';
import { useNodeBackend } from '../packages/core/src/node.js';

const { values: args } = parseArgs({ options: { side: { type: 'string', default: '256' }, rounds: { type: 'string', default: '20' } } });
const side = Number(args.side);
const rounds = Number(args.rounds);
await useNodeBackend('wasm');

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
function time(f: () => tf.Tensor | tf.Tensor[]): number {
  tf.dispose(f());
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    tf.dispose(f());
    ms.push(performance.now() - t0);
  }
  return median(ms);
}
const same = (a: tf.Tensor[], b: tf.Tensor[]) => a.every((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, b[i]))).dataSync()[0]) === 0);

const feats = [9, 16, 16, 16, 16].map((c, i) => tf.randomNormal([1, side, side, c], 0, 1, 'float32', i) as tf.Tensor4D);
console.log(`wasm, ${side}x${side} px, medians of ${rounds} calls`);
console.log('| inputs | output channels | MB written | tf.concat ms | IrnConcatChannels ms | speed-up | tf.split ms | IrnSplitChannels ms | speed-up | zero fill ms | zero fill GB/s | IrnConcatChannels GB/s (read + write) |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
for (let k = 2; k <= feats.length; k++) {
  const parts = feats.slice(0, k);
  const sizes = parts.map((t) => t.shape[3]);
  const channels = sizes.reduce((a, b) => a + b, 0);
  const whole = tf.concat(parts, 3);
  const fast = concatChannels(parts);
  const split = splitChannels(whole, sizes);
  if (!same([fast], [whole]) || !same(split, parts)) throw new Error(`results differ from tfjs for ${k} inputs`);
  tf.dispose([fast, ...split]);
  const bytes = whole.size * 4;
  const tConcat = time(() => tf.concat(parts, 3));
  const tFast = time(() => concatChannels(parts));
  const tSplit = time(() => tf.split(whole, sizes, 3));
  const tFastSplit = time(() => splitChannels(whole, sizes));
  const tZeros = time(() => tf.zeros(whole.shape));
  whole.dispose();
  console.log(
    `| ${k} | ${channels} | ${(bytes / 1e6).toFixed(1)} | ${tConcat.toFixed(2)} | ${tFast.toFixed(2)} | ${(tConcat / tFast).toFixed(2)}x | ` +
      `${tSplit.toFixed(2)} | ${tFastSplit.toFixed(2)} | ${(tSplit / tFastSplit).toFixed(2)}x | ${tZeros.toFixed(2)} | ` +
      `${(bytes / 1e6 / tZeros).toFixed(1)} | ${((2 * bytes) / 1e6 / tFast).toFixed(1)} |`,
  );
}
tf.dispose(feats);
