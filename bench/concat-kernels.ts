/**
 * Core's wasm kernels for channel concatenation and splitting (on their SIMD copy kernel,
 * channel-copy.wat, and on their JavaScript `copyWithin` fallback) against tfjs-wasm's own
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
import { withChannelCopy } from '../packages/core/src/layers/channel-copy.js';
import { concatChannels, splitChannels } from '../packages/core/src/layers/concat-channels.js';
import { useNodeBackend } from '../packages/core/src/node.js';
import { median } from './stats.js';

const { values: args } = parseArgs({ options: { side: { type: 'string', default: '256' }, rounds: { type: 'string', default: '20' } } });
const side = Number(args.side);
const rounds = Number(args.rounds);
await useNodeBackend('wasm');

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
const ALPHA = 0.2;

const feats = [9, 16, 16, 16, 16].map((c, i) => tf.randomNormal([1, side, side, c], 0, 1, 'float32', i) as tf.Tensor4D);
console.log(`wasm, ${side}x${side} px, medians of ${rounds} calls`);
console.log(
  '| inputs | output channels | MB written | tf.concat ms | JS concat ms | SIMD concat ms | SIMD vs tf.concat | SIMD vs JS | ' +
    'tf.leakyRelu + SIMD concat ms | SIMD concat with LeakyReLU ms | tf.split ms | JS split ms | SIMD split ms | SIMD vs tf.split | SIMD vs JS | ' +
    'zero fill ms | zero fill GB/s | SIMD concat GB/s (read + write) |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (let k = 2; k <= feats.length; k++) {
  const parts = feats.slice(0, k);
  const sizes = parts.map((t) => t.shape[3]);
  const leaky = { leaky: parts.map((_, i) => i > 0), alpha: ALPHA };
  const channels = sizes.reduce((a, b) => a + b, 0);
  const whole = tf.concat(parts, 3);
  const wholeLeaky = tf.tidy(() => tf.concat(parts.map((t, i) => (i > 0 ? tf.leakyRelu(t, ALPHA) : t)), 3));
  for (const on of [true, false]) {
    const fast = withChannelCopy(on, () => concatChannels(parts));
    const split = withChannelCopy(on, () => splitChannels(whole, sizes));
    if (!same([fast], [whole]) || !same(split, parts)) throw new Error(`results differ from tfjs for ${k} inputs (SIMD ${on})`);
    tf.dispose([fast, ...split]);
  }
  const fused = concatChannels(parts, leaky);
  if (!same([fused], [wholeLeaky])) throw new Error(`LeakyReLU concat differs from tfjs for ${k} inputs`);
  tf.dispose([fused, wholeLeaky]);
  const bytes = whole.size * 4;
  const tConcat = time(() => tf.concat(parts, 3));
  const tJs = withChannelCopy(false, () => time(() => concatChannels(parts)));
  const tSimd = time(() => concatChannels(parts));
  const tLeakyThenConcat = time(() => tf.tidy(() => concatChannels(parts.map((t, i) => (i > 0 ? tf.leakyRelu(t, ALPHA) : t)))));
  const tLeaky = time(() => concatChannels(parts, leaky));
  const tSplit = time(() => tf.split(whole, sizes, 3));
  const tJsSplit = withChannelCopy(false, () => time(() => splitChannels(whole, sizes)));
  const tSimdSplit = time(() => splitChannels(whole, sizes));
  const tZeros = time(() => tf.zeros(whole.shape));
  whole.dispose();
  const f = (v: number) => v.toFixed(2);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}x`;
  console.log(
    `| ${k} | ${channels} | ${(bytes / 1e6).toFixed(1)} | ${f(tConcat)} | ${f(tJs)} | ${f(tSimd)} | ${x(tConcat, tSimd)} | ${x(tJs, tSimd)} | ` +
      `${f(tLeakyThenConcat)} | ${f(tLeaky)} | ${f(tSplit)} | ${f(tJsSplit)} | ${f(tSimdSplit)} | ${x(tSplit, tSimdSplit)} | ${x(tJsSplit, tSimdSplit)} | ` +
      `${f(tZeros)} | ${(bytes / 1e6 / tZeros).toFixed(1)} | ${((2 * bytes) / 1e6 / tSimd).toFixed(1)} |`,
  );
}
tf.dispose(feats);
