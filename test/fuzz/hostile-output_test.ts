// Outputs that would destroy the user's files (issue 15, cases 2-5) and the CLI's own edge
// cases (13, 14's --temperature 1e308, 15's raw messages and scale-3 metadata), through the
// built CLI as a user runs it, bounded in time and memory. See test/fuzz/README.md.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { casesOnModel, expectRefusal, PHOTOS, type Case } from './cases.js';
import { blackPng, lrClaimingScale3 } from './generators.js';
import { changesOutside, cleanFailureProblems, CLI, describeRun, editManifest, IMAGES, mkfifo, mknodNull, runCli, snapshot, TORCH, type Measured } from './node-fixtures.js';

const { withCase } = casesOnModel('output-model');

describe('outputs that must not destroy anything', () => {
  it('refuses an output folder that is a symlink to the input folder (case 2)', async () => {
    const c = withCase('out-link-dir');
    symlinkSync('photos', join(c.dir, 'link'));
    await expectRefusal(c, ['downscale', '-m', 'model', 'photos', 'link'], { codes: [1, 2] });
    await expectRefusal(c, ['downscale', '-m', 'model', 'photos', 'link/'], { codes: [1, 2] });
  });

  it('refuses an output file that is a symlink to the input file (case 2, single-file form)', async () => {
    const c = withCase('out-link-file');
    symlinkSync(join('photos', PHOTOS[0]), join(c.dir, 'same.png'));
    await expectRefusal(c, ['downscale', '-m', 'model', `photos/${PHOTOS[0]}`, 'same.png'], { codes: [1, 2] });
    await expectRefusal(c, ['upscale', '-m', 'model', `photos/${PHOTOS[0]}`, 'same.png'], { codes: [1, 2] });
  });

  it('refuses a FIFO as the output instead of replacing it (case 3), without blocking on it', async () => {
    const c = withCase('out-fifo');
    mkfifo(join(c.dir, 'out.png'));
    await expectRefusal(c, ['downscale', '-m', 'model', `photos/${PHOTOS[0]}`, 'out.png'], { codes: [1, 2], bounds: { ms: 10_000 } });
    assert.ok(lstatSync(join(c.dir, 'out.png')).isFIFO(), 'the FIFO is still a FIFO');
  });

  it('refuses a character device as the output instead of replacing it (case 3; needs root for mknod)', async (t) => {
    const c = withCase('out-device');
    if (!mknodNull(join(c.dir, 'null.png'))) {
      t.skip('mknod is not permitted here');
      return;
    }
    await expectRefusal(c, ['downscale', '-m', 'model', `photos/${PHOTOS[0]}`, 'null.png'], { codes: [1, 2], bounds: { ms: 10_000 } });
    assert.ok(lstatSync(join(c.dir, 'null.png')).isCharacterDevice(), 'the device node is still a device node');
  });

  it('does not follow a symlink planted at the old predictable temporary name (case 4)', async () => {
    const c = withCase('out-tmp-link', { 'secret.txt': new TextEncoder().encode('the user\'s secret\n') });
    // The child's pid is known the moment it starts, long before it writes (it loads the
    // model first); the link goes where the old code wrote its temporary file.
    let planted = '';
    const before = snapshot(c.dir);
    const run = await runCli(['-q', 'downscale', '-m', 'model', `photos/${PHOTOS[0]}`, 'out.png'], c.dir, {
      onSpawn: (pid) => {
        planted = `.out.png.${pid}.tmp`;
        symlinkSync('secret.txt', join(c.dir, planted));
      },
    });
    assert.equal(run.code, 0, describeRun(run));
    assert.deepEqual(changesOutside(c.dir, before, ['out.png'], [planted]), [], describeRun(run));
    assert.ok(lstatSync(join(c.dir, 'out.png')).isFile(), 'out.png is a regular file, not the planted link');
    assert.equal(readFileSync(join(c.dir, 'secret.txt'), 'utf8'), 'the user\'s secret\n');
  });

  it('never replaces a file that appears under an output name while a folder run works', async () => {
    // Eight photos; once the first LR is written, a file is planted where the last one goes.
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 8; i++) files[`many/p${i}.png`] = blackPng(320, 240);
    const c = withCase('appears-meanwhile', files);
    const planted = join(c.dir, 'out', 'p7.png');
    let plantedAt = -1;
    let poll: ReturnType<typeof setInterval> | undefined;
    const run = await runCli(['downscale', '-m', 'model', 'many', 'out'], c.dir, {
      onSpawn: () => {
        poll = setInterval(() => {
          if (plantedAt >= 0 || !existsSync(join(c.dir, 'out', 'p0.png'))) return;
          // 'wx': if irn had written p7.png already, the plant fails and the case says so.
          writeFileSync(planted, "the user's file\n", { flag: 'wx' });
          plantedAt = performance.now();
        }, 2);
      },
    });
    clearInterval(poll);
    assert.ok(plantedAt >= 0, `the plant came too late or never: ${describeRun(run)}`);
    assert.equal(readFileSync(planted, 'utf8'), "the user's file\n", describeRun(run));
    assert.equal(run.code, 1, describeRun(run));
    assert.match(run.stderr, /^irn: error: .*out\/p7\.png: .*it already exists \(it appeared while irn worked\); irn replaces no file unless --force is given$/m, describeRun(run));
    for (let i = 0; i < 7; i++) assert.ok(existsSync(join(c.dir, 'out', `p${i}.png`)), `p${i}.png was not written: ${describeRun(run)}`);
    assert.deepEqual(readdirSync(join(c.dir, 'out')).filter((n) => n.endsWith('.tmp')), [], 'a temporary file was left');
  });

  it('irn prepare keeps both a.png and a.PNG (case 5): distinct outputs, or a refusal', async () => {
    const c = withCase('prepare-collision');
    copyFileSync(join(IMAGES, PHOTOS[0]), join(c.dir, 'photos', 'a.png'));
    copyFileSync(join(IMAGES, PHOTOS[1]), join(c.dir, 'photos', 'a.PNG'));
    const before = snapshot(c.dir);
    const run = await runCli(['-q', 'prepare', '-m', 'model', 'photos', 'web'], c.dir);
    assert.deepEqual(changesOutside(c.dir, before, ['web']), [], describeRun(run));
    if (run.code === 0) {
      const written = readdirSync(join(c.dir, 'web')).filter((n) => /\.png$/i.test(n));
      assert.equal(written.length, PHOTOS.length + 2, `every photo has its own LR file: ${written.join(', ')}\n${describeRun(run)}`);
      assert.equal((run.stdout.match(/<irn-image/g) ?? []).length, PHOTOS.length + 2, run.stdout);
    } else {
      assert.ok([1, 2].includes(run.code ?? -1), describeRun(run));
      assert.match(run.stderr, /^irn: error: .*a\.(png|PNG)/, describeRun(run));
      assert.equal(run.stderr.trim().split('\n').length, 1, describeRun(run));
    }
  });
});

describe('the CLI on edge cases', () => {
  it('--tile 0 on a 6000 x 4000 photo fails in one clear line, in bounded time and memory (case 13)', async () => {
    const c = withCase('tile0', { 'big.png': blackPng(6000, 4000) });
    // The photo alone is 24 megapixels: 288 MB as float RGB. The bound is that plus the
    // model's working memory for a few tiles, far below what processing it at once takes.
    const run = await expectRefusal(c, ['downscale', '-m', 'model', '--tile', '0', 'big.png', 'out.png'], {
      codes: [1, 2],
      outputs: ['out.png'],
      bounds: { ms: 30_000, rss: 1024 * 1024 * 1024 },
    });
    assert.match(run.stderr, /tile/, 'the error says what to change: --tile');
  });

  it('--tile 0 --verbose prints no stack trace either', async () => {
    const c = withCase('tile0-verbose', { 'big.png': blackPng(6000, 4000) });
    await expectRefusal(c, ['downscale', '-m', 'model', '--tile', '0', '--verbose', 'big.png', 'out.png'], {
      codes: [1, 2],
      outputs: ['out.png'],
      bounds: { ms: 30_000, rss: 1024 * 1024 * 1024 },
    });
  });

  it('refuses --temperature 1e308 instead of writing a black image (case 14)', async () => {
    const c = withCase('temperature');
    await expectRefusal(c, ['upscale', '-m', 'model', '--z', 'gaussian', '--seed', '1', '--temperature', '1e308', `photos/${PHOTOS[1]}`, 'out.png'], {
      codes: [1, 2],
      outputs: ['out.png'],
    });
    assert.ok(!existsSync(join(c.dir, 'out.png')));
  });

  it('an LR whose metadata claims scale 3 is refused without advice to "use an x3 model" (case 15)', async () => {
    const c = withCase('scale3', { 'lr.png': lrClaimingScale3() });
    const run = await expectRefusal(c, ['upscale', '-m', 'model', 'lr.png', 'out.png'], { outputs: ['out.png'], mentions: ['lr.png'] });
    assert.doesNotMatch(run.stderr, /x3 model/, 'there is no x3 model to use');
  });

  it('a missing input, a directory as a model, a PNG as a checkpoint: one clear line each', async () => {
    const c = withCase('misc');
    writeFileSync(join(c.dir, 'photo.pth'), readFileSync(join(IMAGES, PHOTOS[0])));
    await expectRefusal(c, ['downscale', '-m', 'model', 'nothing.png', 'out.png'], { codes: [1, 2], outputs: ['out.png'] });
    await expectRefusal(c, ['downscale', '-m', 'photos', `photos/${PHOTOS[0]}`, 'out.png'], { codes: [1, 2], outputs: ['out.png'] });
    await expectRefusal(c, ['convert', 'photo.pth', 'converted'], { outputs: ['converted'], mentions: ['photo.pth'] });
  });
});

/**
 * Runs `irn -q ...args` in `cwd` as a user whom file permissions bind: this one, or, when this
 * is root (who may write anywhere), nobody (uid and gid 65534) through setpriv, with `cwd`
 * opened to it. Null when neither can be (root without setpriv).
 */
async function runBoundByPermissions(args: string[], cwd: string): Promise<Measured | null> {
  if (process.getuid?.() !== 0) return runCli(['-q', ...args], cwd);
  if (spawnSync('setpriv', ['--version']).status !== 0) return null;
  chmodSync(cwd, 0o755);
  const start = performance.now();
  const run = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, '-q', ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, IRN_DEBUG: '' },
    timeout: 15_000,
  });
  return { code: run.status, signal: run.signal, stdout: run.stdout, stderr: run.stderr, wallMs: performance.now() - start, peakRss: 0, killed: run.error != null ? 'time' : null, args };
}

/** Asserts a clean refusal (exit 2, one line matching `message`, no temporary name) that changed nothing in the case folder. */
function assertRefused(c: Case, before: Map<string, string>, run: Measured, message: RegExp): void {
  const problems = cleanFailureProblems(run, [2]);
  if (!message.test(run.stderr.trim())) problems.push(`the error is not ${message}`);
  if (/\.tmp\b|E[A-Z]{3,}:/.test(run.stderr)) problems.push('the error names a temporary file or an errno code');
  problems.push(...changesOutside(c.dir, before, []).map((ch) => `user file touched: ${ch}`));
  assert.deepEqual(problems, [], `${problems.join('; ')}\n${describeRun(run)}`);
}

describe('outputs that are files the run reads', () => {
  it('irn convert never writes over the checkpoint it converts, with or without --force', async () => {
    const c = withCase('convert-onto-checkpoint');
    mkdirSync(join(c.dir, 'ck'));
    mkdirSync(join(c.dir, 'ck2'));
    copyFileSync(join(TORCH, 'irn_x2.pth'), join(c.dir, 'ck', 'model.json'));
    copyFileSync(join(TORCH, 'irn_x2.pth'), join(c.dir, 'ck2', 'group1-shard1of1.bin'));
    symlinkSync(join('ck', 'model.json'), join(c.dir, 'via-link.pth'));
    for (const force of [['-f'], []]) {
      await expectRefusal(c, ['convert', ...force, 'ck/model.json', 'ck'], { codes: [2], mentions: ['the output ck/model.json would overwrite the input ck/model.json'] });
      await expectRefusal(c, ['convert', ...force, 'ck2/group1-shard1of1.bin', 'ck2/'], { codes: [2], mentions: ['would overwrite the input ck2/group1-shard1of1.bin'] });
      await expectRefusal(c, ['convert', ...force, 'via-link.pth', 'ck'], { codes: [2], mentions: ['the output ck/model.json would overwrite the input via-link.pth'] });
    }
  });

  it('no output replaces a file of the model that is read, even with --force', async () => {
    const c = withCase('model-files');
    // A model whose weight file has an image's name, and the best.json irn train writes.
    renameSync(join(c.dir, 'model', 'group1-shard1of1.bin'), join(c.dir, 'model', 'weights.png'));
    editManifest(join(c.dir, 'model'), (m) => void (m.weightsManifest[0].paths = ['weights.png']));
    writeFileSync(join(c.dir, 'model', 'best.json'), '{"step": 1}\n');
    symlinkSync(join('model', 'weights.png'), join(c.dir, 'out.png'));
    const photo = `photos/${PHOTOS[0]}`;
    for (const command of ['downscale', 'upscale']) {
      await expectRefusal(c, [command, '-f', '-m', 'model', photo, 'model/weights.png'], { codes: [2], mentions: ['the output model/weights.png would overwrite the model file model/weights.png'] });
      await expectRefusal(c, [command, '-f', '-m', 'model', photo, 'out.png'], { codes: [2], mentions: ['would overwrite the model file model/weights.png (through a symbolic link)'] });
      await expectRefusal(c, [command, '-f', '-m', 'model', photo, 'model/model.json'], { codes: [2], mentions: ['model/model.json'] });
      await expectRefusal(c, [command, '-f', '-m', 'model', photo, 'model/best.json'], { codes: [2], mentions: ['model/best.json'] });
    }
  });

  it('irn prepare writes no LR over a file of the model, even with --force', async () => {
    const c = withCase('model-files-prepare');
    // prepare names its LRs <name>.lr.png: a weight file of that name in the output folder.
    renameSync(join(c.dir, 'model', 'group1-shard1of1.bin'), join(c.dir, 'model', 'weights.lr.png'));
    editManifest(join(c.dir, 'model'), (m) => void (m.weightsManifest[0].paths = ['weights.lr.png']));
    copyFileSync(join(c.dir, 'photos', PHOTOS[0]), join(c.dir, 'weights.png'));
    await expectRefusal(c, ['prepare', '-f', '-m', 'model', 'weights.png', 'model'], { codes: [2], mentions: ['would overwrite the model file model/weights.lr.png'] });
  });
});

describe('outputs no write could make: refused before any work, in words', () => {
  it('a read-only output folder (as a user bound by permissions)', async (t) => {
    const c = withCase('read-only');
    mkdirSync(join(c.dir, 'ro'), { mode: 0o555 });
    chmodSync(join(c.dir, 'ro'), 0o555);
    const before = snapshot(c.dir);
    const cases: [string[], RegExp][] = [
      [['downscale', '-m', 'model', `photos/${PHOTOS[0]}`, 'ro/x.png'], /^irn: error: cannot write ro\/x\.png: the folder ro is not writable \(permission denied\)$/],
      [['downscale', '-m', 'model', 'photos', 'ro/lr'], /^irn: error: cannot write ro\/lr: the folder ro is not writable \(permission denied\)$/],
      [['upscale', '-m', 'model', 'photos', 'ro'], /^irn: error: cannot write ro: the folder ro is not writable \(permission denied\)$/],
      [['convert', join(TORCH, 'irn_x2.pth'), 'ro/m'], /^irn: error: cannot write ro\/m: the folder ro is not writable \(permission denied\)$/],
    ];
    for (const [args, message] of cases) {
      const run = await runBoundByPermissions(args, c.dir);
      if (run == null) {
        t.skip('root without setpriv: no user to whom the folder is read-only');
        return;
      }
      assertRefused(c, before, run, message);
    }
  });

  it('a name too long, an output folder that is a dangling link, an empty output or input name', async () => {
    const c = withCase('unwritable-names');
    symlinkSync('nowhere', join(c.dir, 'gone'));
    const before = snapshot(c.dir);
    const photo = `photos/${PHOTOS[0]}`;
    const cases: [string[], RegExp][] = [
      [['downscale', '-m', 'model', photo, `${'x'.repeat(300)}.png`], /^irn: error: cannot write the output x{24}\.\.\.x{8}\.png: the name is too long \(304 bytes; file systems take at most 255\)$/],
      [['downscale', '-m', 'model', 'photos', 'gone'], /^irn: error: the output folder gone is a symbolic link to nothing \(a dangling link\)$/],
      [['upscale', '-m', 'model', photo, 'gone/x.png'], /^irn: error: cannot write gone\/x\.png: gone is a symbolic link to nothing \(a dangling link\)$/],
      [['convert', join(TORCH, 'irn_x2.pth'), 'gone'], /^irn: error: the output folder gone is a symbolic link to nothing \(a dangling link\)$/],
      [['downscale', '-m', 'model', photo, ''], /^irn: error: an empty output name; name a file or a folder$/],
      [['downscale', '-m', 'model', '', 'o.png'], /^irn: error: an empty input name; name a file or a folder$/],
      [['convert', '', 'm'], /^irn: error: an empty checkpoint name; name the \.pth file$/],
    ];
    for (const [args, message] of cases) assertRefused(c, before, await runCli(['-q', ...args], c.dir), message);
  });
});
