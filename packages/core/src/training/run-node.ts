import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { imageTensor, samplePatches, type TrainImage } from '../data/patches.js';
import { fileSystem } from '../io/fs-handler.js';
import { saveCheckpoint } from './checkpoint-node.js';
import { DataParallelTrainer } from './parallel-node.js';
import type { IrnTrainer } from './trainer.js';
import { roundTripPsnrY } from './validate.js';

/**
 * Centre crops `[1, h, w, 3]` of at most `size` px per side, `h` and `w` rounded down to
 * multiples of `scale`, of the validation images; small crops keep validation to a few
 * seconds on one core. The caller disposes them.
 */
export function validationCrops(images: readonly TrainImage[], size: number, scale: number): tf.Tensor4D[] {
  return images.map((v) => {
    // Even sizes and offsets, as in the first x2 and x4 runs, whose validation scores are on record.
    const full = imageTensor(v, 2);
    const [, h, w] = full.shape;
    const ch = Math.min(h, size) - (Math.min(h, size) % Math.max(2, scale));
    const cw = Math.min(w, size) - (Math.min(w, size) % Math.max(2, scale));
    if (ch < 1 || cw < 1) throw new Error(`validation image ${v.name ?? ''} (${v.width}x${v.height}) is smaller than the scale ${scale}`);
    const crop = tf.slice(full, [0, ((h - ch) >> 2) * 2, ((w - cw) >> 2) * 2, 0], [1, ch, cw, 3]) as tf.Tensor4D;
    full.dispose();
    return crop;
  });
}

/** Mean round-trip PSNR-Y (dB) of the model over validation crops (see {@link roundTripPsnrY}). */
export function validationPsnr(trainer: IrnTrainer, crops: readonly tf.Tensor4D[]): number {
  const scores = crops.map((x) => roundTripPsnrY(trainer.model, x));
  return scores.reduce((a, b) => a + b, 0) / scores.length;
}

/** Options of {@link runTraining}. */
export interface TrainingRunOptions {
  /** The trainer (fresh, fine-tuning or restored from a checkpoint). */
  trainer: IrnTrainer;
  /** Training images; patches are drawn from them with the trainer's generator. */
  train: readonly TrainImage[];
  /** Validation crops `[1, h, w, 3]` (see {@link validationCrops}); their names go to best.json. */
  val: readonly tf.Tensor4D[];
  /** Names of the validation images, recorded in best.json. */
  valNames: readonly string[];
  batch: number;
  patch: number;
  /** Train until the trainer has done this many steps. */
  totalSteps: number;
  logEvery: number;
  valEvery: number;
  ckptEvery: number;
  /** Checkpoint directory (see saveCheckpoint). */
  ckptDir: string;
  /** Where the best model by validation PSNR goes, with `best.json`. */
  outDir: string;
  /** Best score so far and its step (from a checkpoint when resuming). */
  best?: number;
  bestStep?: number;
  /** Saved in every checkpoint's `extra` next to the best score (e.g. the command line). */
  args: unknown;
  /** The model's `source` metadata when saved at `step`. */
  source: (step: number) => string;
  /** What the step-0 validation line says about the model, e.g. "(the Haar transform)". */
  initialNote: string;
  /** Whether the step-0 model counts as a candidate for `outDir` (fine-tuning: yes). Default false. */
  saveInitial?: boolean;
  /** Where the progress lines go. */
  log: (line: string) => void;
  /**
   * Worker threads that compute shards of each batch next to the calling thread
   * ({@link DataParallelTrainer}); 0 (the default) trains in the calling thread alone.
   */
  workers?: number;
}

/** What {@link runTraining} ends with. */
export interface TrainingRunResult {
  /** Steps done by the trainer in all. */
  step: number;
  /** Steps done by this call. */
  steps: number;
  best: number;
  bestStep: number;
  /** Whether SIGINT or SIGTERM stopped the run early (a checkpoint was saved). */
  interrupted: boolean;
}

/**
 * The training loop shared by `irn train` and `scripts/train-x2.ts` (Node only): samples a
 * batch, takes a step, prints a progress line every `logEvery` steps (loss terms averaged
 * since the previous line, gradient norm, steps/s, ETA, live tensors), validates every
 * `valEvery` steps and at the end, saves the model to `outDir` whenever validation improves,
 * and writes a checkpoint every `ckptEvery` steps, at the end, and on SIGINT/SIGTERM (after
 * which it stops). With `workers` > 0 each batch is split over worker threads too.
 *
 * @throws Error when the loss stops being finite.
 */
export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const { trainer, totalSteps, log } = o;
  const workers = o.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be an integer >= 0, got ${workers}`);
  let best = o.best ?? -Infinity;
  let bestStep = o.bestStep ?? 0;
  const outDir = resolve(o.outDir);
  const validate = () => validationPsnr(trainer, o.val);
  async function writeBest(psnr: number): Promise<void> {
    await mkdir(outDir, { recursive: true });
    trainer.model.source = o.source(trainer.step);
    await trainer.model.save(fileSystem(outDir));
    await writeFile(
      join(outDir, 'best.json'),
      JSON.stringify({ step: trainer.step, valPsnrY: psnr, validation: o.valNames, time: new Date().toISOString() }, null, 1) + '\n',
    );
  }

  let stopping = false;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const handler = () => {
      log(`${sig}: saving a checkpoint and stopping`);
      stopping = true;
    };
    process.on(sig, handler);
    return [sig, handler] as const;
  });

  let parallel: DataParallelTrainer | null = null;
  try {
    if (workers > 0) {
      parallel = await DataParallelTrainer.start(trainer, { workers });
      log(`data-parallel: each batch of ${o.batch} split over ${parallel.threads} threads (this one and ${workers} worker${workers === 1 ? "" : "s"})`);
    }
    const extra = () => ({ bestPsnr: best, bestStep, args: o.args });
    const sums = { total: 0, fit: 0, rec: 0, dist: 0, n: 0 };
    let tLog = Date.now();
    const tStart = Date.now();
    const startStep = trainer.step;
    if (startStep === 0) {
      const p = validate();
      let note = o.initialNote;
      if (o.saveInitial === true && p > best) {
        best = p;
        bestStep = 0;
        await writeBest(p);
        note += ' (best, saved)';
      }
      log(`step 0 val PSNR-Y ${p.toFixed(3)} dB ${note}`);
    }
    while (trainer.step < totalSteps && !stopping) {
      const x = samplePatches(o.train, trainer.rng, o.batch, o.patch);
      let r;
      try {
        r = parallel != null ? await parallel.trainStep(x) : trainer.trainStep(x);
      } finally {
        x.dispose();
      }
      sums.total += r.total;
      sums.fit += r.fit;
      sums.rec += r.rec;
      sums.dist += r.dist;
      sums.n++;
      if (!Number.isFinite(r.total)) throw new Error(`loss is ${r.total} at step ${r.step}; stopping (resume from the last checkpoint with a lower lr)`);
      if (r.step % o.logEvery === 0) {
        const now = Date.now();
        const sps = sums.n / ((now - tLog) / 1000);
        const eta = (totalSteps - r.step) / sps;
        const n = sums.n;
        log(
          `step ${r.step} lr ${r.lr.toExponential(2)} loss ${(sums.total / n).toFixed(2)} fit ${(sums.fit / n).toFixed(3)} ` +
            `rec ${(sums.rec / n).toFixed(1)} dist ${(sums.dist / n).toFixed(2)} |g| ${r.gradNorm.toFixed(2)} ` +
            `${sps.toFixed(3)} steps/s (${(1000 / sps).toFixed(0)} ms/step) ETA ${(eta / 60).toFixed(1)} min tensors ${tf.memory().numTensors}`,
        );
        Object.assign(sums, { total: 0, fit: 0, rec: 0, dist: 0, n: 0 });
        tLog = now;
      }
      if (r.step % o.valEvery === 0 || r.step === totalSteps) {
        const p = validate();
        const improved = p > best;
        if (improved) {
          best = p;
          bestStep = r.step;
          await writeBest(p);
        }
        log(`step ${r.step} val PSNR-Y ${p.toFixed(3)} dB${improved ? ' (best, saved)' : ` (best ${best.toFixed(3)} at ${bestStep})`}`);
      }
      if (r.step % o.ckptEvery === 0 || r.step === totalSteps) await saveCheckpoint(o.ckptDir, trainer, extra());
      // Lets a pending SIGINT/SIGTERM handler run between steps.
      await new Promise((res) => setImmediate(res));
    }
    if (stopping) await saveCheckpoint(o.ckptDir, trainer, extra());
    log(
      `done: step ${trainer.step}, ${trainer.step - startStep} steps in ${((Date.now() - tStart) / 60000).toFixed(1)} min, ` +
        `best val PSNR-Y ${best.toFixed(3)} dB at step ${bestStep}`,
    );
    return { step: trainer.step, steps: trainer.step - startStep, best, bestStep, interrupted: stopping };
  } finally {
    for (const [sig, handler] of handlers) process.off(sig, handler);
    await parallel?.close();
  }
}
