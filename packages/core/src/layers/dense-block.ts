import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { DENSE_CONVS as CONVS, denseBlockApply, denseConvShapes } from './flow-ops.js';

/** Constructor arguments of {@link DenseBlock}. */
export interface DenseBlockArgs extends LayerArgs {
  /** Output channels of the last convolution. */
  outChannels: number;
  /** Channels added by each of conv1..conv4. Default 32 (IRN.md). */
  growth?: number;
  /** Scale applied to the Xavier-normal init of conv1..conv4. Default 0.1 (IRN.md). */
  initScale?: number;
  /** Seed for the initial weights; unseeded when absent. */
  seed?: number;
  /**
   * Prefix of the weight names (e.g. `"F/"`), so that the three subnets of one coupling
   * layer keep distinct names when saved. Set by the owner, not serialized.
   */
  weightPrefix?: string;
}

export { setFusedInference } from './flow-ops.js';

/**
 * The IRN subnet (IRN.md, "Subnet: dense block"): five 3x3 convolutions with bias;
 * conv k sees the concatenation (x, x1, ..., x_{k-1}), conv1..4 are followed by
 * LeakyReLU(0.2) and output `growth` channels, conv5 outputs `outChannels` with no
 * activation. conv5 starts at zero, so a fresh block outputs exactly zero.
 *
 * `[B, H, W, Cin] -> [B, H, W, outChannels]`.
 */
export class DenseBlock extends tfl.layers.Layer {
  static className = 'DenseBlock';
  readonly outChannels: number;
  readonly growth: number;
  readonly initScale: number;
  readonly seed: number | undefined;
  private readonly weightPrefix: string;
  private kernels: tfl.LayerVariable[] = [];
  private biases: tfl.LayerVariable[] = [];

  constructor(args: DenseBlockArgs) {
    super(args);
    if (!Number.isInteger(args.outChannels) || args.outChannels <= 0) {
      throw new Error(`DenseBlock: outChannels must be a positive integer, got ${args.outChannels}`);
    }
    this.outChannels = args.outChannels;
    this.growth = args.growth ?? 32;
    if (!Number.isInteger(this.growth) || this.growth <= 0) {
      throw new Error(`DenseBlock: growth must be a positive integer, got ${args.growth}`);
    }
    this.initScale = args.initScale ?? 0.1;
    this.seed = args.seed;
    this.weightPrefix = args.weightPrefix ?? '';
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const inChannels = s[s.length - 1];
    if (inChannels == null) throw new Error('DenseBlock: the channel dimension must be known');
    this.kernels = [];
    this.biases = [];
    denseConvShapes(inChannels, this.outChannels, this.growth).forEach(({ kernel, bias }, i) => {
      const k = i + 1;
      const [, , cin, cout] = kernel;
      // PyTorch's xavier_normal_ (plain normal, std sqrt(2 / (fanIn + fanOut))) times 0.1;
      // tfjs's glorotNormal is a truncated normal, so it is not used.
      const std = this.initScale * Math.sqrt(2 / (9 * cin + 9 * cout));
      const kernelInit =
        k === CONVS
          ? tfl.initializers.zeros()
          : tfl.initializers.randomNormal({ mean: 0, stddev: std, seed: this.seed == null ? undefined : this.seed * 31 + k });
      this.kernels.push(
        this.addWeight(`${this.weightPrefix}conv${k}/kernel`, kernel, 'float32', kernelInit),
      );
      this.biases.push(this.addWeight(`${this.weightPrefix}conv${k}/bias`, bias, 'float32', tfl.initializers.zeros()));
    });
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [...s.slice(0, -1), this.outChannels];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
    if (!this.built) this.build(x.shape);
    return denseBlockApply(
      x,
      this.kernels.map((k) => k.read() as tf.Tensor4D),
      this.biases.map((b) => b.read() as tf.Tensor1D),
    );
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = {
      outChannels: this.outChannels,
      growth: this.growth,
      initScale: this.initScale,
    };
    if (this.seed != null) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(DenseBlock);
