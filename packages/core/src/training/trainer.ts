import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-layers';
import type { IrnModel } from '../model/irn.js';
import { irnLoss, type IrnLossOptions } from './loss.js';
import { Rng } from './rng.js';
import { learningRateAt, type LrSchedule } from './schedule.js';

/** Options of {@link IrnTrainer}; defaults are the published IRN configuration (IRN.md). */
export interface TrainerOptions {
  /** Loss weights and the z of the reconstruction term (`zSeed` is set per step). */
  loss?: Omit<IrnLossOptions, 'zSeed'>;
  /** Learning rate schedule. Default: 2e-4 halved at 100k, 200k, 300k and 400k steps. */
  lr?: LrSchedule;
  /** Adam betas. Default 0.9, 0.999. */
  beta1?: number;
  beta2?: number;
  /** Adam epsilon. Default 1e-8 (PyTorch's). */
  epsilon?: number;
  /** L2 weight decay, added to the gradient as `decay * w`. Default 1e-5. */
  weightDecay?: number;
  /** Global gradient-norm clip; 0 or Infinity turns it off. Default 10. */
  clipNorm?: number;
  /** Seed of the trainer's generator (patch sampling, augmentation, z). Default 0. */
  seed?: number;
  /**
   * The reconstruction term's z scale as a function of the 0-based step (e.g. a ramp from 0
   * to 1); overrides `loss.zScale` when given.
   */
  zScaleAt?: (step: number) => number;
}

/** What one step reports; loss terms are unweighted (see {@link IrnLossTerms}). */
export interface StepReport {
  /** Number of steps done after this one. */
  step: number;
  lr: number;
  total: number;
  fit: number;
  rec: number;
  dist: number;
  /** The codec stand-in's estimated bits per full-size pixel, when the loss has an `lrCodec` (see {@link IrnLossTerms.rate}). */
  rate?: number;
  /** Global gradient norm before clipping (decay not included). */
  gradNorm: number;
}

/** Weights as `tf.io.encodeWeights` gives them, JSON-friendly apart from `data`. */
export interface EncodedWeights {
  specs: tf.io.WeightsManifestEntry[];
  data: ArrayBuffer;
}

/**
 * Everything needed to resume training exactly: model weights, Adam state, step and the
 * generator state. Adam's bias-correction accumulators are saved as they are, because tfjs's
 * `setWeights` recomputes them as `beta^(t+1)`, which differs in the last bits from the
 * product accumulated step by step.
 */
export interface TrainerState {
  step: number;
  rngState: number;
  seed: number;
  accBeta: [number, number];
  weights: EncodedWeights;
  optimizer: EncodedWeights;
}

interface AdamInternals {
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  learningRate: number;
}

const IRN_MILESTONES = [100_000, 200_000, 300_000, 400_000];

/** Gradients and loss terms of one batch or one shard of it (see {@link shardGradients}). */
export interface ShardGradients {
  /** One gradient per trainable variable, in {@link IrnTrainer.variables} order. */
  grads: tf.Tensor[];
  /** The loss terms, unweighted apart from `total`, as this shard's share of the batch's. */
  total: number;
  fit: number;
  rec: number;
  dist: number;
  /** The rate term (bits per full-size pixel), when the loss has an `lrCodec`; this shard's share as the others. */
  rate?: number;
}

/** What every replica of a data-parallel step must agree on (see {@link shardGradients}). */
export interface ShardSpec {
  /** The step's loss options, from {@link IrnTrainer.stepLossOptions}. */
  loss: IrnLossOptions;
  /** Index of the shard's first sample in the batch (z is drawn per sample from it). */
  offset: number;
  /** Samples in the whole batch. */
  batch: number;
}

/**
 * Gradients of `model`'s `vars` for the IRN loss of `xHr`, weighted as its share of a batch
 * of `spec.batch` samples: the loss is a mean over samples, so with shards of b_i samples the
 * batch's gradient is the sum over shards of (b_i / B) times each shard's mean gradient, and
 * each shard draws the z of its own samples (`spec.offset`). For the whole batch
 * (`xHr.shape[0] === spec.batch`) nothing is rescaled and the numbers are those of a plain
 * `tf.variableGrads` of {@link irnLoss}.
 */
export function shardGradients(model: IrnModel, vars: tf.Variable[], xHr: tf.Tensor4D, spec: ShardSpec): ShardGradients {
  const b = xHr.shape[0];
  if (!(Number.isInteger(spec.offset) && spec.offset >= 0 && spec.offset + b <= spec.batch)) {
    throw new RangeError(`shard of ${b} samples at offset ${spec.offset} does not fit a batch of ${spec.batch}`);
  }
  const share = b / spec.batch;
  const terms: tf.Scalar[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const t = irnLoss(model, xHr, { ...spec.loss, zSampleOffset: spec.offset });
    const parts = t.rate == null ? [t.fit, t.rec, t.dist] : [t.fit, t.rec, t.dist, t.rate];
    if (share === 1) {
      terms.push(...parts.map((x) => tf.keep(x)));
      return t.total;
    }
    terms.push(...parts.map((x) => tf.keep(tf.mul(x, share) as tf.Scalar)));
    return tf.mul(t.total, share) as tf.Scalar;
  }, vars);
  const [total, fit, rec, dist, rate] = [value, ...terms].map((t) => t.dataSync()[0]);
  tf.dispose([value, ...terms]);
  return { grads: vars.map((v) => grads[v.name]), total, fit, rec, dist, ...(rate === undefined ? {} : { rate }) };
}

/**
 * Trains an {@link IrnModel} with Adam (IRN.md, "Training objective"): one `trainStep` per
 * batch computes the loss, gradients of every trainable weight, adds L2 weight decay, clips
 * the global norm and applies Adam at the scheduled learning rate. Works on any backend;
 * on wasm the convolutions' custom gradient is what makes it possible (ENVIRONMENT.md).
 *
 * @example
 * const trainer = new IrnTrainer(model, { lr: { kind: 'cosine', base: 4e-4, total: 2000 } });
 * const report = trainer.trainStep(batch); // batch [B, P, P, 3] in [0, 1]
 */
export class IrnTrainer {
  readonly optimizer: tf.AdamOptimizer;
  /** Generator for data sampling; saved in the state so resumed runs see the same batches. */
  rng: Rng;
  private stepCount = 0;
  private readonly seed: number;
  private schedule: LrSchedule;
  private readonly weightDecay: number;
  private readonly clipNorm: number;
  private readonly lossOptions: Omit<IrnLossOptions, 'zSeed'>;
  private readonly zScaleAt: ((step: number) => number) | undefined;

  constructor(
    readonly model: IrnModel,
    options: TrainerOptions = {},
  ) {
    this.seed = options.seed ?? 0;
    this.rng = new Rng(this.seed);
    this.schedule = options.lr ?? { kind: 'multistep', base: 2e-4, milestones: IRN_MILESTONES };
    this.weightDecay = options.weightDecay ?? 1e-5;
    this.clipNorm = options.clipNorm ?? 10;
    this.lossOptions = options.loss ?? {};
    this.zScaleAt = options.zScaleAt;
    this.optimizer = tf.train.adam(learningRateAt(this.schedule, 0), options.beta1 ?? 0.9, options.beta2 ?? 0.999, options.epsilon ?? 1e-8);
  }

  /** Steps done so far. */
  get step(): number {
    return this.stepCount;
  }

  /** The learning-rate schedule the next step uses (see {@link IrnTrainer.setSchedule}). */
  get lrSchedule(): LrSchedule {
    return this.schedule;
  }

  /**
   * Replaces the learning-rate schedule from the next step on, e.g. a constant rate changed
   * live from a UI: `setSchedule({ kind: 'multistep', base: 1e-4, milestones: [] })`. The
   * new schedule is evaluated at the trainer's step count (it does not restart at 0); Adam's
   * moments are kept. The schedule is not part of {@link TrainerState}: a restored trainer
   * uses the one it was built with until this is called again.
   *
   * @throws RangeError when the schedule gives a learning rate that is negative or not finite
   *   at the current step.
   */
  setSchedule(schedule: LrSchedule): void {
    const lr = learningRateAt(schedule, this.stepCount);
    if (!(Number.isFinite(lr) && lr >= 0)) {
      throw new RangeError(`the learning rate schedule gives ${lr} at step ${this.stepCount}; it must be a finite number >= 0`);
    }
    this.schedule = schedule;
  }

  /** The model's trainable variables, in a fixed order. */
  get variables(): tf.Variable[] {
    return this.model.flow.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /** One optimisation step on an HR batch `[B, P, P, 3]` in [0, 1]. */
  trainStep(xHr: tf.Tensor4D): StepReport {
    return this.applyGradients(this.computeGradients(xHr));
  }

  /**
   * The loss options of the next step: the configured weights, the z scale of this step and
   * the z seed, a pure function of (seed, step), so resuming repeats it. Plain data, so that
   * data-parallel replicas in other threads compute exactly the same loss.
   */
  stepLossOptions(): IrnLossOptions {
    const zScale = this.zScaleAt == null ? this.lossOptions.zScale : this.zScaleAt(this.stepCount);
    const zSeed = (Math.imul(this.seed + 1, 0x9e3779b1) + this.stepCount * 7919) | 0;
    return { ...this.lossOptions, zScale, zSeed };
  }

  /**
   * Gradients and loss terms of the next step for `xHr`, which is the whole batch or, with
   * `shard`, samples `shard.offset ..` of a batch of `shard.batch` (see {@link shardGradients}).
   * Nothing is updated; pass the result (or the sum over all shards) to
   * {@link IrnTrainer.applyGradients}.
   */
  computeGradients(xHr: tf.Tensor4D, shard?: { offset: number; batch: number }): ShardGradients {
    return shardGradients(this.model, this.variables, xHr, {
      loss: this.stepLossOptions(),
      offset: shard?.offset ?? 0,
      batch: shard?.batch ?? xHr.shape[0],
    });
  }

  /**
   * Finishes a step from the batch's gradients (one per variable, in
   * {@link IrnTrainer.variables} order) and loss terms: global gradient norm, clipping, L2
   * weight decay, Adam at the scheduled learning rate. Takes ownership of `g.grads` (disposes
   * them).
   */
  applyGradients(g: ShardGradients): StepReport {
    const lr = learningRateAt(this.schedule, this.stepCount);
    (this.optimizer as unknown as AdamInternals).learningRate = lr;
    const vars = this.variables;
    if (g.grads.length !== vars.length) {
      tf.dispose(g.grads);
      throw new Error(`applyGradients: ${g.grads.length} gradients for ${vars.length} variables`);
    }
    // A left fold of tf.add, not tf.addN: tfjs-backend-webgpu 4.22 binds every addN input as a
    // storage buffer and does not split past the device's maxStorageBuffersPerShaderStage
    // (8 by default, so 7 inputs), and returns zeros or garbage without an error beyond that
    // (the grad norm of a 1-block x2 model, 30 weights, read as 0, 128, 512). On cpu and wasm
    // the fold gives the same float32 sums as addN (both add in order, rounding each time).
    const gradNormT = tf.tidy(() => tf.sqrt(g.grads.map((d) => tf.sum(tf.square(d))).reduce((a, b) => tf.add(a, b))));
    const gradNorm = gradNormT.dataSync()[0];
    const factor = this.clipNorm > 0 && Number.isFinite(this.clipNorm) && gradNorm > this.clipNorm ? this.clipNorm / (gradNorm + 1e-6) : 1;
    const named = vars.map((v, i) => ({
      name: v.name,
      tensor: tf.tidy(() => {
        const d = factor === 1 ? g.grads[i] : tf.mul(g.grads[i], factor);
        return this.weightDecay > 0 ? tf.add(d, tf.mul(v, this.weightDecay)) : tf.clone(d);
      }),
    }));
    this.optimizer.applyGradients(named);
    tf.dispose([gradNormT, ...g.grads, ...named.map((n) => n.tensor)]);
    this.stepCount++;
    return { step: this.stepCount, lr, total: g.total, fit: g.fit, rec: g.rec, dist: g.dist, ...(g.rate === undefined ? {} : { rate: g.rate }), gradNorm };
  }

  /** The trainer's full state, for {@link IrnTrainer.restoreState}. */
  async saveState(): Promise<TrainerState> {
    const adam = this.optimizer as unknown as AdamInternals;
    const weights = await tf.io.encodeWeights(this.model.flow.trainableWeights.map((w, i) => ({ name: `w${i}:${w.name}`, tensor: w.read() })));
    const optWeights = await this.optimizer.getWeights();
    const optimizer = await tf.io.encodeWeights(optWeights);
    // getWeights makes a fresh scalar for the iteration count; the moments are the optimizer's own.
    optWeights.filter((w) => w.name === 'iter').forEach((w) => w.tensor.dispose());
    return {
      step: this.stepCount,
      rngState: this.rng.state,
      seed: this.seed,
      accBeta: [adam.accBeta1.dataSync()[0], adam.accBeta2.dataSync()[0]],
      weights: { specs: weights.specs, data: tf.io.concatenateArrayBuffers([weights.data].flat()) },
      optimizer: { specs: optimizer.specs, data: tf.io.concatenateArrayBuffers([optimizer.data].flat()) },
    };
  }

  /** Restores a state from {@link IrnTrainer.saveState} into this trainer and its model. */
  async restoreState(state: TrainerState): Promise<void> {
    const layerWeights = this.model.flow.trainableWeights;
    const decoded = tf.io.decodeWeights(state.weights.data, state.weights.specs);
    const names = state.weights.specs.map((s) => s.name);
    if (names.length !== layerWeights.length) {
      throw new Error(`checkpoint has ${names.length} weights, the model ${layerWeights.length}: different architecture?`);
    }
    names.forEach((name, i) => {
      const t = decoded[name];
      const w = layerWeights[i];
      if (t.shape.join() !== w.shape.join()) {
        throw new Error(`checkpoint weight ${name} has shape [${t.shape.join(', ')}], the model's [${w.shape.join(', ')}]`);
      }
      w.write(t);
    });
    tf.dispose(Object.values(decoded));
    const opt = tf.io.decodeWeights(state.optimizer.data, state.optimizer.specs);
    // setWeights replaces the moment variables without freeing the old ones.
    const moments = this.optimizer as unknown as { accumulatedFirstMoment?: { variable: tf.Variable }[]; accumulatedSecondMoment?: { variable: tf.Variable }[] };
    tf.dispose([...(moments.accumulatedFirstMoment ?? []), ...(moments.accumulatedSecondMoment ?? [])].map((m) => m.variable));
    await this.optimizer.setWeights(state.optimizer.specs.map((s) => ({ name: s.name, tensor: opt[s.name] })));
    tf.dispose(Object.values(opt));
    const adam = this.optimizer as unknown as AdamInternals;
    tf.tidy(() => {
      adam.accBeta1.assign(tf.scalar(state.accBeta[0]));
      adam.accBeta2.assign(tf.scalar(state.accBeta[1]));
    });
    this.stepCount = state.step;
    this.rng = Rng.fromState(state.rngState);
  }

  /** Frees the optimizer state (not the model). */
  dispose(): void {
    this.optimizer.dispose();
  }
}
