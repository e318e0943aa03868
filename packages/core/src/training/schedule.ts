/** A learning-rate schedule: the rate for a 0-based step. */
export type LrSchedule =
  /** `base * gamma^(number of milestones <= step)`; IRN halves at 100k..400k. */
  | { kind: 'multistep'; base: number; milestones: readonly number[]; gamma?: number; warmup?: number }
  /** Cosine from `base` to `min` over `total` steps, after a linear warm-up. */
  | { kind: 'cosine'; base: number; total: number; min?: number; warmup?: number };

/** The learning rate of `step` (0-based) under `schedule`. */
export function learningRateAt(schedule: LrSchedule, step: number): number {
  const warmup = schedule.warmup ?? 0;
  const ramp = warmup > 0 && step < warmup ? (step + 1) / warmup : 1;
  if (schedule.kind === 'multistep') {
    const gamma = schedule.gamma ?? 0.5;
    const k = schedule.milestones.filter((m) => step >= m).length;
    return ramp * schedule.base * gamma ** k;
  }
  const min = schedule.min ?? 0;
  const t = Math.min(1, Math.max(0, (step - warmup) / Math.max(1, schedule.total - warmup)));
  return ramp * (min + 0.5 * (schedule.base - min) * (1 + Math.cos(Math.PI * t)));
}
