import * as tf from '@tensorflow/tfjs-core';
import { checkModelArtifacts, expandUint8Channels } from '../io/weight-specs.js';
import {
  couplingForward,
  couplingInverse,
  DENSE_CONVS,
  denseBlockApply,
  foldFlow,
  haarForward,
  haarInverse,
  type CouplingParts,
  type FlowResult,
  type SubnetFn,
} from '../layers/flow-ops.js';
import { resolveLimits } from '../limits.js';
import { checkArchitecture, checkWeightNames, readNotes } from './architecture.js';
import type { IrnConfig } from './config.js';
import { IrnFlowModel } from './flow-model.js';
import type { IrnLoadOptions, IrnMetadata, IrnModelNotes } from './irn.js';
import { readArtifacts } from './load-source.js';

/** One step of the flow, in forward order. */
type Step = { kind: 'haar' } | { kind: 'coupling'; parts: CouplingParts };

/**
 * An IRN model for inference only: `forward` and `inverse` computed from the weights with
 * tfjs-core alone, without tfjs-layers (about 200 KiB of JavaScript that a restore does not
 * need) and without training. It reads the files {@link IrnModel.save} writes (float32, float16
 * or 8 bits per channel) with the same checks as {@link IrnModel.load}, and computes the same
 * numbers: both run the functions of `layers/flow-ops.ts`. The rescaler's engine, in a page or
 * its worker, restores with it.
 *
 * Give it to `downscaleImage` and `upscaleImage` as an `IrnModel`; use `IrnModel` to train,
 * save or import a checkpoint.
 *
 * @example
 * const model = await IrnInference.load('/weights/irn-x2/model.json');
 * const hr = await upscaleImage(model, lr);
 */
export class IrnInference extends IrnFlowModel {
  private constructor(
    config: IrnConfig,
    private readonly steps: readonly Step[],
    private readonly weights: readonly tf.Tensor[],
    /** The optional notes of the model's metadata (source, encoder, LR codec). */
    readonly notes: Readonly<IrnModelNotes>,
  ) {
    super(config, 'IrnInference');
  }

  /**
   * Loads a model as {@link IrnModel.load} does: a URL to `model.json`, `indexeddb://name`
   * in browsers, or any `tf.io.IOHandler` (in Node, `fileSystem(dir)` from `@irn/core/node`).
   * @throws Error with a one-line message (a LimitError for a limit) when a check fails.
   */
  static async load(source: string | tf.io.IOHandler, options: IrnLoadOptions = {}): Promise<IrnInference> {
    const limits = resolveLimits(options.limits);
    return IrnInference.fromArtifacts(await readArtifacts(source, limits), options);
  }

  /**
   * Builds the model from files already in memory (`tf.io.ModelArtifacts`), after the checks
   * of {@link IrnModel.load}: weight specs, byte counts and finite weights, the topology
   * against the `irn` metadata, and each weight the topology needs present once, by name,
   * with its shape (tfjs-layers' strict loading), and no other.
   */
  static fromArtifacts(artifacts: tf.io.ModelArtifacts, options: IrnLoadOptions = {}): IrnInference {
    const limits = resolveLimits(options.limits);
    checkModelArtifacts(artifacts, limits);
    const { config, layers } = checkArchitecture(artifacts, limits);
    const meta = (artifacts.userDefinedMetadata as { irn: Partial<IrnMetadata> }).irn;
    const notes = readNotes(meta);
    checkWeightNames(artifacts.weightSpecs ?? [], config, layers);
    const expanded = expandUint8Channels(artifacts);
    const specs = expanded.weightSpecs ?? [];
    const named = tf.io.decodeWeights(expanded.weightData ?? new ArrayBuffer(0), specs);
    const tensor = <T extends tf.Tensor>(name: string) => named[name] as T;
    const steps: Step[] = layers.map((layer) => {
      if (layer.class_name === 'HaarDownsampling') return { kind: 'haar' };
      const prefix = layer.config!.name as string;
      const net = (role: string): SubnetFn => {
        const kernels: tf.Tensor4D[] = [];
        const biases: tf.Tensor1D[] = [];
        for (let k = 1; k <= DENSE_CONVS; k++) {
          kernels.push(tensor(`${prefix}/${role}/conv${k}/kernel`));
          biases.push(tensor(`${prefix}/${role}/conv${k}/bias`));
        }
        return (x) => denseBlockApply(x, kernels, biases);
      };
      return { kind: 'coupling', parts: { F: net('F'), G: net('G'), H: net('H'), split: 3, clamp: config.clamp } };
    });
    return new IrnInference(config, steps, Object.values(named), notes);
  }

  /** Number of weights. */
  countParams(): number {
    return this.weights.reduce((n, w) => n + w.size, 0);
  }

  protected runForward(xHr: tf.Tensor4D): FlowResult {
    return tf.tidy(() => foldFlow(xHr, this.steps, (step, t) => (step.kind === 'haar' ? haarForward(t) : couplingForward(t, step.parts))));
  }

  protected runInverse(y: tf.Tensor4D): FlowResult {
    return tf.tidy(() => foldFlow(y, [...this.steps].reverse(), (step, t) => (step.kind === 'haar' ? haarInverse(t) : couplingInverse(t, step.parts))));
  }

  protected free(): void {
    tf.dispose([...this.weights]);
  }
}
