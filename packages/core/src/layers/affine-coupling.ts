import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology.js';
import { DenseBlock, type DenseBlockArgs } from './dense-block.js';
import { InvertibleLayer } from './flow.js';
import { couplingForward, couplingInverse, type CouplingParts, type FlowResult } from './flow-ops.js';

/**
 * Makes a subnet mapping `inChannels -> outChannels` channels, spatial size unchanged.
 * `role` is `"F"`, `"G"` or `"H"`; use it to keep weight names distinct.
 */
export type SubnetFactory = (inChannels: number, outChannels: number, role: SubnetRole) => tfl.layers.Layer;
/** Which of the coupling's three subnets is being made. */
export type SubnetRole = 'F' | 'G' | 'H';

/** Constructor arguments of {@link AffineCoupling}. */
export interface AffineCouplingArgs extends LayerArgs {
  /** Channels of the LR branch x1. Default 3 (IRN.md). */
  split?: number;
  /** Bound of the log-scale s. Default 1 (IRN.md). */
  clamp?: number;
  /** Growth of the default dense-block subnets. Default 32. */
  growth?: number;
  /** Seed for the subnets' initial weights. */
  seed?: number;
  /**
   * Subnet factory; defaults to {@link DenseBlock}s of `growth`. A custom factory is not
   * serialized: layers saved with one load back with dense blocks.
   */
  subnet?: SubnetFactory;
}

/**
 * The IRN invertible block (IRN.md, "Invertible block"): with x1 the first `split`
 * channels and x2 the rest,
 *
 *     y1 = x1 + F(x2)
 *     s  = clamp * (2 * sigmoid(H(y1)) - 1)
 *     y2 = x2 * exp(s) + G(y1)
 *
 * log|det J| = sum of s. Channel count and size are unchanged. The computation is flow-ops.ts's
 * `couplingForward` and `couplingInverse`.
 */
export class AffineCoupling extends InvertibleLayer {
  static className = 'AffineCoupling';
  readonly split: number;
  readonly clamp: number;
  readonly growth: number;
  readonly seed: number | undefined;
  private readonly subnetFactory: SubnetFactory;
  private subnets: Record<SubnetRole, tfl.layers.Layer> | null = null;

  constructor(args: AffineCouplingArgs = {}) {
    super(args);
    this.split = args.split ?? 3;
    this.clamp = args.clamp ?? 1;
    this.growth = args.growth ?? 32;
    this.seed = args.seed;
    const seedOf = (role: SubnetRole) => (this.seed == null ? undefined : this.seed * 7 + 'FGH'.indexOf(role));
    this.subnetFactory =
      args.subnet ??
      ((_in, out, role) =>
        new DenseBlock({ outChannels: out, growth: this.growth, seed: seedOf(role), weightPrefix: `${role}/`, name: role } as DenseBlockArgs));
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const c = s[s.length - 1];
    if (c == null || c <= this.split) {
      throw new Error(`AffineCoupling needs more than ${this.split} channels, got ${c}`);
    }
    const rest = c - this.split;
    const lead = s.slice(0, -1);
    const make = (cin: number, cout: number, role: SubnetRole) => {
      const net = this.subnetFactory(cin, cout, role);
      net.build([...lead, cin]);
      net.built = true;
      return net;
    };
    this.subnets = { F: make(rest, this.split, 'F'), G: make(this.split, rest, 'G'), H: make(this.split, rest, 'H') };
    this.built = true;
  }

  // The subnets' weights are this layer's weights, so models save and train them.
  override get trainableWeights(): tfl.LayerVariable[] {
    if (!this.trainable || this.subnets == null) return [];
    return [...this.subnets.F.trainableWeights, ...this.subnets.G.trainableWeights, ...this.subnets.H.trainableWeights];
  }

  override get nonTrainableWeights(): tfl.LayerVariable[] {
    if (this.subnets == null) return [];
    const all = [this.subnets.F, this.subnets.G, this.subnets.H].flatMap((n) =>
      this.trainable ? n.nonTrainableWeights : n.weights,
    );
    return all;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
  }

  private nets(): Record<SubnetRole, tfl.layers.Layer> {
    if (this.subnets == null) throw new Error('AffineCoupling used before it was built');
    return this.subnets;
  }

  private parts(): CouplingParts {
    const { F, G, H } = this.nets();
    const run = (net: tfl.layers.Layer) => (t: tf.Tensor4D) => net.call(t, {}) as tf.Tensor4D;
    return { F: run(F), G: run(G), H: run(H), split: this.split, clamp: this.clamp };
  }

  protected forwardImpl(x: tf.Tensor4D): FlowResult {
    return couplingForward(x, this.parts());
  }

  protected inverseImpl(y: tf.Tensor4D): FlowResult {
    return couplingInverse(y, this.parts());
  }

  /** The subnet with the given role (after build). */
  subnet(role: SubnetRole): tfl.layers.Layer {
    return this.nets()[role];
  }

  override getConfig(): tf.serialization.ConfigDict {
    const config: tf.serialization.ConfigDict = { split: this.split, clamp: this.clamp, growth: this.growth };
    if (this.seed != null) config.seed = this.seed;
    return { ...super.getConfig(), ...config };
  }
}
tf.serialization.registerClass(AffineCoupling);
