import { InvalidArgumentError, Option, type Command } from 'commander';
import { lstat, realpath, stat } from 'node:fs/promises';
import { availableParallelism, totalmem } from 'node:os';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import type { IrnModel, JpegRounding, LrCodecOption, LrSchedule, RasterImage, TrainImage } from '@irn/core';
import type { CliContext } from '../context.js';
import { CliError, failure, oneLine, UsageError } from '../errors.js';
import { modelDirectory } from '../model-path.js';
import { parseSeed } from '../options.js';

interface TrainFlags {
  force?: boolean;
  data: string[];
  out: string;
  scale: string;
  blocks: number;
  growth: number;
  init?: string;
  steps?: number;
  batch: number;
  patch: number;
  lr?: number;
  lrMin?: number;
  warmup: number;
  zScale: number;
  zRamp?: [number, number];
  holdout?: number;
  val?: string;
  valEvery: number;
  valSize: number;
  ckpt?: string;
  ckptEvery: number;
  resume?: boolean;
  seed: number;
  logEvery: number;
  workers?: number;
  lrCodec?: 'jpeg-proxy';
  quality?: [number, number];
  rateWeight?: number;
  codecRounding?: JpegRounding;
}

/** The qualities a model trained with `codec` is validated at: the ends and the middle of its range. */
function codecValQualities(codec: LrCodecOption): number[] {
  const [lo, hi] = typeof codec.quality === 'number' ? [codec.quality, codec.quality] : codec.quality;
  return [...new Set([lo, Math.round((lo + hi) / 2), hi])];
}

/**
 * Mean PSNR-Y (shave = scale, z = 0, 8-bit result) of `model` restoring each validation crop
 * from its LR written as a real JPEG (MozJPEG, as irn downscale writes it) at each quality.
 */
async function codecValidationPsnr(model: IrnModel, crops: readonly Tensor4D[], qualities: readonly number[]): Promise<number> {
  const tf = await import('@tensorflow/tfjs-core');
  const { psnrY } = await import('@irn/core');
  const { decodeLr, encodeLr } = await import('../../image/lr-codecs.js');
  const raster8 = (t: Tensor4D): RasterImage => {
    const [, height, width] = t.shape;
    const data = tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(t, 0, 1), 255)), 255).dataSync() as Float32Array);
    return { width, height, channels: 3, data };
  };
  let sum = 0;
  let n = 0;
  for (const hr of crops) {
    const lrT = model.downscale(hr);
    const lr = raster8(lrT);
    lrT.dispose();
    const ref = raster8(hr);
    for (const quality of qualities) {
      const { image } = await decodeLr(await encodeLr(lr, { format: 'jpeg', quality }));
      const up = tf.tidy(() => model.upscale(tf.tensor4d(image.data, [1, image.height, image.width, image.channels]), { z: 'zeros' }));
      sum += psnrY(raster8(up), ref, { shave: model.scale });
      up.dispose();
      n++;
    }
  }
  return sum / n;
}

/** A parser for an integer >= `min`. */
function integer(what: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got "${value}".`);
    }
    return n;
  };
}

/** A parser for a finite number >= 0. */
function nonNegative(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`${what} must be a number >= 0, got "${value}".`);
    return n;
  };
}

/** `--quality Q` or `LO-HI`: whole JPEG qualities 1-100. */
function parseQualityRange(value: string): [number, number] {
  const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(value);
  const lo = m == null ? NaN : Number(m[1]);
  const hi = m == null ? NaN : Number(m[2] ?? m[1]);
  if (!(lo >= 1 && hi <= 100 && lo <= hi)) {
    throw new InvalidArgumentError(`--quality must be a JPEG quality Q or a range LO-HI, whole numbers from 1 to 100 with LO <= HI, got "${value}".`);
  }
  return [lo, hi];
}

function parseRamp(value: string): [number, number] {
  const parts = value.split(',').map((p) => Number(p));
  if (parts.length !== 2 || !parts.every((p) => Number.isInteger(p) && p >= 0) || parts[1] <= parts[0]) {
    throw new InvalidArgumentError(`--z-ramp must be START,END (steps) with END > START, got "${value}".`);
  }
  return parts as [number, number];
}

async function requireFolder(path: string, what: string): Promise<void> {
  const kind = await stat(path).then((s) => (s.isDirectory() ? 'dir' : 'other'), () => 'missing');
  if (kind !== 'dir') throw new CliError(`${what} ${path} ${kind === 'missing' ? 'does not exist' : 'is not a folder'}`);
}

/**
 * The real path of `path` (symbolic links resolved), also when it does not exist yet: the
 * real path of its deepest existing ancestor joined with the rest.
 */
async function realPathOf(path: string): Promise<string> {
  const abs = resolve(path);
  try {
    return await realpath(abs);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (await lstat(abs).then(() => true, () => false)) {
      throw new UsageError(code === 'ENOENT' ? `${path} is a symbolic link to a path that does not exist` : `cannot resolve ${path}: ${oneLine(e)}`);
    }
    if (code !== 'ENOENT') throw new UsageError(`cannot use ${path}: ${code === 'ENOTDIR' ? 'a part of it is not a folder' : oneLine(e)}`);
    const parent = dirname(abs);
    return parent === abs ? abs : join(await realPathOf(parent), basename(abs));
  }
}

/** How real path `a` relates to real path `b`: the same, inside it, containing it, or apart. */
function relation(a: string, b: string): 'is' | 'is inside' | 'contains' | null {
  const under = (x: string, y: string) => x.startsWith(y.endsWith(sep) ? y : y + sep);
  return a === b ? 'is' : under(a, b) ? 'is inside' : under(b, a) ? 'contains' : null;
}

/**
 * Refuses, before any work, output folders that overlap an input: `--ckpt` and `--out` may
 * not be, contain, or be inside a data folder, the validation folder or the `--init` model
 * folder (links resolved), nor each other. A checkpoint save replaces the folder's files and
 * a better model overwrites `--out`, so an overlap would destroy photos or the model a
 * fine-tune starts from.
 */
async function refuseOverlaps(opts: TrainFlags, ckptDir: string): Promise<void> {
  const sources: { what: string; path: string }[] = opts.data.map((d) => ({ what: 'the data folder', path: d }));
  if (opts.val != null) sources.push({ what: 'the validation folder', path: opts.val });
  if (opts.init != null) {
    const init = await stat(opts.init).then((s) => (s.isFile() ? dirname(opts.init!) : opts.init!), () => null);
    if (init != null) sources.push({ what: 'the --init model folder', path: init });
  }
  const targets = [
    { what: '--out', path: opts.out, real: await realPathOf(opts.out) },
    { what: opts.ckpt != null ? '--ckpt' : 'the checkpoint folder (--ckpt)', path: ckptDir, real: await realPathOf(ckptDir) },
  ];
  for (const t of targets) {
    for (const s of sources) {
      const r = relation(t.real, await realPathOf(s.path));
      if (r == null) continue;
      if (t.what === '--out' && r === 'is' && s.what === 'the --init model folder') {
        throw new UsageError(
          `--out ${opts.out} is the --init model folder: the fine-tuned model would overwrite the model it starts from; write it elsewhere (e.g. --out ${opts.out.replace(/[/\\]+$/, '')}-tuned)`,
        );
      }
      throw new UsageError(
        `${t.what} ${t.path} ${r} ${s.what} ${s.path}: irn train writes and replaces files there; give a folder apart from your photos and models`,
      );
    }
  }
  const rel = relation(targets[1].real, targets[0].real);
  if (rel != null) throw new UsageError(`--ckpt ${ckptDir} ${rel} --out ${opts.out}; give them separate folders`);
}

/** Fine-tuning from existing weights wants a gentler start than training from scratch. */
/**
 * Refuses, before any photo is read, a step whose patches would not fit the tensor memory of
 * the threads that share it (each its own wasm heap of at most 4 GiB; on the cpu backend a
 * share of the machine's memory): `--batch 100000` ran 30 s up to 4 GB and ended in two lines
 * of a wasm abort. The estimate is core's {@link trainStepBytes}, above every measured step.
 */
function checkStepMemory(core: typeof import('@irn/core'), config: IrnModel['config'], batch: number, patch: number, workers: number): void {
  const threads = workers + 1;
  const perThread = Math.ceil(batch / threads);
  const budget = Math.min(core.backendMemoryBudget(), (totalmem() * 0.75) / threads);
  const needed = core.trainStepBytes(config, perThread, patch);
  if (needed <= budget) return;
  const fits = core.samplesFitting(config, patch, budget) * threads;
  const gb = (n: number) => `${(n / 1e9).toFixed(1)} GB`;
  throw new UsageError(
    `a training step of --batch ${batch} patches of ${patch}x${patch} needs about ${gb(needed)} of tensor memory per thread (${perThread} patches in each of ${threads}), ` +
      `more than the ${gb(budget)} available; ${fits > 0 ? `at most ${fits} such patches fit: lower --batch or --patch` : `not one such patch fits: lower --patch${workers > 0 ? ' or --workers' : ''}`}`,
  );
}

const DEFAULTS = {
  scratch: { steps: 3000, lr: 2e-4 },
  fineTune: { steps: 500, lr: 5e-5 },
};

/**
 * `irn train --data <folder...> --out <dir> [...]`: trains an IRN model (or fine-tunes one
 * with `--init`) on folders of photos with the shared loop of training/run-node.ts, keeping
 * the best weights by validation PSNR in `--out` and a resumable checkpoint in `--ckpt`.
 */
export function registerTrain(program: Command, ctx: CliContext): void {
  program
    .command('train')
    .description('train an IRN model, or fine-tune one (--init), on folders of PNG/JPEG/BMP photos; keeps the best weights by validation PSNR')
    .requiredOption('-d, --data <folder...>', 'folders of training photos (PNG, JPEG, BMP; not recursive)')
    .requiredOption('-o, --out <dir>', 'where the best model (by validation PSNR) and best.json are written')
    .addOption(new Option('--scale <n>', 'rescaling factor of a new model').choices(['2', '4', '8']).default('2'))
    .option('--blocks <n>', 'invertible blocks per x2 level of a new model (published: 8)', integer('--blocks', 1), 4)
    .option('--growth <n>', 'dense-block growth of a new model (published: 32)', integer('--growth', 1), 16)
    .option('--init <model-dir>', 'fine-tune this model (e.g. weights/irn-x2); its architecture wins over --scale/--blocks/--growth')
    .option('--steps <n>', `train until this many steps (default ${DEFAULTS.scratch.steps}; ${DEFAULTS.fineTune.steps} with --init)`, integer('--steps', 0))
    .option('--batch <n>', 'patches per step', integer('--batch', 1), 8)
    .option('--patch <px>', 'HR patch side, a multiple of the scale', integer('--patch', 1), 64)
    .option('--lr <rate>', `peak learning rate (default ${DEFAULTS.scratch.lr}; ${DEFAULTS.fineTune.lr} with --init)`, nonNegative('--lr'))
    .option('--lr-min <rate>', 'learning rate at the end of the cosine decay (default --lr / 10)', nonNegative('--lr-min'))
    .option('--warmup <steps>', 'linear learning-rate warm-up steps', integer('--warmup', 0), 50)
    .option('--z-scale <s>', 'std of the z drawn in the reconstruction term (paper: 1; 0 trains more stably)', nonNegative('--z-scale'), 0)
    .option('--z-ramp <start,end>', 'ramp the z scale from 0 at step START to --z-scale at END', parseRamp)
    .option('--holdout <n>', 'photos held out of --data for validation (the last n read; default 1 per 10, 1 to 4)', integer('--holdout', 0))
    .option('--val <folder>', 'validate on this folder instead of photos held out of --data')
    .option('--val-every <n>', 'validate (and maybe save --out) every n steps, and at the end', integer('--val-every', 1), 100)
    .option('--val-size <px>', 'validate on centre crops of at most this size', integer('--val-size', 8), 256)
    .option('--ckpt <dir>', 'checkpoint directory (default <out>.ckpt)')
    .option('--ckpt-every <n>', 'write a checkpoint every n steps, and at the end', integer('--ckpt-every', 1), 50)
    .option('--resume', 'continue exactly from the checkpoint in --ckpt (its model wins over --init and the architecture flags)')
    .option('-f, --force', 'without --resume: replace the model already in --out and the checkpoint in --ckpt (without it irn refuses them before any work)')
    .option('--seed <n>', 'seed of the initial weights, the patches and z', parseSeed, 1)
    .option('--log-every <n>', 'print a progress line every n steps', integer('--log-every', 1), 10)
    .addOption(
      new Option('--lr-codec <kind>', "train for lossy LRs: a differentiable stand-in of the codec between downscaler and upscaler (jpeg-proxy: MozJPEG as 'irn downscale --format jpeg' writes it)").choices([
        'jpeg-proxy',
      ]),
    )
    .option('--quality <q|lo-hi>', 'with --lr-codec: the JPEG quality, or a range each sample draws a whole number from (default 50-90)', parseQualityRange)
    .option('--rate-weight <w>', "with --lr-codec: weight of the codec's estimated bits per full-size pixel in the loss (default 0)", nonNegative('--rate-weight'))
    .addOption(new Option('--codec-rounding <mode>', 'with --lr-codec: how the stand-in rounds DCT coefficients (default ste)').choices(['ste', 'cubic', 'noise']))
    .option('--workers <n>', 'worker threads sharing each batch with this one (default: CPU cores - 1, at most --batch - 1; at most the CPU cores; 0: this thread only)', integer('--workers', 0))
    .addHelpText(
      'after',
      // Runnable as printed (test/cli/help-examples_test.ts runs them): tiny runs on the shipped
      // samples; a real run replaces samples/ with folders of many photos and drops --steps.
      '\nExamples (tiny runs on the shipped samples/; give your own photo folders and more --steps for real):\n' +
        '  irn train --data samples/ --out out/tuned --init weights/irn-x2 --steps 2 --batch 2\n' +
        '  irn train --data samples/ --out out/tuned --init weights/irn-x2 --steps 4 --batch 2 --resume\n' +
        '  irn train --data samples/ --out out/new-x4 --scale 4 --steps 2 --batch 2\n',
    )
    .action(async (opts: TrainFlags) => {
      const out = ctx.out();
      const fineTune = opts.init != null;
      const defaults = fineTune ? DEFAULTS.fineTune : DEFAULTS.scratch;
      const totalSteps = opts.steps ?? defaults.steps;
      const lr = opts.lr ?? defaults.lr;
      const lrMin = opts.lrMin ?? lr / 10;
      if (lrMin > lr) throw new UsageError(`--lr-min ${lrMin} is above --lr ${lr}`);
      if (opts.val != null && opts.holdout != null) throw new UsageError('give either --val or --holdout, not both');
      const ckptDir = opts.ckpt ?? `${opts.out.replace(/[/\\]+$/, '')}.ckpt`;
      if (opts.lrCodec == null && (opts.quality != null || opts.rateWeight != null || opts.codecRounding != null)) {
        throw new UsageError('--quality, --rate-weight and --codec-rounding go with --lr-codec');
      }
      // Plain data: it reaches the data-parallel workers in each step's loss options.
      const lrCodec: LrCodecOption | undefined =
        opts.lrCodec == null ? undefined : { kind: opts.lrCodec, quality: opts.quality ?? [50, 90], rounding: opts.codecRounding ?? 'ste', lambdaRate: opts.rateWeight ?? 0 };
      // Each thread needs a sample; two threads trained at 1.76x one on a 2-core machine (bench/README.md).
      const { defaultTrainingWorkers } = await import('../../training/parallel-node.js');
      // Each worker is a thread with its own engine (about 45 MB before any patch): more threads
      // than cores only share the same cores (--workers 60 took 64 s and 2.8 GB for one step here).
      const cores = availableParallelism();
      if (opts.workers != null && opts.workers > cores) {
        throw new UsageError(`--workers ${opts.workers} is more than this machine's ${cores} CPU cores; use --workers ${Math.max(0, cores - 1)} (the default) or fewer`);
      }
      const workers = Math.min(opts.workers ?? defaultTrainingWorkers(), opts.batch - 1);
      await refuseOverlaps(opts, ckptDir);
      if (opts.init == null && !opts.resume && opts.patch % Number(opts.scale) !== 0) {
        throw new UsageError(`--patch ${opts.patch} is not a multiple of the scale ${opts.scale}`);
      }
      for (const d of opts.data) await requireFolder(d, 'data folder');
      if (opts.val != null) await requireFolder(opts.val, 'validation folder');
      const initDir = opts.init != null && !opts.resume ? await modelDirectory(opts.init) : undefined;
      // Only folders the trainer may write into, and only files it wrote in them replaced.
      const { checkCheckpointFolder } = await import('../../training/checkpoint-node.js');
      const { checkOutputFolder } = await import('../../training/run-node.js');
      const ckptState = await checkCheckpointFolder(ckptDir).catch((e: unknown) => {
        throw new UsageError(`--ckpt: ${oneLine(e)}`);
      });
      const outState = await checkOutputFolder(opts.out).catch((e: unknown) => {
        throw new UsageError(`--out: ${oneLine(e)}`);
      });
      // A new run replaces the model and checkpoint a folder holds only when told to; --resume continues the run that wrote them.
      if (!opts.resume && opts.force !== true) {
        const taken = [outState === 'model' ? `--out ${opts.out} holds a model` : null, ckptState === 'checkpoint' ? `${ckptDir} holds a checkpoint` : null].filter((t) => t != null);
        if (taken.length > 0) {
          throw new UsageError(`${taken.join(' and ')}; irn replaces no file unless --force is given (or --resume continues that run)`);
        }
      }
      if (opts.resume) {
        await stat(join(ckptDir, 'state.json')).catch(() => {
          throw new CliError(`no checkpoint to resume in ${ckptDir} (state.json missing); run without --resume first`);
        });
      } else if (ckptState === 'checkpoint') {
        out.status(`${ckptDir} holds a checkpoint: it is replaced by this run's (--force)`);
      }

      await ctx.backend();
      const tf = await import('@tensorflow/tfjs-core');
      const { loadImageFolder } = await import('../../data/image-folder.js');
      const { IrnModel } = await import('@irn/core');
      const { loadModel } = await import('../model-dir.js');
      const { loadCheckpoint } = await import('../../training/checkpoint-node.js');
      const core = await import('@irn/core');
      const { IrnTrainer } = core;
      const { runTraining, validationCrops } = await import('../../training/run-node.js');

      // The model first: with --init or --resume, its scale decides what a valid patch is.
      const schedule: LrSchedule = { kind: 'cosine', base: lr, min: lrMin, total: totalSteps, warmup: opts.warmup };
      const zTarget = opts.zScale;
      const ramp = opts.zRamp;
      const zScaleAt = (step: number): number =>
        ramp == null ? zTarget : zTarget * Math.min(1, Math.max(0, (step - ramp[0]) / (ramp[1] - ramp[0])));
      const trainerOptions = { seed: opts.seed, lr: schedule, zScaleAt, loss: lrCodec == null ? undefined : { lrCodec } };
      let model: IrnModel;
      let best = -Infinity;
      let bestStep = 0;
      let bestSaved: boolean | undefined;
      let origin: string;
      let trainer;
      if (opts.resume) {
        const { state, extra } = await loadCheckpoint(ckptDir).catch((e: unknown) => {
          throw failure(`cannot read the checkpoint in ${ckptDir}: ${oneLine(e)}`, e);
        });
        model = await loadModel(join(ckptDir, 'model'), ctx.limits());
        trainer = new IrnTrainer(model, trainerOptions);
        try {
          await trainer.restoreState(state);
        } catch (e) {
          throw failure(`cannot restore the checkpoint in ${ckptDir}: ${oneLine(e)}`, e);
        }
        best = typeof extra.bestPsnr === 'number' ? extra.bestPsnr : -Infinity;
        bestStep = typeof extra.bestStep === 'number' ? extra.bestStep : 0;
        if (typeof extra.bestSaved === 'boolean') bestSaved = extra.bestSaved;
        origin = `resumed from ${resolve(ckptDir)} at step ${trainer.step} (${Number.isFinite(best) ? `best ${best.toFixed(3)} dB at step ${bestStep}` : 'no best yet'})`;
      } else if (initDir != null) {
        model = await loadModel(initDir, ctx.limits());
        trainer = new IrnTrainer(model, trainerOptions);
        origin = `fine-tuning ${resolve(initDir)}${model.source ? ` (${model.source})` : ''}`;
      } else {
        model = IrnModel.create({ scale: Number(opts.scale) as 2 | 4 | 8, blocks: opts.blocks, growth: opts.growth, seed: opts.seed });
        trainer = new IrnTrainer(model, trainerOptions);
        origin = 'a new model (the Haar transform)';
      }
      const scale = model.config.scale;
      // The model saved declares the LR codec it was trained to restore (model.json's
      // lrCodec), which is what irn upscale, Rescaler and <irn-image> go by.
      if (lrCodec != null) model.lrCodec = 'jpeg';
      const valTensors: import('@tensorflow/tfjs-core').Tensor4D[] = [];
      try {
        if (opts.patch % scale !== 0) throw new UsageError(`--patch ${opts.patch} is not a multiple of the model's scale ${scale}`);
        checkStepMemory(core, model.config, opts.batch, opts.patch, workers);

        const t0 = Date.now();
        const all: TrainImage[] = [];
        // Unreadable photos are skipped with a warning each; too few left ends in the checks below.
        const imageOptions = { limits: ctx.limits(), log: (line: string) => out.status(line) };
        for (const d of opts.data) {
          try {
            all.push(...(await loadImageFolder(d, imageOptions)));
          } catch (e) {
            throw failure(oneLine(e), e);
          }
        }
        let train = all.filter((img) => img.width >= opts.patch && img.height >= opts.patch);
        const small = all.length - train.length;
        if (train.length === 0) throw new CliError(`no photo in ${opts.data.join(', ')} is at least ${opts.patch} px on both sides (lower --patch)`);
        let val: TrainImage[];
        if (opts.val != null) {
          val = await loadImageFolder(opts.val, { ...imageOptions, minSize: 2 * scale + 1 }).catch((e: unknown) => {
            throw failure(oneLine(e), e);
          });
          if (val.length === 0) throw new CliError(`no image in ${opts.val} is larger than ${2 * scale} px on both sides`);
        } else {
          const holdout = opts.holdout ?? Math.min(4, Math.max(1, Math.floor(train.length / 10)));
          if (holdout < 1) throw new UsageError('--holdout 0 leaves nothing to validate on; give --val <folder> or --holdout >= 1');
          if (train.length <= holdout) {
            throw new CliError(
              `${train.length} photo${train.length === 1 ? '' : 's'} of at least ${opts.patch} px on both sides in ${opts.data.join(', ')}: ` +
                `too few to hold out ${holdout} for validation and train on the rest (add photos, lower --patch, or give --val)`,
            );
          }
          val = train.slice(train.length - holdout);
          train = train.slice(0, train.length - holdout);
        }
        out.status(
          `data: ${train.length} training photos from ${opts.data.join(', ')}${small > 0 ? ` (${small} smaller than ${opts.patch} px skipped)` : ''}; ` +
            `validation ${opts.val != null ? `on ${opts.val}` : '(held out)'}: ${val.map((v) => basename(v.name ?? '')).join(', ')}; ` +
            `loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
        out.status(
          `model: ${origin}; x${scale}, ${model.config.blocks} blocks, growth ${model.config.growth}, ${model.countParams()} weights; ` +
            `batch ${opts.batch}, patch ${opts.patch}, steps ${totalSteps}, lr ${JSON.stringify(schedule)}, ` +
            `zScale ${zTarget}${ramp ? ` ramped over steps ${ramp.join('-')}` : ''}, backend ${tf.getBackend()}; ` +
            (lrCodec == null
              ? ''
              : `LR codec ${lrCodec.kind} quality ${(lrCodec.quality as number[]).join('-')}, rounding ${lrCodec.rounding}, rate weight ${lrCodec.lambdaRate}; `) +
            `best model -> ${opts.out}, checkpoints -> ${ckptDir}`,
        );
        valTensors.push(...validationCrops(val, opts.valSize, scale));
        if (lrCodec != null) out.status(`validation through MozJPEG (irn downscale --format jpeg) at quality ${codecValQualities(lrCodec).join(', ')}, mean PSNR-Y`);
        const result = await runTraining({
          trainer,
          train,
          val: valTensors,
          valNames: val.map((v) => v.name ?? ''),
          batch: opts.batch,
          patch: opts.patch,
          totalSteps,
          logEvery: opts.logEvery,
          valEvery: opts.valEvery,
          ckptEvery: opts.ckptEvery,
          ckptDir,
          outDir: opts.out,
          best,
          bestStep,
          bestSaved,
          args: { ...opts, ckpt: ckptDir },
          source: (step) => `${fineTune ? `fine-tuned from ${basename(resolve(opts.init!))}` : 'trained'} by irn train, step ${step}`,
          initialNote: fineTune ? '(the --init model)' : '(the Haar transform)',
          // A fine-tune never ends worse than where it started.
          saveInitial: fineTune,
          log: (line) => out.status(line),
          workers,
          // A lossy model is chosen by what it restores from real JPEG files.
          validate: lrCodec == null ? undefined : () => codecValidationPsnr(model, valTensors, codecValQualities(lrCodec)),
        }).catch((e: unknown) => {
          throw e instanceof CliError ? e : failure(oneLine(e), e);
        });
        if (result.interrupted) {
          throw new CliError(`interrupted at step ${result.step}; checkpoint saved in ${ckptDir}, add --resume to continue`, 130);
        }
        if (result.saved) {
          out.result(`${opts.out}: best val PSNR-Y ${result.best.toFixed(3)} dB at step ${result.bestStep}`);
        } else if (result.steps > 0) {
          out.result(`${opts.out}: not written; no step beat the starting model${Number.isFinite(result.best) ? `'s val PSNR-Y of ${result.best.toFixed(3)} dB` : ''}`);
        } else {
          out.result(`${opts.out}: not written; nothing to train (val PSNR-Y ${result.best.toFixed(3)} dB at step ${result.step})`);
        }
      } finally {
        tf.dispose(valTensors);
        trainer.dispose();
        model.dispose();
      }
    });
}
