import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { decodePng } from '../image/png.js';
import type { RasterImage } from '../image/raster.js';
import { psnrRgb, psnrY, ssimY } from './metrics.js';

const FIXTURES = new URL('../../test-fixtures/metrics/', import.meta.url);
/** The golden values come from float64 scikit-image; we compute in float64 too. */
const TOL = 1e-6;

function load(name: string): RasterImage {
  return decodePng(new Uint8Array(readFileSync(new URL(name, FIXTURES))));
}

function constant(width: number, height: number, v: number): RasterImage {
  return { width, height, channels: 3, data: new Float32Array(width * height * 3).fill(v) };
}

describe('metrics (the paper protocol)', () => {
  it('identical images: PSNR is infinite and SSIM is 1', () => {
    const a = load('reference.png');
    assert.equal(psnrY(a, a), Infinity);
    assert.equal(psnrRgb(a, a), Infinity);
    assert.ok(Math.abs(ssimY(a, a) - 1) < 1e-12);
  });

  it('a constant offset of d grey levels gives 20 log10(255 / d) on RGB and Y scaled by 219/255', () => {
    const a = constant(20, 20, 100 / 255);
    const b = constant(20, 20, 104 / 255);
    assert.ok(Math.abs(psnrRgb(b, a) - 20 * Math.log10(255 / 4)) < 1e-9);
    // On Y the offset is 4 * (65.481 + 128.553 + 24.966) / 255 = 4 * 219 / 255.
    assert.ok(Math.abs(psnrY(b, a) - 20 * Math.log10(255 / ((4 * 219) / 255))) < 1e-9);
  });

  it('matches scikit-image on a real photo pair (scripts/make-metric-fixture.py)', () => {
    const expected = JSON.parse(readFileSync(new URL('expected.json', FIXTURES), 'utf8'));
    const ref = load('reference.png');
    const deg = load('degraded.png');
    const opts = { shave: expected.shave };
    assert.ok(Math.abs(psnrY(deg, ref, opts) - expected.psnrY) < TOL, `psnrY ${psnrY(deg, ref, opts)} vs ${expected.psnrY}`);
    assert.ok(Math.abs(ssimY(deg, ref, opts) - expected.ssimY) < TOL, `ssimY ${ssimY(deg, ref, opts)} vs ${expected.ssimY}`);
    assert.ok(Math.abs(psnrRgb(deg, ref, opts) - expected.psnrRgb) < TOL, `psnrRgb ${psnrRgb(deg, ref, opts)} vs ${expected.psnrRgb}`);
  });

  it('rejects mismatched sizes and a shave that leaves nothing', () => {
    assert.throws(() => psnrY(constant(4, 4, 0), constant(4, 5, 0)), /differ in size: 4x4 vs 4x5/);
    assert.throws(() => psnrY(constant(4, 4, 0), constant(4, 4, 0), { shave: 2 }), /shave 2 leaves nothing/);
    assert.throws(() => ssimY(constant(12, 12, 0), constant(12, 12, 0), { shave: 1 }), /at least 11x11/);
  });
});
