import type * as tf from '@tensorflow/tfjs-core';
import { checkLimit, type Limits } from '../limits.js';
import { LR_CODECS, PRESET_NAME } from '../image/lr-metadata.js';
import { printable } from '../image/bytes.js';
import { denseConvShapes } from '../layers/flow-ops.js';
import { IRN_FORMAT_VERSION, levelsOf, resolveConfig, type IrnConfig } from './config.js';
import type { IrnMetadata, IrnModelNotes } from './irn.js';

// Checks of a model.json shared by IrnModel (tfjs-layers) and IrnInference (tfjs-core only).

const ROLES = ['F', 'G', 'H'] as const;

/**
 * The number of weights of an IRN architecture, computed without building it (what
 * `IrnModel.create(config).countParams()` returns: 1,667,952 for the published x2).
 */
export function parameterCount(config: IrnConfig): number {
  let total = 0;
  for (const shapes of couplingConvShapes(config).values()) {
    total += config.blocks * shapes.reduce((n, { kernel, bias }) => n + kernel.reduce((a, b) => a * b, 1) + bias[0], 0);
  }
  return total;
}

/**
 * Per Haar level (1-based), the shapes of one coupling block's convolutions in weight order:
 * its dense blocks F (rest -> 3 channels), G and H (3 -> rest), five convolutions each.
 */
function couplingConvShapes(config: IrnConfig): Map<number, { role: string; k: number; kernel: number[]; bias: number[] }[]> {
  const levels = new Map<number, { role: string; k: number; kernel: number[]; bias: number[] }[]>();
  for (let level = 1, channels = 12; level <= levelsOf(config.scale); level++, channels *= 4) {
    const rest = channels - 3;
    levels.set(
      level,
      ROLES.flatMap((role) => {
        const [cin, cout] = role === 'F' ? [rest, 3] : [3, rest];
        return denseConvShapes(cin, cout, config.growth).map((shape, i) => ({ role, k: i + 1, ...shape }));
      }),
    );
  }
  return levels;
}

/**
 * Checks, before tfjs-layers builds anything, that the topology in model.json is the IRN
 * architecture its `irn` metadata describes, layer by layer (Haar levels, coupling blocks,
 * their growth and clamp), and that this architecture's weights fit `limits.totalElements`.
 * tfjs-layers allocates and initialises every layer's weights from the topology before it
 * reads a single weight, so a tiny model.json that claimed growth 1024 in each block would
 * otherwise take gigabytes and minutes, whatever its weight specs say.
 *
 * Returns the architecture and the topology's layers (class name and config), in order.
 */
export function checkArchitecture(artifacts: tf.io.ModelArtifacts, limits: Limits): { config: IrnConfig; layers: TopologyLayer[] } {
  const meta = (artifacts.userDefinedMetadata as { irn?: Partial<IrnMetadata> } | undefined)?.irn;
  if (meta == null || typeof meta !== 'object') throw new Error('not an IRN model: model.json has no "irn" metadata');
  if (typeof meta.format === 'number' && meta.format > IRN_FORMAT_VERSION) {
    throw new Error(`this IRN model has format ${meta.format}; this library reads up to ${IRN_FORMAT_VERSION}`);
  }
  const config = resolveConfig({ scale: meta.scale, blocks: meta.blocks, growth: meta.growth, clamp: meta.clamp });
  const topology = artifacts.modelTopology as { class_name?: unknown; config?: { layers?: unknown } } | undefined;
  const layers = topology?.config?.layers;
  if (topology?.class_name !== 'InvertibleSequence' || !Array.isArray(layers)) {
    throw new Error('not an IRN model: model.json does not describe an InvertibleSequence');
  }
  const expected = levelsOf(config.scale) * (1 + config.blocks);
  if (layers.length !== expected) throw new Error(`IRN model metadata says ${expected} layers, model.json has ${layers.length}`);
  layers.forEach((raw: unknown, i) => {
    const layer = (raw ?? {}) as TopologyLayer;
    const want = i % (1 + config.blocks) === 0 ? 'HaarDownsampling' : 'AffineCoupling';
    if (layer.class_name !== want) throw new Error(`model.json's layer ${i} is ${String(layer.class_name)}, the IRN architecture has ${want} there`);
    if (want === 'HaarDownsampling') return;
    const c = layer.config ?? {};
    for (const [key, value] of [['split', 3], ['growth', config.growth], ['clamp', config.clamp]] as const) {
      if ((c[key] ?? (key === 'split' ? 3 : undefined)) !== value) {
        throw new Error(`model.json's layer ${i} has ${key} ${String(c[key])}, the IRN metadata says ${value}`);
      }
    }
  });
  const elements = parameterCount(config);
  checkLimit(limits, 'totalElements', elements, `the IRN x${config.scale} architecture in model.json (${config.blocks} blocks, growth ${config.growth})`, 'weights');
  return { config, layers: layers as TopologyLayer[] };
}

/** One layer of model.json's topology, as read (unchecked fields). */
export interface TopologyLayer {
  class_name?: unknown;
  config?: Record<string, unknown>;
}

/**
 * Checks the optional notes of a model's metadata: `encoder` a plain preset name, `lrCodec`
 * one of `LR_CODECS`, `lrQualityMax` and `lrQualityMin` whole numbers from 0 to 100 (the
 * minimum not above the maximum), `source` a string. A model.json comes from anywhere: a name read from it
 * may later pick a folder or a URL, so only names of the preset pattern pass.
 */
export function checkNotes(meta: Partial<Record<keyof IrnModelNotes, unknown>>): void {
  const { source, encoder, lrCodec, lrQualityMax, lrQualityMin } = meta;
  if (source != null && typeof source !== 'string') throw new Error(`IRN model metadata "source" must be a string, got ${shortJson(source)}`);
  if (encoder != null && (typeof encoder !== 'string' || !PRESET_NAME.test(encoder))) {
    throw new Error(`IRN model metadata "encoder" must be a preset name (lowercase letters, digits and "-", such as "irn-x2"), got ${shortJson(encoder)}`);
  }
  if (lrCodec != null && !(LR_CODECS as readonly unknown[]).includes(lrCodec)) {
    throw new Error(`IRN model metadata "lrCodec" must be one of ${LR_CODECS.join(', ')}, got ${shortJson(lrCodec)}`);
  }
  if (lrQualityMax != null && !(Number.isInteger(lrQualityMax) && (lrQualityMax as number) >= 0 && (lrQualityMax as number) <= 100)) {
    throw new Error(`IRN model metadata "lrQualityMax" must be a whole number from 0 to 100, got ${shortJson(lrQualityMax)}`);
  }
  if (lrQualityMin != null && !(Number.isInteger(lrQualityMin) && (lrQualityMin as number) >= 0 && (lrQualityMin as number) <= 100)) {
    throw new Error(`IRN model metadata "lrQualityMin" must be a whole number from 0 to 100, got ${shortJson(lrQualityMin)}`);
  }
  if (lrQualityMin != null && lrQualityMax != null && (lrQualityMin as number) > (lrQualityMax as number)) {
    throw new Error(`IRN model metadata "lrQualityMin" (${shortJson(lrQualityMin)}) is above "lrQualityMax" (${shortJson(lrQualityMax)})`);
  }
}

/** The notes of a model's metadata, checked ({@link checkNotes}), without the absent ones. */
export function readNotes(meta: Partial<IrnMetadata>): IrnModelNotes {
  checkNotes(meta);
  const notes: IrnModelNotes = {};
  if (meta.source != null) notes.source = meta.source;
  if (meta.encoder != null) notes.encoder = meta.encoder;
  if (meta.lrCodec != null) notes.lrCodec = meta.lrCodec;
  if (meta.lrQualityMax != null) notes.lrQualityMax = meta.lrQualityMax;
  if (meta.lrQualityMin != null) notes.lrQualityMin = meta.lrQualityMin;
  return notes;
}

/** A value from a file as short JSON for an error line. */
function shortJson(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}...` : text;
}

/**
 * Checks that `specs` hold each weight the topology needs once, by name, with its shape, and
 * no other (what tfjs-layers' strict loading checks, but before anything is allocated: a
 * layers model that fails there has already made its variables, and they would leak).
 */
export function checkWeightNames(specs: readonly tf.io.WeightsManifestEntry[], config: IrnConfig, layers: readonly TopologyLayer[]): void {
  const wanted = wantedWeights(config, layers.map((l) => l.config?.name));
  const seen = new Set<string>();
  for (const spec of specs) {
    const name = printable(spec.name.slice(0, 200));
    const shape = wanted.get(spec.name);
    if (shape == null) throw new Error(`model.json has a weight ${name} that the IRN architecture does not use`);
    if (seen.has(spec.name)) throw new Error(`model.json lists the weight ${name} twice`);
    seen.add(spec.name);
    if (spec.shape.join() !== shape.join()) {
      throw new Error(`weight ${name} has shape [${spec.shape.join(', ')}], the IRN architecture needs [${shape.join(', ')}]`);
    }
  }
  for (const name of wanted.keys()) {
    if (!seen.has(name)) throw new Error(`model.json has no weight ${printable(name.slice(0, 200))}, which the IRN architecture needs`);
  }
}

/**
 * The weights an IRN topology needs, by name, with their shapes: each coupling layer's three
 * dense blocks (`<layer>/<F|G|H>/conv<k>/kernel|bias`, the names `DenseBlock` gives).
 */
function wantedWeights(config: IrnConfig, names: unknown[]): Map<string, number[]> {
  const wanted = new Map<string, number[]>();
  const shapes = couplingConvShapes(config);
  names.forEach((name, i) => {
    if (i % (1 + config.blocks) === 0) return;
    if (typeof name !== 'string' || name === '') throw new Error(`model.json's layer ${i} has no name; its weights cannot be found`);
    for (const { role, k, kernel, bias } of shapes.get(Math.floor(i / (1 + config.blocks)) + 1)!) {
      const kernelName = `${name}/${role}/conv${k}/kernel`;
      if (wanted.has(kernelName)) throw new Error(`model.json names two layers ${printable(name.slice(0, 200))}`);
      wanted.set(kernelName, kernel);
      wanted.set(`${name}/${role}/conv${k}/bias`, bias);
    }
  });
  return wanted;
}
