/**
 * The filter gradient of a 3x3 'same' conv as conv.ts computes it where core's SIMD kernel
 * does not run (the padded input, its channels in the batch role, correlated with dy as a
 * 32x32 filter, so the GEMM's narrow side is Cout: "conv2d, batch as channels") against
 * other ways to get it, on the training step's shapes (batch 8, 32x32 LR):
 *
 * - core kernel: core's SIMD filter-gradient kernel (conv-simd.ts), what conv.ts runs on
 *   wasm; its time includes the bias gradient, which it computes in the same call;
 * - swapped: the roles swapped (dy, padded, correlated with the input as the filter, so the
 *   narrow side is Cin);
 * - rows: the kernel's column offset folded into the batch and W x B into the channels, so the
 *   conv's filter is 32x1 with 256 input channels;
 * - im2col 1x1: the nine shifted inputs stacked explicitly, then one 1x1 conv (a plain GEMM);
 * - im2col matMul: the nine shifted inputs concatenated per pixel, then `tf.matMul` with the
 *   first operand transposed;
 * - Conv3D grad: tfjs-wasm's own `Conv3DBackpropFilterV2` kernel with a depth of 1.
 *
 *   node --import tsx bench/filter-grad-roles.ts [--rounds 5]
 *
 * All are checked equal to the conv2d one before timing; medians of `--rounds` after two
 * warmup calls.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../packages/core/src/node.js';
import { conv2dFilterBiasGrad } from '../packages/core/src/layers/conv-simd.js';
import { median } from './stats.js';

const { values: args } = parseArgs({ options: { rounds: { type: 'string', default: '5' } } });
const rounds = Number(args.rounds);
await useNodeBackend('wasm');
const B = 8;
const H = 32;

/** conv.ts's filter gradient without the kernel: [3, 3, Cin, Cout]. */
function convBatchAsChannels(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
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

/** The kernel's column offset in the batch, W x B in the channels: a 32x1 filter over 256 channels. */
function rows(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, cin] = x.shape;
    const cout = dy.shape[3];
    const xT = tf.transpose(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D; // [cin, h+2, w+2, b]
    const parts = [0, 1, 2].map((j) => tf.reshape(tf.slice(xT, [0, 0, j, 0], [cin, h + 2, w, b]), [cin, h + 2, 1, w * b]));
    const f = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [h, 1, w * b, cout]) as tf.Tensor4D;
    const o = tf.conv2d(tf.concat(parts, 0) as tf.Tensor4D, f, 1, 'valid'); // [(j, ci), i, 1, cout]
    return tf.transpose(tf.reshape(o, [3, cin, 3, cout]), [2, 0, 1, 3]);
  });
}

/** The nine shifted inputs stacked as [(i, j, ci), 1, 1, h w b], then one 1x1 conv. */
function im2col1x1(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, cin] = x.shape;
    const cout = dy.shape[3];
    const xT = tf.transpose(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), [3, 1, 2, 0]) as tf.Tensor4D;
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) parts.push(tf.reshape(tf.slice(xT, [0, i, j, 0], [cin, h, w, b]), [cin, 1, 1, h * w * b]));
    const f = tf.reshape(tf.transpose(dy, [1, 2, 0, 3]), [1, 1, h * w * b, cout]) as tf.Tensor4D;
    return tf.reshape(tf.conv2d(tf.concat(parts, 0) as tf.Tensor4D, f, 1, 'valid'), [3, 3, cin, cout]);
  });
}

/** The nine shifted inputs concatenated per pixel ([b h w, 9 cin]), then patches^T dy. */
function im2colMatMul(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, cin] = x.shape;
    const cout = dy.shape[3];
    const xp = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const parts: tf.Tensor[] = [];
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) parts.push(tf.slice(xp, [0, i, j, 0], [b, h, w, cin]));
    const p = tf.reshape(tf.concat(parts, 3), [b * h * w, 9 * cin]);
    return tf.reshape(tf.matMul(p, tf.reshape(dy, [b * h * w, cout]), true, false), [3, 3, cin, cout]);
  });
}

/** tfjs-wasm's Conv3DBackpropFilterV2 kernel, depth 1. */
function conv3dGrad(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  return tf.tidy(() => {
    const [b, h, w, cin] = x.shape;
    const cout = dy.shape[3];
    const r = tf.engine().runKernel(
      'Conv3DBackpropFilterV2',
      { x: tf.reshape(x, [b, 1, h, w, cin]), dy: tf.reshape(dy, [b, 1, h, w, cout]) },
      { strides: [1, 1, 1, 1, 1], pad: 'same', filterShape: [1, 3, 3, cin, cout] } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor;
    return tf.reshape(r, [3, 3, cin, cout]);
  });
}

/** Core's SIMD kernel (the bias gradient comes with it and is dropped). */
function coreKernel(x: tf.Tensor4D, dy: tf.Tensor4D): tf.Tensor {
  const got = conv2dFilterBiasGrad(x, dy, 3);
  if (got == null) throw new Error('the filter-gradient kernel does not run here');
  got[1].dispose();
  return got[0];
}

const VARIANTS: [string, (x: tf.Tensor4D, dy: tf.Tensor4D) => tf.Tensor][] = [
  ['core kernel', coreKernel],
  ['swapped', swapped],
  ['rows', rows],
  ['im2col 1x1', im2col1x1],
  ['im2col matMul', im2colMatMul],
  ['Conv3D grad', conv3dGrad],
];

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
console.log(`| Cin | Cout | conv2d, batch as channels ms | ${VARIANTS.map(([n]) => `${n} ms`).join(' | ')} | core kernel GFLOP/s | core kernel speed-up |`);
console.log(`|---|---|---|${VARIANTS.map(() => '---|').join('')}---|---|`);
const totals = new Map<string, number>();
// The dense blocks' conv shapes of the default x2 and x4 models (x4's second level: 45 and 48 channels).
for (const [cin, cout] of [[67, 9], [73, 3], [51, 16], [35, 16], [19, 16], [3, 16], [9, 16], [25, 16], [61, 45], [45, 16], [109, 45]]) {
  const x = tf.randomNormal([B, H, H, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
  const dy = tf.randomNormal([B, H, H, cout], 0, 1, 'float32', 2) as tf.Tensor4D;
  for (const [name, f] of VARIANTS) {
    const diff = tf.tidy(() => {
      const a = convBatchAsChannels(x, dy);
      return tf.max(tf.abs(tf.sub(a, f(x, dy)))).dataSync()[0] / tf.max(tf.abs(a)).dataSync()[0];
    });
    if (!(diff < 1e-5)) throw new Error(`${name} differs by ${diff} (relative) for Cin ${cin}, Cout ${cout}`);
  }
  const shipped = time(() => convBatchAsChannels(x, dy));
  const ms = VARIANTS.map(([, f]) => time(() => f(x, dy)));
  totals.set('as shipped', (totals.get('as shipped') ?? 0) + shipped);
  VARIANTS.forEach(([n], i) => totals.set(n, (totals.get(n) ?? 0) + ms[i]));
  const gflop = (2 * 9 * cin * cout * B * H * H) / 1e9;
  console.log(`| ${cin} | ${cout} | ${shipped.toFixed(1)} | ${ms.map((t) => t.toFixed(1)).join(' | ')} | ${((1e3 * gflop) / ms[0]).toFixed(1)} | ${(shipped / ms[0]).toFixed(2)}x |`);
  tf.dispose([x, dy]);
}
console.log(`| all | | ${totals.get('as shipped')!.toFixed(1)} | ${VARIANTS.map(([n]) => totals.get(n)!.toFixed(1)).join(' | ')} | | ${(totals.get('as shipped')! / totals.get('core kernel')!).toFixed(2)}x |`);
