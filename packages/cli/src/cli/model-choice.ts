// Which model `irn downscale` and `irn upscale` use, by name or folder, and the lossy presets:
// a decoder preset (`irn-x2-jpeg`) restores LRs that another preset's forward pass (its
// `encoder`, `irn-x2`) makes, so downscaling with it loads two models, and an LR records the
// preset it was made for (LR metadata `model`) so that upscale picks the decoder by itself.
import type { IrnModel, LrMetadata, Limits, PresetLrNotes } from '@irn/core';
import { CliError } from './errors.js';
import { DEFAULT_MODEL, findPreset, modelDirectory, presetNames, presetOfDirectory, presetRoots } from './model-path.js';

/** A model as the user chose it: its folder, and its preset name when it is a preset. */
export interface ModelChoice {
  dir: string;
  /** The preset name (`irn-x2`), undefined for a model given by its own path. */
  preset?: string;
}

/** Newer versions of a lossy preset first: `irn-x2-avif-v2` (trained end to end) before `irn-x2-avif` (a decoder). */
const LOSSY_PRESET_VERSIONS = ['-v2', ''] as const;

/**
 * The preset `irn downscale` uses without `--model`: for a lossy LR codec (`jpeg`, `avif`, a
 * lossy `webp`), the newest of `irn-x<scale>-<codec>-v2` and `irn-x<scale>-<codec>` that exists
 * (a preset trained for that codec's LRs: end to end, or a decoder of the lossless preset's
 * LRs), else `irn-x<scale>`, the lossless preset, as for lossless formats. An older version
 * stays installed: the LRs that name it are restored by it.
 */
export function defaultDownscalePreset(lossyCodec: string | undefined, scale = 2, roots?: string[]): string {
  if (lossyCodec != null) {
    for (const v of LOSSY_PRESET_VERSIONS) {
      const name = `irn-x${scale}-${lossyCodec}${v}`;
      if (findPreset(name, roots) != null) return name;
    }
  }
  return scale === 2 ? DEFAULT_MODEL : `irn-x${scale}`;
}

/**
 * The folder (and preset name) of `--model` as typed, a folder or a preset name; without it,
 * the preset `fallback`.
 */
export async function chooseModel(typed: string | undefined, fallback: string = DEFAULT_MODEL): Promise<ModelChoice> {
  // The fallback is a preset by name only: a folder of that name in the working directory is not it.
  const preset = typed == null && fallback !== DEFAULT_MODEL ? findPreset(fallback) : undefined;
  const dir = preset ?? (await modelDirectory(typed));
  return { dir, preset: presetOfDirectory(dir) };
}

/** The models of a downscale: `encoder` makes the LR, the chosen model (the decoder) restores it (one model unless the chosen one names an encoder). */
export interface DownscaleModels {
  encoder: IrnModel;
  /**
   * What restores an LR coded at `quality` (100 for a lossless one) and what its metadata's
   * `model` names: the chosen model and its preset name (none for a model given by path),
   * unless it is a decoder for some qualities only (`lrQualityMin` to `lrQualityMax`, e.g. a
   * JPEG decoder of MozJPEG's chroma-subsampled qualities) and `quality` is outside them; then,
   * with `family`, the narrowest sibling decoder that covers it (core's `lrPresetFor`), else
   * the encoder's own inverse, and the LR names the encoder preset. The restorer loads on
   * first use.
   */
  atQuality(quality: number): { restorer: () => Promise<IrnModel>; lrModel?: string };
  dispose(): void;
}

/** Options of {@link loadDownscaleModels}. */
export interface DownscaleModelOptions {
  /**
   * The name of a family of decoder presets (`irn-x2-jpeg`: itself and every `irn-x2-jpeg-*`)
   * whose members of the chosen decoder's encoder and codec share the qualities: each LR names
   * the one for its quality. `irn downscale` passes it when no `--model` was given; an explicit
   * `--model` keeps to that model and its encoder.
   */
  family?: string;
  /** Where presets are looked up (default: {@link presetRoots}). */
  roots?: string[];
}

/** Stands for a decoder given by path (no preset name) among the presets {@link lrPresetFor} picks from. */
const CHOSEN = '/the chosen model';

/**
 * Loads the chosen model and, when its metadata names an `encoder` preset, that preset too:
 * its forward pass makes the LR, the chosen model's inverse (with `--refine`) restores it, or,
 * for qualities it is not for, a sibling decoder of `options.family` or the encoder.
 * @throws CliError when the encoder preset is missing or has another scale.
 */
export async function loadDownscaleModels(choice: ModelChoice, limits: Partial<Limits>, options: DownscaleModelOptions = {}): Promise<DownscaleModels> {
  const { loadModel } = await import('./model-dir.js');
  const decoder = await loadModel(choice.dir, limits);
  const lrModel = choice.preset;
  if (decoder.encoder == null) return { encoder: decoder, atQuality: () => ({ restorer: async () => decoder, lrModel }), dispose: () => decoder.dispose() };
  const roots = options.roots ?? presetRoots();
  const loaded = new Map<string, Promise<IrnModel>>();
  const disposeAll = () => {
    decoder.dispose();
    for (const m of loaded.values()) void m.then((x) => x.dispose(), () => undefined);
    loaded.clear();
  };
  try {
    const dir = findPreset(decoder.encoder, roots);
    if (dir == null) {
      throw new CliError(`the model in ${choice.dir} restores LRs made by the preset ${decoder.encoder}, which this version does not have`);
    }
    const encoder = await loadModel(dir, limits);
    if (encoder.scale !== decoder.scale) {
      encoder.dispose();
      throw new CliError(`the model in ${choice.dir} is x${decoder.scale} but its encoder ${decoder.encoder} is x${encoder.scale}`);
    }
    const encoderPreset = decoder.encoder;
    const { lrNotesFrom, lrPresetFor } = await import('@irn/core');
    const key = lrModel ?? CHOSEN;
    // The chosen decoder stands for every quality of its range whatever the LR's format (an
    // explicit choice), as a JPEG decoder when its metadata names no codec (older runs);
    // siblings only for the codec its metadata names.
    const codec = decoder.lrCodec ?? 'jpeg';
    const notes: Record<string, PresetLrNotes> = { [key]: { encoder: encoderPreset, lrCodec: codec, lrQualityMax: decoder.lrQualityMax, lrQualityMin: decoder.lrQualityMin } };
    if (options.family != null && decoder.lrCodec != null) {
      for (const name of presetNames(roots)) {
        if (name === key || !(name === options.family || name.startsWith(`${options.family}-`))) continue;
        const sibling = lrNotesFrom(await presetMetadata(findPreset(name, roots)!));
        if (sibling.encoder === encoderPreset && sibling.lrCodec === codec) notes[name] = sibling;
      }
    }
    const restorerOf = (name: string): Promise<IrnModel> => {
      if (name === key) return Promise.resolve(decoder);
      let model = loaded.get(name);
      if (model == null) {
        model = loadModel(findPreset(name, roots)!, limits).then((m) => {
          if (m.scale !== decoder.scale) throw new CliError(`the preset ${name} is x${m.scale}, not x${decoder.scale} as ${lrModel ?? choice.dir}`);
          return m;
        });
        loaded.set(name, model);
      }
      return model;
    };
    return {
      encoder,
      atQuality: (quality) => {
        const name = lrPresetFor(notes, encoderPreset, codec, quality);
        if (name === encoderPreset) return { restorer: async () => encoder, lrModel: encoderPreset };
        return { restorer: () => restorerOf(name), lrModel: name === CHOSEN ? undefined : name };
      },
      dispose: () => {
        encoder.dispose();
        disposeAll();
      },
    };
  } catch (e) {
    disposeAll();
    throw e;
  }
}

/**
 * The `userDefinedMetadata.irn` of the preset in `dir`'s model.json, as it is (core's
 * `lrNotesFrom` picks the notes of it, `lrPresetFor` skips malformed ones); undefined when the
 * file cannot be read as core reads a model.json (`readModelJsonText`: a regular file of at most
 * 4 MiB) or is not JSON.
 */
async function presetMetadata(dir: string): Promise<unknown> {
  try {
    const { readModelJsonText } = await import('@irn/core/node');
    const json = JSON.parse(await readModelJsonText(dir)) as { userDefinedMetadata?: { irn?: unknown } } | null;
    return json?.userDefinedMetadata?.irn;
  } catch {
    return undefined;
  }
}

/**
 * The models of an upscale: the one `--model` names for every LR, or else, per LR, the preset
 * its metadata names (`model`), else `irn-x<scale>` of its metadata, else the default preset;
 * each loaded once.
 */
export class UpscaleModels {
  private readonly loaded = new Map<string, Promise<IrnModel>>();

  constructor(
    /** `--model` as typed, or undefined. */
    private readonly typed: string | undefined,
    private readonly limits: Partial<Limits>,
  ) {}

  /**
   * The model for an LR with metadata `meta`.
   * @throws CliError when the metadata names a preset this version does not have.
   */
  async forLr(meta: LrMetadata | null): Promise<IrnModel> {
    let dir: string;
    if (this.typed != null) {
      dir = await modelDirectory(this.typed);
    } else if (meta?.model != null) {
      const found = findPreset(meta.model);
      if (found == null) throw new CliError(`it was made for the model ${meta.model}, which this version does not have; pass --model`);
      dir = found;
    } else {
      dir = (meta != null ? findPreset(`irn-x${meta.scale}`) : undefined) ?? (await modelDirectory(undefined));
    }
    let model = this.loaded.get(dir);
    if (model == null) {
      model = import('./model-dir.js').then(({ loadModel }) => loadModel(dir, this.limits));
      this.loaded.set(dir, model);
    }
    return model;
  }

  /** Frees every model loaded. */
  async dispose(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    for (const m of await Promise.allSettled(all)) if (m.status === 'fulfilled') m.value.dispose();
  }
}
