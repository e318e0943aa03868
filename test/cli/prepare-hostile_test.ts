// `irn prepare` on a stranger's folder: an `.alt.txt` that links to the user's own files, names
// that are not plain URLs or plain lines, every photo failing. Run as a child process on a small
// perturbed model (see prepare_test.ts for the ordinary runs).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { IMAGES, irn, saveSmallModel } from './helpers.js';

const COFFEE = join(IMAGES, 'coffee-33x27.png');

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-prepare-hostile-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 3 })).dispose();
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A fresh folder `name` in the work folder holding `files` (name -> source path, or bytes). */
function folder(name: string, files: Record<string, string | Uint8Array>): string {
  mkdirSync(join(work, name));
  for (const [file, from] of Object.entries(files)) {
    if (typeof from === 'string') copyFileSync(from, join(work, name, file));
    else writeFileSync(join(work, name, file), from);
  }
  return name;
}

const GARBAGE = new TextEncoder().encode('not an image');

describe('irn prepare on hostile folders', () => {
  it('does not read an .alt.txt that is a link, a FIFO or too large: the alt text is the file name, and it says so', async () => {
    writeFileSync(join(work, 'secret.txt'), 'SECRET-TOKEN-123\n');
    const dir = folder('alts', { 'a.png': COFFEE, 'b.png': COFFEE, 'c.png': COFFEE, 'd.png': COFFEE });
    symlinkSync(join(work, 'secret.txt'), join(work, dir, 'a.alt.txt'));
    if (process.platform !== 'win32') execFileSync('mkfifo', [join(work, dir, 'b.alt.txt')]);
    writeFileSync(join(work, dir, 'c.alt.txt'), 'x'.repeat(64 * 1024 + 1));
    writeFileSync(join(work, dir, 'd.alt.txt'), 'A cup\rof coffee\n');
    const run = await irn(['prepare', '-m', 'model', dir, 'site-alts'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.doesNotMatch(run.stdout + run.stderr, /SECRET/);
    assert.deepEqual(
      run.stdout.split('\n').map((tag) => /alt="([^"]*)"/.exec(tag)?.[1] ?? tag),
      ['A', 'B', 'C', 'A cup', ''],
    );
    assert.match(run.stderr, /^ignored alts\/a\.alt\.txt: a symbolic link \(irn reads only regular files in a folder, it does not follow links\); the alt text is the file name$/m);
    if (process.platform !== 'win32') assert.match(run.stderr, /^ignored alts\/b\.alt\.txt: a FIFO \(/m);
    assert.match(run.stderr, /^ignored alts\/c\.alt\.txt: it is 65537 bytes, more than the 65536 expected; the alt text is the file name$/m);
  });

  it('percent-encodes the LR name in src, escapes alt, and keeps each tag on one line', async () => {
    const dir = folder('names', { 'q#?%.png': COFFEE, 'e\u001bx.png': COFFEE, 'line\nbreak.png': COFFEE, '&"<x>.png': COFFEE });
    const run = await irn(['--quiet', 'prepare', '-m', 'model', '--src-prefix', '/img', dir, 'site-names'], work);
    assert.equal(run.code, 0, run.stderr);
    const tag = (src: string, alt: string) => `<irn-image src="/img/${src}" width="33" height="27" alt="${alt}"></irn-image>`;
    // In the order of the names: '&' < 'e' < 'l' < 'q'.
    assert.deepEqual(run.stdout.split('\n'), [
      tag('%26%22%3Cx%3E.lr.png', '&amp;&quot;&lt;x&gt;'),
      tag('e%1Bx.lr.png', 'E x'),
      tag('line%0Abreak.lr.png', 'Line break'),
      tag('q%23%3F%25.lr.png', 'Q#?%'),
      '',
    ]);
    // Each src names the file written.
    const written = readdirSync(join(work, 'site-names')).sort();
    assert.deepEqual(written, ['&"<x>.lr.png', 'e\u001bx.lr.png', 'line\nbreak.lr.png', 'q#?%.lr.png']);
    for (const line of run.stdout.trim().split('\n')) {
      const src = /src="\/img\/([^"]*)"/.exec(line)![1];
      assert.ok(written.includes(decodeURIComponent(src)), src);
    }
  });

  it('names a file with a newline on one error line, in prepare and downscale folder runs', async () => {
    const dir = folder('newline', { 'bad\nfile.png': GARBAGE, 'ok.png': COFFEE });
    for (const args of [['prepare', '-m', 'model', dir, 'site-newline'], ['downscale', '-m', 'model', dir, 'lr-newline']]) {
      const run = await irn(args, work);
      assert.equal(run.code, 1, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.ok(lines.every((l) => /^(irn: error: |prepared |downscaled )/.test(l)), run.stderr);
      assert.ok(lines.includes('irn: error: newline/bad\\x0afile.png: not a PNG, JPEG, WebP or AVIF file'), run.stderr);
      assert.equal(lines.at(-1), 'irn: error: 1 of 2 images failed');
    }
  });

  it('removes an output folder it created and left empty when every photo failed, and nothing else', async () => {
    const dir = folder('allbad', { 'x.png': GARBAGE });
    const run = await irn(['prepare', '-m', 'model', dir, 'made/a/b'], work);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(existsSync(join(work, 'made')), false);
    // A folder that was there stays, with what it holds; only the part prepare made goes.
    mkdirSync(join(work, 'mine'));
    writeFileSync(join(work, 'mine/keep.txt'), 'keep');
    assert.equal((await irn(['prepare', '-m', 'model', dir, 'mine'], work)).code, 1);
    assert.equal((await irn(['prepare', '-m', 'model', dir, 'mine/new'], work)).code, 1);
    assert.deepEqual(readdirSync(join(work, 'mine')), ['keep.txt']);
    mkdirSync(join(work, 'empty'));
    assert.equal((await irn(['prepare', '-m', 'model', join(dir, 'x.png'), 'empty'], work)).code, 1);
    assert.ok(existsSync(join(work, 'empty')));
  });
});
