import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
// Through the package, as the checkpoint code imports it (one IrnTrainer class for both).
import { IrnModel, IrnTrainer } from '@irn/core';
import { CHECKPOINT_MARKER, checkCheckpointFolder, loadCheckpoint, saveCheckpoint } from '../../packages/cli/src/training/checkpoint-node.js';
import { IMAGES, failedCleanly, irn, saveSmallModel } from './helpers.js';

/**
 * `irn train` must only ever write and delete its own files (issue 15, items 1 and 6): every
 * folder a careless command line points --ckpt or --out at is refused before any work, and
 * left byte for byte as it was.
 */

/** A tiny, fast configuration (see train_test.ts). */
const TINY = ['--batch', '2', '--patch', '16', '--blocks', '1', '--growth', '4', '--log-every', '1', '--val-every', '1', '--ckpt-every', '1', '--workers', '0'];

/** Every entry under `dir` (files with their bytes, links with their targets, folders), by relative path. */
async function snapshot(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string): Promise<void> {
    for (const name of (await readdir(d)).sort()) {
      const path = join(d, name);
      const st = await lstat(path);
      const key = relative(dir, path);
      if (st.isSymbolicLink()) out.set(key, `link -> ${await readlink(path)}`);
      else if (st.isDirectory()) {
        out.set(key, 'dir');
        await walk(path);
      } else out.set(key, (await readFile(path)).toString('base64'));
    }
  }
  await walk(dir);
  return out;
}

describe('irn train writes only its own files', () => {
  let dir = '';
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'irn-train-safety-'));
    await mkdir(join(dir, 'photos'));
    for (const f of ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'photos', f));
    await saveSmallModel(join(dir, 'init'), { perturbStd: 0.05, seed: 5 }).then((m) => m.dispose());
    await mkdir(join(dir, 'mine'));
    await writeFile(join(dir, 'mine', 'thesis.txt'), 'four years of work\n');
    await mkdir(join(dir, 'mine', 'figures'));
    await writeFile(join(dir, 'mine', 'figures', 'plot.png'), 'not really a png');
    await symlink('photos', join(dir, 'photo-link'));
    await mkdir(join(dir, 'valset'));
    await copyFile(join(IMAGES, 'coffee-33x27.png'), join(dir, 'valset', 'coffee-33x27.png'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses --ckpt and --out that would overwrite photos, models or other files, before any work', async () => {
    const cases: [string, string[], RegExp][] = [
      ['a --ckpt folder of user files', ['--out', 'o', '--ckpt', 'mine'], /--ckpt: .*mine holds (figures|thesis\.txt), which irn train did not write/],
      ['--ckpt = the data folder', ['--out', 'o', '--ckpt', 'photos'], /--ckpt photos is the data folder photos/],
      ['--ckpt = a link to the data folder', ['--out', 'o', '--ckpt', 'photo-link'], /--ckpt photo-link is the data folder photos/],
      ['--ckpt inside the data folder', ['--out', 'o', '--ckpt', 'photo-link/ck'], /--ckpt photo-link\/ck is inside the data folder photos/],
      ['--ckpt = the --init folder', ['--out', 'o', '--init', 'init', '--ckpt', 'init'], /--ckpt init is the --init model folder init/],
      ['--ckpt containing the data folder', ['--out', 'o', '--ckpt', '.'], /--ckpt \. contains the data folder photos/],
      ['--out = --init', ['--out', 'init/', '--init', 'init'], /--out init\/ is the --init model folder: .*write it elsewhere \(e\.g\. --out init-tuned\)/],
      ['--out inside the data folder', ['--out', 'photos/best'], /--out photos\/best is inside the data folder photos/],
      ['--out = a folder of user files', ['--out', 'mine'], /--out: .*mine holds (figures|thesis\.txt), which is not a file of a model irn train writes/],
      ['--ckpt inside --out', ['--out', 'o', '--ckpt', 'o/ck'], /--ckpt o\/ck is inside --out o/],
      ['--ckpt = the --val folder', ['--out', 'o', '--val', 'valset', '--ckpt', 'valset'], /--ckpt valset is the validation folder valset/],
    ];
    const before = await snapshot(dir);
    for (let i = 0; i < cases.length; i += 2) {
      const batch = cases.slice(i, i + 2);
      const runs = await Promise.all(batch.map(([, args]) => irn(['train', '--data', 'photos', ...args, '--steps', '2', ...TINY], dir)));
      batch.forEach(([what, , pattern], k) => {
        assert.equal(failedCleanly(runs[k], 2), null, `${what}: ${runs[k].stderr}`);
        assert.match(runs[k].stderr, pattern, what);
      });
    }
    // Nothing created, changed or deleted anywhere: no o/, no o.ckpt/, no .tmp or .old siblings.
    assert.deepEqual(await snapshot(dir), before);
  });

  it('--lr 1e9 fails in one line, naming the checkpoint, and leaves nothing new in --out', async () => {
    // From scratch: the Haar transform is the bar, and a diverging run never beats it.
    const scratch = await irn(['train', '--data', 'photos', '--out', 'diverged', '--steps', '6', ...TINY, '--lr', '1e9'], dir);
    assert.equal(scratch.code, 1, scratch.stderr);
    const err = scratch.stderr.split('\n').filter((l) => l.startsWith('irn: error: '));
    assert.equal(err.length, 1, scratch.stderr);
    assert.match(err[0], /^irn: error: (loss|gradient norm) is (NaN|-?Infinity) at step (\d); stopped: (the last checkpoint with finite weights is step \d in \S+diverged\.ckpt|no checkpoint was written).*; nothing was written to \S+diverged$/);
    assert.doesNotMatch(scratch.stderr, /\(best, saved\)/);
    assert.equal(await lstat(join(dir, 'diverged')).then(() => true, () => false), false, '--out was created');

    // Fine-tuning: the copy of the --init model written at step 0 is taken back; an --out
    // that held a model before keeps it byte for byte.
    const tuned = await irn(['train', '--data', 'photos', '--out', 'diverged-tune', '--init', 'init', '--steps', '6', ...TINY, '--lr', '1e9'], dir);
    assert.equal(tuned.code, 1, tuned.stderr);
    assert.match(tuned.stderr, /^step 0 val PSNR-Y \S+ dB \(the --init model\) \(best, saved\)$/m);
    assert.match(tuned.stderr, /nothing was written to \S+diverged-tune$/m);
    assert.equal(await lstat(join(dir, 'diverged-tune')).then(() => true, () => false), false, 'the step-0 copy is still in --out');

    await mkdir(join(dir, 'kept'));
    for (const f of await readdir(join(dir, 'init'))) await copyFile(join(dir, 'init', f), join(dir, 'kept', f));
    const kept = await snapshot(join(dir, 'kept'));
    // Without --force that model is refused before any work; with it, a run that diverges still keeps it.
    const refused = await irn(['train', '--data', 'photos', '--out', 'kept', '--steps', '6', ...TINY, '--lr', '1e9'], dir);
    assert.equal(failedCleanly(refused, 2), null, refused.stderr);
    assert.equal(refused.stderr, 'irn: error: --out kept holds a model; irn replaces no file unless --force is given (or --resume continues that run)\n');
    const over = await irn(['train', '--data', 'photos', '--out', 'kept', '--force', '--steps', '6', ...TINY, '--lr', '1e9'], dir);
    assert.equal(over.code, 1, over.stderr);
    assert.deepEqual(await snapshot(join(dir, 'kept')), kept);
  });

  it('--steps 0 validates once and writes nothing; never prints -Infinity', async () => {
    const run = await irn(['train', '--data', 'photos', '--out', 'zero', '--steps', '0', ...TINY], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, /Infinity|NaN/);
    assert.match(run.stderr, /^step 0 val PSNR-Y \d+\.\d+ dB \(the Haar transform\); nothing to train \(at step 0 of 0\), nothing written$/m);
    assert.match(run.stdout, /^zero: not written; nothing to train \(val PSNR-Y \d+\.\d+ dB at step 0\)$/m);
    assert.equal(await lstat(join(dir, 'zero')).then(() => true, () => false), false);
    assert.equal(await lstat(join(dir, 'zero.ckpt')).then(() => true, () => false), false);
  });

  it('a run from scratch that never beats the Haar transform writes no model', async () => {
    // A learning rate of 0 keeps the new model the Haar transform: equal, not better.
    const run = await irn(['train', '--data', 'photos', '--out', 'flat', '--steps', '1', ...TINY, '--lr', '0', '--lr-min', '0'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^flat: not written; no step beat the starting model's val PSNR-Y of \d+\.\d+ dB$/m);
    assert.match(run.stderr, /^done: step 1, .* at step 0 \(the starting model; nothing written to \S+flat\)$/m);
    assert.equal(await lstat(join(dir, 'flat')).then(() => true, () => false), false);
  });

  it('skips an unreadable photo with a warning naming it, and trains on the rest', async () => {
    await mkdir(join(dir, 'mixed'));
    for (const f of ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'mixed', f));
    const png = await readFile(join(IMAGES, 'astronaut-48x40.png'));
    await writeFile(join(dir, 'mixed', 'b-truncated.png'), png.subarray(0, 60));
    await writeFile(join(dir, 'mixed', 'c-noise.jpg'), Buffer.from('this is not a JPEG at all'));
    const run = await irn(['train', '--data', 'mixed', '--out', 'mixed-out', '--steps', '1', ...TINY], dir);
    assert.equal(run.code, 0, run.stderr);
    const warnings = run.stderr.split('\n').filter((l) => l.startsWith('irn: warning: '));
    assert.equal(warnings.length, 2, run.stderr);
    assert.match(warnings[0], /^irn: warning: \S+mixed\/b-truncated\.png: .+; skipped$/);
    assert.match(warnings[1], /^irn: warning: \S+mixed\/c-noise\.jpg: .+; skipped$/);
    assert.match(run.stderr, /^data: 2 training photos from mixed/m);

    // Only unreadable photos left: one line naming the folder and the first problem.
    await mkdir(join(dir, 'broken'));
    await writeFile(join(dir, 'broken', 'a.png'), png.subarray(0, 60));
    const none = await irn(['train', '--data', 'broken', '--out', 'broken-out', '--steps', '1', ...TINY], dir);
    const errors = none.stderr.split('\n').filter((l) => l.startsWith('irn: error: '));
    assert.equal(none.code, 1, none.stderr);
    assert.equal(errors.length, 1, none.stderr);
    assert.match(errors[0], /broken: 1 of 1 images could not be read, 0 left.*\(first: \S+broken\/a\.png: /);
  });

  it('saveCheckpoint replaces only its own checkpoint, file by file, and refuses anything else', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
    const trainer = new IrnTrainer(model, { seed: 3, lr: { kind: 'cosine', base: 1e-3, total: 10 } });
    const root = join(dir, 'ckpt-api');
    try {
      await mkdir(root);
      assert.equal(await checkCheckpointFolder(root), 'empty');
      // Planted siblings with the names the old code removed recursively stay untouched.
      for (const s of ['.tmp', '.old']) {
        await mkdir(`${root}${s}`);
        await writeFile(join(`${root}${s}`, 'keep.txt'), s);
      }
      await saveCheckpoint(root, trainer, { n: 1 });
      await saveCheckpoint(root, trainer, { n: 2 });
      assert.equal(await checkCheckpointFolder(root), 'checkpoint');
      assert.equal((await readFile(join(root, CHECKPOINT_MARKER), 'utf8')).length > 0, true);
      assert.deepEqual((await loadCheckpoint(root)).extra, { n: 2 });
      const siblings = (await readdir(dir)).filter((f) => f.startsWith('ckpt-api')).sort();
      assert.deepEqual(siblings, ['ckpt-api', 'ckpt-api.old', 'ckpt-api.tmp']);
      for (const s of ['.tmp', '.old']) assert.equal(await readFile(join(`${root}${s}`, 'keep.txt'), 'utf8'), s);

      // A checkpoint written before the marker existed (the same files, no marker) is ours too.
      await rm(join(root, CHECKPOINT_MARKER));
      assert.equal(await checkCheckpointFolder(root), 'checkpoint');
      await saveCheckpoint(root, trainer, { n: 2 });
      assert.equal(await lstat(join(root, CHECKPOINT_MARKER)).then((s) => s.isFile()), true);

      // A file the user put into the checkpoint: the next save refuses and keeps everything.
      await writeFile(join(root, 'notes.txt'), 'mine');
      const before = await snapshot(root);
      await assert.rejects(saveCheckpoint(root, trainer, { n: 3 }), /ckpt-api holds notes\.txt, which irn train did not write/);
      assert.deepEqual(await snapshot(root), before);
      // A marker with other content does not make a folder ours.
      const fake = join(dir, 'fake-ckpt');
      await mkdir(fake);
      await writeFile(join(fake, CHECKPOINT_MARKER), 'x');
      await writeFile(join(fake, 'state.json'), '{}');
      await assert.rejects(saveCheckpoint(fake, trainer), /fake-ckpt holds a \.irn-checkpoint file that is not irn train's marker/);
      // A model folder is no checkpoint either.
      await assert.rejects(saveCheckpoint(join(dir, 'init'), trainer), /init holds (model\.json|group1-shard1of1\.bin|best\.json), which irn train did not write/);
      assert.deepEqual((await readdir(dir)).filter((f) => /\.(tmp|old)-/.test(f)), [], 'a temporary sibling was left behind');
    } finally {
      trainer.dispose();
      model.dispose();
    }
  });
});
