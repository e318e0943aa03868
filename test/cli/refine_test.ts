// `irn downscale --refine N`: encoder-side refinement of the LR (issue 13 item 5) through the
// built CLI: the refined LR restores at least as well as the plain one, through the lossless
// and the lossy formats, and bad step counts are refused with one line.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { readLrFileInfo } from '../../packages/core/src/image/lr-formats.js';
import { IMAGES, irn, readPng, saveSmallModel } from './helpers.js';

const ASTRONAUT = join(IMAGES, 'astronaut-48x40.png');

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-refine-test-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.05, seed: 9 })).dispose();
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** RGB PSNR (dB) of two RGB(A) rasters of the same size. */
function psnr(a: { data: Float32Array; channels: number }, b: { data: Float32Array; channels: number }): number {
  let se = 0;
  const n = a.data.length / a.channels;
  for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) se += (a.data[i * a.channels + c] - b.data[i * b.channels + c]) ** 2;
  return 10 * Math.log10((3 * n) / se);
}

describe('irn downscale --refine', () => {
  it('writes an LR that restores closer to the original than the plain LR, and says by how much', async () => {
    const plain = await irn(['downscale', '-m', 'model', ASTRONAUT, 'plain.png'], work);
    const refined = await irn(['downscale', '-m', 'model', '--refine', '6', ASTRONAUT, 'refined.png'], work);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(refined.code, 0, refined.stderr);
    const said = /refined: ([\d.]+) -> ([\d.]+) dB RGB PSNR restored \(best of 6 steps: (\d)\)/.exec(refined.stdout + refined.stderr);
    assert.ok(said, refined.stdout + refined.stderr);
    assert.ok(Number(said[2]) > Number(said[1]), `gain: ${said[1]} -> ${said[2]}`);
    assert.notDeepEqual(readPng(join(work, 'refined.png')).data, readPng(join(work, 'plain.png')).data);
    for (const name of ['plain', 'refined']) {
      const up = await irn(['-q', 'upscale', '-m', 'model', `${name}.png`, `${name}-up.png`], work);
      assert.equal(up.code, 0, up.stderr);
    }
    const original = readPng(ASTRONAUT);
    const before = psnr(readPng(join(work, 'plain-up.png')), original);
    const afterRefine = psnr(readPng(join(work, 'refined-up.png')), original);
    // The restored PNG is rounded to 8 bits, the CLI's figure is not: close, not equal.
    assert.ok(afterRefine > before, `restored from the refined LR ${afterRefine.toFixed(2)} dB, from the plain one ${before.toFixed(2)} dB`);
    assert.ok(Math.abs(afterRefine - Number(said[2])) < 0.1, `${afterRefine} vs ${said[2]}`);
  });

  it('refines through the JPEG round trip (the gradient of the JPEG stand-in, the rate priced), says the rate and keeps the metadata', async () => {
    const run = await irn(['downscale', '-m', 'model', '--refine', '3', '--quality', '60', ASTRONAUT, 'refined.jpg'], work);
    assert.equal(run.code, 0, run.stderr);
    const said = /refined: [\d.]+ -> [\d.]+ dB RGB PSNR restored, ([\d.]+) -> ([\d.]+) bpp \(best of 3 steps: (\d)\)/.exec(run.stdout + run.stderr);
    assert.ok(said, run.stdout + run.stderr);
    const file = readFileSync(join(work, 'refined.jpg'));
    const info = readLrFileInfo(file);
    assert.deepEqual([info.format, info.width, info.height], ['jpeg', 24, 20]);
    assert.deepEqual(info.lrMetadata, { scale: 2, width: 48, height: 40 });
    if (said[3] === '0') {
      // Nothing better found: the plain LR's JPEG, whose size (less the comment segment) the bpp is.
      const coded = (Number(said[1]) * 48 * 40) / 8;
      assert.ok(file.length >= coded - 1 && file.length < coded + 200, `file ${file.length} bytes, refinement measured ${coded.toFixed(0)}`);
    }
  });

  for (const [format, quality] of [
    ['avif', '40'],
    ['jpeg', '80'],
  ] as const) {
    it(`${format}: the refined LR competes at equal bytes, and the file written is never bigger than the plain LR's at that quality nor restores worse`, async () => {
      const plainName = `eq-plain.${format}`;
      const refinedName = `eq-refined.${format}`;
      const [plain, run] = await Promise.all([
        irn(['-q', 'downscale', '-m', 'model', '--quality', quality, ASTRONAUT, plainName], work),
        irn(['downscale', '-m', 'model', '--quality', quality, '--refine', '4', ASTRONAUT, refinedName], work),
      ]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.equal(run.code, 0, run.stderr);
      const plainFile = readFileSync(join(work, plainName));
      const file = readFileSync(join(work, refinedName));
      const out = run.stdout + run.stderr;
      const steps = /\(best of 4 steps: (\d)\)/.exec(out);
      assert.ok(steps, out);
      if (steps[1] === '0') {
        assert.deepEqual(file, plainFile, 'no better step: the plain LR is written');
        return;
      }
      const verdict = new RegExp(`within ${plainFile.length} bytes it restores ([\\d.]+) dB(, not above the plain LR's [\\d.]+)?: the (refined|plain) LR written \\((\\d+) bytes\\)`).exec(out);
      assert.ok(verdict, out);
      assert.equal(Number(verdict[4]), file.length, 'the size said is the size written');
      assert.ok(file.length <= plainFile.length, `${file.length} bytes written, the plain LR has ${plainFile.length}`);
      if (verdict[3] === 'plain') {
        assert.deepEqual(file, plainFile);
        return;
      }
      // Kept: restored from the files as written, the refined one is closer to the original.
      for (const name of [plainName, refinedName]) assert.equal((await irn(['-q', 'upscale', '-m', 'model', name, `${name}.png`], work)).code, 0);
      const original = readPng(ASTRONAUT);
      const before = psnr(readPng(join(work, `${plainName}.png`)), original);
      const afterRefine = psnr(readPng(join(work, `${refinedName}.png`)), original);
      assert.ok(afterRefine > before - 0.05, `restored from the refined LR ${afterRefine.toFixed(2)} dB, from the plain one ${before.toFixed(2)} dB`);
    });
  }

  it('refuses a step count that is not a whole number from 0 to 1000 with one line', async () => {
    for (const bad of ['-1', '2.5', 'many', '1001']) {
      const run = await irn(['downscale', '-m', 'model', '--refine', bad, ASTRONAUT, 'bad.png'], work);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /refinement steps must be a whole number from 0 to 1000/);
      assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    }
  });
});
