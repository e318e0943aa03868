import type * as tf from '@tensorflow/tfjs-core';
import { checkLimit, type Limits } from '../limits.js';
import { LR_CODECS, PRESET_NAME } from '../image/lr-metadata.js';
import { printable } from '../image/bytes.js';
import { DENSE_CONVS } from '../layers/flow-ops.js';
import { IRN_FORMAT_VERSION, levelsOf, resolveConfig, type IrnConfig } from './config.js';
import type { IrnMetadata, IrnModelNotes } from './irn.js';

// Checks of a model.json shared by IrnModel (tfjs-layers) and IrnInference (tfjs-core only).

/**
 * The number of weights of an IRN architecture, computed without building it (what
 * `IrnModel.create(config).countParams()` returns: 1,667,952 for the published x2).
 */
export function parameterCount(config: IrnConfig): number {
  // Each coupling has three dense blocks (F: rest -> 3 channels, G and H: 3 -> rest) of five
  // 3x3 convs with biases; conv k takes in + k * growth channels, and gives growth but the last.
  const dense = (cin: number, cout: number) => {
    let n = 0;
    for (let k = 0; k < 5; k++) {
      const out = k === 4 ? cout : config.growth;
      n += 9 * (cin + k * config.growth) * out + out;
    }
    return n;
  };
  let total = 0;
  for (let level = 1, channels = 12; level <= levelsOf(config.scale); level++, channels *= 4) {
    total += config.blocks * (dense(channels - 3, 3) + 2 * dense(3, channels - 3));
  }
  return total;
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
 * one of `LR_CODECS`, `source` a string. A model.json comes from anywhere: a name read from it
 * may later pick a folder or a URL, so only names of the preset pattern pass.
 */
export function checkNotes(meta: Partial<Record<keyof IrnModelNotes, unknown>>): void {
  const { source, encoder, lrCodec } = meta;
  if (source != null && typeof source !== 'string') throw new Error(`IRN model metadata "source" must be a string, got ${shortJson(source)}`);
  if (encoder != null && (typeof encoder !== 'string' || !PRESET_NAME.test(encoder))) {
    throw new Error(`IRN model metadata "encoder" must be a preset name (lowercase letters, digits and "-", such as "irn-x2"), got ${shortJson(encoder)}`);
  }
  if (lrCodec != null && !(LR_CODECS as readonly unknown[]).includes(lrCodec)) {
    throw new Error(`IRN model metadata "lrCodec" must be one of ${LR_CODECS.join(', ')}, got ${shortJson(lrCodec)}`);
  }
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

const ROLES = ['F', 'G', 'H'] as const;

/**
 * The weights an IRN topology needs, by name, with their shapes: each coupling layer's three
 * dense blocks (`<layer>/<F|G|H>/conv<k>/kernel|bias`, the names `DenseBlock` gives).
 */
function wantedWeights(config: IrnConfig, names: unknown[]): Map<string, number[]> {
  const wanted = new Map<string, number[]>();
  let channels = 3;
  names.forEach((name, i) => {
    if (i % (1 + config.blocks) === 0) {
      channels *= 4;
      return;
    }
    if (typeof name !== 'string' || name === '') throw new Error(`model.json's layer ${i} has no name; its weights cannot be found`);
    const rest = channels - 3;
    for (const role of ROLES) {
      const [cin, cout] = role === 'F' ? [rest, 3] : [3, rest];
      for (let k = 1; k <= DENSE_CONVS; k++) {
        const out = k === DENSE_CONVS ? cout : config.growth;
        const kernel = `${name}/${role}/conv${k}/kernel`;
        if (wanted.has(kernel)) throw new Error(`model.json names two layers ${printable(name.slice(0, 200))}`);
        wanted.set(kernel, [3, 3, cin + (k - 1) * config.growth, out]);
        wanted.set(`${name}/${role}/conv${k}/bias`, [out]);
      }
    }
  });
  return wanted;
}
