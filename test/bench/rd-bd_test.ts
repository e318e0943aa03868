// Bjøntegaard deltas of bench/rd/bd.ts on curves whose answer is known in closed form.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bdPsnr, bdRate, cubicFit, logRates, qualityAt, rateAt, type RdPoint } from '../../bench/rd/bd.js';

const rates = [0.1, 0.2, 0.4, 0.8, 1.6];
/** A curve with quality = f(log10 rate). */
const curve = (f: (l: number) => number, rs = rates): RdPoint[] => rs.map((rate) => ({ rate, quality: f(Math.log10(rate)) }));
const close = (a: number | null, b: number, eps = 1e-9) => {
  assert.ok(a != null, 'expected a number, got null');
  assert.ok(Math.abs(a - b) < eps, `${a} is not ${b} (±${eps})`);
};

test('cubicFit recovers a cubic exactly, also far from the origin', () => {
  const x = [-1, -0.5, 0.2, 0.7, 1.3, 2];
  const c = cubicFit(x, x.map((v) => 2 - 3 * v + 0.5 * v ** 2 + 0.25 * v ** 3));
  [2, -3, 0.5, 0.25].forEach((want, i) => close(c[i], want, 1e-9));
  // Far from the origin (log-rates of large bit rates): the centring keeps it exact.
  const far = [3, 3.2, 3.5, 3.9, 4.4];
  const d = cubicFit(far, far.map((v) => 1 + v ** 3));
  [1, 0, 0, 1].forEach((want, i) => close(d[i], want, 1e-6));
  assert.throws(() => cubicFit([1, 2, 3], [1, 2, 3]), /4 distinct/);
});

test('a curve 1 dB above everywhere: BD-PSNR is exactly +1', () => {
  const a = curve((l) => 30 + 8 * l + 2 * l * l);
  const b = curve((l) => 31 + 8 * l + 2 * l * l);
  close(bdPsnr(a, b), 1);
  close(bdPsnr(b, a), -1);
});

test('the same qualities at 80 % of the rate: BD-rate is exactly -20 %', () => {
  const f = (l: number) => 30 + 10 * l - l ** 3;
  const a = curve(f);
  // b reaches f(log10 r) at rate 0.8 r.
  const b = rates.map((r) => ({ rate: 0.8 * r, quality: f(Math.log10(r)) }));
  close(bdRate(a, b), -0.2, 1e-9);
  close(bdRate(b, a), 0.25, 1e-9);
});

test('BD-PSNR averages over the overlap only (closed form for two lines)', () => {
  // a: 30 + 10 l on l in [-1, 0.2]; b: 31 + 12 l on l in [-1.3, -0.2]. Overlap l in
  // [-1, -0.2]: mean of (1 + 2 l) = 1 + 2 * (-0.6) = -0.2.
  const a = curve((l) => 30 + 10 * l, [0.1, 0.2, 0.5, 1, 10 ** 0.2]);
  const b = curve((l) => 31 + 12 * l, [10 ** -1.3, 0.1, 0.2, 0.4, 10 ** -0.2]);
  close(bdPsnr(a, b), -0.2, 1e-9);
  // BD-rate of the same lines: l_a(q) = (q - 30) / 10, l_b(q) = (q - 31) / 12. Quality
  // overlap [max(20, 15.4), min(32, 28.6)] = [20, 28.6]; mean of l_b - l_a over it.
  const lo = 20;
  const hi = 28.6;
  const mean = (q: number) => (q - 31) / 12 - (q - 30) / 10;
  const avg = (mean(lo) + mean(hi)) / 2; // linear in q
  close(bdRate(a, b), 10 ** avg - 1, 1e-9);
});

test('no overlap or too few points: null', () => {
  const a = curve((l) => 30 + 10 * l, [0.1, 0.2, 0.3, 0.4]);
  const b = curve((l) => 30 + 10 * l, [1, 2, 3, 4]);
  assert.equal(bdPsnr(a, b), null);
  assert.equal(bdPsnr(a, a.slice(0, 3)), null);
  assert.equal(bdRate(a, a.slice(0, 3)), null);
});

test('qualityAt interpolates linearly in log-rate and never extrapolates', () => {
  const c: RdPoint[] = [
    { rate: 0.4, quality: 34 },
    { rate: 0.1, quality: 30 },
  ];
  close(qualityAt(c, 0.2), 32); // halfway in log between 0.1 and 0.4
  close(qualityAt(c, 0.1), 30);
  assert.equal(qualityAt(c, 0.05), null);
  assert.equal(qualityAt(c, 0.5), null);
  const r = logRates(0.2, 0.6, 3);
  close(r[0], 0.2);
  close(r[1], Math.sqrt(0.12));
  close(r[2], 0.6);
});

test('rateAt inverts qualityAt on a rising curve, and says where a curve cannot reach', () => {
  const c = curve((l) => 30 + 10 * l); // 20 dB at 0.1 ... 32.04 at 1.6
  for (const r of [0.1, 0.15, 0.4, 0.9, 1.6]) close(rateAt(c, qualityAt(c, r)!), r, 1e-12);
  close(rateAt(c, 26), 10 ** -0.4, 1e-12); // 30 + 10 log r = 26
  assert.equal(rateAt(c, 40), null); // above every point
  assert.equal(rateAt(c, 5), 0.1); // below every point: the curve's smallest file
  // Not monotone: the lowest rate that reaches the quality.
  const bumpy: RdPoint[] = [
    { rate: 0.1, quality: 20 },
    { rate: 0.2, quality: 30 },
    { rate: 0.4, quality: 28 },
    { rate: 0.8, quality: 35 },
  ];
  close(rateAt(bumpy, 25), 10 ** (Math.log10(0.1) + 0.5 * Math.log10(2)), 1e-12);
  assert.equal(rateAt([], 1), null);
});

