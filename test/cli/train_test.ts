import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { loadTrainImage } from '../../packages/cli/src/data/image-folder.js';
import { fileSystem } from '../../packages/core/src/io/fs-handler.js';
import { IrnModel } from '../../packages/core/src/model/irn.js';
import { validationCrops } from '../../packages/cli/src/training/run-node.js';
import { roundTripPsnrY } from '../../packages/core/src/training/validate.js';
import { IMAGES, ROOT, failedCleanly, irn, saveSmallModel } from './helpers.js';

/** A tiny, fast configuration; the last photo by name (coffee) is held out for validation. */
const TINY = ['--batch', '2', '--patch', '16', '--blocks', '1', '--growth', '4', '--log-every', '1', '--val-every', '2', '--ckpt-every', '2'];
/** A constant learning rate, so that a run split in two follows the same schedule as one run. */
const FLAT_LR = ['--lr', '1e-3', '--lr-min', '1e-3', '--warmup', '0'];

const valLine = (stderr: string, step: number): number => {
  const m = new RegExp(`^step ${step} val PSNR-Y (\\d+\\.\\d+) dB`, 'm').exec(stderr);
  assert.ok(m, `no validation line for step ${step} in: ${stderr}`);
  return Number(m[1]);
};

describe('irn train', () => {
  let dir = '';
  let haarPsnr = NaN;
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'irn-train-'));
    await mkdir(join(dir, 'photos'));
    for (const f of ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'photos', f));
    await mkdir(join(dir, 'empty'));
    await saveSmallModel(join(dir, 'init'), { perturbStd: 0.05, seed: 5 }).then((m) => m.dispose());
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('trains a tiny model, logs every step and writes a loadable model with the right config', async () => {
    const run = await irn(['train', '--data', 'photos', '--out', 'fresh', '--steps', '4', ...TINY, ...FLAT_LR], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^data: 2 training photos .*validation \(held out\): coffee-33x27\.png/m);
    assert.match(run.stderr, /^step 0 val PSNR-Y \d+\.\d+ dB \(the Haar transform\)$/m);
    haarPsnr = valLine(run.stderr, 0);
    for (let s = 1; s <= 4; s++) {
      assert.match(run.stderr, new RegExp(`^step ${s} lr \\S+ loss \\S+ fit \\S+ rec \\S+ dist \\S+ \\|g\\| \\S+ \\S+ steps/s \\(\\d+ ms/step\\) ETA \\S+ min`, 'm'));
    }
    assert.match(run.stderr, /^done: step 4, 4 steps/m);
    assert.match(run.stdout, /^fresh: best val PSNR-Y \d+\.\d+ dB at step [24]$/m);
    const model = await IrnModel.load(fileSystem(join(dir, 'fresh')));
    assert.deepEqual([model.config.scale, model.config.blocks, model.config.growth], [2, 1, 4]);
    assert.match(model.source ?? '', /^trained by irn train, step [24]$/);
    model.dispose();
    const best = JSON.parse(await readFile(join(dir, 'fresh', 'best.json'), 'utf8'));
    assert.deepEqual(best.validation, ['coffee-33x27.png']);
    const state = JSON.parse(await readFile(join(dir, 'fresh.ckpt', 'state.json'), 'utf8'));
    assert.equal(state.step, 4);
  });

  it('--resume continues exactly where a checkpoint left off', async () => {
    // The same run as above, stopped at step 2 and resumed to 4: the weights must match bit for bit.
    const first = await irn(['train', '--data', 'photos', '--out', 'split', '--steps', '2', ...TINY, ...FLAT_LR], dir);
    assert.equal(first.code, 0, first.stderr);
    // The same command again is not a resume: without --force it replaces nothing of the first run.
    const saved = await readFile(join(dir, 'split.ckpt', 'weights.bin'));
    const again = await irn(['train', '--data', 'photos', '--out', 'split', '--steps', '2', ...TINY, ...FLAT_LR], dir);
    assert.equal(failedCleanly(again, 2), null, again.stderr);
    assert.match(again.stderr, /^irn: error: (--out split holds a model and )?split\.ckpt holds a checkpoint; irn replaces no file unless --force is given \(or --resume continues that run\)\n$/);
    assert.ok((await readFile(join(dir, 'split.ckpt', 'weights.bin'))).equals(saved), 'the refused run changed the checkpoint');
    const second = await irn(['train', '--data', 'photos', '--out', 'split', '--steps', '4', '--resume', ...TINY, ...FLAT_LR], dir);
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stderr, /resumed from .*split\.ckpt at step 2/);
    assert.doesNotMatch(second.stderr, /^step [12] lr/m);
    assert.match(second.stderr, /^step 3 lr/m);
    const a = await readFile(join(dir, 'fresh.ckpt', 'weights.bin'));
    const b = await readFile(join(dir, 'split.ckpt', 'weights.bin'));
    assert.ok(a.equals(b), 'resumed weights differ from an uninterrupted run');
    // --force starts over in the same folders.
    const over = await irn(['train', '--data', 'photos', '--out', 'split', '--steps', '2', '--force', ...TINY, ...FLAT_LR], dir);
    assert.equal(over.code, 0, over.stderr);
    assert.match(over.stderr, /split\.ckpt holds a checkpoint: it is replaced by this run's \(--force\)/);
    assert.match(over.stderr, /^step 1 lr/m);
  });

  it('--init fine-tunes the given model: validation at step 0 is that model', async () => {
    const run = await irn(['train', '--data', 'photos', '--out', 'tuned', '--init', 'init', '--steps', '2', ...TINY, '--backend', 'cpu'], dir);
    assert.equal(run.code, 0, run.stderr);
    // The architecture comes from the model, not from --blocks/--growth defaults.
    assert.match(run.stderr, /^model: fine-tuning .*init; x2, 1 blocks, growth 4/m);
    const init = await IrnModel.load(fileSystem(join(dir, 'init')));
    const [crop] = validationCrops([await loadTrainImage(join(dir, 'photos', 'coffee-33x27.png'))], 256, 2);
    const expected = roundTripPsnrY(init, crop);
    tf.dispose(crop);
    init.dispose();
    assert.ok(Math.abs(valLine(run.stderr, 0) - expected) < 1e-3, `step 0: ${valLine(run.stderr, 0)} vs the init model's ${expected}`);
    // The perturbed model is not the Haar transform a new model starts from.
    assert.notEqual(valLine(run.stderr, 0), haarPsnr);
    const tuned = await IrnModel.load(fileSystem(join(dir, 'tuned')));
    assert.match(tuned.source ?? '', /^fine-tuned from init by irn train, step \d$/);
    tuned.dispose();
  });

  it('--workers 1 splits each batch over two threads and trains like --workers 0', async () => {
    const args = ['train', '--data', 'photos', '--steps', '2', ...TINY, ...FLAT_LR, '--val-every', '100'];
    const [one, two] = await Promise.all([irn([...args, '--out', 'w0', '--workers', '0'], dir), irn([...args, '--out', 'w1', '--workers', '1'], dir)]);
    assert.equal(one.code, 0, one.stderr);
    assert.equal(two.code, 0, two.stderr);
    assert.doesNotMatch(one.stderr, /data-parallel/);
    assert.match(two.stderr, /^data-parallel: each batch of 2 split over 2 threads \(this one and 1 worker\)$/m);
    // Step 1 runs on the same weights in both: the same loss and gradient norm up to float
    // rounding (the shards sum in another order). Later steps drift by Adam's sign-like first
    // updates of near-zero gradients, so only the first is compared tightly.
    const stepLine = (stderr: string, step: number) => {
      const m = new RegExp(`^step ${step} lr \\S+ loss (\\S+) .*\\|g\\| (\\S+) `, 'm').exec(stderr);
      assert.ok(m, `no step ${step} line in: ${stderr}`);
      return { loss: Number(m[1]), grad: Number(m[2]) };
    };
    const [a, b] = [stepLine(one.stderr, 1), stepLine(two.stderr, 1)];
    assert.ok(Math.abs(a.loss - b.loss) <= 0.01 + 1e-4 * a.loss, `step 1 loss ${a.loss} vs ${b.loss}`);
    assert.ok(Math.abs(a.grad - b.grad) <= 0.01 + 1e-4 * a.grad, `step 1 |g| ${a.grad} vs ${b.grad}`);
    const [a2, b2] = [stepLine(one.stderr, 2), stepLine(two.stderr, 2)];
    assert.ok(Math.abs(a2.loss - b2.loss) <= 0.01 * a2.loss, `step 2 loss ${a2.loss} vs ${b2.loss}`);
  });

  it('the bundle (dist/cli.js) trains data-parallel with its bundled worker script', async (t) => {
    const entry = join(ROOT, 'packages/cli/dist/cli.js');
    if (!existsSync(entry)) {
      t.skip('packages/cli/dist is not built (pnpm build); the sources are tested above');
      return;
    }
    const run = await irn(['train', '--data', 'photos', '--out', 'bundled', '--steps', '2', ...TINY, ...FLAT_LR, '--workers', '1'], dir, {}, entry);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^data-parallel: each batch of 2 split over 2 threads/m);
    assert.match(run.stderr, /^step 2 lr \S+ loss \d/m);
    assert.match(run.stderr, /^done: step 2, 2 steps/m);
  });

  it('says what is wrong with bad input, in one line', async () => {
    const cases: [string[], number][] = [
      [['train', '--out', 'x'], 2], // --data missing
      [['train', '--data', 'nowhere', '--out', 'x'], 1],
      [['train', '--data', 'empty', '--out', 'x'], 1], // no images
      [['train', '--data', 'photos', '--out', 'x', '--patch', '15'], 2], // not a multiple of 2
      [['train', '--data', 'photos', '--out', 'x', '--scale', '3'], 2],
      [['train', '--data', 'photos', '--out', 'x', '--patch', '64'], 1], // every photo is smaller
      [['train', '--data', 'photos', '--out', 'x', '--steps', 'many'], 2],
      [['train', '--data', 'photos', '--out', 'x', '--z-ramp', '5,2'], 2],
      [['train', '--data', 'photos', '--out', 'x', '--resume'], 1], // no checkpoint
      [['train', '--data', 'photos', '--out', 'x', '--init', 'nowhere'], 1],
    ];
    // Two at a time: each is a Node process, and the machine may be busy.
    const runs: Awaited<ReturnType<typeof irn>>[] = [];
    for (let i = 0; i < cases.length; i += 2) runs.push(...(await Promise.all(cases.slice(i, i + 2).map(([args]) => irn(args, dir)))));
    cases.forEach(([args, code], i) => {
      const problem = failedCleanly(runs[i], code);
      assert.equal(problem, null, `${args.join(' ')}: ${problem}`);
    });
  });
});
