import * as tf from '@tensorflow/tfjs-core';
import { concatChannels, concatFusesLeakyRelu, splitChannels } from './concat-channels.js';
import { conv2dBias, conv2dSame } from './conv.js';

// The IRN transforms as functions of tensors, with tfjs-core alone. The layers (haar.ts,
// dense-block.ts, affine-coupling.ts) and the inference-only model (model/irn-inference.ts)
// both run these, so the two compute the same numbers; the restore path of a page or worker
// then needs no tfjs-layers.

/** Output of one pass through an invertible map. `logDet` is per sample, shape `[B]`. */
export interface FlowResult extends tf.TensorContainerObject {
  output: tf.Tensor4D;
  logDet: tf.Tensor1D;
}

/** Throws unless `x` is a rank-4 tensor; `what` names the caller in the message. */
export function assertRank4(x: tf.Tensor, what: string): asserts x is tf.Tensor4D {
  if (x.rank !== 4) {
    throw new Error(`${what} expects a [B, H, W, C] tensor, got shape [${x.shape.join(', ')}]`);
  }
}

/** log|det| of one 2x2 group: a 4x4 Hadamard matrix (|det| 16) times 1/4 (factor 4^-4). */
const LOG_DET_PER_GROUP = Math.log(1 / 16);

/**
 * Haar wavelet downsampling, `[B, H, W, C] -> [B, H/2, W/2, 4C]` (IRN.md, "Haar downsampling";
 * see `HaarDownsampling`): output channel `k * C + c`, the first C channels the box mean.
 */
export function haarForward(x: tf.Tensor4D): FlowResult {
  assertRank4(x, 'HaarDownsampling.forward');
  const [b, h, w, c] = x.shape;
  if (h % 2 !== 0 || w % 2 !== 0) {
    throw new Error(`HaarDownsampling needs even height and width, got ${h}x${w}`);
  }
  return tf.tidy(() => {
    const h2 = h / 2;
    const w2 = w / 2;
    // [B*H/2, 2 (row in patch), W/2, 2*C (column in patch, channel)]
    const r = tf.reshape(x, [b * h2, 2, w2, 2 * c]);
    const top = tf.reshape(tf.slice(r, [0, 0, 0, 0], [-1, 1, -1, -1]), [b * h2, w2, 2 * c]);
    const bot = tf.reshape(tf.slice(r, [0, 1, 0, 0], [-1, 1, -1, -1]), [b * h2, w2, 2 * c]);
    const pa = tf.slice(top, [0, 0, 0], [-1, -1, c]);
    const pb = tf.slice(top, [0, 0, c], [-1, -1, c]);
    const pc = tf.slice(bot, [0, 0, 0], [-1, -1, c]);
    const pd = tf.slice(bot, [0, 0, c], [-1, -1, c]);
    const ab = tf.add(pa, pb);
    const aMinusB = tf.sub(pa, pb);
    const cd = tf.add(pc, pd);
    const cMinusD = tf.sub(pc, pd);
    const k0 = tf.add(ab, cd);
    const k1 = tf.add(aMinusB, cMinusD);
    const k2 = tf.sub(ab, cd);
    const k3 = tf.sub(aMinusB, cMinusD);
    const out = tf.mul(tf.concat([k0, k1, k2, k3], 2), 0.25);
    const logDet = tf.fill([b], ((h * w * c) / 4) * LOG_DET_PER_GROUP) as tf.Tensor1D;
    return { output: tf.reshape(out, [b, h2, w2, 4 * c]) as tf.Tensor4D, logDet };
  });
}

/** The exact inverse of {@link haarForward}, `[B, h, w, 4C] -> [B, 2h, 2w, C]`. */
export function haarInverse(y: tf.Tensor4D): FlowResult {
  assertRank4(y, 'HaarDownsampling.inverse');
  const [b, h2, w2, c4] = y.shape;
  if (c4 % 4 !== 0) {
    throw new Error(`HaarDownsampling.inverse needs a multiple of 4 channels, got ${c4}`);
  }
  const c = c4 / 4;
  return tf.tidy(() => {
    const r = tf.reshape(y, [b * h2, w2, c4]);
    const k0 = tf.slice(r, [0, 0, 0], [-1, -1, c]);
    const k1 = tf.slice(r, [0, 0, c], [-1, -1, c]);
    const k2 = tf.slice(r, [0, 0, 2 * c], [-1, -1, c]);
    const k3 = tf.slice(r, [0, 0, 3 * c], [-1, -1, c]);
    const s01 = tf.add(k0, k1);
    const d01 = tf.sub(k0, k1);
    const s23 = tf.add(k2, k3);
    const d23 = tf.sub(k2, k3);
    const pa = tf.add(s01, s23); // k0+k1+k2+k3
    const pb = tf.add(d01, d23); // k0-k1+k2-k3
    const pc = tf.sub(s01, s23); // k0+k1-k2-k3
    const pd = tf.sub(d01, d23); // k0-k1-k2+k3
    const top = tf.concat([pa, pb], 2);
    const bot = tf.concat([pc, pd], 2);
    const out = tf.reshape(tf.stack([top, bot], 1), [b, h2 * 2, w2 * 2, c]) as tf.Tensor4D;
    const logDet = tf.fill([b], -((h2 * w2 * c4) / 4) * LOG_DET_PER_GROUP) as tf.Tensor1D;
    return { output: out, logDet };
  });
}

/** The number of convolutions in a dense block. */
export const DENSE_CONVS = 5;
const LEAKY_SLOPE = 0.2;

/**
 * The shapes of a dense block's convolutions, conv1..conv5: conv k sees the input and the
 * k - 1 earlier outputs (`inChannels + (k - 1) * growth` channels), and gives `growth`
 * channels, but the last, which gives `outChannels`. What `DenseBlock` builds, and what a
 * model.json must hold for it.
 */
export function denseConvShapes(inChannels: number, outChannels: number, growth: number): { kernel: number[]; bias: number[] }[] {
  return Array.from({ length: DENSE_CONVS }, (_, i) => {
    const out = i === DENSE_CONVS - 1 ? outChannels : growth;
    return { kernel: [3, 3, inChannels + i * growth, out], bias: [out] };
  });
}

let fusedInference = true;

/**
 * Whether inference (no gradient tape) fuses the convolutions' bias and LeakyReLU (default
 * true): on wasm, conv + bias in one kernel (core's SIMD conv or XNNPACK's `FusedConv2D`,
 * conv.ts's `conv2dBias`) and the LeakyReLU inside the next
 * concatenation (concat-channels.ts); on other backends, tfjs's fused conv2d + bias +
 * LeakyReLU kernel. Training on wasm always takes the LeakyReLU inside the concatenations. For benchmarks and tests that compare it with the unfused ops, which
 * training always uses; not part of the public API.
 */
export function setFusedInference(enabled: boolean): void {
  fusedInference = enabled;
}

/**
 * The IRN subnet (IRN.md, "Subnet: dense block"; see `DenseBlock`) on `x`: five 3x3
 * convolutions with bias, conv k on the concatenation (x, x1, ..., x_{k-1}), LeakyReLU(0.2)
 * after conv1..4. `kernels[k]` is `[3, 3, Cin + k * growth, out]`, `biases[k]` `[out]`.
 */
export function denseBlockApply(x: tf.Tensor4D, kernels: readonly tf.Tensor4D[], biases: readonly tf.Tensor1D[]): tf.Tensor4D {
  if (kernels.length !== DENSE_CONVS || biases.length !== DENSE_CONVS) {
    throw new Error(`a dense block has ${DENSE_CONVS} convolutions, got ${kernels.length} kernels and ${biases.length} biases`);
  }
  // Without a gradient tape nothing needs the intermediates: free them as soon as they are
  // used, so peak memory is about one concatenation, not all of them.
  const free = !tf.engine().isTapeOn();
  // On wasm, the LeakyReLU runs inside the concatenations, which apply it while they copy
  // (and its derivative while their gradient splits dy; concat-channels.ts): the convs
  // write conv + bias only, and no separate activation pass runs over their outputs.
  // `setFusedInference(false)` turns this off for inference, to compare with separate ops.
  const leakyInConcat = (!free || fusedInference) && concatFusesLeakyRelu();
  return tf.tidy(() => {
    const feats: tf.Tensor4D[] = [x];
    for (let k = 0; k < DENSE_CONVS; k++) {
      const filter = kernels[k];
      const bias = biases[k];
      const last = k === DENSE_CONVS - 1;
      if (leakyInConcat) {
        const inp = feats.length === 1 ? x : concatChannels(feats, { leaky: feats.map((_, i) => i > 0), alpha: LEAKY_SLOPE });
        const a = free ? conv2dBias(inp, filter, bias) : conv2dSame(inp, filter, bias);
        if (free && inp !== x) inp.dispose();
        if (last) return a;
        feats.push(a);
        continue;
      }
      const inp = feats.length === 1 ? x : concatChannels(feats);
      if (free && fusedInference) {
        const a = last
          ? tf.fused.conv2d({ x: inp, filter, bias, strides: 1, pad: 'same' })
          : tf.fused.conv2d({ x: inp, filter, bias, strides: 1, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: LEAKY_SLOPE });
        if (inp !== x) inp.dispose();
        if (last) return a;
        feats.push(a);
        continue;
      }
      const h = conv2dSame(inp, filter, bias);
      if (free && inp !== x) inp.dispose();
      if (last) return h;
      feats.push(tf.leakyRelu(h, LEAKY_SLOPE));
      if (free) h.dispose();
    }
    throw new Error('unreachable');
  });
}

/** One subnet of a coupling block: `[B, H, W, Cin] -> [B, H, W, Cout]`. */
export type SubnetFn = (x: tf.Tensor4D) => tf.Tensor4D;

/** The three subnets of a coupling block and its split and clamp (see `AffineCoupling`). */
export interface CouplingParts {
  F: SubnetFn;
  G: SubnetFn;
  H: SubnetFn;
  /** Channels of the LR branch x1. */
  split: number;
  /** Bound of the log-scale s. */
  clamp: number;
}

function logScale(y1: tf.Tensor4D, parts: CouplingParts): tf.Tensor4D {
  // clamp * (2 * sigmoid(h) - 1) == clamp * tanh(h / 2)
  const h = parts.H(y1);
  return tf.mul(tf.sub(tf.mul(tf.sigmoid(h), 2), 1), parts.clamp);
}

/**
 * The IRN invertible block (IRN.md, "Invertible block"): y1 = x1 + F(x2),
 * s = clamp * (2 sigmoid(H(y1)) - 1), y2 = x2 * exp(s) + G(y1); log|det J| = sum of s.
 */
export function couplingForward(x: tf.Tensor4D, parts: CouplingParts): FlowResult {
  assertRank4(x, 'AffineCoupling.forward');
  return tf.tidy(() => {
    const [x1, x2] = splitChannels(x, [parts.split, x.shape[3] - parts.split]) as [tf.Tensor4D, tf.Tensor4D];
    const y1 = tf.add(x1, parts.F(x2)) as tf.Tensor4D;
    const s = logScale(y1, parts);
    const y2 = tf.add(tf.mul(x2, tf.exp(s)), parts.G(y1));
    return { output: concatChannels([y1, y2]) as tf.Tensor4D, logDet: tf.sum(s, [1, 2, 3]) as tf.Tensor1D };
  });
}

/** The exact inverse of {@link couplingForward}: x2 = (y2 - G(y1)) * exp(-s), x1 = y1 - F(x2). */
export function couplingInverse(y: tf.Tensor4D, parts: CouplingParts): FlowResult {
  assertRank4(y, 'AffineCoupling.inverse');
  return tf.tidy(() => {
    const [y1, y2] = splitChannels(y, [parts.split, y.shape[3] - parts.split]) as [tf.Tensor4D, tf.Tensor4D];
    const s = logScale(y1, parts);
    const x2 = tf.mul(tf.sub(y2, parts.G(y1)), tf.exp(tf.neg(s))) as tf.Tensor4D;
    const x1 = tf.sub(y1, parts.F(x2));
    return { output: concatChannels([x1, x2]) as tf.Tensor4D, logDet: tf.neg(tf.sum(s, [1, 2, 3])) as tf.Tensor1D };
  });
}

/**
 * Runs `run` over `steps` in order from `start`, summing the per-sample log-determinants.
 * Without a gradient tape, each step's output is freed once the next step has used it (never
 * `start`). Call it inside `tf.tidy`.
 */
export function foldFlow<S>(start: tf.Tensor4D, steps: readonly S[], run: (step: S, t: tf.Tensor4D) => FlowResult): FlowResult {
  const free = !tf.engine().isTapeOn();
  let t = start;
  let logDet = tf.zeros([start.shape[0]]) as tf.Tensor1D;
  for (const step of steps) {
    const r = run(step, t);
    const sum = tf.add(logDet, r.logDet) as tf.Tensor1D;
    if (free) {
      if (t !== start) t.dispose();
      tf.dispose([logDet, r.logDet]);
    }
    t = r.output;
    logDet = sum;
  }
  return { output: t, logDet };
}
