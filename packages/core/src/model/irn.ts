import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { AffineCoupling } from '../layers/affine-coupling.js';
import { concatChannels } from '../layers/concat-channels.js';
import { assertRank4, type FlowResult } from '../layers/flow.js';
import { HaarDownsampling } from '../layers/haar.js';
import { InvertibleSequence } from '../layers/sequence.js';
import { IRN_FORMAT_VERSION, levelsOf, resolveConfig, type IrnConfig } from './config.js';
import { IrnFlowModel } from './flow-model.js';
import { seededNormal } from './noise.js';
import { quantize8 } from './quantize.js';
import { readArtifacts } from './load-source.js';
import { checkModelArtifacts, expandUint8Channels } from '../io/weight-specs.js';
import { encodeFloat16 } from '../io/float16.js';
import { encodeUint8Channels, fitsUint8Channels, UINT8_CHANNELS } from '../io/uint8-channels.js';
import { resolveLimits, type Limits } from '../limits.js';
import { checkArchitecture, checkNotes, checkWeightNames, readNotes } from './architecture.js';

export { parameterCount } from './architecture.js';
import { concatBytes } from '../image/bytes.js';
import type { LrCodec } from '../image/lr-metadata.js';

/** Options of {@link IrnModel.create}: the architecture and a seed for the initial weights. */
export interface IrnCreateOptions extends Partial<IrnConfig> {
  /** Seed for the initial weights (unseeded when absent). */
  seed?: number;
}

/** Options of {@link IrnModel.load}. */
export interface IrnLoadOptions {
  /** Bounds on the weights read; default `DEFAULT_LIMITS`. */
  limits?: Partial<Limits>;
}

/** Options of {@link IrnModel.save}. */
export interface IrnSaveOptions {
  /**
   * How the weights are stored: `"float32"` (default, exact), `"float16"` (half the bytes) or
   * `"uint8"` (about a quarter: conv kernels as 8 bits with a range per output channel, biases
   * as float16).
   */
  weights?: 'float32' | 'float16' | 'uint8';
}

/** How z is chosen when upscaling. */
export interface LatentOptions {
  /**
   * `"zeros"` (default; the mode of N(0, I), the best single guess), `"gaussian"` (a fresh
   * draw, as the paper tests), or an explicit tensor `[B, H/scale, W/scale, zChannels]`.
   */
  z?: 'zeros' | 'gaussian' | tf.Tensor4D;
  /** Standard deviation of the Gaussian draw. Default 1. */
  temperature?: number;
  /** Seed of the Gaussian draw; the same seed gives the same image. Default: random. */
  seed?: number;
}

/** Metadata stored in `model.json` (`userDefinedMetadata.irn`). */
export interface IrnMetadata extends IrnConfig {
  format: number;
  levels: number;
  /** Free-form provenance, e.g. `"converted from IRN_x2.pth"`. */
  source?: string;
  /**
   * For a lossy decoder: the preset (`"irn-x2"`) whose forward pass makes the LR images this
   * model restores. Such a model is asymmetric: its inverse restores, the encoder's forward
   * downscales (`irn downscale` then uses the encoder's weights). Absent: the model's own
   * forward makes its LRs.
   */
  encoder?: string;
  /** The LR codec the model was trained to restore from (`"jpeg"`); absent for a lossless model. */
  lrCodec?: LrCodec;
  /**
   * For a lossy decoder: the highest quality of its `lrCodec` it restores better than its
   * `encoder`'s own inverse (`89` for a JPEG decoder trained on MozJPEG's chroma-subsampled
   * qualities: from 90 up MozJPEG keeps full chroma, and the encoder's inverse restores
   * better). `irn downscale` names the decoder in LRs coded at or below it and the encoder
   * above it. Absent: every quality.
   */
  lrQualityMax?: number;
  /**
   * For a lossy decoder: the lowest quality of its `lrCodec` it is for (`90` for a JPEG
   * decoder trained on MozJPEG's full-chroma qualities only, beside one for the lower
   * qualities). Below it `irn downscale` names another decoder or the encoder. Absent: 0.
   */
  lrQualityMin?: number;
}

/** The optional notes of {@link IrnMetadata} an {@link IrnModel} carries through save and load. */
export type IrnModelNotes = Pick<IrnMetadata, 'source' | 'encoder' | 'lrCodec' | 'lrQualityMax' | 'lrQualityMin'>;

/**
 * An IRN model: `forward` maps an HR image `[B, H, W, 3]` in `[0, 1]` to
 * `[B, H/s, W/s, 3 s^2]` whose first 3 channels are the LR image and the rest z;
 * `inverse` maps back exactly. `downscale` / `upscale` add the 8-bit quantization and the
 * choice of z. Height and width must be multiples of the scale here; the image-level
 * functions (`downscaleImage`, `upscaleImage`) pad and crop for any size.
 *
 * @example
 * const model = IrnModel.create({ scale: 2, blocks: 4, growth: 16 });
 * const lr = model.downscale(hr);                 // [1, H/2, W/2, 3], multiples of 1/255
 * const restored = model.upscale(lr, { z: 'zeros' });
 */
export class IrnModel extends IrnFlowModel {
  private constructor(
    /** The invertible layers, as a saveable `tf.Sequential`. */
    readonly flow: InvertibleSequence,
    config: IrnConfig,
    private notes: IrnModelNotes = {},
  ) {
    super(config, 'IrnModel');
  }

  /** Builds a fresh model: exactly the Haar transform until trained (last convs are zero). */
  static create(options: IrnCreateOptions = {}): IrnModel {
    const { seed, ...arch } = options;
    const config = resolveConfig(arch);
    const flow = new InvertibleSequence();
    let channels = 3;
    for (let level = 0; level < levelsOf(config.scale); level++) {
      flow.add(new HaarDownsampling(level === 0 ? { inputShape: [null, null, 3] as unknown as number[] } : {}));
      channels *= 4;
      for (let b = 0; b < config.blocks; b++) {
        const blockSeed = seed == null ? undefined : seed * 1000 + level * 100 + b;
        flow.add(new AffineCoupling({ split: 3, clamp: config.clamp, growth: config.growth, seed: blockSeed }));
      }
    }
    return IrnModel.wrap(flow, config);
  }

  /** Wraps a loaded flow, reading the architecture from its metadata. */
  static fromFlow(flow: tfl.LayersModel): IrnModel {
    if (!(flow instanceof InvertibleSequence)) {
      throw new Error('not an IRN model: model.json does not describe an InvertibleSequence');
    }
    const meta = (flow.getUserDefinedMetadata() as { irn?: IrnMetadata } | undefined)?.irn;
    if (meta == null) throw new Error('not an IRN model: model.json has no "irn" metadata');
    if (meta.format > IRN_FORMAT_VERSION) {
      throw new Error(`this IRN model has format ${meta.format}; this library reads up to ${IRN_FORMAT_VERSION}`);
    }
    const config = resolveConfig({ scale: meta.scale, blocks: meta.blocks, growth: meta.growth, clamp: meta.clamp });
    const expected = levelsOf(config.scale) * (1 + config.blocks);
    if (flow.layers.length !== expected) {
      throw new Error(`IRN model metadata says ${expected} layers, model.json has ${flow.layers.length}`);
    }
    return IrnModel.wrap(flow, config, readNotes(meta));
  }

  /**
   * Loads a model saved by {@link IrnModel.save}: a URL to `model.json`, `indexeddb://name`
   * in browsers, or any `tf.io.IOHandler` (in Node, `fileSystem(dir)` from `@irn/core/node`).
   *
   * Whatever the route, the loaded files are checked before a model is built from them:
   * float32 weight specs (stored as float32, float16 or 8 bits per channel), within `options.limits` (`tensorElements`,
   * `totalElements`), as many bytes as they describe, and finite weights (a NaN weight would
   * turn every image black). A URL is read by `loadModelArtifacts`, so its weight files must
   * lie under the folder of its model.json.
   *
   * @throws Error with a one-line message (a LimitError for a limit) when a check fails.
   */
  static async load(source: string | tf.io.IOHandler, options: IrnLoadOptions = {}): Promise<IrnModel> {
    const limits = resolveLimits(options.limits);
    const artifacts = await readArtifacts(source, limits);
    checkModelArtifacts(artifacts, limits);
    const { config, layers } = checkArchitecture(artifacts, limits);
    checkWeightNames(artifacts.weightSpecs ?? [], config, layers);
    const flow = await tfl.loadLayersModel(tf.io.fromMemory(expandUint8Channels(artifacts)));
    try {
      return IrnModel.fromFlow(flow);
    } catch (e) {
      flow.dispose();
      throw e;
    }
  }

  private static wrap(flow: InvertibleSequence, config: IrnConfig, notes?: IrnModelNotes): IrnModel {
    const model = new IrnModel(flow, config, notes);
    model.writeMetadata();
    return model;
  }

  private writeMetadata(): void {
    const meta: IrnMetadata = { format: IRN_FORMAT_VERSION, levels: this.levels, ...this.config };
    if (this.notes.source != null) meta.source = this.notes.source;
    if (this.notes.encoder != null) meta.encoder = this.notes.encoder;
    if (this.notes.lrCodec != null) meta.lrCodec = this.notes.lrCodec;
    if (this.notes.lrQualityMax != null) meta.lrQualityMax = this.notes.lrQualityMax;
    if (this.notes.lrQualityMin != null) meta.lrQualityMin = this.notes.lrQualityMin;
    this.flow.setUserDefinedMetadata({ irn: meta });
  }

  /** Where the weights came from (e.g. `"converted from IRN_x2.pth"`), saved in the metadata. */
  get source(): string | undefined {
    return this.notes.source;
  }
  set source(note: string | undefined) {
    this.notes = { ...this.notes, source: note };
    this.writeMetadata();
  }

  /**
   * For a lossy decoder, the preset whose forward pass makes the LRs this model restores
   * (see {@link IrnMetadata.encoder}); saved in the metadata.
   * @throws Error (setter) when it is not a preset name.
   */
  get encoder(): string | undefined {
    return this.notes.encoder;
  }
  set encoder(name: string | undefined) {
    checkNotes({ encoder: name });
    this.notes = { ...this.notes, encoder: name };
    this.writeMetadata();
  }

  /**
   * The LR codec this model was trained to restore from (`"jpeg"`), undefined for a lossless
   * model; saved in the metadata.
   * @throws Error (setter) when it is not one of `LR_CODECS`.
   */
  get lrCodec(): LrCodec | undefined {
    return this.notes.lrCodec;
  }
  set lrCodec(codec: LrCodec | undefined) {
    checkNotes({ lrCodec: codec });
    this.notes = { ...this.notes, lrCodec: codec };
    this.writeMetadata();
  }

  /**
   * For a lossy decoder, the highest codec quality it is for (see
   * {@link IrnMetadata.lrQualityMax}), undefined for every quality; saved in the metadata.
   * @throws Error (setter) when it is not a whole number from 0 to 100.
   */
  get lrQualityMax(): number | undefined {
    return this.notes.lrQualityMax;
  }
  set lrQualityMax(quality: number | undefined) {
    checkNotes({ lrQualityMin: this.notes.lrQualityMin, lrQualityMax: quality });
    this.notes = { ...this.notes, lrQualityMax: quality };
    this.writeMetadata();
  }

  /**
   * For a lossy decoder, the lowest codec quality it is for (see
   * {@link IrnMetadata.lrQualityMin}), undefined for 0; saved in the metadata.
   * @throws Error (setter) when it is not a whole number from 0 to 100, or is above {@link lrQualityMax}.
   */
  get lrQualityMin(): number | undefined {
    return this.notes.lrQualityMin;
  }
  set lrQualityMin(quality: number | undefined) {
    checkNotes({ lrQualityMin: quality, lrQualityMax: this.notes.lrQualityMax });
    this.notes = { ...this.notes, lrQualityMin: quality };
    this.writeMetadata();
  }

  /** Number of trainable weights (1,667,952 for the published x2). */
  countParams(): number {
    return this.flow.countParams();
  }

  protected runForward(xHr: tf.Tensor4D): FlowResult {
    return this.flow.forward(xHr);
  }

  protected runInverse(y: tf.Tensor4D): FlowResult {
    return this.flow.inverse(y);
  }

  /** The 8-bit LR image `[B, H/s, W/s, 3]` (values k/255) of an HR batch `[B, H, W, 3]` in [0, 1]. */
  downscale(xHr: tf.Tensor4D): tf.Tensor4D {
    return tf.tidy(() => {
      const { output } = this.forward(xHr);
      const y = tf.slice(output, [0, 0, 0, 0], [-1, -1, -1, 3]);
      return quantize8(y) as tf.Tensor4D;
    });
  }

  /**
   * The HR image `[B, h s, w s, 3]` restored from an LR batch `[B, h, w, 3]`, clamped to
   * [0, 1] (not rounded). z is zeros unless `latent.z` says otherwise.
   */
  upscale(yLr: tf.Tensor4D, latent: LatentOptions = {}): tf.Tensor4D {
    assertRank4(yLr, 'IrnModel.upscale');
    const [b, h, w, c] = yLr.shape;
    if (c !== 3) throw new Error(`IRN upscale takes an RGB LR image with 3 channels, got ${c}`);
    return tf.tidy(() => {
      const z = this.latent([b, h, w, this.zChannels], latent);
      const { output } = this.inverse(concatChannels([yLr, z]));
      return tf.clipByValue(output, 0, 1) as tf.Tensor4D;
    });
  }

  /** The z tensor `shape` that `latent` asks for. */
  latent(shape: [number, number, number, number], latent: LatentOptions = {}): tf.Tensor4D {
    const mode = latent.z ?? 'zeros';
    if (mode === 'zeros') return tf.zeros(shape);
    if (mode === 'gaussian') {
      const t = latent.temperature ?? 1;
      if (!(t >= 0 && Number.isFinite(t))) throw new Error(`temperature must be a finite number >= 0, got ${t}`);
      const seed = latent.seed ?? Math.floor(Math.random() * 2 ** 31);
      return tf.tidy(() => {
        const draws: tf.Tensor4D[] = [];
        for (let i = 0; i < shape[0]; i++) draws.push(seededNormal(seed + i, [1, shape[1], shape[2], shape[3]]));
        return tf.mul(tf.concat(draws, 0), t) as tf.Tensor4D;
      });
    }
    if (mode instanceof tf.Tensor) {
      if (mode.shape.join() !== shape.join()) {
        throw new Error(`z must have shape [${shape.join(', ')}], got [${mode.shape.join(', ')}]`);
      }
      return tf.clone(mode);
    }
    throw new Error(`z must be "zeros", "gaussian" or a tensor, got ${String(mode)}`);
  }

  /**
   * Saves `model.json` and weights through a `tf.io` handler or URL scheme (`indexeddb://`, ...).
   *
   * `options.weights: 'float16'` stores each weight as its nearest half (ties to even), with
   * the spec `quantization: { dtype: 'float16' }` that every tfjs loader decodes back to
   * float32: half the bytes to download, and the model computes as before to within the
   * rounding (Kodak24 x2 moved by 0.0001 dB).
   *
   * `options.weights: 'uint8'` stores each conv kernel as 8 bits with a range per output
   * channel (spec `quantization: { dtype: 'uint8-per-channel' }`, `io/uint8-channels.ts`;
   * only IRN's loader reads it, tfjs alone refuses it) and every weight where that would not
   * be smaller (biases) as float16: about a quarter of the float32 bytes (the shipped presets
   * are stored so; Kodak24 Y-PSNR x2 -0.0008 dB, x4 -0.0003, `pnpm bench:weights`). Keep float32 (the default) for
   * checkpoints that training resumes from.
   */
  async save(destination: string | tf.io.IOHandler, options: IrnSaveOptions = {}): Promise<tf.io.SaveResult> {
    this.check();
    const weights = options.weights ?? 'float32';
    if (weights === 'float32') return this.flow.save(destination);
    if (weights !== 'float16' && weights !== 'uint8') throw new Error(`weights must be "float32", "float16" or "uint8", got ${String(weights)}`);
    const handler = typeof destination === 'string' ? tf.io.getSaveHandlers(destination)[0] : destination;
    if (handler?.save == null) throw new Error(`cannot save a model to ${typeof destination === 'string' ? destination : 'this handler'}`);
    return this.flow.save(tf.io.withSaveHandler(async (artifacts) => handler.save!(toCompactArtifacts(artifacts, weights))));
  }

  /**
   * The model's files in memory: topology, weight specs and all weights in one `ArrayBuffer`,
   * as `tf.io.fromMemory` (and so {@link IrnModel.load}) takes them, or to post to a worker.
   */
  async toArtifacts(): Promise<tf.io.ModelArtifacts & { weightData: ArrayBuffer }> {
    let saved: tf.io.ModelArtifacts | null = null;
    await this.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
      }),
    );
    const artifacts = saved as unknown as tf.io.ModelArtifacts;
    const parts = artifacts.weightData == null ? [] : [artifacts.weightData].flat();
    return { ...artifacts, weightData: tf.io.concatenateArrayBuffers(parts) };
  }

  protected free(): void {
    this.flow.dispose();
  }
}

/**
 * `artifacts` (float32 weights, as a layers model saves them) with every weight stored as
 * float16, or for `'uint8'` every weight that is smaller so as 8 bits per channel and the
 * others as float16.
 */
function toCompactArtifacts(artifacts: tf.io.ModelArtifacts, weights: 'float16' | 'uint8'): tf.io.ModelArtifacts {
  const specs = artifacts.weightSpecs ?? [];
  const data = artifacts.weightData == null ? new ArrayBuffer(0) : tf.io.CompositeArrayBuffer.join(artifacts.weightData);
  let elements = 0;
  for (const spec of specs) {
    if (spec.dtype !== 'float32' || spec.quantization != null) throw new Error(`weight ${spec.name} is not plain float32; cannot store it as ${weights}`);
    elements += spec.shape.reduce((a, b) => a * b, 1);
  }
  if (elements * 4 !== data.byteLength) throw new Error(`the weights hold ${data.byteLength} bytes, their specs describe ${elements * 4}`);
  if (weights === 'float16') {
    // All float32, one after another: the halves of all of them at once.
    return {
      ...artifacts,
      weightSpecs: specs.map((spec) => ({ ...spec, quantization: { dtype: 'float16' } })),
      weightData: encodeFloat16(new Float32Array(data)).buffer,
    };
  }
  const outSpecs: tf.io.WeightsManifestEntry[] = [];
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(data, offset, n);
    offset += 4 * n;
    if (fitsUint8Channels(spec.shape)) {
      // tfjs's type names its own dtypes only; the loader (weight-specs.ts) knows this one.
      outSpecs.push({ ...spec, quantization: { dtype: UINT8_CHANNELS as 'uint8' } });
      parts.push(encodeUint8Channels(values, spec.shape, spec.name));
    } else {
      outSpecs.push({ ...spec, quantization: { dtype: 'float16' } });
      parts.push(new Uint8Array(encodeFloat16(values).buffer));
    }
  }
  return { ...artifacts, weightSpecs: outSpecs, weightData: concatBytes(parts).buffer as ArrayBuffer };
}
