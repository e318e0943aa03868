// Outputs that would destroy the user's files (issue 15, cases 2-5) and the CLI's own edge
// cases (13, 14's --temperature 1e308, 15's raw messages and scale-3 metadata), through the
// built CLI as a user runs it, bounded in time and memory. See test/fuzz/README.md.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { casesOnModel, expectRefusal, PHOTOS } from './cases.js';
import { blackPng, lrClaimingScale3 } from './generators.js';
import { changesOutside, describeRun, editManifest, IMAGES, mkfifo, mknodNull, runCli, snapshot, TORCH } from './node-fixtures.js';

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
});
