/**
 * The filter gradient of a 3x3 'same' conv as conv.ts computes it (the padded input, its
 * channels in the batch role, correlated with dy as a 32x32 filter, so the GEMM's narrow side
 * is Cout) against the roles swapped (dy, padded, correlated with the input as the filter,
 * so the narrow side is Cin), on the training step's shapes (batch 8, 32x32 LR):
 *
 *   node --import tsx bench/filter-grad-roles.ts [--rounds 5]
 *
 * Both are checked equal before timing; medians of `--rounds` after two warmup calls.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../packages/core/src/node.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(args.rounds);
await useNodeBackend('wasm');
const B = 8;
const H = 32;

/** conv.ts's filter gradient: [3, 3, Cin, Cout]. */
function asShipped(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const xT = tf.transpose(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
    const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.conv2d(xT, dyT, 1, 'valid'), [1, 2, 0, 3]);
  });
}

/** The same with the roles swapped: out[co, 2 - i, 2 - j, ci], reversed and transposed back. */
function swapped(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const dyT = tf.transpose(tf.pad(dy, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
    const xT = tf.transpose(x, [1, 2, 0, 3]) as tf.Tensor4D;
    return tf.transpose(tf.reverse(tf.conv2d(dyT, xT, 1, 'valid'), [1, 2]), [1, 2, 3, 0]);
  });
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
function time(f: () => tf.Tensor): number {
  tf.dispose([f(), f()]);
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    f().dispose();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}

console.log(`wasm, batch ${B}, ${H}x${H}, medians of ${rounds}`);
console.log('| Cin | Cout | as shipped ms | swapped ms | swapped speed-up |');
console.log('|---|---|---|---|---|');
// The dense blocks' conv shapes of the default x2 and x4 models (x4's second level: 45 and 48 channels).
for (const [cin, cout] of [[67, 9], [73, 3], [51, 16], [35, 16], [19, 16], [3, 16], [9, 16], [25, 16], [61, 45], [45, 16], [109, 45]]) {
  const x = tf.randomNormal([B, H, H, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
  const dy = tf.randomNormal([B, H, H, cout], 0, 1, 'float32', 2) as tf.Tensor4D;
  const diff = tf.tidy(() => {
    const a = asShipped(x, dy);
    return tf.max(tf.abs(tf.sub(a, swapped(x, dy)))).dataSync()[0] / tf.max(tf.abs(a)).dataSync()[0];
  });
  if (!(diff < 1e-5)) throw new Error(`the two differ by ${diff} (relative) for Cin ${cin}, Cout ${cout}`);
  const a = time(() => asShipped(x, dy));
  const b = time(() => swapped(x, dy));
  console.log(`| ${cin} | ${cout} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(2)}x |`);
  tf.dispose([x, dy]);
}
