import { TorchFormatError } from './errors.js';
import { readTorchStateDict } from './read-state-dict.js';
import type { TorchTensor } from './tensor.js';

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

function quoteList(keys: readonly string[]): string {
  const shown = keys.slice(0, MAX_LISTED).map((k) => `"${k}"`).join(', ');
  return keys.length > MAX_LISTED ? `${shown}, ... (${keys.length} in all)` : shown;
}

function shapeText(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
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

/** All keys an IRN with this layout has, in forward order. */
function expectedKeys(levels: number, blocks: number): string[] {
  const keys: string[] = [];
  for (let l = 0; l < levels; l++) {
    keys.push(`operations.${haarIndex(l, blocks)}.haar_weights`);
    for (let b = 0; b < blocks; b++) {
      for (const net of SUBNETS) {
        for (let k = 1; k <= 5; k++) {
          const prefix = `operations.${blockIndex(l, b, blocks)}.${net}.conv${k}`;
          keys.push(`${prefix}.weight`, `${prefix}.bias`);
        }
      }
    }
  }
  return keys;
}

function checkShape(key: string, tensor: TorchTensor, expected: readonly number[], why: string): void {
  const actual = tensor.shape;
  if (actual.length !== expected.length || actual.some((d, i) => d !== expected[i])) {
    throw new TorchFormatError(`${key} has shape ${shapeText(actual)}; expected ${shapeText(expected)} (${why})`);
  }
}

function checkHaar(key: string, tensor: TorchTensor, channels: number, config: string): void {
  checkShape(key, tensor, [4 * channels, 1, 2, 2], `${config}: Haar level on ${channels} channels`);
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

function denseBlock(
  stateDict: ReadonlyMap<string, TorchTensor>,
  prefix: string,
  inChannels: number,
  outChannels: number,
  growth: number,
  config: string,
): DenseBlockWeights {
  const convs: ConvWeights[] = [];
  for (let k = 1; k <= 5; k++) {
    const convIn = inChannels + (k - 1) * growth;
    const convOut = k === 5 ? outChannels : growth;
    const weightKey = `${prefix}.conv${k}.weight`;
    const biasKey = `${prefix}.conv${k}.bias`;
    const weight = stateDict.get(weightKey)!;
    const bias = stateDict.get(biasKey)!;
    const why = `${config}: conv${k} maps ${inChannels} + ${k - 1} * ${growth} -> ${convOut}`;
    checkShape(weightKey, weight, [convOut, convIn, KERNEL, KERNEL], why);
    checkShape(biasKey, bias, [convOut], why);
    convs.push({
      kernel: toTfjsKernel(weight),
      kernelShape: [KERNEL, KERNEL, convIn, convOut],
      bias: Float32Array.from(bias.data),
    });
  }
  return { convs };
}

/**
 * Maps a state_dict (as {@link readTorchStateDict} returns it) onto the IRN architecture of
 * IRN.md: infers scale, blocks per level and growth from the keys, checks that the keys are
 * exactly those of that configuration and every shape and Haar kernel is the reference's, and
 * converts conv kernels to tfjs layout.
 *
 * @throws {TorchFormatError} naming the key for unexpected or missing keys, wrong shapes
 *   (expected vs actual) or wrong Haar values, and "not an IRN checkpoint" when there are no
 *   `operations.*` keys.
 */
export function importIrnStateDict(stateDict: ReadonlyMap<string, TorchTensor>): ImportedIrn {
  const keys = [...stateDict.keys()];
  if (!keys.some((k) => k.startsWith('operations.'))) {
    throw new TorchFormatError(
      `not an IRN checkpoint: no "operations.*" keys${keys.length > 0 ? ` (it has ${quoteList(keys)})` : ' (it is empty)'}`,
    );
  }
  const { levels, blocks } = inferLayout(keys);
  const scale = (2 ** levels) as ImportedIrn['scale'];
  const layout = `IRN x${scale} with ${blocks} block${blocks === 1 ? '' : 's'} per level`;
  const expected = expectedKeys(levels, blocks);
  const expectedSet = new Set(expected);
  const extra = keys.filter((k) => !expectedSet.has(k));
  if (extra.length > 0) throw new TorchFormatError(`unexpected keys for an ${layout}: ${quoteList(extra)}`);
  const missing = expected.filter((k) => !stateDict.has(k));
  if (missing.length > 0) throw new TorchFormatError(`missing keys for an ${layout}: ${quoteList(missing)}`);

  const growth = stateDict.get(`operations.1.F.conv1.weight`)!.shape[0];
  if (!(growth >= 1)) throw new TorchFormatError('operations.1.F.conv1.weight has no output channels');
  const config = `${layout}, growth ${growth}`;

  const couplings: CouplingWeights[] = [];
  for (let l = 0; l < levels; l++) {
    const inChannels = SPLIT * 4 ** l;
    const channels = 4 * inChannels; // 12, 48, 192
    const haarKey = `operations.${haarIndex(l, blocks)}.haar_weights`;
    checkHaar(haarKey, stateDict.get(haarKey)!, inChannels, config);
    for (let b = 0; b < blocks; b++) {
      const prefix = `operations.${blockIndex(l, b, blocks)}`;
      const blockConfig = `${config}, level ${l} (${channels} channels)`;
      couplings.push({
        F: denseBlock(stateDict, `${prefix}.F`, channels - SPLIT, SPLIT, growth, `${blockConfig}, F`),
        G: denseBlock(stateDict, `${prefix}.G`, SPLIT, channels - SPLIT, growth, `${blockConfig}, G`),
        H: denseBlock(stateDict, `${prefix}.H`, SPLIT, channels - SPLIT, growth, `${blockConfig}, H`),
      });
    }
  }
  return { scale, levels, blocks, growth, couplings };
}

/**
 * Reads a PyTorch IRN checkpoint (`IRN_x2.pth`, `IRN_x4.pth`, `IRN_x8.pth`, `IRN+_x4.pth`, or
 * one trained with the reference code) and returns its weights in tfjs layout, checked against
 * the architecture. Zip and legacy formats, float32/float16 tensors, `module.` prefixes: see
 * {@link readTorchStateDict}.
 *
 * @param bytes the whole `.pth` file.
 * @throws {TorchFormatError} when the file is not a readable checkpoint or not an IRN one.
 * @example
 * ```ts
 * const irn = importIrnCheckpoint(new Uint8Array(await file.arrayBuffer()));
 * irn.scale; // 4
 * irn.couplings[0].F.convs[0].kernelShape; // [3, 3, 9, 32]
 * ```
 */
export function importIrnCheckpoint(bytes: Uint8Array): ImportedIrn {
  return importIrnStateDict(readTorchStateDict(bytes));
}
