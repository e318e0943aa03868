/**
 * `train-decoder.ts --hold-bytes`: the rate weight that keeps the real codec's files at the
 * starting model's size (dual ascent on "no bigger than them").
 */

/** Mean log2(file / reference file) over a batch: how many doublings the files are over the reference. */
export function meanDoublings(sizes: readonly number[], reference: readonly number[]): number {
  if (sizes.length === 0 || sizes.length !== reference.length) throw new RangeError(`meanDoublings: ${sizes.length} sizes against ${reference.length} references`);
  return sizes.reduce((a, n, i) => a + Math.log2(n / reference[i]), 0) / sizes.length;
}

/**
 * The next rate weight: `weight * 2^(gain * doublings)` (bigger files raise it, smaller ones
 * lower it), kept within [1, 1e6] so that one odd batch can neither zero nor explode it.
 */
export function nextRateWeight(weight: number, doublings: number, gain: number): number {
  return Math.min(1e6, Math.max(1, weight * 2 ** (gain * doublings)));
}
