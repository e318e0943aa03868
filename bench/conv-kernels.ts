/**
 * Core's SIMD forward conv kernel (conv-simd.ts, `IrnConv2D`) against tfjs-wasm's conv2d
 * (XNNPACK, `FusedConv2D` with the bias), in Node on one wasm thread, on every 3x3 conv shape
 * of the default x2 and x4 models' dense blocks: the forward convs (Cin -> Cout) and the
 * input-gradient convs of training (Cout -> Cin), at the training step's size (batch 8,
 * 32 x 32; `--batch`, `--size`).
 *
 *   node --import tsx bench/conv-kernels.ts [--rounds 9] [--batch 8] [--size 32]
 *
 * Checks first that both give the same numbers (bit for bit, as the kernel sums in XNNPACK's
 * order), then prints medians of `--rounds` calls (each read back) after two warmups, GFLOP/s,
 * and whether conv.ts's `conv2dBias` takes the kernel for that shape (reduction k k Cin >=
 * MIN_FORWARD_REDUCTION). Run it on an idle machine.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../packages/core/src/node.js';
import { CONV2D_SAME_BIAS, MIN_FORWARD_REDUCTION } from '../packages/core/src/layers/conv-simd.js';
import { conv2dBias } from '../packages/core/src/layers/conv.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '9' }, batch: { type: 'string', default: '8' }, size: { type: 'string', default: '32' } },
});
const rounds = Number(args.rounds);
const B = Number(args.batch);
const H = Number(args.size);
await useNodeBackend('wasm');
// conv2dBias registers the kernel on first use; make sure it is registered before running it directly.
tf.tidy(() => conv2dBias(tf.zeros([1, 1, 1, 16]) as tf.Tensor4D, tf.zeros([3, 3, 16, 4]) as tf.Tensor4D, tf.zeros([4]) as tf.Tensor1D));

function time(f: () => tf.Tensor): number {
  for (let i = 0; i < 2; i++) {
    const t = f();
    t.dataSync();
    t.dispose();
  }
  const ms: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const t = f();
    t.dataSync();
    ms.push(performance.now() - t0);
    t.dispose();
  }
  return median(ms);
}

// The dense blocks' convs of the default x2 (12 channels at the first level: F 9 -> 3, G/H 3 -> 9)
// and x4 (second level: 48 channels, F 45 -> 3, G/H 3 -> 45) models, growth 16.
const dense = (cin: number, cout: number) => [0, 1, 2, 3, 4].map((i) => [cin + 16 * i, i < 4 ? 16 : cout] as const);
const forward = [...dense(9, 3), ...dense(3, 9), ...dense(45, 3), ...dense(3, 45)];
const shapes = new Map<string, { cin: number; cout: number; role: string }>();
for (const [cin, cout] of forward) {
  shapes.set(`${cin}:${cout}`, { cin, cout, role: shapes.get(`${cin}:${cout}`)?.role ?? 'forward' });
  if (!shapes.has(`${cout}:${cin}`)) shapes.set(`${cout}:${cin}`, { cin: cout, cout: cin, role: 'input gradient' });
}

console.log(`wasm, one thread, batch ${B}, ${H}x${H}, medians of ${rounds}`);
console.log('| Cin | Cout | role | XNNPACK ms | XNNPACK GFLOP/s | core kernel ms | core kernel GFLOP/s | speed-up | conv2dBias takes the kernel |');
console.log('|---|---|---|---|---|---|---|---|---|');
const totals = { xnn: 0, core: 0, chosen: 0 };
for (const { cin, cout, role } of shapes.values()) {
  const x = tf.randomNormal([B, H, H, cin], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, cin, cout], 0, 0.1, 'float32', 2) as tf.Tensor4D;
  const b = tf.randomNormal([cout], 0, 1, 'float32', 3) as tf.Tensor1D;
  const xnn = () => tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same' });
  const core = () => tf.engine().runKernel(CONV2D_SAME_BIAS, { x, filter: w, bias: b }) as tf.Tensor;
  const same = tf.tidy(() => {
    const a = xnn().dataSync();
    const c = core().dataSync();
    return a.length === c.length && a.every((v, i) => v === c[i]);
  });
  if (!same) throw new Error(`the kernel differs from XNNPACK for ${cin} -> ${cout}`);
  const tx = time(xnn);
  const tc = time(core);
  const chosen = 9 * cin >= MIN_FORWARD_REDUCTION;
  totals.xnn += tx;
  totals.core += tc;
  totals.chosen += chosen ? tc : tx;
  const gflop = (2 * 9 * cin * cout * B * H * H) / 1e9;
  console.log(`| ${cin} | ${cout} | ${role} | ${tx.toFixed(2)} | ${((1e3 * gflop) / tx).toFixed(1)} | ${tc.toFixed(2)} | ${((1e3 * gflop) / tc).toFixed(1)} | ${(tx / tc).toFixed(2)}x | ${chosen ? 'yes' : 'no'} |`);
  tf.dispose([x, w, b]);
}
console.log(`| all | | | ${totals.xnn.toFixed(1)} | | ${totals.core.toFixed(1)} | | ${(totals.xnn / totals.core).toFixed(2)}x | as chosen: ${totals.chosen.toFixed(1)} ms, ${(totals.xnn / totals.chosen).toFixed(2)}x |`);
