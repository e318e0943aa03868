// What the bench scripts share to summarise repeated timings.

/**
 * The median of `xs`: the middle value of an odd count, the mean of the two middle values of
 * an even count (so 2 runs of 1 s and 3 s give 2 s, not one of them). Throws on an empty list
 * or a value that is not a finite number, so a failed run cannot print as a figure.
 */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of no values');
  for (const x of xs) if (!Number.isFinite(x)) throw new Error(`median of a non-finite value: ${x}`);
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
