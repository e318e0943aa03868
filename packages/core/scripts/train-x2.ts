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
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../src/backend/node-backend.js';
import { loadTrainingFolders } from '../../cli/src/data/image-folder.js';
import { fileSystem } from '../src/io/fs-handler.js';
import { IrnModel } from '../src/model/irn.js';
import { loadCheckpoint } from '../../cli/src/training/checkpoint-node.js';
import type { LrSchedule } from '../src/training/schedule.js';
import { defaultTrainingWorkers } from '../../cli/src/training/parallel-node.js';
import { runTraining, validationCrops } from '../../cli/src/training/run-node.js';
import { IrnTrainer } from '../src/training/trainer.js';

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
    // Worker threads sharing each batch (DataParallelTrainer); 'auto': CPU cores - 1.
    workers: { type: 'string', default: 'auto' },
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
const { train, val } = await loadTrainingFolders(dataRoot, folders, { holdout, minSize: patch });
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
const valTensors = validationCrops(val, num('val-size'), model.config.scale);
await runTraining({
  trainer,
  train,
  val: valTensors,
  valNames: val.map((v) => v.name ?? ''),
  batch,
  patch,
  totalSteps,
  logEvery,
  valEvery,
  ckptEvery,
  ckptDir: args.ckpt!,
  outDir: args.out!,
  best,
  bestStep,
  args,
  source: (step) => `trained by packages/core/scripts/train-x2.ts, step ${step}`,
  initialNote: '(the Haar transform)',
  log: (line) => console.log(line),
  workers: Math.min(args.workers === 'auto' ? defaultTrainingWorkers() : num('workers'), batch - 1),
});
tf.dispose(valTensors);
