/**
 * The z a model was trained to restore with, for the Latents tab's default temperature.
 *
 * A model whose reconstruction term used z = 0 (the shipped ones: weights/irn-x2/PROVENANCE.md,
 * `--z-scale 0`) turns sampled z into noise: at temperature 1 the restore scores about 9 dB. So
 * the tab opens at the temperature the model was trained for, and says where that came from.
 */

/** What {@link trainedZ} found. */
export interface TrainedZ {
  /** The temperature to open at: the z scale of the model's training, else 0. */
  temperature: number;
  /** Whether the model (or the playground, for its presets) said so, or 0 is a guess. */
  known: boolean;
  /** One sentence for next to the slider. */
  note: string;
}

/** Where the answer may come from. */
export interface TrainedZSource {
  /** The model.json's `userDefinedMetadata`; its `irn.zScale` wins when it is a number in [0, 1.5]. */
  metadata?: unknown;
  /** The model's `source` note; the playground's fine-tunes write "z scale X" there when X > 0. */
  source?: string;
  /** The name of a shipped preset (all were trained with z = 0). */
  preset?: string;
}

/** The slider's range; a z scale outside it is not believed. */
const MAX_TEMPERATURE = 1.5;

/** The prefix of the `source` note the fine-tune worker writes (train/worker-main.ts). */
export const FINE_TUNED_PREFIX = 'fine-tuned in the browser';

/** Reads the z scale a model was trained with from its metadata, its source note or its preset name. */
export function trainedZ(from: TrainedZSource): TrainedZ {
  const meta = (from.metadata as { irn?: { zScale?: unknown } } | undefined)?.irn?.zScale;
  if (typeof meta === 'number' && Number.isFinite(meta) && meta >= 0 && meta <= MAX_TEMPERATURE) return known(meta, 'its model.json says so');
  // The first match is the newest fine-tune: older notes nest after "from".
  const note = from.source?.match(/\bz scale (\d+(?:\.\d+)?)\b/);
  if (note != null && Number(note[1]) <= MAX_TEMPERATURE) return known(Number(note[1]), 'its source note says so');
  if (from.source?.startsWith(FINE_TUNED_PREFIX)) return known(0, 'fine-tuned here with the default z scale');
  if (from.preset != null) return known(0, `weights/${from.preset}/PROVENANCE.md`);
  return {
    temperature: 0,
    known: false,
    note: 'This model does not say which z it was trained with; z = 0 is the safe start. Models trained with sampled z (z scale 1 in the paper) restore well at temperature 1.',
  };
}

function known(temperature: number, where: string): TrainedZ {
  const t = fmt(temperature);
  const note =
    temperature === 0
      ? `Trained with z = 0 (${where}): higher temperatures add noise this model never learned to use.`
      : `Trained with z ~ N(0, ${t}²) (${where}): temperature ${t} restores as it was trained; 0 gives the mean restore.`;
  return { temperature, known: true, note };
}

const fmt = (v: number) => String(Number(v.toFixed(2)));
