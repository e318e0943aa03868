/**
 * Names of IRN's latent channels, from the channel layout of IRN.md: each x2 level applies a
 * Haar transform whose output is wavelet-major (index `k * C + c` for band `k` of input
 * channel `c`), and after the last level channels `[0, 3)` are the LR image and the rest is z.
 * The coupling blocks mix content between channels, but each z channel keeps the place (and,
 * in a trained model, mostly the meaning) of its Haar band.
 */

/** The Haar bands of IRN.md, k = 0..3, as a reader would say them. */
export const HAAR_BANDS = [
  { short: 'low-pass', long: 'the 2x2 mean' },
  { short: 'left − right', long: 'vertical edges: left minus right' },
  { short: 'top − bottom', long: 'horizontal edges: top minus bottom' },
  { short: 'diagonal', long: 'diagonal detail' },
] as const;

const COLOURS = ['R', 'G', 'B'] as const;

/** One z channel: where it sits in the Haar layout. */
export interface LatentChannel {
  /** Index in z (0-based; the model's output channel is `index + 3`). */
  index: number;
  /** Short label, e.g. "G · left − right" or "R · top − bottom of G · diagonal". */
  label: string;
  /** A sentence for a tooltip or screen reader. */
  description: string;
  /** The x2 level (1 = finest) whose detail band the channel is. */
  level: number;
  /** The colour channel it comes from at the first level. */
  colour: 'R' | 'G' | 'B';
}

interface Node {
  label: string;
  description: string;
  level: number;
  colour: 'R' | 'G' | 'B';
}

/**
 * The z channels of a model of `scale` (2, 4 or 8), in order: 9 for x2, 45 for x4, 189 for x8.
 *
 * @example
 * latentChannels(2).map((c) => c.label)
 * // ['R · left − right', 'G · left − right', 'B · left − right', 'R · top − bottom', ...]
 */
export function latentChannels(scale: number): LatentChannel[] {
  const levels = Math.log2(scale);
  if (!Number.isInteger(levels) || levels < 1 || levels > 3) throw new Error(`latentChannels: scale must be 2, 4 or 8, got ${scale}`);
  // Channels entering the first level: the colours.
  let nodes: Node[] = COLOURS.map((c) => ({ label: c, description: `${c}`, level: 0, colour: c }));
  for (let level = 1; level <= levels; level++) {
    const next: Node[] = [];
    for (let k = 0; k < 4; k++) {
      for (const n of nodes) {
        if (k === 0) {
          next.push(n.level === 0 ? n : { ...n, description: `${n.description}, averaged over 2x2 at level ${level}` });
        } else {
          const band = HAAR_BANDS[k];
          const of = n.level === 0 ? n.label : `(${n.label})`;
          const prefix = levels > 1 ? `L${level} ` : '';
          next.push({
            label: n.level === 0 ? `${n.label} · ${prefix}${band.short}` : `${prefix}${band.short} of ${of}`,
            description: `${prefix ? `level ${level} ` : ''}${band.long} of ${n.level === 0 ? `the ${n.label} channel` : n.description}`,
            level,
            colour: n.colour,
          });
        }
      }
    }
    nodes = next;
  }
  return nodes.slice(3).map((n, index) => ({ index, label: n.label, description: n.description, level: n.level, colour: n.colour }));
}
