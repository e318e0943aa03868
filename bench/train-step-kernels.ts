/**
 * What core's WebAssembly SIMD kernels (packages/core/src/layers/*.wat) give a training step
 * on wasm in Node: the default x2 training step (4 blocks, growth 16, batch 8, 64 px HR
 * patches, one thread) with the kernels turned on one by one, alternating step by step in one
 * process so that load from other processes hits every mode alike:
 *
 * - none: tfjs-wasm only (the JavaScript concatenations and splits, tfjs's LeakyRelu, Greater,
 *   Mul, Select, XNNPACK's convs, and the filter gradient as a conv with the batch in the
 *   channel role);
 * - + channel copy: the concatenations and splits, with the LeakyReLU and its derivative inside
 *   them (channel-copy.wat);
 * - + filter gradient: the convs' filter and bias gradients (filter-grad.wat);
 * - + forward conv: the convs with a reduction of 128 or more, forward and input gradient
 *   (conv-forward.wat): everything on, as shipped.
 *
 *   node --import tsx bench/train-step-kernels.ts [--steps 8]
 *
 * All trainers start from the same weights and batch; their losses after the same number of
 * steps are printed too (equal up to float rounding). Also one `tf.profile` per mode: kernel
 * time by kernel name (wrapper scopes left out).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, IrnTrainer } from '../packages/core/src/index.js';
import { withChannelCopy } from '../packages/core/src/layers/channel-copy.js';
import { withConvForwardKernel, withFilterGradKernel } from '../packages/core/src/layers/conv-simd.js';
import { useNodeBackend } from '../packages/core/src/node.js';
import { perturbWeights } from '../packages/core/src/testing/perturb.js';
import { median } from './stats.js';

const { values: args } = parseArgs({ options: { steps: { type: 'string', default: '8' } } });
const STEPS = Number(args.steps);
await useNodeBackend('wasm');

function makeTrainer(): IrnTrainer {
  const model = IrnModel.create({ scale: 2, blocks: 4, growth: 16, seed: 1 });
  tf.tidy(() => void model.forward(tf.zeros([1, 2, 2, 3])));
  perturbWeights(model.flow.trainableWeights, 1, 0.02);
  return new IrnTrainer(model, { seed: 1 });
}

/** The modes, each with the kernels that are on: copy, filter gradient, forward conv. */
const MODES = [
  { name: 'none (tfjs-wasm only)', on: [false, false, false] },
  { name: '+ channel copy', on: [true, false, false] },
  { name: '+ filter gradient', on: [true, true, false] },
  { name: '+ forward conv (as shipped)', on: [true, true, true] },
];
const inMode = <T>(m: (typeof MODES)[number], f: () => T): T =>
  withChannelCopy(m.on[0], () => withFilterGradKernel(m.on[1], () => withConvForwardKernel(m.on[2], f)));

const x = tf.randomUniform([8, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
const runs = MODES.map((m) => ({ mode: m, trainer: makeTrainer(), ms: [] as number[], loss: NaN, profile: '' }));
for (const r of runs) inMode(r.mode, () => r.trainer.trainStep(x)); // warmup
for (let i = 0; i < STEPS; i++) {
  for (const r of runs) {
    const t0 = performance.now();
    const out = inMode(r.mode, () => r.trainer.trainStep(x));
    r.ms.push(performance.now() - t0);
    r.loss = out.total;
  }
}
for (const r of runs) {
  const info = await inMode(r.mode, () => tf.profile(() => void r.trainer.trainStep(x)));
  const byName = new Map<string, number>();
  for (const k of info.kernels.filter((k) => k.name !== 'unnamed scope' && !k.name.endsWith('__op'))) {
    byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 8);
  r.profile = `${total.toFixed(0)} ms of kernel time: ` + top.map(([n, t]) => `${n} ${((100 * t) / total).toFixed(1)} %`).join(', ');
}
const base = median(runs[0].ms);
console.log(`wasm, one thread, default x2 training step (batch 8, 64 px), ${STEPS} alternating steps per mode after one warmup each`);
console.log('| core kernels | ms/step (median) | speed-up over none | loss after the last step |');
console.log('|---|---|---|---|');
for (const r of runs) console.log(`| ${r.mode.name} | ${median(r.ms).toFixed(0)} | ${(base / median(r.ms)).toFixed(2)}x | ${r.loss.toFixed(4)} |`);
console.log('');
for (const r of runs) console.log(`profile, ${r.mode.name}: ${r.profile}`);
tf.dispose(x);
for (const r of runs) {
  r.trainer.dispose();
  r.trainer.model.dispose();
}
