/**
 * Trains a lossy-LR decoder (issue 13, item 4): an IRN model whose inverse restores the HR
 * image from an LR that a fixed *encoder* (a shipped lossless preset, e.g. weights/irn-x2) made
 * and a real codec then compressed. Asymmetric, as SAIN (AAAI 2023) found works: the encoder
 * and with it the LR bytes stay exactly as they are, so the lossless preset keeps its quality
 * and its file sizes, and only the restoring side learns what the codec did. The codec is the
 * one `irn downscale --format jpeg|avif` ships (--codec: MozJPEG through @jsquash/jpeg, or libavif
 * 4:4:4 through @jsquash/avif; lr-codecs.ts), run
 * for real on every sample, at a quality drawn per sample from --quality LO-HI; no gradient
 * has to pass through it because nothing before it is trained.
 *
 *   node --import tsx packages/cli/scripts/train-decoder.ts --encoder weights/irn-x2 \
 *     --out .scratch/dec-x2/best --ckpt .scratch/dec-x2/ckpt [--resume] [--steps 4000] ...
 *
 * The decoder starts from the encoder's weights. Loss: the reconstruction term of IRN.md
 * (Charbonnier, summed over pixels, mean over the batch) of decoder.inverse([codec(LR), z = 0])
 * against the HR patch; Adam, cosine schedule, clip 10, weight decay 1e-5 (IrnTrainer's).
 * Validation: mean Y-PSNR (shave = scale, 8-bit output, z = 0) of the held-out crops'
 * LRs through the codec at each of --val-quality, the same held-out images as train-x2.ts
 * (never a test set). Checkpoints every --ckpt-every steps; `--resume` continues exactly
 * (patches and qualities come from the trainer's saved generator).
 *
 * `--joint`: a lossy preset trained end to end instead (its own forward makes the LR, so
 * nothing is frozen; no `encoder` in its metadata). Each step makes the batch's 8-bit LRs
 * with the model, runs them through the real codec outside the gradient tape, and trains on
 * the full IRN loss (core's irnLoss with `realLr`: LR guidance, latent and reconstruction
 * terms) with the real decoded LR in the forward pass; the backward pass goes straight
 * through the codec, or with `--rate-weight W` through the JPEG stand-in at
 * `--proxy-quality` (core's jpegProxy), whose bit estimate is then priced in the loss as a
 * stand-in for the codec's bytes (W per bit per full-size pixel, as irn train's
 * --rate-weight). Validation makes the held-out LRs anew with the model being trained.
 *
 * `--hold-bytes` (with --joint and --rate-weight): the stand-in's bit estimate gives the
 * direction, the real codec's files give the price. Each step also encodes the starting
 * model's LRs of the same patches at the same qualities, and the rate weight follows the real
 * files: multiplied by 2^(--hold-gain * mean log2(file / starting model's file)) before the
 * step's gradient (dual ascent on "no bigger than the starting model's files"), so that what
 * training gains is a gain at equal bytes, whatever the stand-in gets wrong about the codec's
 * rate. --rate-weight is the starting weight; the weight is kept in checkpoints.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, IrnTrainer, irnLoss, psnrY, type IrnLossOptions, type LrSchedule, type RasterImage, type StepReport } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { loadTrainingFolders } from '../src/data/image-folder.js';
import { decodeLr, encodeLr } from '../src/image/lr-codecs.js';
import { loadCheckpoint } from '../src/training/checkpoint-node.js';
import { meanDoublings, nextRateWeight } from '../src/training/hold-bytes.js';
import { runTraining, validationCrops } from '../src/training/run-node.js';

const { values: args } = parseArgs({
  options: {
    encoder: { type: 'string', default: 'weights/irn-x2' },
    data: { type: 'string', default: process.env.IRN_TRAIN_DATA ?? '../shared/datasets/train' },
    folders: { type: 'string', default: 'cid22,t91,bsd400' },
    holdout: { type: 'string', default: '4' },
    steps: { type: 'string', default: '4000' },
    batch: { type: 'string', default: '6' },
    patch: { type: 'string', default: '96' },
    /** The LR codec, as `irn downscale --format` writes it: jpeg (MozJPEG) or avif (libavif, 4:4:4). */
    codec: { type: 'string', default: 'jpeg' },
    quality: { type: 'string', default: '30-95' },
    'val-quality': { type: 'string', default: '40,70,90' },
    lr: { type: 'string', default: '1e-4' },
    'lr-min': { type: 'string', default: '1e-5' },
    warmup: { type: 'string', default: '50' },
    seed: { type: 'string', default: '1' },
    'log-every': { type: 'string', default: '10' },
    'val-every': { type: 'string', default: '100' },
    'ckpt-every': { type: 'string', default: '50' },
    'val-size': { type: 'string', default: '256' },
    out: { type: 'string', default: '.scratch/dec-x2/best' },
    ckpt: { type: 'string', default: '.scratch/dec-x2/ckpt' },
    backend: { type: 'string', default: 'wasm' },
    resume: { type: 'boolean', default: false },
    /** Train encoder and decoder together (one model, its own forward makes the LR). */
    joint: { type: 'boolean', default: false },
    /** With --joint: weight of the JPEG stand-in's bit estimate in the loss (0: no stand-in, straight through). */
    'rate-weight': { type: 'string', default: '0' },
    /** With --joint and --rate-weight: the JPEG quality of the stand-in (90 and up: 4:4:4 as the AVIF LR). */
    'proxy-quality': { type: 'string', default: '90' },
    /**
     * With --joint: validation at equal bytes: each held-out LR's Y-PSNR minus SLOPE dB per
     * doubling of its file over the starting model's at the same quality (default 2: the slope
     * of irn-x2's AVIF LR curve on Kodak24), so that spending bytes is not scored as a gain.
     */
    'val-slope': { type: 'string', default: '2' },
    /** With --joint and --rate-weight: adapt the rate weight so the real files keep the starting model's size. */
    'hold-bytes': { type: 'boolean', default: false },
    /** With --hold-bytes: how fast the weight follows (doublings of the weight per doubling of the files). */
    'hold-gain': { type: 'string', default: '1' },
    /** With --joint: weight of the LR guidance term (IRN: scale^2). */
    'fit-weight': { type: 'string' },
    /**
     * Without --joint: what validation scores, `mean` (the mean Y-PSNR over the qualities) or
     * `worst-gain` (the smallest gain in Y-PSNR at any one validation quality over the
     * encoder's own inverse of the same LRs), so that a decoder that loses at one quality
     * (JPEG at 90 and up, where MozJPEG stops subsampling chroma) is never kept as the best.
     */
    'val-score': { type: 'string', default: 'mean' },
  },
});

const num = (k: keyof typeof args): number => {
  const v = Number(args[k]);
  if (!Number.isFinite(v)) throw new Error(`--${k} must be a number, got ${String(args[k])}`);
  return v;
};
const codec = args.codec as 'jpeg' | 'avif';
if (codec !== 'jpeg' && codec !== 'avif') throw new Error(`--codec must be jpeg or avif, got ${args.codec}`);
const [qLo, qHi] = args.quality!.split('-').map(Number);
if (!(Number.isInteger(qLo) && Number.isInteger(qHi) && qLo >= 0 && qHi <= 100 && qLo <= qHi)) {
  throw new Error(`--quality must be LO-HI with 0 <= LO <= HI <= 100, got ${args.quality}`);
}
const valQualities = args['val-quality']!.split(',').map(Number);
if (!valQualities.every((q) => Number.isInteger(q) && q >= 1 && q <= 100)) throw new Error(`--val-quality must be qualities 1-100, got ${args['val-quality']}`);
const joint = args.joint === true;
const valScore = args['val-score'];
if (valScore !== 'mean' && valScore !== 'worst-gain') throw new Error(`--val-score must be mean or worst-gain, got ${valScore}`);
if (joint && valScore !== 'mean') throw new Error('--val-score worst-gain is for decoders (without --joint), which keep the encoder\'s LRs');
const rateWeight = num('rate-weight');
const proxyQuality = num('proxy-quality');
if (!joint && (rateWeight !== 0 || args['fit-weight'] != null)) throw new Error('--rate-weight and --fit-weight go with --joint');
const holdBytes = args['hold-bytes'] === true;
if (holdBytes && !(rateWeight > 0)) throw new Error('--hold-bytes adapts the rate weight: give --joint and a starting --rate-weight > 0');
const holdGain = num('hold-gain');
/** The rate weight of the next step (--hold-bytes moves it; checkpoints keep it). */
let liveRateWeight = rateWeight;
const totalSteps = num('steps');
const batch = num('batch');
const patch = num('patch');

await useNodeBackend(args.backend as 'wasm' | 'cpu');
const encoderDir = resolve(args.encoder!);
const encoder = await IrnModel.load(fileSystem(encoderDir));
const scale = encoder.scale;
if (patch % (scale * 16) !== 0) throw new Error(`--patch must be a multiple of ${scale * 16} (whole 16-px JPEG MCUs in the LR), got ${patch}`);

// Data: as train-x2.ts, the last `holdout` images of the first folder held out for validation.
const dataRoot = resolve(args.data!);
const folders = args.folders!.split(',').filter(Boolean);
const { train, val } = await loadTrainingFolders(dataRoot, folders, { holdout: num('holdout'), minSize: patch });
console.log(`data: ${train.length} training images from ${folders.join(', ')}; validation: ${val.map((v) => v.name).join(', ')}`);

/** Each LR of the batch `[B, h, w, 3]` (values k/255) as a --codec file at its quality. */
async function codecFiles(lr: tf.Tensor4D, qualities: readonly number[]): Promise<Uint8Array[]> {
  const [b, h, w] = lr.shape;
  const data = await lr.data();
  const n = h * w * 3;
  const files: Uint8Array[] = [];
  for (let i = 0; i < b; i++) files.push(await encodeLr({ width: w, height: h, channels: 3, data: data.slice(i * n, (i + 1) * n) as Float32Array }, { format: codec, quality: qualities[i] }));
  return files;
}

/** Each LR of the batch `[B, h, w, 3]` (values k/255) through the real encoder and decoder of --codec at its quality. */
async function codecRoundTrip(lr: tf.Tensor4D, qualities: readonly number[], sizes?: number[]): Promise<tf.Tensor4D> {
  const [b, h, w] = lr.shape;
  const n = h * w * 3;
  const out = new Float32Array(b * n);
  for (const [i, bytes] of (await codecFiles(lr, qualities)).entries()) {
    sizes?.push(bytes.length);
    const { image } = await decodeLr(bytes);
    if (image.channels !== 3 || image.width !== w || image.height !== h) throw new Error(`${codec} round trip gave ${image.width}x${image.height}x${image.channels}`);
    out.set(image.data, i * n);
  }
  return tf.tensor4d(out, [b, h, w, 3]);
}

const schedule: LrSchedule = { kind: 'cosine', base: num('lr'), min: num('lr-min'), total: totalSteps, warmup: num('warmup') };
const trainerOptions = { seed: num('seed'), lr: schedule };
let decoder: IrnModel;
let trainer: IrnTrainer;
let best = -Infinity;
let bestStep = 0;
if (args.resume) {
  const { state, extra } = await loadCheckpoint(args.ckpt!);
  const saved = (extra.state as { rateWeight?: unknown } | undefined)?.rateWeight;
  if (holdBytes && typeof saved === 'number' && saved > 0) liveRateWeight = saved;
  decoder = await IrnModel.load(fileSystem(join(args.ckpt!, 'model')));
  trainer = new IrnTrainer(decoder, trainerOptions);
  await trainer.restoreState(state);
  best = typeof extra.bestPsnr === 'number' ? extra.bestPsnr : -Infinity;
  bestStep = typeof extra.bestStep === 'number' ? extra.bestStep : 0;
  console.log(`resumed from ${resolve(args.ckpt!)} at step ${trainer.step} (best ${best.toFixed(3)} dB at step ${bestStep})`);
} else {
  decoder = await IrnModel.load(fileSystem(encoderDir));
  trainer = new IrnTrainer(decoder, trainerOptions);
}
// Saved with the model: the preset whose forward makes the LRs it restores (the encoder
// folder's name, e.g. irn-x2), and the codec, so irn downscale/upscale, Rescaler and
// <irn-image> pair them by themselves (see IrnMetadata.encoder).
// A joint model makes its own LRs: no encoder.
decoder.encoder = joint ? undefined : encoderDir.split('/').pop();
decoder.lrCodec = codec;
console.log(
  `${joint ? `joint lossy preset (encoder and decoder) x${scale} from` : `decoder x${scale} from encoder`} ${encoderDir} (${encoder.countParams()} weights); batch ${batch}, patch ${patch}, ${codec} quality ${qLo}-${qHi}, ` +
    (joint ? `${rateWeight > 0 ? `gradient and rate through the JPEG stand-in at q${proxyQuality}, rate weight ${holdBytes ? `${liveRateWeight.toFixed(0)} (held to the starting model's bytes, gain ${holdGain})` : rateWeight}` : 'straight through the codec'}, ` : '') +
    `steps ${totalSteps}, lr ${JSON.stringify(schedule)}, backend ${tf.getBackend()}`,
);

// Validation pairs, made once: the encoder never changes (with --joint, the LRs are made anew at each validation).
const crops = validationCrops(val, num('val-size'), scale);
/** A `[1, H, W, 3]` tensor in [0, 1] as an 8-bit raster, as the evaluation reads images. */
const raster8 = (t: tf.Tensor4D): RasterImage => {
  const [, height, width] = t.shape;
  const rounded = tf.tidy(() => tf.div(tf.round(tf.mul(tf.clipByValue(t, 0, 1), 255)), 255));
  const data = rounded.dataSync() as Float32Array;
  rounded.dispose();
  return { width, height, channels: 3, data };
};
const valPairs: { lr: tf.Tensor4D; hr: RasterImage }[] = [];
/** The file size of each validation LR of --encoder (with --joint, the starting model, also on --resume): the reference of the equal-bytes score. */
const refSizes: number[] = [];
for (const hr of crops) {
  const lr = encoder.downscale(hr);
  for (const q of valQualities) valPairs.push({ lr: await codecRoundTrip(lr, [q], refSizes), hr: raster8(hr) });
  lr.dispose();
}
if (!joint) tf.dispose(crops);

const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;
/** The Y-PSNR of `model`'s inverse (z = 0, 8-bit output) of each validation pair's coded LR, in valPairs' order. */
function valPsnrs(model: IrnModel): number[] {
  return valPairs.map(({ lr, hr }) => {
    const up = model.upscale(lr, { z: 'zeros' });
    const v = psnrY(raster8(up), hr, { shave: scale });
    up.dispose();
    return v;
  });
}
/** valPsnrs' values averaged per validation quality (valPairs go crop by crop, each at every quality). */
const perQuality = (each: number[]): number[] => valQualities.map((_, j) => mean(each.filter((_, k) => k % valQualities.length === j)));
/** The encoder's own inverse per validation quality (a decoder's reference; also on --resume). */
const encoderPerQuality = joint ? [] : perQuality(valPsnrs(encoder));

async function validate(): Promise<number> {
  const sizes: number[] = [];
  if (joint) {
    // The LRs of the model as it is now, through the real codec.
    tf.dispose(valPairs.map((p) => p.lr));
    let k = 0;
    for (const hr of crops) {
      const lr = decoder.downscale(hr);
      for (const q of valQualities) valPairs[k++].lr = await codecRoundTrip(lr, [q], sizes);
      lr.dispose();
    }
  }
  const each = valPsnrs(decoder);
  const psnr = mean(each);
  if (!joint) {
    const byQuality = perQuality(each);
    const gains = byQuality.map((v, j) => v - encoderPerQuality[j]);
    console.log(`  validation per quality: ${valQualities.map((q, j) => `q${q} ${byQuality[j].toFixed(3)} dB (${gains[j] >= 0 ? '+' : ''}${gains[j].toFixed(3)})`).join(', ')}`);
    return valScore === 'mean' ? psnr : Math.min(...gains);
  }
  // Equal bytes: each LR's doubling of its file over the starting model's costs --val-slope dB.
  const ref = refSizes;
  const doublings = meanDoublings(sizes, ref);
  const score = psnr - num('val-slope') * doublings;
  console.log(`  validation: Y-PSNR ${psnr.toFixed(3)} dB, files ${((2 ** doublings - 1) * 100).toFixed(1)} % over the starting model's (geometric mean), at equal bytes ${score.toFixed(3)} dB`);
  return score;
}

/**
 * `model`'s 8-bit LRs of the batch through the real codec, each at a quality drawn from the
 * trainer's generator (given back in `qualities` when asked, the file sizes in `sizes`).
 */
async function codedLrs(model: IrnModel, x: tf.Tensor4D, qualities: number[] = [], sizes?: number[]): Promise<tf.Tensor4D> {
  const lr = model.downscale(x);
  qualities.push(...Array.from({ length: x.shape[0] }, () => qLo + trainer.rng.int(qHi - qLo + 1)));
  try {
    return await codecRoundTrip(lr, qualities, sizes);
  } finally {
    lr.dispose();
  }
}

/** --hold-bytes: the steps' mean log2(file / starting model's file) since the last report. */
const held = { doublings: 0, n: 0 };

/**
 * --hold-bytes: the rate weight for this step, from how the model's real files of this batch
 * (`sizes`, at `qualities`) compare with the starting model's files of the same patches.
 */
async function holdRateWeight(x: tf.Tensor4D, qualities: readonly number[], sizes: readonly number[]): Promise<number> {
  const lr = encoder.downscale(x);
  let ref: number[];
  try {
    ref = (await codecFiles(lr, qualities)).map((f) => f.length);
  } finally {
    lr.dispose();
  }
  const doublings = meanDoublings(sizes, ref);
  held.doublings += doublings;
  held.n++;
  liveRateWeight = nextRateWeight(liveRateWeight, doublings, holdGain);
  if (held.n === num('log-every')) {
    const d = held.doublings / held.n;
    console.log(`  hold bytes: files ${((2 ** d - 1) * 100).toFixed(1)} % over the starting model's (last ${held.n} steps), rate weight now ${liveRateWeight.toFixed(0)}`);
    Object.assign(held, { doublings: 0, n: 0 });
  }
  return liveRateWeight;
}

/** One --joint step: the model's own 8-bit LRs through the real codec, then the IRN loss on them (irnLoss realLr). */
async function jointStep(x: tf.Tensor4D): Promise<StepReport> {
  const qualities: number[] = [];
  const sizes: number[] = [];
  const realLr = await codedLrs(decoder, x, qualities, sizes);
  const weight = holdBytes ? await holdRateWeight(x, qualities, sizes) : rateWeight;
  const loss: IrnLossOptions = {
    realLr,
    ...(args['fit-weight'] != null ? { lambdaFit: num('fit-weight') } : {}),
    ...(rateWeight > 0 ? { lrCodec: { kind: 'jpeg-proxy' as const, quality: proxyQuality, lambdaRate: weight } } : {}),
  };
  const vars = trainer.variables;
  const terms: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const t = irnLoss(decoder, x, loss);
    terms.push(tf.keep(t.fit), tf.keep(t.rec), tf.keep(t.dist), ...(t.rate != null ? [tf.keep(t.rate)] : []));
    return t.total;
  }, vars);
  realLr.dispose();
  const [total, fit, rec, dist, rate] = [value, ...terms].map((t) => t.dataSync()[0]);
  tf.dispose([value, ...terms]);
  return trainer.applyGradients({ grads: vars.map((v) => grads[v.name]), total, fit, rec, dist, ...(rate !== undefined ? { rate } : {}) });
}

async function step(x: tf.Tensor4D): Promise<StepReport> {
  if (joint) return jointStep(x);
  const b = x.shape[0];
  const lrCoded = await codedLrs(encoder, x);
  const vars = trainer.variables;
  const [, h, w] = lrCoded.shape;
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const z = tf.zeros([b, h, w, decoder.zChannels]);
      const { output } = decoder.inverse(tf.concat([lrCoded, z], 3) as tf.Tensor4D);
      return tf.div(tf.sum(tf.sqrt(tf.add(tf.square(tf.sub(x, output)), 1e-6))), b) as tf.Scalar;
    }),
    vars,
  );
  lrCoded.dispose();
  const rec = value.dataSync()[0];
  value.dispose();
  return trainer.applyGradients({ grads: vars.map((v) => grads[v.name]), total: rec, fit: 0, rec, dist: 0 });
}

await runTraining({
  trainer,
  train,
  val: [],
  valNames: val.map((v) => v.name ?? ''),
  batch,
  patch,
  totalSteps,
  logEvery: num('log-every'),
  valEvery: num('val-every'),
  ckptEvery: num('ckpt-every'),
  ckptDir: args.ckpt!,
  outDir: args.out!,
  best,
  bestStep,
  args,
  ...(holdBytes ? { state: () => ({ rateWeight: liveRateWeight }) } : {}),
  source: (s) =>
    joint
      ? `${codec.toUpperCase()}-LR preset (encoder and decoder) from ${encoderDir.split('/').pop()} trained by packages/cli/scripts/train-decoder.ts --joint, step ${s}`
      : `${codec.toUpperCase()}-LR decoder for ${encoderDir.split('/').pop()} trained by packages/cli/scripts/train-decoder.ts, step ${s}`,
  initialNote: `(${joint ? 'the starting model' : "the encoder's own inverse"}; ${codec} q ${valQualities.join(', ')}${valScore === 'worst-gain' ? '; score: the smallest gain over it at any quality' : ''})`,
  saveInitial: true,
  log: (line) => console.log(line),
  step,
  validate,
});
tf.dispose(valPairs.map((p) => p.lr));
if (joint) tf.dispose(crops);
