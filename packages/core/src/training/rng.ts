/**
 * A small seeded generator (mulberry32) whose whole state is one 32-bit integer, so that it
 * can be saved in a checkpoint and resumed exactly.
 */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  /** The state, for {@link Rng.fromState}. */
  get state(): number {
    return this.s;
  }

  /** A generator continuing from a saved state. */
  static fromState(state: number): Rng {
    const r = new Rng(0);
    r.s = state >>> 0;
    return r;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** A 31-bit integer, e.g. a seed for another generator. */
  seed(): number {
    return this.int(2 ** 31);
  }
}
