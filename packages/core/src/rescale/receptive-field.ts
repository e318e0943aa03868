import { levelsOf, type IrnConfig } from '../model/config.js';

/** 3x3 convolutions in one dense block (IRN.md, "Subnet: dense block"). */
const CONVS_PER_DENSE_BLOCK = 5;

/**
 * How far (in pixels of that level) one invertible block reaches, forward or inverse.
 * A dense block is five 3x3 convolutions whose features are concatenated, so its output
 * sees `5` pixels each side. A coupling applies one subnet and then another to its result
 * (forward: F on x2, then G and H on y1; inverse: G and H on y1, then F on x2): `2 * 5`.
 */
const BLOCK_RADIUS = 2 * CONVS_PER_DENSE_BLOCK;

/**
 * The receptive field of an IRN model, in LR pixels each side: how far from a pixel the
 * input can change and still change that pixel's output, in either direction (downscale
 * or upscale). A tile computed with at least this much context on every side that is not
 * an image border equals the untiled result exactly (up to float rounding).
 *
 * Derivation (IRN.md, "Network"): each block reaches `2 * 5 = 10` pixels of its level.
 * Forward, level by level from HR: a Haar step halves the reach (a partially reached 2x2
 * group counts), then `blocks` blocks add `10 * blocks`: `r = ceil(r / 2) + 10 * blocks`.
 * Inverse, from LR: the blocks add `10 * blocks`, then the inverse Haar doubles the reach;
 * divided by the scale at the end. x2: `10 * blocks` (80 for the published 8 blocks);
 * x4: `15 * blocks` (120); x8: `17.5 * blocks` (140).
 *
 * @example
 * receptiveField({ scale: 2, blocks: 8 });   // 80
 * receptiveField(model.config);              // what `overlap` defaults to
 */
export function receptiveField(config: Pick<IrnConfig, 'scale' | 'blocks'>): number {
  const levels = levelsOf(config.scale);
  const perLevel = BLOCK_RADIUS * config.blocks;
  let forward = 0;
  for (let l = 0; l < levels; l++) forward = Math.ceil(forward / 2) + perLevel;
  let inverseHr = 0;
  for (let l = 0; l < levels; l++) inverseHr = 2 * (inverseHr + perLevel);
  const inverse = Math.ceil(inverseHr / config.scale);
  return Math.max(forward, inverse);
}
