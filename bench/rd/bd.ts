// Bjøntegaard deltas (G. Bjøntegaard, "Calculation of average PSNR differences between
// RD-curves", VCEG-M33, 2001): the classic method. Each curve is fitted by a least-squares
// cubic polynomial, PSNR as a function of log10(rate) for BD-PSNR and log10(rate) as a
// function of PSNR for BD-rate; the difference of the two fits is averaged over the interval
// where both curves have data. Also the helpers the benchmark's targets use: a curve's value at
// a rate (piecewise linear in log-rate between measured points, never extrapolated).

/** One rate–distortion point: rate (bits per pixel) and quality (dB, or any score). */
export interface RdPoint {
  rate: number;
  quality: number;
}

/** Coefficients c0..c3 of the least-squares cubic through (x, y); needs 4 distinct x at least. */
export function cubicFit(x: readonly number[], y: readonly number[]): [number, number, number, number] {
  if (x.length !== y.length) throw new Error('cubicFit: x and y differ in length');
  if (new Set(x).size < 4) throw new Error(`cubicFit needs at least 4 distinct points, got ${new Set(x).size}`);
  // Normal equations of the Vandermonde system, solved by Gaussian elimination with partial
  // pivoting; x is centred and scaled first so that the 4x4 system is well conditioned.
  const mean = x.reduce((a, v) => a + v, 0) / x.length;
  const span = Math.max(...x.map((v) => Math.abs(v - mean))) || 1;
  const u = x.map((v) => (v - mean) / span);
  const a: number[][] = Array.from({ length: 4 }, () => new Array<number>(5).fill(0));
  for (let i = 0; i < u.length; i++) {
    const pw = [1, u[i], u[i] ** 2, u[i] ** 3];
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 4; c++) a[r][c] += pw[r] * pw[c];
      a[r][4] += pw[r] * y[i];
    }
  }
  for (let col = 0; col < 4; col++) {
    let piv = col;
    for (let r = col + 1; r < 4; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    [a[col], a[piv]] = [a[piv], a[col]];
    for (let r = 0; r < 4; r++) {
      if (r === col) continue;
      const f = a[r][col] / a[col][col];
      for (let c = col; c < 5; c++) a[r][c] -= f * a[col][c];
    }
  }
  const b = a.map((row, i) => row[4] / row[i]); // coefficients in u
  // Back to x: u = (x - mean) / span; expand sum b_k ((x - m)/s)^k.
  const out: [number, number, number, number] = [0, 0, 0, 0];
  const binom = [[1], [1, 1], [1, 2, 1], [1, 3, 3, 1]];
  for (let k = 0; k < 4; k++) {
    for (let j = 0; j <= k; j++) out[j] += (b[k] / span ** k) * binom[k][j] * (-mean) ** (k - j);
  }
  return out;
}

function integral(c: readonly number[], lo: number, hi: number): number {
  const prim = (x: number) => c[0] * x + (c[1] * x ** 2) / 2 + (c[2] * x ** 3) / 3 + (c[3] * x ** 4) / 4;
  return prim(hi) - prim(lo);
}

/**
 * BD-PSNR: the mean quality difference of `test` over `anchor` (dB; positive: `test` is
 * better) over the log-rate interval both cover. Null when they do not overlap or a curve has
 * fewer than 4 points.
 */
export function bdPsnr(anchor: readonly RdPoint[], test: readonly RdPoint[]): number | null {
  if (anchor.length < 4 || test.length < 4) return null;
  const la = anchor.map((p) => Math.log10(p.rate));
  const lt = test.map((p) => Math.log10(p.rate));
  const lo = Math.max(Math.min(...la), Math.min(...lt));
  const hi = Math.min(Math.max(...la), Math.max(...lt));
  if (!(hi > lo)) return null;
  const pa = cubicFit(la, anchor.map((p) => p.quality));
  const pt = cubicFit(lt, test.map((p) => p.quality));
  return (integral(pt, lo, hi) - integral(pa, lo, hi)) / (hi - lo);
}

/**
 * BD-rate: the mean rate difference of `test` against `anchor` at equal quality, as a
 * fraction (-0.2: `test` needs 20 % fewer bits), over the quality interval both cover. Null
 * when they do not overlap or a curve has fewer than 4 points.
 */
export function bdRate(anchor: readonly RdPoint[], test: readonly RdPoint[]): number | null {
  if (anchor.length < 4 || test.length < 4) return null;
  const qa = anchor.map((p) => p.quality);
  const qt = test.map((p) => p.quality);
  const lo = Math.max(Math.min(...qa), Math.min(...qt));
  const hi = Math.min(Math.max(...qa), Math.max(...qt));
  if (!(hi > lo)) return null;
  const pa = cubicFit(qa, anchor.map((p) => Math.log10(p.rate)));
  const pt = cubicFit(qt, test.map((p) => Math.log10(p.rate)));
  const meanLogDiff = (integral(pt, lo, hi) - integral(pa, lo, hi)) / (hi - lo);
  return 10 ** meanLogDiff - 1;
}

/**
 * The quality of a curve at `rate`, linear in log10(rate) between the two measured points
 * around it (points sorted by rate first); null outside the measured range.
 */
export function qualityAt(curve: readonly RdPoint[], rate: number): number | null {
  const pts = [...curve].sort((a, b) => a.rate - b.rate);
  if (pts.length === 0 || rate < pts[0].rate || rate > pts[pts.length - 1].rate) return null;
  for (let i = 1; i < pts.length; i++) {
    if (rate <= pts[i].rate) {
      const a = pts[i - 1];
      const b = pts[i];
      if (b.rate === a.rate) return Math.max(a.quality, b.quality);
      const t = (Math.log10(rate) - Math.log10(a.rate)) / (Math.log10(b.rate) - Math.log10(a.rate));
      return a.quality + t * (b.quality - a.quality);
    }
  }
  return pts[0].quality; // a single point, at exactly its rate
}

/**
 * The lowest rate at which a curve reaches `quality`: the first segment (points sorted by rate)
 * that crosses it, read linearly in log10(rate) as {@link qualityAt} reads it; null when no
 * measured point reaches it, and the lowest rate itself when every point is above it (the
 * curve has no smaller file to offer).
 */
export function rateAt(curve: readonly RdPoint[], quality: number): number | null {
  const pts = [...curve].sort((a, b) => a.rate - b.rate);
  if (pts.length === 0) return null;
  if (pts[0].quality >= quality) return pts[0].rate;
  for (let i = 1; i < pts.length; i++) {
    const a = pts[i - 1];
    const b = pts[i];
    if (b.quality >= quality) {
      const t = (quality - a.quality) / (b.quality - a.quality);
      return 10 ** (Math.log10(a.rate) + t * (Math.log10(b.rate) - Math.log10(a.rate)));
    }
  }
  return null;
}

/** `n` rates spaced evenly in log between `lo` and `hi` (both included). */
export function logRates(lo: number, hi: number, n: number): number[] {
  if (n < 2) return [lo];
  return Array.from({ length: n }, (_, i) => lo * (hi / lo) ** (i / (n - 1)));
}
