// The CLI never destroys what the user did not name as output (issue 15, items 2 to 5): links
// to inputs, hard links, devices and FIFOs as outputs, planted temporary files, two inputs
// that would land on one output. Each case runs the CLI on real files in a temporary
// directory and checks the exit code, one `irn: error:` line, and that every file the user
// had is byte for byte what it was.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { moveInWithoutReplacing, truncateUtf8, writeFileAtomic } from '../../packages/cli/src/cli/files.js';
import { cliCommand, failedCleanly, IMAGES, irn, readPng, ROOT, saveSmallModel } from './helpers.js';

let work: string;

/** Every entry under `dir` (recursively, links not followed): its kind and content hash. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string, rel: string) => {
    for (const name of readdirSync(d).sort()) {
      const path = join(d, name);
      const key = rel === '' ? name : `${rel}/${name}`;
      const s = lstatSync(path);
      if (s.isSymbolicLink()) out[key] = `link -> ${readlinkSync(path)}`;
      else if (s.isDirectory()) {
        out[key] = 'dir';
        walk(path, key);
      }
      else if (s.isFile()) out[key] = `file ${createHash('sha256').update(readFileSync(path)).digest('hex')} ino ${s.ino}`;
      else out[key] = s.isFIFO() ? 'fifo' : s.isCharacterDevice() ? 'char device' : 'other';
    }
  };
  walk(dir, '');
  return out;
}

/** A fresh directory under `work` holding two photos in `photos/`. */
function scene(name: string): string {
  const dir = join(work, name);
  mkdirSync(join(dir, 'photos'), { recursive: true });
  copyFileSync(join(IMAGES, 'astronaut-48x40.png'), join(dir, 'photos/a.png'));
  copyFileSync(join(IMAGES, 'coffee-33x27.png'), join(dir, 'photos/b.png'));
  return dir;
}

/** Runs irn in `dir` and checks it failed cleanly with `code`, a message matching `message`, and left `dir` as it was. */
async function refuses(dir: string, args: string[], code: number, message: RegExp): Promise<void> {
  const before = snapshot(dir);
  const [command, ...rest] = args;
  const run = await irn([command, '-m', join(work, 'model'), ...rest], dir);
  const problem = failedCleanly(run, code);
  assert.equal(problem, null, problem ?? '');
  assert.match(run.stderr.trim(), message);
  assert.deepEqual(snapshot(dir), before, 'the run changed the files');
}

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-output-safety-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 3 })).dispose();
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('outputs that are inputs through links (item 2)', { concurrency: 2 }, () => {
  it('refuses an output folder that is a symbolic link to the input folder', async () => {
    const dir = scene('dir-link');
    symlinkSync('photos', join(dir, 'link'));
    await refuses(dir, ['downscale', 'photos', 'link'], 2, /the output directory link is the input directory photos$/);
    await refuses(dir, ['upscale', 'photos', 'link/'], 2, /is the input directory/);
  });

  it('refuses an output file that is a symbolic link to the input', async () => {
    const dir = scene('file-link');
    symlinkSync('photos/a.png', join(dir, 'out.png'));
    await refuses(dir, ['downscale', 'photos/a.png', 'out.png'], 2, /the output out\.png would overwrite the input photos\/a\.png \(through a symbolic link\)$/);
  });

  it('refuses an output file that is a hard link to the input', async () => {
    const dir = scene('hard-link');
    linkSync(join(dir, 'photos/a.png'), join(dir, 'out.png'));
    await refuses(dir, ['downscale', 'photos/a.png', 'out.png'], 2, /the output out\.png would overwrite the input photos\/a\.png$/);
  });

  it('refuses a single file into an output folder that links to its own folder', async () => {
    const dir = scene('file-into-link');
    symlinkSync('photos', join(dir, 'link'));
    await refuses(dir, ['downscale', 'photos/a.png', 'link'], 2, /the output link\/a\.png would overwrite the input photos\/a\.png$/);
  });

  it('takes out/ as a directory to create, and refuses an output under a file before any work', async () => {
    const dir = scene('output-paths');
    const run = await irn(['-q', 'downscale', '-m', join(work, 'model'), 'photos/a.png', 'newdir/'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readdirSync(join(dir, 'newdir')), ['a.png']);
    await refuses(dir, ['downscale', 'photos/b.png', 'photos/a.png/x.png'], 2, /^irn: error: cannot write photos\/a\.png\/x\.png: photos\/a\.png is not a directory$/);
    await refuses(dir, ['downscale', 'photos/b.png', 'photos/a.png/deeper/x.png'], 2, /photos\/a\.png is not a directory$/);
    await refuses(dir, ['downscale', 'photos/b.png', 'photos/a.png/'], 2, /^irn: error: the output directory photos\/a\.png\/ is not a directory$/);
    await refuses(dir, ['upscale', 'newdir', 'photos/a.png/up'], 2, /^irn: error: cannot write photos\/a\.png\/up: photos\/a\.png is not a directory$/);
  });

  it('skips links in an input folder, and says so: they may point at anything of the user', async () => {
    const dir = scene('folder-links');
    mkdirSync(join(dir, 'links'));
    symlinkSync(join(dir, 'photos/a.png'), join(dir, 'links/a.png'));
    await refuses(dir, ['downscale', 'links', 'out'], 1, /^irn: error: no \.png or \.jpg or \.jpeg or \.webp or \.avif files in links \(1 entry of that name skipped: a symbolic link; irn reads only regular files in a folder, it does not follow links\)$/);
    copyFileSync(join(dir, 'photos/b.png'), join(dir, 'links/b.png'));
    const run = await irn(['downscale', '-m', join(work, 'model'), 'links', 'out'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^skipped links\/a\.png: a symbolic link \(irn reads only regular files in a folder, it does not follow links\)$/m);
    assert.deepEqual(readdirSync(join(dir, 'out')), ['b.png']);
  });

  it("refuses a single file into its own folder where the output's name is taken (the folder form refuses its own folder)", async () => {
    const dir = scene('file-into-own-folder');
    // photos/a.png is an original; photos/a.webp an LR of it, whose restore is named a.png.
    const lr = await irn(['-q', 'downscale', '-m', join(work, 'model'), 'photos/a.png', 'a.webp'], dir);
    assert.equal(lr.code, 0, lr.stderr);
    copyFileSync(join(dir, 'a.webp'), join(dir, 'photos/a.webp'));
    rmSync(join(dir, 'a.webp'));
    await refuses(dir, ['upscale', 'photos/a.webp', 'photos/'], 2, /^irn: error: photos\/a\.png already exists beside the input photos\/a\.webp; name the output file, or write into another directory$/);
    await refuses(dir, ['upscale', 'photos/a.webp', 'photos'], 2, /already exists beside the input/);
    // --force does not change that: the name was never typed.
    await refuses(dir, ['upscale', '--force', 'photos/a.webp', 'photos/'], 2, /already exists beside the input/);
    // A name that is free there is written; an output named outright is replaced with --force only.
    const free = await irn(['-q', 'downscale', '-m', join(work, 'model'), '--format', 'webp', 'photos/b.png', 'photos/'], dir);
    assert.equal(free.code, 0, free.stderr);
    assert.ok(existsSync(join(dir, 'photos/b.webp')));
    await refuses(dir, ['upscale', 'photos/a.webp', 'photos/a.png'], 2, /^irn: error: photos\/a\.png already exists; irn replaces no file unless --force is given$/);
    const named = await irn(['-q', 'upscale', '-m', join(work, 'model'), '--force', 'photos/a.webp', 'photos/a.png'], dir);
    assert.equal(named.code, 0, named.stderr);
  });

  it('refuses a folder whose file is a hard link of a file in the output folder', async () => {
    const dir = scene('hard-link-folder');
    mkdirSync(join(dir, 'out'));
    linkSync(join(dir, 'photos/b.png'), join(dir, 'out/b.png'));
    await refuses(dir, ['downscale', 'photos', 'out'], 2, /the output out\/b\.png would overwrite the input photos\/b\.png$/);
  });

  it('refuses a prepare output that is an input photo', async () => {
    const dir = scene('prepare-onto-input');
    mkdirSync(join(dir, 'site'));
    // photos/a.png -> site/a.lr.png, which is a link to the photo b.png.
    symlinkSync('../photos/b.png', join(dir, 'site/a.lr.png'));
    await refuses(dir, ['prepare', 'photos', 'site'], 2, /the output site\/a\.lr\.png would overwrite the input photos\/b\.png \(through a symbolic link\)$/);
  });
});

describe('outputs that are not regular files (item 3)', { concurrency: 2 }, () => {
  it('refuses a FIFO, and a link to one, without blocking', async () => {
    const dir = scene('fifo');
    execFileSync('mkfifo', [join(dir, 'out.png')]);
    symlinkSync('out.png', join(dir, 'via-link.png'));
    await refuses(dir, ['downscale', 'photos/a.png', 'out.png'], 2, /the output out\.png is a FIFO; irn only replaces regular files$/);
    await refuses(dir, ['downscale', 'photos/a.png', 'via-link.png'], 2, /is a FIFO \(through a symbolic link\); irn only replaces regular files$/);
    assert.ok(lstatSync(join(dir, 'out.png')).isFIFO());
  });

  it('refuses a character device (made with mknod when permitted)', async (t) => {
    const dir = scene('device');
    try {
      execFileSync('mknod', [join(dir, 'null'), 'c', '1', '3'], { stdio: 'ignore' });
    } catch {
      t.skip('mknod is not permitted here');
      return;
    }
    await refuses(dir, ['downscale', 'photos/a.png', 'null'], 2, /the output null is a character device; irn only replaces regular files$/);
    assert.ok(lstatSync(join(dir, 'null')).isCharacterDevice(), 'the device was replaced');
  });

  it('refuses an output that is a directory in the output folder', async () => {
    const dir = scene('dir-output');
    mkdirSync(join(dir, 'out/a.png'), { recursive: true });
    await refuses(dir, ['downscale', 'photos', 'out'], 2, /the output out\/a\.png is a directory; irn only replaces regular files$/);
  });
});

describe('writing outputs (item 4)', () => {
  it('never writes through a temporary name planted as a link', async () => {
    // The old temporary name was `.<name>.<pid>.tmp`: plant it, as a link to a victim.
    const dir = scene('planted');
    writeFileSync(join(dir, 'victim.txt'), 'precious');
    symlinkSync(join(dir, 'victim.txt'), join(dir, `.out.png.${process.pid}.tmp`));
    await writeFileAtomic(join(dir, 'out.png'), new TextEncoder().encode('result'));
    assert.equal(readFileSync(join(dir, 'victim.txt'), 'utf8'), 'precious');
    assert.equal(readFileSync(join(dir, 'out.png'), 'utf8'), 'result');
    assert.deepEqual(readdirSync(dir).sort(), ['.out.png.' + process.pid + '.tmp', 'out.png', 'photos', 'victim.txt'].sort());
  });

  it('convert never writes through, empties or removes what sits at its old temporary name', async () => {
    // The old name was `<out-dir>/.irn-convert-<pid>.tmp`, made with mkdir -p, emptied into
    // <out-dir> and removed: a shell plants it with its own pid, then becomes the CLI.
    const dir = scene('convert-planted');
    mkdirSync(join(dir, 'victim'));
    writeFileSync(join(dir, 'victim/model.json'), 'USER DATA');
    writeFileSync(join(dir, 'victim/keep.txt'), 'keep');
    mkdirSync(join(dir, 'out'));
    mkdirSync(join(dir, 'out2'));
    const pth = join(ROOT, 'packages/core/test-fixtures/torch/irn_x2.pth');
    const cli = [process.execPath, ...cliCommand(), '-q', 'convert', pth];
    const env = { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json') };
    const victim = snapshot(join(dir, 'victim'));
    execFileSync('sh', ['-c', 'ln -s "$PWD/victim" "out/.irn-convert-$$.tmp" && exec "$@" out', 'sh', ...cli], { cwd: dir, env });
    execFileSync('sh', ['-c', 'mkdir "out2/.irn-convert-$$.tmp" && echo mine > "out2/.irn-convert-$$.tmp/notes.txt" && exec "$@" out2', 'sh', ...cli], { cwd: dir, env });
    assert.deepEqual(snapshot(join(dir, 'victim')), victim, 'the linked folder changed');
    for (const out of ['out', 'out2']) {
      const names = readdirSync(join(dir, out)).sort();
      assert.deepEqual(names.filter((n) => !n.startsWith('.irn-convert-')), ['group1-shard1of1.bin', 'model.json'], `${out}: ${names.join(', ')}`);
      assert.equal(names.filter((n) => n.startsWith('.irn-convert-')).length, 1, `${out}: the planted entry is gone or another was left: ${names.join(', ')}`);
    }
    const planted = readdirSync(join(dir, 'out2')).find((n) => n.startsWith('.irn-convert-'))!;
    assert.equal(readFileSync(join(dir, 'out2', planted, 'notes.txt'), 'utf8'), 'mine\n');
  });

  it('writes an output whose name is long in UTF-8 bytes (80 CJK characters: 244 bytes) through a temporary name that fits', async () => {
    const dir = scene('long-utf8');
    const name = `${'写'.repeat(80)}.png`;
    assert.equal(Buffer.byteLength(name), 244);
    await writeFileAtomic(join(dir, name), new TextEncoder().encode('result'));
    assert.equal(readFileSync(join(dir, name), 'utf8'), 'result');
    assert.deepEqual(readdirSync(dir).sort(), [name, 'photos'].sort(), 'a temporary file was left');
    assert.equal(truncateUtf8('a写b', 4), 'a写');
    assert.equal(truncateUtf8('a写b', 3), 'a', 'no half character');
    assert.equal(truncateUtf8('😀x', 4), '😀', 'surrogate pairs kept whole');
  });

  it('replaces an output link to a file elsewhere instead of writing through it, and keeps an output file mode', async () => {
    const dir = scene('replace-link');
    writeFileSync(join(dir, 'elsewhere.png'), 'not to be touched');
    symlinkSync('elsewhere.png', join(dir, 'out.png'));
    writeFileSync(join(dir, 'private.png'), 'old');
    chmodSync(join(dir, 'private.png'), 0o600);
    const runs = await Promise.all([
      irn(['-q', 'downscale', '-m', join(work, 'model'), '--force', 'photos/a.png', 'out.png'], dir),
      irn(['-q', 'downscale', '-m', join(work, 'model'), '-f', 'photos/a.png', 'private.png'], dir),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.equal(readFileSync(join(dir, 'elsewhere.png'), 'utf8'), 'not to be touched');
    assert.ok(lstatSync(join(dir, 'out.png')).isFile(), 'the link was not replaced by a file');
    assert.equal(readPng(join(dir, 'out.png')).width, 24);
    assert.equal(statSync(join(dir, 'private.png')).mode & 0o777, 0o600);
    assert.equal(readPng(join(dir, 'private.png')).width, 24);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'a temporary file was left');
  });
});

describe('outputs that already exist: nothing replaced without --force', { concurrency: 2 }, () => {
  const taken = /irn replaces no file unless --force is given$/;

  it('downscale, upscale and prepare refuse existing outputs before any work, counting them; --force replaces them', async () => {
    const dir = scene('existing');
    mkdirSync(join(dir, 'lr'));
    writeFileSync(join(dir, 'lr/a.png'), 'my own a');
    writeFileSync(join(dir, 'lr/b.png'), 'my own b');
    await refuses(dir, ['downscale', 'photos', 'lr'], 2, /^irn: error: lr\/a\.png and 1 more of the outputs already exist; irn replaces no file unless --force is given$/);
    await refuses(dir, ['downscale', 'photos/b.png', 'lr/'], 2, /^irn: error: lr\/b\.png already exists; irn replaces no file unless --force is given$/);
    await refuses(dir, ['downscale', 'photos/b.png', 'lr/b.png'], 2, taken);
    writeFileSync(join(dir, 'restored.png'), 'my own restored');
    await refuses(dir, ['upscale', 'photos/a.png', 'restored.png'], 2, /^irn: error: restored\.png already exists;/);
    mkdirSync(join(dir, 'site'));
    writeFileSync(join(dir, 'site/b.lr.png'), 'my own site');
    await refuses(dir, ['prepare', 'photos', 'site'], 2, /^irn: error: site\/b\.lr\.png already exists;/);
    // A dangling link is the user's too.
    symlinkSync('nowhere.png', join(dir, 'dangling.png'));
    await refuses(dir, ['downscale', 'photos/a.png', 'dangling.png'], 2, /^irn: error: dangling\.png already exists;/);
    // An output that is an input is named as such: --force would not help.
    await refuses(dir, ['downscale', 'photos/a.png', 'photos/a.png'], 2, /would overwrite the input photos\/a\.png$/);

    const forced = await irn(['-q', 'downscale', '-m', join(work, 'model'), '--force', 'photos', 'lr'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(readPng(join(dir, 'lr/a.png')).width, 24);
    assert.equal(readPng(join(dir, 'lr/b.png')).width, 17);
    const prepared = await irn(['-q', 'prepare', '-m', join(work, 'model'), '-f', 'photos', 'site'], dir);
    assert.equal(prepared.code, 0, prepared.stderr);
    assert.equal(readPng(join(dir, 'site/b.lr.png')).width, 17);
    // Into a new folder, no --force is needed; a second run then refuses.
    const fresh = await irn(['-q', 'downscale', '-m', join(work, 'model'), 'photos', 'lr2'], dir);
    assert.equal(fresh.code, 0, fresh.stderr);
    await refuses(dir, ['downscale', 'photos', 'lr2'], 2, /^irn: error: lr2\/a\.png and 1 more of the outputs already exist;/);
  });

  it('eval refuses an existing --json report, and convert a folder that holds a model, unless --force', async () => {
    const dir = scene('existing-eval');
    writeFileSync(join(dir, 'report.json'), '{"mine": true}');
    await refuses(dir, ['eval', '-d', 'photos', '--json', 'report.json', '--first', '1'], 2, /^irn: error: report\.json already exists;/);
    const forced = await irn(['-q', 'eval', '-m', join(work, 'model'), '-d', 'photos', '--json', 'report.json', '--first', '1', '--force'], dir);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as { images: unknown[] }).images.length, 1);

    const pth = join(ROOT, 'packages/core/test-fixtures/torch/irn_x2.pth');
    mkdirSync(join(dir, 'models/mine'), { recursive: true });
    writeFileSync(join(dir, 'models/mine/model.json'), 'my model');
    writeFileSync(join(dir, 'models/mine/notes.txt'), 'notes');
    const before = snapshot(dir);
    const refused = await irn(['convert', pth, 'models/mine'], dir);
    assert.equal(failedCleanly(refused, 2), null, refused.stderr);
    assert.equal(refused.stderr, 'irn: error: models/mine/model.json already exists; irn replaces no file unless --force is given\n');
    assert.deepEqual(snapshot(dir), before, 'convert changed the files');
    const replaced = await irn(['-q', 'convert', '--force', pth, 'models/mine'], dir);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.deepEqual(readdirSync(join(dir, 'models/mine')).sort(), ['group1-shard1of1.bin', 'model.json', 'notes.txt']);
    assert.equal(readFileSync(join(dir, 'models/mine/notes.txt'), 'utf8'), 'notes');
    // A folder without a model in it takes one without --force.
    mkdirSync(join(dir, 'models/empty'));
    const into = await irn(['-q', 'convert', pth, 'models/empty'], dir);
    assert.equal(into.code, 0, into.stderr);
  });

  it('a file that appears under the output name after the check is not replaced (hard link, not rename)', async () => {
    const dir = scene('appears');
    writeFileSync(join(dir, 'result.tmp'), 'result');
    writeFileSync(join(dir, 'out.png'), 'appeared meanwhile');
    await assert.rejects(moveInWithoutReplacing(join(dir, 'result.tmp'), join(dir, 'out.png')), /cannot write .*out\.png: it already exists \(it appeared while irn worked\); irn replaces no file unless --force is given$/);
    assert.equal(readFileSync(join(dir, 'out.png'), 'utf8'), 'appeared meanwhile');
    await assert.rejects(writeFileAtomic(join(dir, 'out.png'), new TextEncoder().encode('new')), /it already exists/);
    assert.equal(readFileSync(join(dir, 'out.png'), 'utf8'), 'appeared meanwhile');
    await moveInWithoutReplacing(join(dir, 'result.tmp'), join(dir, 'new.png'));
    assert.equal(readFileSync(join(dir, 'new.png'), 'utf8'), 'result');
    assert.equal(existsSync(join(dir, 'result.tmp')), false, 'the temporary name was left');
    await writeFileAtomic(join(dir, 'out.png'), new TextEncoder().encode('new'), { replace: true });
    assert.equal(readFileSync(join(dir, 'out.png'), 'utf8'), 'new');
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'a temporary file was left');
  });
});

describe('two inputs, one output (item 5)', { concurrency: 2 }, () => {
  it('prepare refuses a.png and a.PNG before writing anything', async () => {
    const dir = scene('prepare-case');
    copyFileSync(join(IMAGES, 'coffee-33x27.png'), join(dir, 'photos/a.PNG'));
    await refuses(dir, ['prepare', 'photos', 'site'], 1, /photos\/a\.PNG and photos\/a\.png would both be written to site\/a\.lr\.png; rename one of them$/);
    assert.equal(existsSync(join(dir, 'site/a.lr.png')), false);
  });

  it('downscale refuses names that differ only in case (one file on macOS and Windows)', async () => {
    const dir = scene('downscale-case');
    copyFileSync(join(IMAGES, 'coffee-33x27.png'), join(dir, 'photos/A.png'));
    await refuses(dir, ['downscale', 'photos', 'lr'], 1, /photos\/A\.png and photos\/a\.png would both be written to lr\/A\.png and lr\/a\.png \(one file where case is folded\)/);
    assert.equal(existsSync(join(dir, 'lr')), false);
  });
});

describe('other outputs', { concurrency: 2 }, () => {
  it("eval refuses a --json that is a photo of its data or a FIFO, before evaluating", async () => {
    const dir = scene('eval-json');
    execFileSync('mkfifo', [join(dir, 'report.json')]);
    await refuses(dir, ['eval', '-d', 'photos', '--json', 'photos/b.png', '--first', '1'], 2, /the output photos\/b\.png would overwrite the input photos\/b\.png$/);
    await refuses(dir, ['eval', '-d', 'photos', '--json', 'report.json'], 2, /the output report\.json is a FIFO; irn only replaces regular files$/);
  });

  it('prepare refuses an <out-dir> that is a file', async () => {
    const dir = scene('prepare-file-out');
    writeFileSync(join(dir, 'site'), 'a file');
    await refuses(dir, ['prepare', 'photos/a.png', 'site'], 2, /the output directory site is not a directory$/);
  });
});

describe('inputs that are not regular files', { concurrency: 2 }, () => {
  it('eval skips a FIFO named .png without blocking, naming it, as the other folder commands do', async () => {
    const dir = scene('eval-fifo');
    execFileSync('mkfifo', [join(dir, 'photos/c.png')]);
    const run = await irn(['eval', '-m', join(work, 'model'), '-d', 'photos', '--json', 'r.json'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^skipped photos\/c\.png: a FIFO \(irn reads only regular files in a folder\)$/m);
  });

  it('prepare ignores an .alt.txt that is a FIFO instead of waiting on it', async () => {
    const dir = scene('alt-fifo');
    execFileSync('mkfifo', [join(dir, 'photos/a.alt.txt')]);
    const run = await irn(['-q', 'prepare', '-m', join(work, 'model'), 'photos', 'site'], dir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /alt="A"/);
  });

  it('refuses a PNG larger than the inflatedBytes limit before reading it', async () => {
    const dir = scene('big-file');
    const size = statSync(join(dir, 'photos/a.png')).size;
    const run = await irn(['--limit', `inflatedBytes=${size - 1}`, 'downscale', '-m', join(work, 'model'), 'photos/a.png', 'o.png'], dir);
    assert.equal(failedCleanly(run, 1), null, run.stderr);
    assert.match(run.stderr, new RegExp(`photos/a\\.png: the file is ${size.toLocaleString('en-US')} bytes, above the limit of .* \\(raise it with --limit inflatedBytes=N\\)`));
  });
});
