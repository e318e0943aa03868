/**
 * Trains a small x2 IRN on CPU (wasm backend) and keeps the best weights by validation PSNR
 * on images held out from the training folders (never a test set).
 *
 *   node --import tsx packages/core/scripts/train-x2.ts [--resume] [--steps 3000] ...
 *
 * Writes checkpoints to --ckpt (default .scratch/train-x2/ckpt) every --ckpt-every steps, and
 * the best-so-far model to --out (default weights/irn-x2) whenever validation improves.
 * `--resume` continues exactly from the checkpoint (same batches, same z, same Adam state).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../src/backend/node-backend.js';
import { imageTensor, samplePatches, type TrainImage } from '../src/data/patches.js';
import { loadImageFolder } from '../src/data/image-folder.js';
import { fileSystem } from '../src/io/fs-handler.js';
import { IrnModel } from '../src/model/irn.js';
import { loadCheckpoint, saveCheckpoint } from '../src/training/checkpoint-node.js';
import type { LrSchedule } from '../src/training/schedule.js';
import { IrnTrainer } from '../src/training/trainer.js';
import { roundTripPsnrY } from '../src/training/validate.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.IRN_TRAIN_DATA ?? '../shared/datasets/train' },
    folders: { type: 'string', default: 'cid22,t91,bsd400' },
    holdout: { type: 'string', default: '4' },
    steps: { type: 'string', default: '3000' },
    batch: { type: 'string', default: '8' },
    patch: { type: 'string', default: '64' },
    scale: { type: 'string', default: '2' },
    blocks: { type: 'string', default: '4' },
    growth: { type: 'string', default: '16' },
    lr: { type: 'string', default: '2e-4' },
    'lr-min': { type: 'string', default: '2e-5' },
    warmup: { type: 'string', default: '50' },
    'z-scale': { type: 'string', default: '0' },
    'z-ramp': { type: 'string', default: '' },
    seed: { type: 'string', default: '1' },
    'log-every': { type: 'string', default: '10' },
    'val-every': { type: 'string', default: '100' },
    'ckpt-every': { type: 'string', default: '50' },
    'val-size': { type: 'string', default: '256' },
    out: { type: 'string', default: 'weights/irn-x2' },
    ckpt: { type: 'string', default: '.scratch/train-x2/ckpt' },
    backend: { type: 'string', default: 'wasm' },
    resume: { type: 'boolean', default: false },
  },
});

const num = (k: keyof typeof args): number => {
  const v = Number(args[k]);
  if (!Number.isFinite(v)) throw new Error(`--${k} must be a number, got ${String(args[k])}`);
  return v;
};

const totalSteps = num('steps');
const batch = num('batch');
const patch = num('patch');
const holdout = num('holdout');
const logEvery = num('log-every');
const valEvery = num('val-every');
const ckptEvery = num('ckpt-every');

await useNodeBackend(args.backend as 'wasm' | 'cpu');

// Data: every training folder; the last `holdout` images of the first folder are held out.
const dataRoot = resolve(args.data!);
const folders = args.folders!.split(',').filter(Boolean);
const t0 = Date.now();
const train: TrainImage[] = [];
let val: TrainImage[] = [];
for (const [i, f] of folders.entries()) {
  const imgs = await loadImageFolder(join(dataRoot, f), { minSize: patch });
  if (i === 0) {
    val = imgs.slice(imgs.length - holdout);
    train.push(...imgs.slice(0, imgs.length - holdout));
  } else {
    train.push(...imgs);
  }
}
console.log(
  `data: ${train.length} training images from ${folders.join(', ')} in ${dataRoot}; ` +
    `validation (held out of ${folders[0]}): ${val.map((v) => v.name).join(', ')}; loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
);

const schedule: LrSchedule = { kind: 'cosine', base: num('lr'), min: num('lr-min'), total: totalSteps, warmup: num('warmup') };
let model: IrnModel;
// --z-ramp START,END: z scale 0 before START, rising linearly to --z-scale at END.
const zTarget = num('z-scale');
const ramp = args['z-ramp'] ? args['z-ramp'].split(',').map(Number) : null;
if (ramp != null && !(ramp.length === 2 && ramp.every(Number.isFinite) && ramp[1] > ramp[0])) {
  throw new Error(`--z-ramp must be START,END with END > START, got ${args['z-ramp']}`);
}
const zScaleAt = (step: number): number =>
  ramp == null ? zTarget : zTarget * Math.min(1, Math.max(0, (step - ramp[0]) / (ramp[1] - ramp[0])));
const trainerOptions = { seed: num('seed'), lr: schedule, zScaleAt };
let trainer: IrnTrainer;
let best = -Infinity;
let bestStep = 0;
if (args.resume) {
  const { state, extra } = await loadCheckpoint(args.ckpt!);
  model = await IrnModel.load(fileSystem(join(args.ckpt!, 'model')));
  trainer = new IrnTrainer(model, trainerOptions);
  await trainer.restoreState(state);
  best = typeof extra.bestPsnr === 'number' ? extra.bestPsnr : -Infinity;
  bestStep = typeof extra.bestStep === 'number' ? extra.bestStep : 0;
  console.log(`resumed from ${resolve(args.ckpt!)} at step ${trainer.step} (best ${best.toFixed(3)} dB at step ${bestStep})`);
} else {
  model = IrnModel.create({ scale: num('scale') as 2 | 4 | 8, blocks: num('blocks'), growth: num('growth'), seed: num('seed') });
  trainer = new IrnTrainer(model, trainerOptions);
}
console.log(
  `model: x${model.config.scale}, ${model.config.blocks} blocks, growth ${model.config.growth}, ${model.countParams()} weights; ` +
    `batch ${batch}, patch ${patch}, steps ${totalSteps}, lr ${JSON.stringify(schedule)}, zScale ${zTarget}${ramp ? ` ramped over steps ${ramp.join('-')}` : ''}, backend ${tf.getBackend()}`,
);

// Centre crops of at most --val-size px keep validation to a few seconds on one core.
const valSize = num('val-size');
const valTensors = val.map((v) => {
  const full = imageTensor(v, 2);
  const [, h, w] = full.shape;
  const ch = Math.min(h, valSize) & ~1;
  const cw = Math.min(w, valSize) & ~1;
  const crop = tf.slice(full, [0, ((h - ch) >> 2) * 2, ((w - cw) >> 2) * 2, 0], [1, ch, cw, 3]) as tf.Tensor4D;
  full.dispose();
  return crop;
});
function validate(): number {
  const scores = valTensors.map((x) => roundTripPsnrY(model, x));
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}

const outDir = resolve(args.out!);
async function writeBest(psnr: number): Promise<void> {
  await mkdir(outDir, { recursive: true });
  model.source = `trained by packages/core/scripts/train-x2.ts, step ${trainer.step}`;
  await model.save(fileSystem(outDir));
  await writeFile(
    join(outDir, 'best.json'),
    JSON.stringify({ step: trainer.step, valPsnrY: psnr, validation: val.map((v) => v.name), time: new Date().toISOString() }, null, 1) + '\n',
  );
}

let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    console.log(`${sig}: saving a checkpoint and stopping`);
    stopping = true;
  });
}

const extra = () => ({ bestPsnr: best, bestStep, args });
const sums = { total: 0, fit: 0, rec: 0, dist: 0, n: 0 };
let tLog = Date.now();
const tStart = Date.now();
const startStep = trainer.step;
if (startStep === 0) {
  const p = validate();
  console.log(`step 0 val PSNR-Y ${p.toFixed(3)} dB (the Haar transform)`);
}
while (trainer.step < totalSteps && !stopping) {
  const x = samplePatches(train, trainer.rng, batch, patch);
  const r = trainer.trainStep(x);
  x.dispose();
  sums.total += r.total;
  sums.fit += r.fit;
  sums.rec += r.rec;
  sums.dist += r.dist;
  sums.n++;
  if (!Number.isFinite(r.total)) throw new Error(`loss is ${r.total} at step ${r.step}; stopping (resume from the last checkpoint with a lower lr)`);
  if (r.step % logEvery === 0) {
    const now = Date.now();
    const sps = sums.n / ((now - tLog) / 1000);
    const eta = (totalSteps - r.step) / sps;
    const n = sums.n;
    console.log(
      `step ${r.step} lr ${r.lr.toExponential(2)} loss ${(sums.total / n).toFixed(2)} fit ${(sums.fit / n).toFixed(3)} ` +
        `rec ${(sums.rec / n).toFixed(1)} dist ${(sums.dist / n).toFixed(2)} |g| ${r.gradNorm.toFixed(2)} ` +
        `${sps.toFixed(3)} steps/s (${(1000 / sps).toFixed(0)} ms/step) ETA ${(eta / 60).toFixed(1)} min tensors ${tf.memory().numTensors}`,
    );
    Object.assign(sums, { total: 0, fit: 0, rec: 0, dist: 0, n: 0 });
    tLog = now;
  }
  if (r.step % valEvery === 0 || r.step === totalSteps) {
    const p = validate();
    const improved = p > best;
    if (improved) {
      best = p;
      bestStep = r.step;
      await writeBest(p);
    }
    console.log(`step ${r.step} val PSNR-Y ${p.toFixed(3)} dB${improved ? ' (best, saved)' : ` (best ${best.toFixed(3)} at ${bestStep})`}`);
  }
  if (r.step % ckptEvery === 0 || r.step === totalSteps) await saveCheckpoint(args.ckpt!, trainer, extra());
  await new Promise((res) => setImmediate(res));
}
if (stopping) await saveCheckpoint(args.ckpt!, trainer, extra());
console.log(
  `done: step ${trainer.step}, ${(trainer.step - startStep)} steps in ${((Date.now() - tStart) / 60000).toFixed(1)} min, ` +
    `best val PSNR-Y ${best.toFixed(3)} dB at step ${bestStep}`,
);
