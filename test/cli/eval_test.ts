import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IMAGES, failedCleanly, irn, saveSmallModel } from './helpers.js';

describe('irn eval', () => {
  let dir = '';
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'irn-eval-'));
    await mkdir(join(dir, 'photos'));
    for (const f of ['astronaut-48x40.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'photos', f));
    (await saveSmallModel(join(dir, 'model'))).dispose(); // a fresh model: the Haar transform
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('prints a table with IRN and bicubic scores and writes the JSON report', async () => {
    const run = await irn(['eval', '--model', 'model', '--data', 'photos', '--json', 'report.json'], dir);
    assert.equal(run.code, 0, run.stderr);
    const lines = run.stdout.trim().split('\n');
    assert.match(lines[0], /^photos, x2, z = zeros; PSNR in dB, shave 2$/);
    assert.match(lines[1], /IRN PSNR-Y +IRN SSIM-Y +IRN PSNR-RGB +bicubic PSNR-Y/);
    assert.match(lines[2], /^astronaut-48x40\.png +\d+\.\d\d +0\.\d{4}/);
    assert.match(lines[4], /^mean \(2\)/);
    const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'));
    assert.equal(report.images.length, 2);
    assert.equal(report.images[1].width, 32); // 33x27 mod-cropped to 32x26
    assert.equal(report.images[1].height, 26);
    for (const r of report.images) {
      // The Haar model's LR is the box mean, close to (but not) the bicubic LR.
      assert.ok(r.lrVsBicubicPsnr > 25 && r.lrVsBicubicPsnr < 60, `LR vs bicubic ${r.lrVsBicubicPsnr}`);
      assert.ok(r.irn.psnrY > 20 && r.bicubic.psnrY > 20);
      assert.ok(r.irn.ssimY > 0 && r.irn.ssimY <= 1);
    }
    assert.ok(Math.abs(report.mean.irn.psnrY - (report.images[0].irn.psnrY + report.images[1].irn.psnrY) / 2) < 1e-9);
  });

  it('averages gaussian draws, repeatably for a seed', async () => {
    const a = await irn(['eval', '-m', 'model', '-d', 'photos', '--z', 'gaussian', '--draws', '2', '--seed', '3', '--json', 'a.json', '--first', '1'], dir);
    const b = await irn(['eval', '-m', 'model', '-d', 'photos', '--z', 'gaussian', '--draws', '2', '--seed', '3', '--json', 'b.json', '--first', '1'], dir);
    assert.equal(a.code, 0, a.stderr);
    const ra = JSON.parse(await readFile(join(dir, 'a.json'), 'utf8'));
    const rb = JSON.parse(await readFile(join(dir, 'b.json'), 'utf8'));
    assert.equal(ra.draws, 2);
    assert.deepEqual(ra.mean, rb.mean);
    assert.match(a.stdout, /z = gaussian \(mean of 2 draws\)/);
  });

  it('says what is wrong with bad input', async () => {
    const cases: [string[], number][] = [
      [['eval', '-m', 'model', '-d', 'nowhere'], 1],
      [['eval', '-m', 'model', '-d', 'model'], 1], // no PNGs there
      [['eval', '-m', 'missing', '-d', 'photos'], 1],
      [['eval', '-m', 'model', '-d', 'photos', '--draws', '3'], 2],
      [['eval', '-m', 'model', '-d', 'photos', '--z', 'gaussian', '--draws', '0'], 2],
    ];
    for (const [args, code] of cases) {
      const problem = failedCleanly(await irn(args, dir), code);
      assert.equal(problem, null, `${args.join(' ')}: ${problem}`);
    }
  });

  it('caps --draws at 100 (each draw is one more upscale of every photo)', async () => {
    // Uncapped, 2^53 - 1 draws ran for ever without a line; 101 ran (and passed) before the cap.
    for (const draws of ['101', '9007199254740991']) {
      const run = await irn(['eval', '-m', 'model', '-d', 'photos', '--z', 'gaussian', '--draws', draws, '--first', '1', '--json', 'draws.json'], dir);
      assert.equal(failedCleanly(run, 2), null, run.stderr);
      assert.match(run.stderr, new RegExp(`--draws must be an integer from 1 to 100, got "${draws}"`));
    }
    assert.match((await irn(['eval', '--help'], dir)).stdout, /--draws <n> +gaussian draws averaged per image, 1 to 100/);
  });

  it('refuses a --json path in the folder of the model being scored, even with --force', async () => {
    await symlink('model', join(dir, 'model-link'));
    for (const json of ['model/model.json', 'model/group1-shard1of1.bin', 'model/new.json', 'model-link/model.json', 'model/sub/r.json']) {
      const before = await readFile(join(dir, 'model/model.json'));
      const run = await irn(['eval', '-m', 'model', '-d', 'photos', '-f', '--json', json], dir);
      assert.equal(failedCleanly(run, 2), null, run.stderr);
      assert.equal(run.stderr, `irn: error: the --json file ${json} is in the folder of the model being scored (model); write the report elsewhere\n`);
      assert.deepEqual(await readFile(join(dir, 'model/model.json')), before);
    }
    assert.deepEqual((await readdir(join(dir, 'model'))).sort(), ['group1-shard1of1.bin', 'model.json']);
  });
});
