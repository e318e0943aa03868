import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkJobs, checkOutputFileName, listFolder, modelInputs, OutputLocationError, planJobs, readRegularFile, writeFailure, writeFileAtomic } from './files.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'irn-files-test-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A system error as Node's fs makes it: code, syscall, and a message naming the (temporary) path. */
function errno(code: string, syscall: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: something, ${syscall} '${path}'`), { code, syscall, path });
}

describe('writeFailure: a failed write in words', () => {
  it('says what is wrong and where, never naming the temporary file or the raw errno text', () => {
    const cases: [NodeJS.ErrnoException, RegExp, boolean][] = [
      [errno('EACCES', 'open', 'ro/.x.png.9d75a1b2c3d4e5f6.tmp'), /^cannot write ro\/x\.png: the folder ro is not writable \(permission denied\)$/, true],
      [errno('EACCES', 'mkdir', 'ro'), /^cannot write ro\/x\.png: the folder ro cannot be created \(permission denied\)$/, true],
      [errno('EROFS', 'open', 'ro/.x.png.9d75a1b2c3d4e5f6.tmp'), /^cannot write ro\/x\.png: the folder ro is on a read-only file system$/, true],
      [errno('ENOSPC', 'write', 'ro/.x.png.9d75a1b2c3d4e5f6.tmp'), /^cannot write ro\/x\.png: no space left on the device$/, true],
      [errno('ENOENT', 'mkdir', 'ro'), /^cannot write ro\/x\.png: the folder ro cannot be created \(a part of it is a dangling symbolic link, or was removed\)$/, true],
      [errno('ENAMETOOLONG', 'link', 'ro/.x.png.9d75a1b2c3d4e5f6.tmp'), /^cannot write ro\/x\.png: the name is too long for the file system$/, false],
      [errno('EIO', 'write', 'ro/.x.png.9d75a1b2c3d4e5f6.tmp'), /^cannot write ro\/x\.png: EIO: something$/, false],
    ];
    for (const [e, message, location] of cases) {
      const failure = writeFailure('ro/x.png', e);
      assert.match(failure.message, message);
      assert.doesNotMatch(failure.message, /\.tmp/);
      assert.equal(failure instanceof OutputLocationError, location, `${e.code}: ${location ? 'every output there fails too' : 'this file only'}`);
    }
    assert.match(writeFailure('x.png', errno('EACCES', 'open', '.x.png.0123456789abcdef.tmp')).message, /the current folder is not writable/);
  });

  it('words real failures of writeFileAtomic: a name too long, a folder that is a dangling link, an empty name', async () => {
    const long = join(dir, `${'x'.repeat(300)}.png`);
    await assert.rejects(writeFileAtomic(long, new Uint8Array(1)), (e: Error) => /: the name is too long for the file system$/.test(e.message) && !/\.tmp|ENAMETOOLONG/.test(e.message));
    symlinkSync('nowhere', join(dir, 'dangling'));
    await assert.rejects(writeFileAtomic(join(dir, 'dangling', 'x.png'), new Uint8Array(1)), (e: Error) => e instanceof OutputLocationError && /dangling symbolic link/.test(e.message) && !/ENOENT|\.tmp/.test(e.message));
    await assert.rejects(writeFileAtomic('', new Uint8Array(1)), /^UsageError: an empty output name; name a file or a folder$/);
    assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'a temporary file was left');
  });
});

describe('a file where a folder should be, a folder name for a file', () => {
  it('writeFailure names the file in the way (mkdir -p says EEXIST there, deeper parts ENOTDIR), never the raw errno', () => {
    const sub = join(dir, 'in-the-way');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'file'), 'x');
    for (const [code, path] of [['EEXIST', join(sub, 'file')], ['ENOTDIR', join(sub, 'file', 'deeper')]]) {
      const failure = writeFailure(join(sub, 'file', 'deeper', 'r.json'), errno(code, 'mkdir', path));
      assert.equal(failure.message, `cannot write ${join(sub, 'file', 'deeper', 'r.json')}: ${join(sub, 'file')} is not a directory`);
      assert.ok(failure instanceof OutputLocationError);
    }
  });

  it('writeFileAtomic under a file: the file is not a directory; a name ending in a slash is refused, nothing made', async () => {
    const sub = join(dir, 'under-file');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'file'), 'x');
    await assert.rejects(writeFileAtomic(join(sub, 'file', 'r.json'), new Uint8Array(1)), (e: Error) => e.message === `cannot write ${join(sub, 'file', 'r.json')}: ${join(sub, 'file')} is not a directory`);
    await assert.rejects(writeFileAtomic(join(sub, 'newdir/'), new Uint8Array(1)), /^UsageError: the output .*newdir\/ ends in a slash, which names a folder; name a file \(.*newdir\/report\.json, say\)$/);
    assert.deepEqual(readdirSync(sub), ['file']);
  });

  it('checkOutputFileName refuses, before any work, what could only fail when written', async () => {
    const sub = join(dir, 'file-names');
    mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, 'file'), 'x');
    symlinkSync('nowhere', join(sub, 'dangling'));
    const cases: [string, RegExp][] = [
      ['', /^UsageError: an empty output name; name a file$/],
      ['-', /^UsageError: the output -: irn writes no standard output; name a file \(\.\/- for a file named -\)$/],
      [join(sub, 'newdir/'), /ends in a slash, which names a folder; name a file/],
      [join(sub, 'file', 'r.json'), /^UsageError: cannot write .*file\/r\.json: .*file-names\/file is not a directory$/],
      [join(sub, 'dangling', 'r.json'), /^UsageError: cannot write .*dangling\/r\.json: .*dangling is a symbolic link to nothing \(a dangling link\)$/],
      [join(sub, `${'z'.repeat(300)}.json`), /^UsageError: cannot write the output z{24}\.\.\.z{7}\.json: the name is too long \(305 bytes; file systems take at most 255\)$/],
    ];
    for (const [path, message] of cases) await assert.rejects(checkOutputFileName(path), message, JSON.stringify(path));
    await checkOutputFileName(join(sub, 'new', 'r.json'));
    assert.deepEqual(readdirSync(sub).sort(), ['dangling', 'file']);
  });
});

describe('inputs stat cannot reach, in true words', () => {
  it('a symbolic link that loops, a path under a file, a dangling link: not "does not exist"', { skip: process.platform === 'win32' }, async () => {
    const sub = join(dir, 'unreachable');
    mkdirSync(join(sub, 'photos'), { recursive: true });
    writeFileSync(join(sub, 'photos', 'a.png'), 'x');
    writeFileSync(join(sub, 'file'), 'x');
    symlinkSync('loop', join(sub, 'loop'));
    symlinkSync('loop.png', join(sub, 'loop.png'));
    symlinkSync('nowhere.png', join(sub, 'gone.png'));
    const at = (name: string) => join(sub, name);
    const cases: [string, string, string][] = [
      ['loop', 'out/', `${at('loop')} is a symbolic link that loops`],
      ['loop.png', 'o.png', `${at('loop.png')} is a symbolic link that loops`],
      [join('loop', 'a.png'), 'o.png', `${at(join('loop', 'a.png'))} cannot be reached: a part of it is a symbolic link that loops`],
      [join('file', 'a.png'), 'o.png', `${at(join('file', 'a.png'))} does not exist: ${at('file')} is not a directory`],
      ['gone.png', 'o.png', `${at('gone.png')} is a symbolic link to nothing (a dangling link)`],
      ['missing.png', 'o.png', `${at('missing.png')} does not exist`],
    ];
    for (const [input, output, message] of cases) {
      await assert.rejects(planJobs(at(input), at(output)), (e: Error) => e.name === 'CliError' && e.message === message, `${input}: ${message}`);
    }
    // An output folder (or a part of an output's path) that loops is no dangling link either.
    await assert.rejects(planJobs(at('photos'), at('loop/')), (e: Error) => e.message === `the output folder ${at('loop/')} is a symbolic link that loops`);
    await assert.rejects(planJobs(at('photos/a.png'), at('loop/x.png')), (e: Error) => e.message === `cannot write ${at('loop/x.png')}: ${at('loop')} is a symbolic link that loops`);
  });
});

describe('listFolder', () => {
  it('lists the regular files of those extensions, sorted, and tells of each link, folder, FIFO of that name it skips', () => {
    const sub = join(dir, 'listing');
    mkdirSync(join(sub, 'dir.png'), { recursive: true });
    writeFileSync(join(sub, 'b.png'), 'x');
    writeFileSync(join(sub, 'A.PNG'), 'x');
    writeFileSync(join(sub, 'notes.txt'), 'x');
    symlinkSync(join(sub, 'b.png'), join(sub, 'link.png'));
    const told: string[] = [];
    return listFolder(sub, ['.png'], (path, what) => told.push(`${path}: ${what}`)).then((names) => {
      assert.deepEqual(names, ['A.PNG', 'b.png']);
      assert.deepEqual(told, [`${join(sub, 'dir.png')}: a directory`, `${join(sub, 'link.png')}: a symbolic link`]);
    });
  });
});

describe('planJobs and checkJobs: refused before any work', () => {
  it('refuses an empty input or output name, and - as an output', async () => {
    await assert.rejects(planJobs('', 'o.png'), /^UsageError: an empty input name; name a file or a folder$/);
    await assert.rejects(planJobs(join(dir, 'a.png'), ''), /^UsageError: an empty output name; name a file or a folder$/);
    await assert.rejects(planJobs(join(dir, 'a.png'), '-'), /^UsageError: the output -: irn writes no standard output; name a file or a folder \(\.\/- for a file named -\)$/);
  });

  it('refuses an output name longer than file systems take', async () => {
    writeFileSync(join(dir, 'a.png'), 'x');
    const long = `${'y'.repeat(300)}.png`;
    await assert.rejects(checkJobs([{ input: join(dir, 'a.png'), output: join(dir, long), name: 'a.png' }]), /^UsageError: cannot write the output y{24}\.\.\.y{8}\.png: the name is too long \(304 bytes; file systems take at most 255\)$/);
  });

  it('refuses an output folder that is a dangling link', async () => {
    mkdirSync(join(dir, 'photos'), { recursive: true });
    writeFileSync(join(dir, 'photos', 'a.png'), 'x');
    symlinkSync('nowhere', join(dir, 'gone'));
    await assert.rejects(planJobs(join(dir, 'photos'), join(dir, 'gone')), /^UsageError: the output folder .*gone is a symbolic link to nothing \(a dangling link\)$/);
  });

  it('refuses a file of the model as an output, even with force', async () => {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['w.png'], weights: [] }] }));
    writeFileSync(join(model, 'w.png'), 'weights');
    writeFileSync(join(model, 'best.json'), '{}');
    writeFileSync(join(model, 'notes.txt'), 'not the model');
    writeFileSync(join(dir, 'b.png'), 'x');
    const files = await modelInputs([model]);
    for (const name of ['model.json', 'w.png', 'best.json']) assert.ok(files.includes(join(model, name)), `${name} is not among ${files.join(', ')}`);
    assert.ok(!files.includes(join(model, 'notes.txt')));
    await assert.rejects(
      planJobs(join(dir, 'b.png'), join(model, 'w.png'), { force: true, modelFiles: files }),
      /^UsageError: the output .*model\/w\.png would overwrite the model file .*model\/w\.png$/,
    );
    await assert.rejects(
      planJobs(join(dir, 'b.png'), join(model, 'best.json'), { force: true, modelFiles: files }),
      /would overwrite the model file .*model\/best\.json$/,
    );
  });
});

describe('readRegularFile', () => {
  it('reads a regular file; with noFollow refuses a symbolic link to one, which it reads otherwise', async () => {
    writeFileSync(join(dir, 'text.txt'), 'hello');
    symlinkSync(join(dir, 'text.txt'), join(dir, 'link.txt'));
    assert.equal(new TextDecoder().decode(await readRegularFile(join(dir, 'text.txt'), 100, { noFollow: true })), 'hello');
    assert.equal(new TextDecoder().decode(await readRegularFile(join(dir, 'link.txt'), 100)), 'hello');
    if (process.platform !== 'win32') await assert.rejects(readRegularFile(join(dir, 'link.txt'), 100, { noFollow: true }), /^CliError: it is a symbolic link, not a regular file$|it is a symbolic link, not a regular file/);
    await assert.rejects(readRegularFile(join(dir, 'text.txt'), 4), /it is 5 bytes, more than the 4 expected/);
  });
});
