import { checkLimit, resolveLimits, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { quote } from './pickle.js';
import { openTorchStateDict, type ReadCheckpointOptions } from './read-state-dict.js';
import { elementCount, materialise, shapeText, type TorchTensor } from './tensor.js';

/** One 3x3 convolution, converted to tfjs layout. */
export interface ConvWeights {
  /** Kernel in tfjs layout `[kh, kw, in, out]`, converted from torch's `(out, in, kh, kw)`. */
  kernel: Float32Array;
  /** `[kh, kw, in, out]`; always `[3, 3, in, out]` for IRN. */
  kernelShape: [number, number, number, number];
  /** Bias, length `out`. */
  bias: Float32Array;
}

/** A dense-block subnet: `convs[0..4]` are conv1..conv5, in order. */
export interface DenseBlockWeights {
  convs: ConvWeights[];
}

/** The three subnets of one affine coupling: F: (C-3) -> 3, G and H: 3 -> (C-3). */
export interface CouplingWeights {
  F: DenseBlockWeights;
  G: DenseBlockWeights;
  H: DenseBlockWeights;
}

/** An IRN checkpoint, checked against the architecture and ready for the tfjs layers. */
export interface ImportedIrn {
  /** Rescaling factor, `2 ** levels`. */
  scale: 2 | 4 | 8;
  /** Number of Haar levels (factors of 2). */
  levels: number;
  /** Invertible blocks per level. */
  blocks: number;
  /** Output channels of conv1..conv4 of every dense block. */
  growth: number;
  /** `levels * blocks` couplings in forward order (level 0's blocks first). */
  couplings: CouplingWeights[];
}

const SUBNETS = ['F', 'G', 'H'] as const;
/** Affine coupling split: the first 3 channels are the LR branch (IRN.md). */
const SPLIT = 3;
const KERNEL = 3;
const MAX_LEVELS = 3;
const MAX_LISTED = 5;

/**
 * The fixed Haar kernels as the reference builds them (Inv_arch.py, HaarDownsampling): four
 * 2x2 kernels of +-1 (the 1/4 is applied after the conv), row-major `[row][col]`.
 */
const HAAR_KERNELS = [
  [1, 1, 1, 1], // low-pass
  [1, -1, 1, -1], // left minus right
  [1, 1, -1, -1], // top minus bottom
  [1, -1, -1, 1], // diagonal
];

function quoteList(keys: readonly string[], total = keys.length): string {
  const shown = keys.slice(0, MAX_LISTED).map((k) => quote(k, 80)).join(', ');
  return total > MAX_LISTED ? `${shown}, ... (${total} in all)` : shown;
}

/** Where each operation lives: haar at `l * (blocks + 1)`, blocks in between. */
function haarIndex(level: number, blocks: number): number {
  return level * (blocks + 1);
}

function blockIndex(level: number, block: number, blocks: number): number {
  return haarIndex(level, blocks) + 1 + block;
}

/** Infers `levels` and `blocks` from the key names alone. */
function inferLayout(keys: readonly string[]): { levels: number; blocks: number } {
  const haar: number[] = [];
  let maxIndex = 0;
  for (const key of keys) {
    const m = /^operations\.(\d+)\.(.*)$/.exec(key);
    if (m === null) continue;
    const index = Number(m[1]);
    maxIndex = Math.max(maxIndex, index);
    if (m[2] === 'haar_weights') haar.push(index);
  }
  haar.sort((a, b) => a - b);
  if (haar.length === 0) {
    throw new TorchFormatError('not an IRN checkpoint: it has "operations.*" keys but no "operations.{i}.haar_weights"');
  }
  if (haar.length > MAX_LEVELS) {
    throw new TorchFormatError(`IRN checkpoint has ${haar.length} Haar levels (x${2 ** haar.length}); only x2, x4 and x8 exist`);
  }
  const levels = haar.length;
  const blocks = levels > 1 ? haar[1] - haar[0] - 1 : maxIndex;
  const expected = haar.map((_, l) => haarIndex(l, blocks));
  if (haar[0] !== 0 || haar.some((h, l) => h !== expected[l])) {
    throw new TorchFormatError(
      `IRN checkpoint has haar_weights at operations ${haar.join(', ')}; expected ${expected.join(', ')} (a Haar level first, then the same number of blocks per level)`,
    );
  }
  if (blocks < 1) throw new TorchFormatError('IRN checkpoint has no invertible blocks');
  return { levels, blocks };
}

/** Keys per invertible block: F, G, H times conv1..conv5 times weight and bias. */
const KEYS_PER_BLOCK = SUBNETS.length * 5 * 2;

/**
 * All keys an IRN with this layout has, in forward order, generated one at a time: `blocks`
 * comes from a key name, so a crafted file could ask for trillions of them.
 */
function* expectedKeys(levels: number, blocks: number): Generator<string> {
  for (let l = 0; l < levels; l++) {
    yield `operations.${haarIndex(l, blocks)}.haar_weights`;
    for (let b = 0; b < blocks; b++) {
      for (const net of SUBNETS) {
        for (let k = 1; k <= 5; k++) {
          const prefix = `operations.${blockIndex(l, b, blocks)}.${net}.conv${k}`;
          yield `${prefix}.weight`;
          yield `${prefix}.bias`;
        }
      }
    }
  }
}

/** Whether `key` is one of {@link expectedKeys}, decided from its name alone. */
function isExpectedKey(key: string, levels: number, blocks: number): boolean {
  const m = /^operations\.(\d+)\.(haar_weights|[FGH]\.conv[1-5]\.(?:weight|bias))$/.exec(key);
  if (m === null || String(Number(m[1])) !== m[1]) return false;
  const index = Number(m[1]);
  const level = Math.floor(index / (blocks + 1));
  if (level >= levels) return false;
  return (m[2] === 'haar_weights') === (index === haarIndex(level, blocks));
}

/**
 * What the importer needs of a state_dict: shapes first, for every check that needs no data,
 * and the data of a tensor only once every shape has passed.
 */
interface IrnSource {
  readonly keys: readonly string[];
  has(key: string): boolean;
  /** The tensor's shape, after the source's own checks of what it claims. */
  shape(key: string): readonly number[];
  /** The tensor with its data. */
  read(key: string): TorchTensor;
  /** The name to use in messages about the tensor's values. */
  name(key: string): string;
}

function checkShape(key: string, actual: readonly number[], expected: readonly number[], why: string): void {
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new TorchFormatError(`${key} has shape ${shapeText(actual)}; expected ${shapeText(expected)} (${why})`);
  }
}

/** Refuses NaN and infinities: a model with them writes black or garbage images. */
function checkFinite(name: string, tensor: TorchTensor): void {
  const data = tensor.data;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      throw new TorchFormatError(`checkpoint tensor ${name} holds ${String(data[i])} at index ${i}; a usable model has finite weights`);
    }
  }
}

function checkHaar(key: string, tensor: TorchTensor, channels: number): void {
  // torch.cat([kernels] * C, 0): weight[4 * c + k] is kernel k of input channel c.
  for (let c = 0; c < channels; c++) {
    for (let k = 0; k < 4; k++) {
      for (let p = 0; p < 4; p++) {
        const actual = tensor.data[(4 * c + k) * 4 + p];
        const expected = HAAR_KERNELS[k][p];
        if (actual !== expected) {
          throw new TorchFormatError(
            `${key}[${4 * c + k}, 0, ${p >> 1}, ${p & 1}] is ${actual}; expected ${expected} (the fixed Haar kernel ${k} of channel ${c})`,
          );
        }
      }
    }
  }
}

/** torch `(out, in, kh, kw)` -> tfjs `[kh, kw, in, out]`. */
function toTfjsKernel(weight: TorchTensor): ConvWeights['kernel'] {
  const [out, inC, kh, kw] = weight.shape;
  const src = weight.data;
  const dst = new Float32Array(src.length);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inC; i++) {
      for (let y = 0; y < kh; y++) {
        for (let x = 0; x < kw; x++) {
          dst[((y * kw + x) * inC + i) * out + o] = src[((o * inC + i) * kh + y) * kw + x];
        }
      }
    }
  }
  return dst;
}

/** One tensor the importer keeps: its key, expected shape and why. */
interface Planned {
  key: string;
  shape: number[];
  why: string;
}

/**
 * Checks names, layout, every shape and the limits, reading no data; then reads the tensors
 * one by one and converts them. A crafted file is refused before its tensors cost anything.
 */
function importIrn(source: IrnSource, limits: Limits): ImportedIrn {
  const { keys } = source;
  if (!keys.some((k) => k.startsWith('operations.'))) {
    throw new TorchFormatError(
      `not an IRN checkpoint: no "operations.*" keys${keys.length > 0 ? ` (it has ${quoteList(keys)})` : ' (it is empty)'}`,
    );
  }
  const { levels, blocks } = inferLayout(keys);
  const scale = (2 ** levels) as ImportedIrn['scale'];
  const layout = `IRN x${scale} with ${blocks} block${blocks === 1 ? '' : 's'} per level`;
  const extra = keys.filter((k) => !isExpectedKey(k, levels, blocks));
  if (extra.length > 0) throw new TorchFormatError(`unexpected keys for an ${layout}: ${quoteList(extra)}`);
  const expectedCount = levels * (1 + blocks * KEYS_PER_BLOCK);
  if (keys.length < expectedCount) {
    // Every key is expected, so the first missing ones turn up within keys.length + MAX_LISTED.
    const missing: string[] = [];
    for (const k of expectedKeys(levels, blocks)) {
      if (!source.has(k)) missing.push(k);
      if (missing.length === MAX_LISTED) break;
    }
    throw new TorchFormatError(`missing keys for an ${layout}: ${quoteList(missing, expectedCount - keys.length)}`);
  }

  const growth = source.shape('operations.1.F.conv1.weight')[0];
  if (!(growth >= 1)) throw new TorchFormatError('operations.1.F.conv1.weight has no output channels');
  const config = `${layout}, growth ${growth}`;

  // The plan: every kept tensor's expected shape, in the order the checks used to run.
  const plan: Planned[] = [];
  for (let l = 0; l < levels; l++) {
    const inChannels = SPLIT * 4 ** l;
    const channels = 4 * inChannels; // 12, 48, 192
    plan.push({ key: `operations.${haarIndex(l, blocks)}.haar_weights`, shape: [4 * inChannels, 1, 2, 2], why: `${config}: Haar level on ${inChannels} channels` });
    for (let b = 0; b < blocks; b++) {
      const prefix = `operations.${blockIndex(l, b, blocks)}`;
      const blockConfig = `${config}, level ${l} (${channels} channels)`;
      for (const [net, inC, outC] of [['F', channels - SPLIT, SPLIT], ['G', SPLIT, channels - SPLIT], ['H', SPLIT, channels - SPLIT]] as const) {
        for (let k = 1; k <= 5; k++) {
          const convIn = inC + (k - 1) * growth;
          const convOut = k === 5 ? outC : growth;
          const why = `${blockConfig}, ${net}: conv${k} maps ${inC} + ${k - 1} * ${growth} -> ${convOut}`;
          plan.push({ key: `${prefix}.${net}.conv${k}.weight`, shape: [convOut, convIn, KERNEL, KERNEL], why });
          plan.push({ key: `${prefix}.${net}.conv${k}.bias`, shape: [convOut], why });
        }
      }
    }
  }
  let total = 0;
  for (const { key, shape, why } of plan) {
    checkShape(key, source.shape(key), shape, why);
    const n = elementCount(shape);
    checkLimit(limits, 'tensorElements', n, `checkpoint tensor ${quote(key, 80)}`, 'elements');
    total += n;
  }
  checkLimit(limits, 'totalElements', total, `the model (${config})`, 'elements');

  const read = (key: string): TorchTensor => {
    const tensor = source.read(key);
    checkFinite(source.name(key), tensor);
    return tensor;
  };
  const conv = (weightKey: string, biasKey: string): ConvWeights => {
    const weight = read(weightKey);
    const bias = read(biasKey);
    const [out, inC, kh, kw] = weight.shape;
    return { kernel: toTfjsKernel(weight), kernelShape: [kh, kw, inC, out], bias: Float32Array.from(bias.data) };
  };
  const couplings: CouplingWeights[] = [];
  for (let l = 0; l < levels; l++) {
    const haarKey = `operations.${haarIndex(l, blocks)}.haar_weights`;
    checkHaar(haarKey, read(haarKey), SPLIT * 4 ** l);
    for (let b = 0; b < blocks; b++) {
      const prefix = `operations.${blockIndex(l, b, blocks)}`;
      const subnet = (net: 'F' | 'G' | 'H'): DenseBlockWeights => ({
        convs: [1, 2, 3, 4, 5].map((k) => conv(`${prefix}.${net}.conv${k}.weight`, `${prefix}.${net}.conv${k}.bias`)),
      });
      couplings.push({ F: subnet('F'), G: subnet('G'), H: subnet('H') });
    }
  }
  return { scale, levels, blocks, growth, couplings };
}

/**
 * Maps a state_dict (as {@link readTorchStateDict} returns it) onto the IRN architecture of
 * IRN.md: infers scale, blocks per level and growth from the keys, checks that the keys are
 * exactly those of that configuration, that every shape and Haar kernel is the reference's,
 * that the weights fit `limits.tensorElements` and `limits.totalElements` and are all finite,
 * and converts conv kernels to tfjs layout.
 *
 * @param options `limits` (see {@link ReadCheckpointOptions}).
 * @throws {TorchFormatError} naming the key for unexpected or missing keys, wrong shapes
 *   (expected vs actual), wrong Haar values or a NaN or infinite weight ("checkpoint tensor
 *   operations.1.F.conv1.weight holds NaN at index 12", the index in torch's row-major
 *   order), and "not an IRN checkpoint" when there are no `operations.*` keys.
 * @throws {LimitError} when the weights are more than the limits allow.
 */
export function importIrnStateDict(stateDict: ReadonlyMap<string, TorchTensor>, options: ReadCheckpointOptions = {}): ImportedIrn {
  return importIrn(
    {
      keys: [...stateDict.keys()],
      has: (key) => stateDict.has(key),
      shape: (key) => stateDict.get(key)!.shape,
      read: (key) => stateDict.get(key)!,
      name: (key) => key,
    },
    resolveLimits(options.limits),
  );
}

/**
 * Reads a PyTorch IRN checkpoint (`IRN_x2.pth`, `IRN_x4.pth`, `IRN_x8.pth`, `IRN+_x4.pth`, or
 * one trained with the reference code) and returns its weights in tfjs layout, checked against
 * the architecture as {@link importIrnStateDict} does. Zip and legacy formats, float32/float16
 * tensors, `module.` prefixes: see {@link readTorchStateDict}.
 *
 * Names and shapes are checked before any tensor is read, so only the tensors IRN uses are
 * ever materialised (and only their zip entries inflated), and only once the whole model is
 * known to fit the limits. A weight that reads a stored element more than once (a stride of 0,
 * a broadcast view) is refused: training writes every weight, so no real IRN checkpoint has
 * one, and it would let a tiny file claim a huge model.
 *
 * @param bytes the whole `.pth` file.
 * @param options `limits` (see {@link ReadCheckpointOptions}).
 * @throws {TorchFormatError} when the file is not a readable checkpoint or not an IRN one, or
 *   holds a broadcast, NaN or infinite weight.
 * @throws {LimitError} when the file or its weights pass one of the limits.
 * @example
 * ```ts
 * const irn = importIrnCheckpoint(new Uint8Array(await file.arrayBuffer()));
 * irn.scale; // 4
 * irn.couplings[0].F.convs[0].kernelShape; // [3, 3, 9, 32]
 * ```
 */
export function importIrnCheckpoint(bytes: Uint8Array, options: ReadCheckpointOptions = {}): ImportedIrn {
  const limits = resolveLimits(options.limits);
  const lazy = openTorchStateDict(bytes, limits);
  return importIrn(
    {
      keys: [...lazy.keys()],
      has: (key) => lazy.has(key),
      shape: (key) => {
        const { rawKey, ref } = lazy.get(key)!;
        const repeated = ref.shape.findIndex((d, i) => d > 1 && ref.stride[i] === 0);
        if (repeated >= 0 || elementCount(ref.shape) > ref.storage.numel) {
          throw new TorchFormatError(
            `checkpoint tensor ${quote(rawKey, 80)} (shape ${shapeText(ref.shape)}, stride ${shapeText(ref.stride)}) reads stored elements more than once; the weights of a trained IRN are never broadcast views`,
          );
        }
        return ref.shape;
      },
      read: (key) => {
        const { rawKey, ref } = lazy.get(key)!;
        return materialise(ref, rawKey, limits);
      },
      name: (key) => lazy.get(key)!.rawKey,
    },
    limits,
  );
}
