import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, realpath, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { imageTensor, roundTripPsnrY, samplePatches, type IrnTrainer, type StepReport, type TrainImage } from '@irn/core';
import { fileSystem } from '@irn/core/node';
import { onInterrupt, removeOwnFolderSync, takeOverSignal } from '../cli/interrupt.js';
import { checkCheckpointFolder, saveCheckpoint } from './checkpoint-node.js';
import { DataParallelTrainer } from './parallel-node.js';

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

/** The files of a model folder that {@link runTraining} writes: model.json, weight shards, best.json. */
const isOutputFile = (name: string): boolean => name === 'model.json' || name === 'best.json' || /^group1-shard\d+of\d+\.bin$/.test(name);

/**
 * Whether `dir` may receive the best model of a training run (Node only): it does not exist,
 * is an empty folder, or holds only the files of a model folder (`model.json`,
 * `group1-shard*.bin`, `best.json`, as regular files), which the run overwrites (the CLI
 * asks for `--force` or `--resume` first). Those are
 * the only files a run ever writes or deletes there.
 *
 * @throws Error (one line, naming the folder and the first other entry) for anything else.
 */
export async function checkOutputFolder(dir: string): Promise<'missing' | 'empty' | 'model'> {
  const root = resolve(dir);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read ${root}: ${(e as Error).message}`);
    if (await lstat(root).then(() => true, () => false)) throw new Error(`${root} is a symbolic link to a path that does not exist`);
    return 'missing';
  }
  if (!st.isDirectory()) throw new Error(`${root} is not a folder`);
  const entries = await readdir(root, { withFileTypes: true });
  for (const e of entries) {
    if (!(isOutputFile(e.name) && e.isFile())) {
      throw new Error(
        `${root} holds ${e.name}${e.isSymbolicLink() ? ' (a symbolic link)' : ''}, which is not a file of a model irn train writes ` +
          '(model.json, group1-shard*.bin, best.json); give a new or empty folder, or a model folder to replace (with --force)',
      );
    }
  }
  return entries.length === 0 ? 'empty' : 'model';
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
  /**
   * Where the best model by validation PSNR goes, with `best.json` (see
   * {@link checkOutputFolder} for what it may hold beforehand).
   */
  outDir: string;
  /**
   * Best score so far and its step (from a checkpoint when resuming): a model is written to
   * `outDir` only when validation beats it.
   */
  best?: number;
  bestStep?: number;
  /**
   * Whether `outDir` holds the model of `bestStep` (from a checkpoint when resuming). Default:
   * whether `best` is finite (checkpoints older than this option saved every best).
   */
  bestSaved?: boolean;
  /** Saved in every checkpoint's `extra` next to the best score (e.g. the command line). */
  args: unknown;
  /** The caller's own state at each checkpoint, saved in `extra.state` (e.g. an adapted loss weight). */
  state?: () => unknown;
  /** The model's `source` metadata when saved at `step`. */
  source: (step: number) => string;
  /** What the step-0 validation line says about the model, e.g. "(the Haar transform)". */
  initialNote: string;
  /**
   * Whether the step-0 model is written to `outDir` (fine-tuning: a copy of the starting
   * model, so the run never ends with less than it began with). Default false: the step-0
   * score is still the bar later steps must beat before anything is written.
   */
  saveInitial?: boolean;
  /** Where the progress lines go. */
  log: (line: string) => void;
  /**
   * Worker threads that compute shards of each batch next to the calling thread
   * ({@link DataParallelTrainer}); 0 (the default) trains in the calling thread alone.
   */
  workers?: number;
  /**
   * A step of the caller's own in place of `trainer.trainStep` (e.g. a decoder trained on a
   * real codec's output, which needs an async encode): it must finish the step through
   * `trainer.applyGradients`, so that checkpoints, resume and the schedule work as for the
   * standard step. Not with `workers` > 0.
   */
  step?: (xHr: tf.Tensor4D) => Promise<StepReport>;
  /** The validation score (higher is better) in place of {@link validationPsnr} over `val`. */
  validate?: () => Promise<number>;
}

/** What {@link runTraining} ends with. */
export interface TrainingRunResult {
  /** Steps done by the trainer in all. */
  step: number;
  /** Steps done by this call. */
  steps: number;
  /** Best validation score so far (the starting model's when nothing beat it) and its step. */
  best: number;
  bestStep: number;
  /** Whether `outDir` holds the model of `bestStep` (false: nothing beat the starting model). */
  saved: boolean;
  /** Whether SIGINT or SIGTERM stopped the run early (a checkpoint was saved). */
  interrupted: boolean;
}

/**
 * The training loop shared by `irn train` and `packages/core/scripts/train-x2.ts` (Node only): samples a
 * batch, takes a step, prints a progress line every `logEvery` steps (loss terms averaged
 * since the previous line, gradient norm, steps/s, ETA, live tensors), validates every
 * `valEvery` steps and at the end, saves the model to `outDir` whenever validation beats the
 * best so far (at first the starting model: for a new model, the Haar transform), and writes
 * a checkpoint every `ckptEvery` steps, at the end, and on SIGINT/SIGTERM (after which it
 * stops). With `workers` > 0 each batch is split over worker threads too. When the trainer is
 * already at `totalSteps`, it validates once, reports the score and writes nothing.
 *
 * `ckptDir` and `outDir` are checked before any work ({@link checkCheckpointFolder},
 * {@link checkOutputFolder}); the run writes only its own files there, each model into a
 * fresh folder first and then renamed into place.
 *
 * @throws Error when the loss or the gradient stops being finite; the message says where the
 *   last good checkpoint and the best model are. Files this run created in `outDir` are
 *   removed first when they only held a copy of the starting model.
 */
export async function runTraining(o: TrainingRunOptions): Promise<TrainingRunResult> {
  const { trainer, totalSteps, log } = o;
  const workers = o.workers ?? 0;
  if (!Number.isInteger(workers) || workers < 0) throw new RangeError(`workers must be an integer >= 0, got ${workers}`);
  if (o.step != null && workers > 0) throw new RangeError('a custom step runs in the calling thread only: workers must be 0');
  let best = o.best ?? -Infinity;
  let bestStep = o.bestStep ?? 0;
  let bestSaved = o.bestSaved ?? Number.isFinite(best);
  await checkCheckpointFolder(o.ckptDir);
  await checkOutputFolder(o.outDir);
  const outDir = resolve(o.outDir);
  const validate = async (): Promise<number> => (o.validate != null ? o.validate() : validationPsnr(trainer, o.val));

  // What this run created in outDir, so that a failed run can take back exactly that.
  const created = new Set<string>();
  let createdDir: string | null = null;
  async function writeBest(psnr: number): Promise<void> {
    const made = await mkdir(outDir, { recursive: true });
    if (made !== undefined && createdDir == null) createdDir = made;
    const target = await realpath(outDir);
    await checkOutputFolder(target);
    // The model goes to a folder of our own first (an unpredictable name, created exclusively),
    // then each file is renamed into place: a rename replaces a directory entry and never
    // follows a link planted in outDir.
    const tmp = join(dirname(target), `.${basename(target)}.tmp-${randomBytes(6).toString('hex')}`);
    await mkdir(tmp);
    // A closed terminal (SIGHUP, which training does not take over) ends irn with this folder gone.
    const release = onInterrupt(() => removeOwnFolderSync(tmp));
    try {
      trainer.model.source = o.source(trainer.step);
      await trainer.model.save(fileSystem(tmp));
      await writeFile(
        join(tmp, 'best.json'),
        JSON.stringify({ step: trainer.step, valPsnrY: psnr, validation: o.valNames, time: new Date().toISOString() }, null, 1) + '\n',
        { flag: 'wx' },
      );
      const names = (await readdir(tmp)).filter(isOutputFile);
      // Shards first, model.json and best.json last: model.json never names a missing shard.
      names.sort((a, b) => Number(a === 'model.json' || a === 'best.json') - Number(b === 'model.json' || b === 'best.json'));
      for (const name of names) {
        const existing = await lstat(join(target, name)).catch(() => null);
        if (existing != null && !existing.isFile()) throw new Error(`${join(target, name)} is not a regular file; not replacing it`);
        await rename(join(tmp, name), join(target, name));
        if (existing == null) created.add(join(target, name));
      }
    } finally {
      for (const name of await readdir(tmp).catch(() => [] as string[])) if (isOutputFile(name)) await unlink(join(tmp, name)).catch(() => undefined);
      await rmdir(tmp).catch(() => undefined);
      release();
    }
  }
  async function removeCreated(): Promise<void> {
    for (const file of created) {
      const st = await lstat(file).catch(() => null);
      if (st?.isFile() === true) await unlink(file);
    }
    if (createdDir != null) await rmdir(createdDir).catch(() => undefined);
  }

  let stopping = false;
  const handlers = (['SIGINT', 'SIGTERM'] as const).map((sig) => {
    const handler = () => {
      log(`${sig}: saving a checkpoint and stopping`);
      stopping = true;
    };
    process.on(sig, handler);
    // The CLI's own handler (cli/interrupt.ts), which would end the process at once, stands aside.
    return [sig, handler, takeOverSignal(sig)] as const;
  });

  let parallel: DataParallelTrainer | null = null;
  const startStep = trainer.step;
  // The checkpoint a failed run can go back to: the one it resumed from, then its own.
  let lastCheckpoint: number | null = startStep > 0 ? startStep : null;
  try {
    if (startStep >= totalSteps) {
      // Nothing to train: the score of the model as it is, and no files touched.
      const p = await validate();
      const note = startStep === 0 ? ` ${o.initialNote}` : '';
      log(`step ${startStep} val PSNR-Y ${p.toFixed(3)} dB${note}; nothing to train (at step ${startStep} of ${totalSteps}), nothing written`);
      return { step: startStep, steps: 0, best: Number.isFinite(best) ? best : p, bestStep: Number.isFinite(best) ? bestStep : startStep, saved: bestSaved, interrupted: false };
    }
    if (workers > 0) {
      parallel = await DataParallelTrainer.start(trainer, { workers });
      log(`data-parallel: each batch of ${o.batch} split over ${parallel.threads} threads (this one and ${workers} worker${workers === 1 ? "" : "s"})`);
    }
    const extra = () => ({ bestPsnr: best, bestStep, bestSaved, args: o.args, ...(o.state != null ? { state: o.state() } : {}) });
    const checkpoint = async (): Promise<void> => {
      await saveCheckpoint(o.ckptDir, trainer, extra());
      lastCheckpoint = trainer.step;
    };
    const sums = { total: 0, fit: 0, rec: 0, dist: 0, rate: 0, n: 0 };
    let tLog = Date.now();
    const tStart = Date.now();
    if (startStep === 0) {
      const p = await validate();
      let note = o.initialNote;
      if (p > best) {
        // The starting model is the bar: nothing worse than it is ever written to outDir.
        best = p;
        bestStep = 0;
        bestSaved = false;
        if (o.saveInitial === true) {
          await writeBest(p);
          bestSaved = true;
          note += ' (best, saved)';
        }
      }
      log(`step 0 val PSNR-Y ${p.toFixed(3)} dB ${note}`);
    }
    try {
      while (trainer.step < totalSteps && !stopping) {
        const x = samplePatches(o.train, trainer.rng, o.batch, o.patch);
        let r;
        try {
          r = parallel != null ? await parallel.trainStep(x) : o.step != null ? await o.step(x) : trainer.trainStep(x);
        } finally {
          x.dispose();
        }
        sums.total += r.total;
        sums.fit += r.fit;
        sums.rec += r.rec;
        sums.dist += r.dist;
        sums.rate += r.rate ?? Number.NaN;
        sums.n++;
        // A non-finite gradient leaves the weights non-finite after this step even when the
        // loss was finite: neither may reach a checkpoint.
        if (!Number.isFinite(r.total) || !Number.isFinite(r.gradNorm)) {
          throw new NonFiniteLoss(`${Number.isFinite(r.total) ? `gradient norm is ${r.gradNorm}` : `loss is ${r.total}`} at step ${r.step}`);
        }
        if (r.step % o.logEvery === 0) {
          const now = Date.now();
          const sps = sums.n / ((now - tLog) / 1000);
          const eta = (totalSteps - r.step) / sps;
          const n = sums.n;
          log(
            `step ${r.step} lr ${r.lr.toExponential(2)} loss ${(sums.total / n).toFixed(2)} fit ${(sums.fit / n).toFixed(3)} ` +
              `rec ${(sums.rec / n).toFixed(1)} dist ${(sums.dist / n).toFixed(2)}${Number.isNaN(sums.rate) ? '' : ` rate ${(sums.rate / n).toFixed(3)} bpp`} |g| ${r.gradNorm.toFixed(2)} ` +
              `${sps.toFixed(3)} steps/s (${(1000 / sps).toFixed(0)} ms/step) ETA ${(eta / 60).toFixed(1)} min tensors ${tf.memory().numTensors}`,
          );
          Object.assign(sums, { total: 0, fit: 0, rec: 0, dist: 0, rate: 0, n: 0 });
          tLog = now;
        }
        if (r.step % o.valEvery === 0 || r.step === totalSteps) {
          const p = await validate();
          const improved = p > best;
          if (improved) {
            await writeBest(p);
            best = p;
            bestStep = r.step;
            bestSaved = true;
          }
          log(`step ${r.step} val PSNR-Y ${p.toFixed(3)} dB${improved ? ' (best, saved)' : ` (best ${score(best)} at ${bestStep})`}`);
        }
        if (r.step % o.ckptEvery === 0 || r.step === totalSteps) await checkpoint();
        // Lets a pending SIGINT/SIGTERM handler run between steps.
        await new Promise((res) => setImmediate(res));
      }
    } catch (e) {
      if (!(e instanceof NonFiniteLoss)) throw e;
      // Only a copy of the starting model (or nothing) came from this run: take it back.
      if (!(bestSaved && bestStep > startStep) && created.size > 0) {
        await removeCreated();
        bestSaved = false;
      }
      const ckpt =
        lastCheckpoint != null
          ? `the last checkpoint with finite weights is step ${lastCheckpoint} in ${resolve(o.ckptDir)} (resume from it with a lower learning rate)`
          : 'no checkpoint was written (start again with a lower learning rate)';
      const out = bestSaved
        ? `the best model (val PSNR-Y ${best.toFixed(3)} dB, step ${bestStep}) is in ${outDir}`
        : `nothing was written to ${outDir}`;
      throw new Error(`${e.message}; stopped: ${ckpt}; ${out}`);
    }
    if (stopping) await checkpoint();
    log(
      `done: step ${trainer.step}, ${trainer.step - startStep} steps in ${((Date.now() - tStart) / 60000).toFixed(1)} min, ` +
        `best val PSNR-Y ${score(best)}${Number.isFinite(best) ? ' dB' : ''} at step ${bestStep}${bestSaved ? '' : ` (the starting model; nothing written to ${outDir})`}`,
    );
    return { step: trainer.step, steps: trainer.step - startStep, best, bestStep, saved: bestSaved, interrupted: stopping };
  } finally {
    for (const [sig, handler, release] of handlers) {
      process.off(sig, handler);
      release();
    }
    await parallel?.close();
  }
}

/** A best score for a log line: "none" until a validation gave a number (never "-Infinity"). */
const score = (v: number): string => (Number.isFinite(v) ? v.toFixed(3) : 'none');

/** A loss or gradient that stopped being finite (turned into the user's error by runTraining). */
class NonFiniteLoss extends Error {}
