import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { encodePng } from '../../packages/core/src/image/png-write.js';
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

  it('scores the photos it can, names each one too small with its size, writes the JSON of the others and fails', async () => {
    await mkdir(join(dir, 'mixed'));
    for (const f of ['astronaut-48x40.png', 'camera-1bit-21x13.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'mixed', f));
    const grey = (w: number, h: number) => encodePng({ width: w, height: h, channels: 3, data: new Float32Array(w * h * 3).fill(0.5) });
    await writeFile(join(dir, 'mixed/one-1x1.png'), grey(1, 1));
    await writeFile(join(dir, 'mixed/three-3x3.png'), grey(3, 3));
    await writeFile(join(dir, 'mixed/wide-40x15.png'), grey(40, 15)); // 15 rows: 14 once mod-cropped, 10 once shaved
    const run = await irn(['eval', '-m', 'model', '-d', 'mixed', '--json', 'mixed.json'], dir);
    assert.equal(run.code, 1, run.stderr);
    assert.doesNotMatch(run.stderr, /\n\s+at |SSIM needs|leaves nothing|must be positive integers/);
    const errors = run.stderr.split('\n').filter((l) => l.startsWith('irn: error: '));
    const small = (name: string, size: string) =>
      `irn: error: ${join('mixed', name)}: ${size} pixels, too small to score at x2: a photo needs at least 16x16 (SSIM's 11x11 window once 2 pixels are shaved from each side)`;
    assert.deepEqual(errors, [
      small('camera-1bit-21x13.png', '21x13'),
      small('one-1x1.png', '1x1'),
      small('three-3x3.png', '3x3'),
      small('wide-40x15.png', '40x15'),
      'irn: error: 4 of 6 images failed; the scores of the other 2 are in mixed.json',
    ]);
    assert.match(run.stdout, /^astronaut-48x40\.png +\d/m);
    assert.match(run.stdout, /^coffee-33x27\.png +\d/m);
    assert.match(run.stdout, /^mean \(2\)/m);
    const report = JSON.parse(await readFile(join(dir, 'mixed.json'), 'utf8'));
    assert.deepEqual(report.images.map((r: { name: string }) => r.name), ['astronaut-48x40.png', 'coffee-33x27.png']);
    assert.deepEqual(report.skipped.map((r: { name: string }) => r.name), ['camera-1bit-21x13.png', 'one-1x1.png', 'three-3x3.png', 'wide-40x15.png']);
    // None scored: no JSON, the one line per photo and the count.
    await mkdir(join(dir, 'tiny'));
    await writeFile(join(dir, 'tiny/one.png'), grey(1, 1));
    const none = await irn(['eval', '-m', 'model', '-d', 'tiny', '--json', 'tiny.json'], dir);
    assert.equal(none.code, 1, none.stderr);
    assert.match(none.stderr, /^irn: error: tiny\/one\.png: 1x1 pixels, too small to score at x2: .*\nirn: error: 1 of 1 images failed\n$/);
    await assert.rejects(readFile(join(dir, 'tiny.json')));
  });

  it("refuses a --json path that is a file of the model being scored, even with --force; a new file beside them is written", async () => {
    await symlink('model', join(dir, 'model-link'));
    await writeFile(join(dir, 'model/best.json'), '{"step":1}');
    const files = ['model.json', 'group1-shard1of1.bin', 'best.json'];
    const before = await Promise.all(files.map((f) => readFile(join(dir, 'model', f))));
    for (const [json, file] of [['model/model.json', 'model.json'], ['model/group1-shard1of1.bin', 'group1-shard1of1.bin'], ['model/best.json', 'best.json'], ['model-link/model.json', 'model.json']]) {
      const run = await irn(['eval', '-m', 'model', '-d', 'photos', '-f', '--json', json], dir);
      assert.equal(failedCleanly(run, 2), null, run.stderr);
      assert.match(run.stderr, new RegExp(`^irn: error: the output ${json} would overwrite the model file \\S*model/${file.replace('.', '\\.')}\n$`));
    }
    assert.deepEqual(await Promise.all(files.map((f) => readFile(join(dir, 'model', f)))), before);
    // A report beside the model is no harm: irn train's folders hold best.json the same way.
    const run = await irn(['eval', '-m', 'model', '-d', 'photos', '--json', 'model/eval.json'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(await readFile(join(dir, 'model/eval.json'), 'utf8')).images.length > 0, true);
    assert.deepEqual(await Promise.all(files.map((f) => readFile(join(dir, 'model', f)))), before);
  });
});
