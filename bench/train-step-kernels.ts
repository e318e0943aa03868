/**
 * What core's SIMD channel-copy kernel (packages/core/src/layers/channel-copy.wat) gives a
 * training step on wasm in Node: the default x2 training step (4 blocks, growth 16, batch 8,
 * 64 px HR patches, one thread) with the kernel on (concatenations, splits, and the dense
 * blocks' LeakyReLU and its derivative inside them) and off (`setChannelCopyEnabled(false)`:
 * the JavaScript copies and tfjs's LeakyRelu, Greater, Mul, Select), alternating step by step
 * in one process so that load from other processes hits both alike:
 *
 *   node --import tsx bench/train-step-kernels.ts [--steps 8]
 *
 * Both trainers start from the same weights and batch; their losses after the same number of
 * steps are printed too (equal up to float rounding). Also one `tf.profile` per mode: kernel
 * time by kernel name (wrapper scopes left out).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, IrnTrainer } from '../packages/core/src/index.js';
import { withChannelCopy } from '../packages/core/src/layers/channel-copy.js';
import { useNodeBackend } from '../packages/core/src/node.js';
import { perturbWeights } from '../packages/core/src/testing/perturb.js';

const { values: args } = parseArgs({ options: { steps: { type: 'string', default: '8' } } });
const STEPS = Number(args.steps);
await useNodeBackend('wasm');

function makeTrainer(): IrnTrainer {
  const model = IrnModel.create({ scale: 2, blocks: 4, growth: 16, seed: 1 });
  tf.tidy(() => void model.forward(tf.zeros([1, 2, 2, 3])));
  perturbWeights(model.flow.trainableWeights, 1, 0.02);
  return new IrnTrainer(model, { seed: 1 });
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const x = tf.randomUniform([8, 64, 64, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
const trainers = { on: makeTrainer(), off: makeTrainer() };
const ms: Record<'on' | 'off', number[]> = { on: [], off: [] };
const losses: Record<'on' | 'off', number> = { on: NaN, off: NaN };
for (const mode of ['on', 'off'] as const) withChannelCopy(mode === 'on', () => trainers[mode].trainStep(x)); // warmup
for (let i = 0; i < STEPS; i++) {
  for (const mode of ['on', 'off'] as const) {
    const t0 = performance.now();
    const r = withChannelCopy(mode === 'on', () => trainers[mode].trainStep(x));
    ms[mode].push(performance.now() - t0);
    losses[mode] = r.total;
  }
}
const profiles: Record<string, string> = {};
for (const mode of ['on', 'off'] as const) {
  const info = await withChannelCopy(mode === 'on', () => tf.profile(() => void trainers[mode].trainStep(x)));
  const byName = new Map<string, number>();
  for (const k of info.kernels.filter((k) => k.name !== 'unnamed scope' && !k.name.endsWith('__op'))) {
    byName.set(k.name, (byName.get(k.name) ?? 0) + (k.kernelTimeMs as number));
  }
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10);
  profiles[mode] = `${total.toFixed(0)} ms of kernel time: ` + top.map(([n, t]) => `${n} ${((100 * t) / total).toFixed(1)} %`).join(', ');
}
console.log(`wasm, one thread, default x2 training step (batch 8, 64 px), ${STEPS} alternating steps per mode after one warmup each`);
console.log('| SIMD channel copy | ms/step (median) | speed-up | loss after the last step |');
console.log('|---|---|---|---|');
console.log(`| off (JavaScript copies, tfjs LeakyReLU ops) | ${median(ms.off).toFixed(0)} | 1.00x | ${losses.off.toFixed(4)} |`);
console.log(`| on | ${median(ms.on).toFixed(0)} | ${(median(ms.off) / median(ms.on)).toFixed(2)}x | ${losses.on.toFixed(4)} |`);
console.log(`\nprofile, kernel off: ${profiles.off}\nprofile, kernel on: ${profiles.on}`);
tf.dispose(x);
for (const t of Object.values(trainers)) {
  t.dispose();
  t.model.dispose();
}
