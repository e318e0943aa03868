// `irn train` against the user's files (issue 15, cases 1 and 6, 15's bad photos and
// --steps 0): a checkpoint folder that holds the user's files, --out equal to --init, a
// diverging run, photos that are bombs or broken. Run through the built CLI as a user runs
// it, bounded in time and memory, on tiny models and photos. See test/fuzz/README.md.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import { casesOnModel, expectRefusal } from './cases.js';
import { bmpHeader, jpegHeaderBomb, pixelBomb } from './generators.js';
import { changesOutside, cleanFailureProblems, describeRun, RAW_JS, runCli, snapshot, type Measured } from './node-fixtures.js';

const { withCase } = casesOnModel('train-model');

/** A tiny, quick training run (about 3 s): 1 block, growth 4, 16 px patches, no workers. */
const TINY = ['--blocks', '1', '--growth', '4', '--batch', '1', '--patch', '16', '--workers', '0', '--holdout', '1', '--seed', '1'];
const STEPS = ['--steps', '4', '--val-every', '2', '--ckpt-every', '2'];
const TRAIN_BOUNDS = { ms: 40_000 };

/** Entries under `folder` that existed before and are now changed or gone (new ones are allowed). */
function damagedUnder(dir: string, before: Map<string, string>, folder: string): string[] {
  const after = snapshot(dir);
  const out: string[] = [];
  for (const [rel, was] of before) {
    if (rel !== folder && !rel.startsWith(folder + sep)) continue;
    const now = after.get(rel);
    if (now === undefined) out.push(`${rel} was deleted`);
    else if (now !== was) out.push(`${rel} changed`);
  }
  return out;
}

/** Problems of a run allowed to succeed or to fail cleanly (exit 1 or 2, one line). */
function succeededOrRefused(run: Measured): string[] {
  if (run.code === 0 && !run.killed) return cleanFailureProblems(run, [0], { ms: TRAIN_BOUNDS.ms, rss: 700 * 2 ** 20 }, { lines: 'all-errors' });
  return cleanFailureProblems(run, [1, 2], { ms: TRAIN_BOUNDS.ms, rss: 700 * 2 ** 20 });
}

describe('irn train and the user\'s files', () => {
  const folders: Array<[string, string, string[]]> = [
    ['a folder of the user\'s documents', 'docs', []],
    ['the training data folder', 'photos', []],
    ['the --init model folder', 'model', ['--init', 'model']],
  ];
  for (const [what, folder, extra] of folders) {
    it(`--ckpt on ${what} never deletes or changes what was there (case 1)`, async () => {
      const c = withCase(`train-ckpt-${folder}`, { 'docs/letter.txt': new TextEncoder().encode('dear user\n'), 'docs/sub/notes.md': new TextEncoder().encode('# notes\n') });
      const before = snapshot(c.dir);
      const run = await runCli(['-q', 'train', '--data', 'photos', '--out', 'trained', '--ckpt', folder, ...extra, ...TINY, ...STEPS], c.dir, { bounds: TRAIN_BOUNDS });
      const problems = [
        ...succeededOrRefused(run),
        ...damagedUnder(c.dir, before, folder),
        ...changesOutside(c.dir, before, ['trained', folder]),
      ];
      assert.deepEqual(problems, [], `${problems.join('; ')}\n${describeRun(run)}`);
    });
  }

  it('refuses --out equal to --init and leaves that model as it was (case 1)', async () => {
    const c = withCase('train-out-init');
    await expectRefusal(c, ['train', '--data', 'photos', '--out', 'model', '--init', 'model', ...TINY, ...STEPS], {
      codes: [1, 2],
      outputs: ['model.ckpt'],
      bounds: TRAIN_BOUNDS,
    });
    await expectRefusal(c, ['train', '--data', 'photos', '--out', './model/', '--init', 'model', ...TINY, ...STEPS], {
      codes: [1, 2],
      outputs: ['model.ckpt'],
      bounds: TRAIN_BOUNDS,
    });
  });

  it('a diverging run (--lr 1e9) exits 1 and leaves no "best" model in --out (case 6)', async () => {
    const c = withCase('train-lr');
    await expectRefusal(c, ['train', '--data', 'photos', '--out', 'trained', '--lr', '1e9', ...TINY, '--steps', '6', '--val-every', '1', '--ckpt-every', '1'], {
      outputs: ['trained', 'trained.ckpt'],
      bounds: TRAIN_BOUNDS,
    });
    assert.ok(!existsSync(join(c.dir, 'trained', 'model.json')), 'a model that diverged is not left as the best one');
  });

  // --batch 100000 ran 30 s up to 4.2 GB and ended in a wasm "Aborted()" line and a second one.
  for (const [what, args, fits] of [
    ['--batch 100000 of 16 px patches', ['--batch', '100000', '--patch', '16', '--workers', '0'], /at most \d+ such patches fit: lower --batch or --patch$/],
    ['one 4096 px patch, split over 2 threads', ['--batch', '2', '--patch', '4096', '--workers', '1'], /at most \d+ such patches fit: lower --batch or --patch$|not one such patch fits: lower --patch( or --workers)?$/],
  ] as const) {
    it(`refuses a step that cannot fit in memory (${what}) in one line, before reading any photo`, async () => {
      const c = withCase(`train-batch-${args[1]}`);
      const run = await expectRefusal(c, ['train', '--data', 'photos', '--out', 'trained', '--blocks', '1', '--growth', '4', '--steps', '1', ...args], {
        codes: [2],
        outputs: ['trained', 'trained.ckpt'],
        bounds: { ms: 20_000, rss: 500 * 2 ** 20 },
      });
      const line = run.stderr.trim();
      assert.match(line, /^irn: error: a training step of --batch \d+ patches of \d+x\d+ needs about [\d.]+ GB of tensor memory per thread \(\d+ patches in each of \d\), more than the [\d.]+ GB available; /);
      assert.match(line, fits);
    });
  }

  it('--steps 0 prints no -Infinity or NaN (case 15)', async () => {
    const c = withCase('train-steps0');
    // Not quiet: the "-Infinity dB" was in the closing status line.
    const run = await runCli(['train', '--data', 'photos', '--out', 'trained', ...TINY, '--steps', '0'], c.dir, { bounds: TRAIN_BOUNDS });
    const problems = run.code === 0 ? [] : succeededOrRefused(run);
    if (run.killed) problems.push(`killed for ${run.killed}`);
    if (/^\s+at .+[:(]/m.test(run.stderr)) problems.push('stderr holds a stack trace');
    if (/Infinity|NaN/.test(run.stdout + run.stderr)) problems.push('prints Infinity or NaN');
    assert.deepEqual(problems, [], `${problems.join('; ')}\n${describeRun(run)}\n  stdout: ${run.stdout}`);
  });
});

describe('irn train on bad photos', () => {
  const bad: Array<[string, string, () => Uint8Array]> = [
    ['a truncated PNG', 'zz-truncated.png', () => pixelBomb(64).subarray(0, 60)],
    ['a PNG pixel bomb (400 megapixels in 48 KB)', 'zz-pixels.png', () => pixelBomb()],
    // 210 bytes claiming exactly the default pixel limit: no limit refuses it up front, but
    // its scan cannot hold 100 megapixels, so a decoder need not allocate for them.
    ['a 210-byte JPEG whose header claims 10000 x 10000', 'zz-header.jpg', () => jpegHeaderBomb()],
    ['a JPEG whose header claims 20000 x 15000 (above the pixel limit)', 'zz-huge.jpg', () => jpegHeaderBomb(20000, 15000)],
    ['a BMP whose header claims 50000 x 50000 with no pixels', 'zz-header.bmp', () => bmpHeader(50000, 50000)],
    ['a BMP whose size overflows', 'zz-overflow.bmp', () => bmpHeader(0x7fffffff, -0x7fffffff, 16)],
  ];
  for (const [what, name, make] of bad) {
    it(`names ${what} and stays bounded (skipping it, or stopping with one line)`, async () => {
      const c = withCase('train-bad', { [join('photos', name)]: make() });
      const before = snapshot(c.dir);
      // Not quiet: a skipped photo is reported as a warning, which --quiet may silence.
      const run = await runCli(['train', '--data', 'photos', '--out', 'trained', ...TINY, ...STEPS], c.dir, { bounds: TRAIN_BOUNDS });
      const problems: string[] = [];
      if (run.killed) problems.push(`killed for ${run.killed}`);
      else if (![0, 1].includes(run.code ?? -1)) problems.push(`exit code ${run.code}`);
      if (!run.stderr.includes(name)) problems.push(`stderr does not name ${name}`);
      if (/^\s+at .+[:(]/m.test(run.stderr)) problems.push('stderr holds a stack trace');
      for (const re of RAW_JS) if (re.test(run.stderr)) problems.push(`raw JavaScript message (${re})`);
      if (run.code === 1) {
        const errors = run.stderr.split('\n').filter((l) => l.startsWith('irn: error: '));
        if (errors.length !== 1) problems.push(`${errors.length} error lines`);
      }
      problems.push(...changesOutside(c.dir, before, ['trained', 'trained.ckpt']));
      assert.deepEqual(problems, [], `${problems.join('; ')}\n${describeRun(run)}`);
    });
  }

  it('a data folder of only bad photos fails in one line', async () => {
    const c = withCase('train-all-bad');
    mkdirSync(join(c.dir, 'bad'));
    writeFileSync(join(c.dir, 'bad', 'a.png'), pixelBomb(64).subarray(0, 60));
    writeFileSync(join(c.dir, 'bad', 'b.bmp'), bmpHeader(50000, 50000));
    await expectRefusal(c, ['train', '--data', 'bad', '--out', 'trained', ...TINY, ...STEPS], {
      codes: [1, 2],
      outputs: ['trained', 'trained.ckpt'],
      bounds: TRAIN_BOUNDS,
    });
  });
});
