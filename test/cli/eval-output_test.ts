// `irn eval` as hostile input meets it: a --json name that can only fail is refused before
// any work (the model loaded, a photo scored), in one true line, with nothing made; the data
// folder's links and other non-regular entries are skipped and said so, as the other folder
// commands do; a symbolic link that loops is called that, not missing.
import { execFileSync } from 'node:child_process';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IMAGES, failedCleanly, irn, saveSmallModel } from './helpers.js';

describe('irn eval: outputs refused up front, links in the data folder skipped', () => {
  let dir = '';
  before(async () => {
    await tf.setBackend('cpu');
    dir = await mkdtemp(join(tmpdir(), 'irn-eval-output-'));
    (await saveSmallModel(join(dir, 'model'))).dispose();
    // A folder eval fails on only once it scores: bad.png is no PNG. A run refused before the
    // work never gets to say so (nor "evaluating", nor a score).
    await mkdir(join(dir, 'bad'));
    await writeFile(join(dir, 'bad/bad.png'), 'not a PNG');
    await writeFile(join(dir, 'file'), 'an ordinary file');
    await symlink('nowhere', join(dir, 'dangling'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs eval on `data`, checks it was refused with exit 2 in the one line `message` before any work, and that nothing was made. */
  async function refusedUpFront(data: string, args: string[], message: string): Promise<void> {
    const before = (await readdir(dir)).sort();
    const run = await irn(['eval', '-m', 'model', '-d', data, ...args], dir);
    assert.equal(failedCleanly(run, 2), null, `${args.join(' ')}: ${run.stderr}`);
    assert.equal(run.stderr, `irn: error: ${message}\n`);
    assert.equal(run.stdout, '', 'no score was printed');
    assert.deepEqual((await readdir(dir)).sort(), before, 'the run made or removed files');
  }

  it('refuses a --json that could only fail when written, before scoring, in one true line', async () => {
    const long = `${'x'.repeat(300)}.json`;
    const cases: [string, string][] = [
      ['', 'an empty output name; name a file'],
      ['-', 'the output -: irn writes no standard output; name a file (./- for a file named -)'],
      ['file/r.json', 'cannot write file/r.json: file is not a directory'],
      ['newdir/', 'the output newdir/ ends in a slash, which names a folder; name a file (newdir/report.json, say)'],
      ['dangling/r.json', 'cannot write dangling/r.json: dangling is a symbolic link to nothing (a dangling link)'],
      [long, `cannot write the output ${'x'.repeat(24)}...${'x'.repeat(7)}.json: the name is too long (305 bytes; file systems take at most 255)`],
      // 17 folders of 250 bytes: each name fits, the path does not (4,273 bytes; 4,295 as the temporary file).
      [`${'p'.repeat(250)}/`.repeat(17) + 'r.json', `cannot write the output ${'p'.repeat(24)}...ppppp/r.json: the path is too long (4295 bytes with irn's temporary name; the system takes at most 4095)`],
    ];
    for (const [json, message] of cases) await refusedUpFront('bad', ['--json', json], message);
  });

  it('refuses a default report name too long for file systems before scoring', async () => {
    // irn-eval-<folder>-x2-zeros.json: 249 + 23 bytes. Checked once the model says its scale, before any photo is read.
    const data = 'd'.repeat(249);
    await mkdir(join(dir, data));
    await writeFile(join(dir, data, 'bad.png'), 'not a PNG');
    try {
      await refusedUpFront(data, [], `cannot write the output irn-eval-ddddddddddddddd...2-zeros.json: the name is too long (272 bytes; file systems take at most 255)`);
    } finally {
      await rm(join(dir, data), { recursive: true });
    }
  });

  it('skips symbolic links and FIFOs in the data folder (never reading where links lead) and says so, as the other folder commands do', { skip: process.platform === 'win32' }, async () => {
    const data = join(dir, 'links');
    await mkdir(data);
    await copyFile(join(IMAGES, 'astronaut-48x40.png'), join(data, 'a.png'));
    await symlink(join(IMAGES, 'coffee-33x27.png'), join(data, 'secret.png'));
    await writeFile(join(dir, 'private.txt'), 'the user\'s own, not a PNG');
    await symlink(join(dir, 'private.txt'), join(data, 'shadow.png'));
    // Nor a FIFO, which reading would wait on.
    execFileSync('mkfifo', [join(data, 'pipe.png')]);
    const run = await irn(['eval', '-m', 'model', '-d', 'links', '--json', 'links.json'], dir);
    assert.equal(run.code, 0, run.stderr);
    const skipped = (name: string) => `skipped ${join('links', name)}: a symbolic link (irn reads only regular files in a folder, it does not follow links)`;
    const lines = run.stderr.split('\n');
    assert.ok(lines.includes(skipped('secret.png')), run.stderr);
    assert.ok(lines.includes(skipped('shadow.png')), run.stderr);
    assert.ok(lines.includes(`skipped ${join('links', 'pipe.png')}: a FIFO (irn reads only regular files in a folder)`), run.stderr);
    assert.doesNotMatch(run.stderr, /error|not a PNG/);
    assert.doesNotMatch(run.stdout, /secret|shadow/);
    const report = JSON.parse(await readFile(join(dir, 'links.json'), 'utf8'));
    assert.deepEqual(report.images.map((r: { name: string }) => r.name), ['a.png']);
    assert.deepEqual(report.skipped, []);
    // Only links: nothing to score, and the line says why.
    await rm(join(data, 'a.png'));
    const none = await irn(['eval', '-m', 'model', '-d', 'links', '--json', 'none.json'], dir);
    assert.equal(failedCleanly(none, 1), null, none.stderr);
    assert.equal(
      none.stderr,
      'irn: error: no .png files in links (3 entries of that name skipped: a FIFO, ...; irn reads only regular files in a folder)\n',
    );
  });

  it('calls a data folder, or an input, that is a symbolic link loop that, not missing', async () => {
    await symlink('loop', join(dir, 'loop'));
    await symlink('loop.png', join(dir, 'loop.png'));
    const cases: [string[], string][] = [
      [['eval', '-m', 'model', '-d', 'loop'], 'the data folder loop is a symbolic link that loops'],
      [['downscale', '-m', 'model', 'loop', 'out/'], 'loop is a symbolic link that loops'],
      [['downscale', '-m', 'model', 'loop.png', 'o.png'], 'loop.png is a symbolic link that loops'],
    ];
    for (const [args, message] of cases) {
      const run = await irn(args, dir);
      assert.equal(failedCleanly(run, 1), null, `${args.join(' ')}: ${run.stderr}`);
      assert.equal(run.stderr, `irn: error: ${message}\n`, args.join(' '));
    }
  });
});
