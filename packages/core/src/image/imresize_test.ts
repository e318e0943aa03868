import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { imresize } from './imresize.js';
import type { RasterImage } from './raster.js';

// Golden values: `/usr/bin/python3 packages/core/scripts/make-bicubic-fixture.py`, the MATLAB
// imresize port of the IRN/EDSR/BasicSR code bases in float64 numpy.
const golden = JSON.parse(readFileSync(new URL('../../test-fixtures/bicubic/golden.json', import.meta.url), 'utf8')) as {
  cases: { factor: number; input_shape: [number, number, number]; output_shape: [number, number, number]; input: number[]; output: number[] }[];
};
/** Float64 arithmetic, stored as float32: agreement to float32 rounding. */
const TOL = 1e-6;

describe('imresize (MATLAB bicubic)', () => {
  it('downscales like the MATLAB imresize port, for factors 2, 4 and 8', () => {
    for (const c of golden.cases) {
      const [h, w, ch] = c.input_shape;
      const img: RasterImage = { width: w, height: h, channels: ch as 1 | 3, data: Float32Array.from(c.input) };
      const out = imresize(img, c.output_shape[1], c.output_shape[0]);
      let max = 0;
      for (let i = 0; i < c.output.length; i++) max = Math.max(max, Math.abs(out.data[i] - c.output[i]));
      assert.ok(max < TOL, `x${c.factor} ${w}x${h}: max difference ${max}`);
    }
  });

  it('upscaling keeps constants and reproduces linear ramps away from the borders', () => {
    const w = 10;
    const h = 8;
    const ramp: RasterImage = { width: w, height: h, channels: 1, data: new Float32Array(w * h) };
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) ramp.data[y * w + x] = 0.1 + 0.03 * x + 0.02 * y;
    const up = imresize(ramp, 2 * w, 2 * h);
    // Output pixel X sits at input coordinate (X + 0.5) / 2 - 0.5 (pixel centres).
    for (let y = 4; y < 2 * h - 4; y++) for (let x = 4; x < 2 * w - 4; x++) {
      const want = 0.1 + 0.03 * ((x + 0.5) / 2 - 0.5) + 0.02 * ((y + 0.5) / 2 - 0.5);
      assert.ok(Math.abs(up.data[y * 2 * w + x] - want) < 1e-6, `(${x}, ${y}): ${up.data[y * 2 * w + x]} vs ${want}`);
    }
    const flat: RasterImage = { width: 5, height: 3, channels: 3, data: new Float32Array(45).fill(0.25) };
    for (const v of imresize(flat, 20, 12).data) assert.ok(Math.abs(v - 0.25) < 1e-7);
  });

  it('rejects a bad output size', () => {
    const img: RasterImage = { width: 2, height: 2, channels: 1, data: new Float32Array(4) };
    assert.throws(() => imresize(img, 0, 2), /positive integers, got 0x2/);
  });
});
