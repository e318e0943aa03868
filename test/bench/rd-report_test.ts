// The pure parts of the rate–distortion report (bench/rd/report.ts): mean curves over photos
// and the targets' checks, on made-up measurements whose answers are known.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestCurves, checkTarget, completeMethods, meanCurves, modelPayback, paybackCell, presetCurve, sameBytesGain, targetLine, type CurvePoint, type ImageResult } from '../../bench/rd/report.js';

const img = (name: string, points: ImageResult['points']): ImageResult => ({ name, width: 100, height: 80, scale: 2, points, check: { bicubicUp: 0, esrganUp: 0 } });

test('meanCurves: bpp from bytes over the full-size pixels, averaged per quality, sorted by rate', () => {
  const curves = meanCurves([
    img('a', [
      { method: 'photo-jpeg', quality: 50, bytes: 1000, psnrY: 30, ssimY: 0.8 },
      { method: 'photo-jpeg', quality: 10, bytes: 200, psnrY: 24, ssimY: 0.6 },
    ]),
    img('b', [
      { method: 'photo-jpeg', quality: 50, bytes: 3000, psnrY: 34, ssimY: 0.9 },
      { method: 'photo-jpeg', quality: 10, bytes: 400, psnrY: 26, ssimY: 0.7 },
    ]),
  ]);
  const c = curves.get('photo-jpeg')!;
  assert.deepEqual(c.map((p) => p.quality), [10, 50]);
  // (200 + 400) / 2 bytes * 8 bits / 8000 px = 0.3 bpp; (1000 + 3000) / 2 * 8 / 8000 = 2.
  assert.ok(Math.abs(c[0].bpp - 0.3) < 1e-12 && Math.abs(c[1].bpp - 2) < 1e-12);
  assert.equal(c[1].psnrY, 32);
  assert.ok(Math.abs(c[0].ssimY - 0.65) < 1e-12);
});

const line = (q0: number, slope: number, rates: number[]) => rates.map((rate) => ({ rate, quality: q0 + slope * Math.log10(rate) }));

test('checkTarget: the best test curve at each rate against the best anchor, worst margin decides', () => {
  const rates = [0.1, 0.2, 0.4, 0.8];
  const anchor = line(36, 10, rates); // 26 dB at 0.1, 32 at 0.4
  const low = line(34, 6, rates); // above the anchor at low rates only
  const high = line(35.5, 10, rates); // 0.5 dB below everywhere
  const r = checkTarget([low, high], [anchor], 0.1, 0.4, 0);
  // At 0.4 bpp the best test is max(34 - 2.39, 35.5 - 3.98) = 31.61 against 32.02: below.
  assert.equal(r.pass, false);
  assert.ok(r.minMargin != null && Math.abs(r.minMargin - (34 + 6 * Math.log10(0.4) - 32.0206)) < 1e-3);
  // Low rates only: the envelope is above everywhere on [0.1, 0.15].
  const ok = checkTarget([low, high], [anchor], 0.1, 0.15, 0);
  assert.equal(ok.pass, true);
  assert.ok(ok.minMargin! > 0);
  assert.equal(checkTarget([low], [anchor], 0.1, 0.15, 10).pass, false, 'a 10 dB requirement fails');
});

test('checkTarget: no claim where the tests are not measured; below every anchor counts as won', () => {
  const anchor = line(36, 10, [0.2, 0.4, 0.8]);
  const test1 = line(37, 10, [0.15, 0.3, 0.6]);
  const r = checkTarget([test1], [anchor], 0.1, 0.3, 0);
  assert.equal(r.pass, false);
  assert.ok(r.uncovered.length > 0 && r.uncovered[0] === 0.1);
  assert.match(targetLine('t', r, 0), /^FAIL .*not measured at 0\.100/);
  // Measured from 0.05: below 0.2 the anchor has no file, above it the test is 1 dB better.
  const test2 = line(37, 10, [0.05, 0.15, 0.3, 0.6]);
  const r2 = checkTarget([test2], [anchor], 0.1, 0.3, 0);
  assert.equal(r2.pass, true);
  assert.ok(r2.belowAnchors.length > 0 && r2.belowAnchors.every((b) => b < 0.2));
  assert.ok(Math.abs(r2.minMargin! - 1) < 1e-9);
  assert.match(targetLine('t', r2, 0), /^PASS .*no file as small as 0\.100/);
});

test('targets across curves: a decoder curve that wins part of the range is the one named there', () => {
  const rates = [0.1, 0.2, 0.4, 0.8];
  const anchor = line(36, 10, rates); // JPEG of the photo: 26 dB at 0.1, 32.0 at 0.4
  const shipped = line(34, 6, rates); // above the anchor at low rates, below from about 0.32
  const decoder = line(35.5, 8, rates); // 28.5 at 0.1 (below shipped's 28), 32.3 at 0.4 (above the anchor)
  const names = ['IRN LR AVIF', 'IRN LR JPEG + jd decoder'];
  const onlyShipped = checkTarget([shipped], [anchor], 0.1, 0.4, 0);
  assert.equal(onlyShipped.pass, false, 'the shipped curve alone falls below JPEG at 0.4');
  const both = checkTarget([shipped, decoder], [anchor], 0.1, 0.4, 0);
  assert.equal(both.pass, true, 'with the decoder curve the envelope stays above');
  // Shipped is the best up to where the two cross (34 + 6 l = 35.5 + 8 l: l = -0.75, 0.178
  // bpp), the decoder above; the sampled rates are 0.1 * 4^(i/8).
  assert.deepEqual(both.samples.map((x) => x.best), [0, 0, 0, 0, 1, 1, 1, 1, 1]);
  const b = bestCurves(both, names);
  assert.equal(b.runs, 'IRN LR AVIF 0.100-0.168 bpp, IRN LR JPEG + jd decoder 0.200-0.400 bpp');
  // The worst margin: at 0.4, the decoder's 32.32 against JPEG's 32.02.
  assert.equal(b.worst, 'IRN LR JPEG + jd decoder at 0.400 bpp');
  const text = targetLine('x2: IRN above JPEG', both, 0, names);
  assert.match(text, /^PASS {2}x2: IRN above JPEG: worst margin \+0\.30 dB \(IRN LR JPEG \+ jd decoder at 0\.400 bpp\)/);
  assert.match(text, /; best curve: IRN LR AVIF 0\.100-0\.168 bpp, IRN LR JPEG \+ jd decoder 0\.200-0\.400 bpp$/);
  const cross = both;
  // Without names the line is as before.
  assert.doesNotMatch(targetLine('t', cross, 0), /best curve/);
});

test('sameBytesGain: per quality on the same bytes, n/a where the bytes differ or a quality is missing', () => {
  const base = [
    { quality: 30, bpp: 0.2, psnrY: 28, ssimY: 0.8 },
    { quality: 55, bpp: 0.3, psnrY: 29, ssimY: 0.85 },
    { quality: 80, bpp: 0.5, psnrY: 30, ssimY: 0.9 },
  ];
  const dec = [
    { quality: 30, bpp: 0.2, psnrY: 28.75, ssimY: 0.81 },
    { quality: 55, bpp: 0.31, psnrY: 29.5, ssimY: 0.86 },
    { quality: 93, bpp: 0.9, psnrY: 33, ssimY: 0.95 },
  ];
  assert.deepEqual(
    sameBytesGain(base, dec).map((g) => g.gain),
    [0.75, null, null],
  );
});

test('presetCurve: each LR quality restored by the decoder irn downscale names for it (narrowest range first), else the encoder', () => {
  // The x2 JPEG sweep (30, 55, 80, 93, plus 98 here) on the same LR files: same bytes per quality.
  const at = (psnrY: number[]): CurvePoint[] => [30, 55, 80, 93, 98].map((quality, i) => ({ quality, bpp: [0.2, 0.3, 0.5, 0.9, 1.4][i], psnrY: psnrY[i], ssimY: psnrY[i] / 100 }));
  const base = at([28, 30, 32, 33, 34]);
  // Each decoder's curve is its encoder's outside its range (bench:rd's 'decoder' method).
  const low = at([28.3, 30.3, 32.2, 33, 34]);
  const q90 = at([28, 30, 32, 33.2, 34]);
  const wide = at([28.1, 30.1, 32.1, 33.1, 34]);
  const curve = presetCurve(
    base,
    [
      { name: 'irn-x2-jpeg', notes: { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 89 }, curve: low },
      { name: 'irn-x2-jpeg-q90', notes: { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 90, lrQualityMax: 97 }, curve: q90 },
      // Covers 0-97: wider than either, so named for no quality; of another codec or encoder: never.
      { name: 'irn-x2-jpeg-wide', notes: { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 97 }, curve: wide },
      { name: 'irn-x2-avif', notes: { encoder: 'irn-x2', lrCodec: 'avif' }, curve: at([40, 40, 40, 40, 40]) },
      { name: 'irn-x4-jpeg', notes: { encoder: 'irn-x4', lrCodec: 'jpeg' }, curve: at([40, 40, 40, 40, 40]) },
    ],
    'irn-x2',
    'jpeg',
  );
  assert.deepEqual(
    curve.map((p) => [p.quality, p.restorer, p.psnrY]),
    [
      [30, 'irn-x2-jpeg', 28.3],
      [55, 'irn-x2-jpeg', 30.3],
      [80, 'irn-x2-jpeg', 32.2],
      [93, 'irn-x2-jpeg-q90', 33.2],
      [98, 'irn-x2', 34],
    ],
  );
  // The bytes are the LR files' (every curve's the same), the SSIM the restorer's.
  assert.deepEqual(curve.map((p) => p.bpp), base.map((p) => p.bpp));
  assert.equal(curve[3].ssimY, 0.332);
  // No decoders, or a lossless point: the encoder's own curve.
  assert.deepEqual(presetCurve(base, [], 'irn-x2', 'jpeg').map((p) => p.restorer), ['irn-x2', 'irn-x2', 'irn-x2', 'irn-x2', 'irn-x2']);
  assert.equal(presetCurve([{ quality: null, bpp: 3.2, psnrY: 39, ssimY: 0.97 }], [{ name: 'd', notes: { encoder: 'irn-x2', lrCodec: 'jpeg' }, curve: [] }], 'irn-x2', 'jpeg')[0].restorer, 'irn-x2');
  // A decoder named for a quality its curve lacks: a curve of other LR files, refused.
  assert.throws(
    () => presetCurve(base, [{ name: 'irn-x2-jpeg', notes: { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 89 }, curve: low.slice(1) }], 'irn-x2', 'jpeg'),
    /^Error: the irn-x2-jpeg decoder's curve has no point at quality 30, which it is named for$/,
  );
});

test('completeMethods: only methods measured on every photo are reported, in the given order', () => {
  const photos = [{ points: new Map([['photo-jpeg', 1], ['irn-jpeg', 1], ['irn-jpeg+d', 1]]) }, { points: new Map([['irn-jpeg', 1], ['photo-jpeg', 1]]) }];
  assert.deepEqual(completeMethods(photos, ['irn-jpeg', 'photo-jpeg', 'irn-jpeg+d', 'check']), {
    complete: ['irn-jpeg', 'photo-jpeg'],
    partial: [
      { id: 'irn-jpeg+d', photos: 1 },
      { id: 'check', photos: 0 },
    ],
  });
  assert.deepEqual(completeMethods([], ['a']).complete, [], 'no photo: nothing to report');
});

test('modelPayback: photos after which the bytes saved against a codec pay for the model', () => {
  const rates = [0.1, 0.2, 0.4, 0.8];
  const irn = line(36, 10, rates); // 30 dB at 0.251 bpp
  const worse = line(34, 10, rates); // the same slope 2 dB lower: needs 10^0.2 = 1.585x the rate
  const better = line(38, 10, rates);
  const pixels = 400_000;
  const [p] = modelPayback(1_000_000, pixels, [irn], worse, [0.2]);
  assert.ok(p.anchorBpp != null && Math.abs(p.anchorBpp - 0.2 * 10 ** 0.2) < 1e-9);
  // Saved per photo: (0.3170 - 0.2) bpp * 400,000 px / 8 = 5,849 bytes; 1 MB / that = 171 photos.
  const saved = ((0.2 * 10 ** 0.2 - 0.2) * pixels) / 8;
  assert.ok(p.photos != null && Math.abs(p.photos - 1_000_000 / saved) < 1e-6);
  assert.equal(paybackCell(p), `${Math.ceil(1_000_000 / saved)} (0.32 vs 0.20 bpp)`);
  // The best of several IRN curves counts; a codec better than IRN is never paid back.
  const [q] = modelPayback(1_000_000, pixels, [worse, irn], worse, [0.2]);
  assert.equal(q.photos, p.photos);
  const [never] = modelPayback(1_000_000, pixels, [irn], better, [0.2]);
  assert.equal(never.photos, Infinity);
  assert.match(paybackCell(never), /^never \(0\.13 vs 0\.20 bpp\)$/);
  // Outside the measured rates: not claimed.
  const [out] = modelPayback(1_000_000, pixels, [irn], worse, [5]);
  assert.deepEqual(out, { bpp: 5, anchorBpp: null, photos: null });
  assert.equal(paybackCell(out), 'n/a');
});

