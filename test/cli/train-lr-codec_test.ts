// irn train --lr-codec jpeg-proxy: training through core's differentiable JPEG stand-in with a
// rate term (issue 13, item 4), in one thread and data-parallel.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGES, failedCleanly, irn } from './helpers.js';

const TINY = ['--batch', '2', '--patch', '16', '--blocks', '1', '--growth', '4', '--log-every', '1', '--val-every', '100', '--steps', '2'];
const FLAT_LR = ['--lr', '1e-3', '--lr-min', '1e-3', '--warmup', '0'];
const CODEC = ['--lr-codec', 'jpeg-proxy', '--quality', '30-90', '--rate-weight', '0.5'];

const stepLoss = (stderr: string, step: number): number => {
  const m = new RegExp(`^step ${step} lr \\S+ loss (\\S+) `, 'm').exec(stderr);
  assert.ok(m, `no step ${step} line in: ${stderr}`);
  return Number(m[1]);
};

describe('irn train --lr-codec', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'irn-train-codec-'));
    await mkdir(join(dir, 'photos'));
    for (const f of ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'photos', f));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains through the JPEG proxy, says so, and data-parallel shards compute the same loss', async () => {
    const base = ['train', '--data', 'photos', ...TINY, ...FLAT_LR];
    const [plain, coded] = await Promise.all([irn([...base, '--out', 'plain', '--workers', '0'], dir), irn([...base, ...CODEC, '--out', 'coded', '--workers', '0'], dir)]);
    assert.equal(plain.code, 0, plain.stderr);
    assert.equal(coded.code, 0, coded.stderr);
    assert.match(coded.stderr, /LR codec jpeg-proxy quality 30-90, rounding ste, rate weight 0\.5; /);
    assert.doesNotMatch(plain.stderr, /LR codec/);
    // Validation restores from real JPEG files: at step 0 (the same Haar transform in both
    // runs) well below the lossless round trip.
    assert.match(coded.stderr, /^validation through MozJPEG \(irn downscale --format jpeg\) at quality 30, 60, 90, mean PSNR-Y$/m);
    const val0 = (stderr: string) => Number(/^step 0 val PSNR-Y (\d+\.\d+) dB/m.exec(stderr)?.[1]);
    assert.ok(val0(coded.stderr) < val0(plain.stderr) - 1, `step 0 val PSNR-Y ${val0(coded.stderr)} through JPEG, ${val0(plain.stderr)} lossless`);
    // The saved model says which LRs it restores.
    const saved = async (name: string) => JSON.parse(await readFile(join(dir, name, 'model.json'), 'utf8')).userDefinedMetadata?.irn;
    assert.equal((await saved('coded'))?.lrCodec, 'jpeg');
    assert.equal((await saved('plain'))?.lrCodec, undefined);
    // Same weights and batch at step 1: the codec's error and the rate term make the loss larger.
    const [lp, lc] = [stepLoss(plain.stderr, 1), stepLoss(coded.stderr, 1)];
    assert.ok(lc > lp + 0.1, `step 1 loss ${lc} with the codec, ${lp} without`);
    // Two threads: each draws the qualities and noise of its own samples of the batch.
    const two = await irn([...base, ...CODEC, '--out', 'coded2', '--workers', '1'], dir);
    assert.equal(two.code, 0, two.stderr);
    assert.match(two.stderr, /^data-parallel: each batch of 2 split over 2 threads/m);
    const l2 = stepLoss(two.stderr, 1);
    assert.ok(Math.abs(l2 - lc) <= 0.01 + 1e-4 * lc, `step 1 loss ${l2} data-parallel, ${lc} in one thread`);
  });

  it('says what is wrong with codec flags, in one line', async () => {
    const cases: string[][] = [
      ['--lr-codec', 'png'],
      ['--lr-codec', 'jpeg-proxy', '--quality', '90-50'],
      ['--lr-codec', 'jpeg-proxy', '--quality', '101'],
      ['--rate-weight', '1'],
      ['--lr-codec', 'jpeg-proxy', '--codec-rounding', 'floor'],
    ];
    const runs = await Promise.all(cases.map((c) => irn(['train', '--data', 'photos', '--out', 'x', ...c], dir)));
    cases.forEach((c, i) => {
      const problem = failedCleanly(runs[i], 2);
      assert.equal(problem, null, `${c.join(' ')}: ${problem}`);
    });
  });
});
