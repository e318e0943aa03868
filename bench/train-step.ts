// One IRN training step on the wasm backend in Node: ms per step and GFLOP/s, next to plain
// tf.conv2d on the same conv shapes and to the same step in PyTorch (bench/README.md).
//   node --import tsx bench/train-step.ts [--steps 3] [--skip-published] [--skip-torch] [--workers auto|N] [--profile]
// FLOPs are counted analytically: a 3x3 conv costs 2 * 9 * Cin * Cout * H * W * B multiply-adds
// x 2 per forward; a training step is counted as 6 forward passes' worth of conv FLOPs
// (forward (downscale) + inverse (upscale), each with a backward of about twice its forward:
// input gradient and filter gradient). Haar, the bicubic target, element-wise ops and Adam
// are left out (well under 1 % of the FLOPs).
import { execFileSync, spawnSync } from 'node:child_process';
import { cpus, loadavg, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
// Through the packages, as @irn/cli's DataParallelTrainer imports core (one IrnTrainer class).
import { IrnModel, IrnTrainer, levelsOf, type IrnScale } from '@irn/core';
import { useNodeBackend } from '@irn/core/node';
import { DataParallelTrainer, defaultTrainingWorkers } from '../packages/cli/src/index.js';
import { perturbWeights } from '../packages/core/src/testing/perturb.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    steps: { type: 'string', default: '3' },
    'skip-published': { type: 'boolean', default: false },
    'skip-torch': { type: 'boolean', default: false },
    // Worker threads of the data-parallel step (DataParallelTrainer); 0 skips it.
    workers: { type: 'string', default: 'auto' },
    // Also print where one default-model step's kernel time goes (tf.profile).
    profile: { type: 'boolean', default: false },
  },
});
const STEPS = Number(args.steps);
const WORKERS = args.workers === 'auto' ? defaultTrainingWorkers() : Number(args.workers);
if (!Number.isInteger(WORKERS) || WORKERS < 0) throw new Error(`--workers must be auto or an integer >= 0, got ${args.workers}`);

interface Config {
  name: string;
  scale: IrnScale;
  blocks: number;
  growth: number;
  batch: number;
  patch: number;
}
const CONFIGS: Config[] = [
  { name: 'default x2 (4 blocks, growth 16)', scale: 2, blocks: 4, growth: 16, batch: 8, patch: 64 },
  { name: 'published x2 (8 blocks, growth 32)', scale: 2, blocks: 8, growth: 32, batch: 2, patch: 64 },
];

/** One conv of the model: [B, H, W, cin] * [3, 3, cin, cout], and how often it occurs per direction. */
interface ConvShape {
  b: number;
  h: number;
  cin: number;
  cout: number;
  count: number;
}

/** Every 3x3 conv of one direction (forward or inverse) of the model, grouped by shape. */
function convShapes(c: Config): ConvShape[] {
  const shapes = new Map<string, ConvShape>();
  const add = (h: number, cin: number, cout: number) => {
    const key = `${h}/${cin}/${cout}`;
    const s = shapes.get(key) ?? { b: c.batch, h, cin, cout, count: 0 };
    s.count++;
    shapes.set(key, s);
  };
  const dense = (h: number, cin: number, cout: number) => {
    for (let k = 0; k < 4; k++) add(h, cin + k * c.growth, c.growth);
    add(h, cin + 4 * c.growth, cout);
  };
  let channels = 3;
  let h = c.patch;
  for (let l = 0; l < levelsOf(c.scale); l++) {
    channels *= 4;
    h /= 2;
    for (let i = 0; i < c.blocks; i++) {
      dense(h, channels - 3, 3); // F
      dense(h, 3, channels - 3); // G
      dense(h, 3, channels - 3); // H
    }
  }
  return [...shapes.values()];
}

const flops = (s: ConvShape) => 2 * 9 * s.cin * s.cout * s.h * s.h * s.b * s.count;

/** CPU ms (user + system) and wall ms of `fn`. */
function measure(fn: () => void): { cpu: number; wall: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  return { cpu: (c.user + c.system) / 1000, wall: performance.now() - t0 };
}


function makeTrainer(c: Config): IrnTrainer {
  const model = IrnModel.create({ scale: c.scale, blocks: c.blocks, growth: c.growth, seed: 1 });
  tf.tidy(() => void model.forward(tf.zeros([1, c.scale, c.scale, 3])));
  perturbWeights(model.flow.trainableWeights, 1, 0.02);
  return new IrnTrainer(model, { seed: 1 });
}

/** Median wall and CPU ms of one training step, after one warm-up step. */
function trainStepMs(c: Config): { wall: number; cpu: number } {
  const trainer = makeTrainer(c);
  const x = tf.randomUniform([c.batch, c.patch, c.patch, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  trainer.trainStep(x);
  const runs: { cpu: number; wall: number }[] = [];
  for (let i = 0; i < STEPS; i++) runs.push(measure(() => trainer.trainStep(x)));
  x.dispose();
  trainer.dispose();
  trainer.model.dispose();
  return { wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) };
}

/**
 * Median wall ms of one data-parallel step (this thread and `workers` worker threads, each a
 * shard of the batch; gradients summed here), after one warm-up step.
 */
async function parallelStepMs(c: Config, workers: number): Promise<number> {
  const trainer = makeTrainer(c);
  const dp = await DataParallelTrainer.start(trainer, { workers });
  const x = tf.randomUniform([c.batch, c.patch, c.patch, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  try {
    await dp.trainStep(x);
    const runs: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const t0 = performance.now();
      await dp.trainStep(x);
      runs.push(performance.now() - t0);
    }
    return median(runs);
  } finally {
    await dp.close();
    x.dispose();
    trainer.dispose();
    trainer.model.dispose();
  }
}

/** Wall ms of plain tf.conv2d (forward, with bias add) over every conv of one direction. */
function convForwardMs(shapes: ConvShape[]): number {
  let total = 0;
  for (const s of shapes) {
    const x = tf.randomUniform([s.b, s.h, s.h, s.cin], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, s.cin, s.cout], 0, 0.05, 'float32', 2) as tf.Tensor4D;
    const bias = tf.zeros([s.cout]);
    const once = () => tf.tidy(() => void tf.add(tf.conv2d(x, w, 1, 'same'), bias).dataSync());
    once();
    const times = [0, 1, 2].map(() => measure(once).wall);
    total += median(times) * s.count;
    tf.dispose([x, w, bias]);
  }
  return total;
}

function torchAvailable(): boolean {
  if (args['skip-torch']) return false;
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Median wall and CPU ms per step of bench/train-step-torch.py with `threads` threads. */
function torchStepMs(c: Config, threads: number): { wall: number; cpu: number } {
  const out = execFileSync(
    '/usr/bin/python3',
    ['bench/train-step-torch.py', '--scale', `${c.scale}`, '--blocks', `${c.blocks}`, '--growth', `${c.growth}`, '--batch', `${c.batch}`,
      '--patch', `${c.patch}`, '--steps', `${STEPS}`, '--threads', `${threads}`],
    { encoding: 'utf8' },
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as { msPerStep: number[]; cpuMsPerStep: number[] };
  return { wall: median(r.msPerStep), cpu: median(r.cpuMsPerStep) };
}

await useNodeBackend('wasm');
const withTorch = torchAvailable();
console.log(
  `${new Date().toISOString().slice(0, 10)}, ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ` +
    `${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, tfjs ${tf.version_core} ${tf.getBackend()} (1 thread); ` +
    `load average at start ${loadavg().map((l) => l.toFixed(2)).join(' ')}; ${STEPS} timed steps after 1 warm-up, medians\n`,
);
const header = ['model', 'batch x patch', 'GFLOP/step', 'wasm ms/step wall (CPU)', 'wasm GFLOP/s (per CPU s)', 'tf.conv2d fwd GFLOP/s'];
if (WORKERS > 0) header.push(`wasm data-parallel, ${WORKERS + 1} threads, ms/step wall`, 'data-parallel speed-up (wall)');
if (withTorch) {
  header.push('torch 1 thr ms/step wall (CPU)', 'torch 2 thr ms/step wall (CPU)', 'wasm speed / torch 1 thr (CPU time)', 'wasm speed / torch 2 thr (wall)');
  if (WORKERS > 0) header.push('data-parallel speed / torch 1 thr (wall)', 'data-parallel speed / torch 2 thr (wall)');
}
const rows: string[][] = [];
for (const c of CONFIGS) {
  if (args['skip-published'] && c.blocks === 8) continue;
  const shapes = convShapes(c);
  const fwd = shapes.reduce((n, s) => n + flops(s), 0);
  const stepFlops = 6 * fwd;
  const step = trainStepMs(c);
  const convMs = convForwardMs(shapes);
  const row = [
    c.name,
    `${c.batch} x ${c.patch}`,
    (stepFlops / 1e9).toFixed(2),
    `${step.wall.toFixed(0)} (${step.cpu.toFixed(0)})`,
    `${(stepFlops / 1e6 / step.wall).toFixed(1)} (${(stepFlops / 1e6 / step.cpu).toFixed(1)})`,
    (fwd / 1e6 / convMs).toFixed(1),
  ];
  const dp = WORKERS > 0 ? await parallelStepMs(c, WORKERS) : 0;
  if (WORKERS > 0) row.push(dp.toFixed(0), `${(step.wall / dp).toFixed(2)}x`);
  if (withTorch) {
    const t1 = torchStepMs(c, 1);
    const t2 = torchStepMs(c, 2);
    const ms = (t: { wall: number; cpu: number }) => `${t.wall.toFixed(0)} (${t.cpu.toFixed(0)})`;
    row.push(ms(t1), ms(t2), `${(t1.cpu / step.cpu).toFixed(2)}x`, `${(t2.wall / step.wall).toFixed(2)}x`);
    if (WORKERS > 0) row.push(`${(t1.wall / dp).toFixed(2)}x`, `${(t2.wall / dp).toFixed(2)}x`);
  }
  rows.push(row);
}
console.log(`| ${header.join(' | ')} |\n|${header.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
if (!withTorch) console.log('\n(PyTorch not measured: /usr/bin/python3 cannot import torch, or --skip-torch)');

if (args.profile) {
  // Kernel time of one step of the default model by kernel name. tf.profile times every kernel
  // separately (slower than a plain step). It also lists wrappers around kernels it already
  // counts: a custom gradient's forward ("unnamed scope") and ops such as `fusedConv2d__op`;
  // those are left out of the total.
  const c = CONFIGS[0];
  const trainer = makeTrainer(c);
  const x = tf.randomUniform([c.batch, c.patch, c.patch, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  trainer.trainStep(x);
  const info = await tf.profile(() => void trainer.trainStep(x));
  const byName = new Map<string, number>();
  for (const k of info.kernels.filter((k) => k.name !== 'unnamed scope' && !k.name.endsWith('__op'))) byName.set(k.name, (byName.get(k.name) ?? 0) + ((await k.kernelTimeMs) as number));
  const total = [...byName.values()].reduce((a, b) => a + b, 0);
  const top = [...byName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`\n${c.name}, one step profiled (${total.toFixed(0)} ms of kernel time): ` + top.map(([n, ms]) => `${n} ${((100 * ms) / total).toFixed(1)} %`).join(', '));
  x.dispose();
  trainer.dispose();
  trainer.model.dispose();
}
