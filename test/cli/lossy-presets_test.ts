// Lossy presets through the CLI (issue 13, item 4): a decoder preset (model metadata `encoder`
// + `lrCodec`) is used by name, by default for a lossy format, makes its LRs with its encoder
// preset's forward pass, and is named in the LR's metadata (`model`), so that `irn upscale`
// picks it by itself. The decoder here is a stand-in (a small perturbed model, not the
// shipped architecture), found through $IRN_WEIGHTS_DIR, so that these tests hold before and
// after real lossy presets land in weights/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { fileSystem } from '../../packages/core/src/io/fs-handler.js';
import { readLrFileInfo } from '../../packages/core/src/image/lr-formats.js';
import { readLrMetadata } from '../../packages/core/src/image/lr-metadata.js';
import { IrnModel } from '../../packages/core/src/model/irn.js';
import { perturbWeights } from '../../packages/core/src/testing/perturb.js';
import { loadModel } from '../../packages/cli/src/cli/model-dir.js';
import { decodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { failedCleanly, IMAGES, irn, readPng, type CliRun } from './helpers.js';

let work: string;
let presets: string;
/** The CLI with the stand-in presets folder. */
const withPresets = (args: string[]) => irn(args, work, { IRN_WEIGHTS_DIR: presets });

/** Saves a small x2 decoder whose forward is not used: `encoder` makes its LRs (JPEG qualities `lrQualityMin` to `lrQualityMax`). */
async function saveDecoder(dir: string, encoder: string, seed: number, lrQualityMax?: number, lrQualityMin?: number): Promise<void> {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed });
  tf.tidy(() => void model.forward(tf.zeros([1, 2, 2, 3])));
  perturbWeights(model.flow.trainableWeights, seed, 0.03);
  model.encoder = encoder;
  model.lrCodec = 'jpeg';
  model.lrQualityMax = lrQualityMax;
  model.lrQualityMin = lrQualityMin;
  await model.save(fileSystem(dir));
  model.dispose();
}

/** The LR metadata of a WebP or JPEG LR in `work`. */
const metaOf = (file: string) => readLrFileInfo(new Uint8Array(readFileSync(join(work, file)))).lrMetadata;
const bytesOf = (file: string) => readFileSync(join(work, file));
/** The decoded pixels of an AVIF LR in the work folder (libavif, as the CLI reads it). */
const decodeAvifFile = async (file: string) => (await decodeLr(new Uint8Array(bytesOf(file)))).image.data;
/** The output of a run, both streams (what --refine's `refined: A -> B dB` line is looked for in). */
const outOf = (run: CliRun) => run.stdout + run.stderr;
/** The starting PSNR that `irn downscale --refine` prints (`refined: A -> B dB`). */
const refineStart = (run: CliRun) => Number(/refined: ([\d.]+) ->/.exec(outOf(run))?.[1]);

/**
 * Runs `tasks` (CLI runs that do not read each other's files) two at a time and resolves to
 * their results in order. Each run is a Node process, about 2 s of CPU mostly starting up, and
 * CI has two cores: more at once would only make each slower.
 */
async function inParallel<T>(tasks: (() => Promise<T>)[], limit = 2): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** Copies those of `files` (in `work`) that exist into the new folder `dir` (in `work`), for a run on a folder. */
function folderOf(dir: string, files: string[]): void {
  mkdirSync(join(work, dir));
  for (const f of files) if (existsSync(join(work, f))) copyFileSync(join(work, f), join(work, dir, f));
}

before(async () => {
  await tf.setBackend('cpu');
  work = mkdtempSync(join(tmpdir(), 'irn-lossy-presets-'));
  presets = join(work, 'presets');
  copyFileSync(join(IMAGES, 'astronaut-48x40.png'), join(work, 'in.png'));
  await saveDecoder(join(presets, 'irn-x2-jpeg'), 'irn-x2', 11);
  await saveDecoder(join(presets, 'irn-x2-standin'), 'irn-x2', 12);
  await saveDecoder(join(presets, 'irn-x2-orphan'), 'irn-x2-nowhere', 13);
  await saveDecoder(join(presets, 'irn-x2-wrong-scale'), 'irn-x4', 14);
  await saveDecoder(join(presets, 'irn-x2-capped'), 'irn-x2', 15, 89);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('irn downscale / upscale with a lossy decoder preset', () => {
  // The files several tests read, made once (two runs at a time): irn-x2-jpeg's LR (the default
  // for JPEG) and irn-x2's at quality 80, irn-x2's lossless LR, the stand-in decoder's LR with
  // its folder given by path, irn-x2's LR refined at quality 80 (what the --refine tests measure
  // the decoders against), and irn-x2's restores of the two JPEGs (one run on a folder).
  let lrJpg: CliRun;
  let plainJpg: CliRun;
  let lrPng: CliRun;
  let byPath: CliRun;
  let refinedX2: CliRun;
  let x2Up: CliRun;
  before(async () => {
    [lrJpg, plainJpg, lrPng, byPath, refinedX2] = await inParallel([
      // Quality 80: from 90 to 97 the shipped sibling irn-x2-jpeg-q90 (weights/, searched after
      // $IRN_WEIGHTS_DIR) has the narrower range and takes those LRs (the family test below).
      () => withPresets(['downscale', '--quality', '80', 'in.png', 'lr.jpg']),
      () => withPresets(['downscale', '-m', 'irn-x2', '--quality', '80', 'in.png', 'plain.jpg']),
      () => withPresets(['-q', 'downscale', 'in.png', 'lr.png']),
      () => withPresets(['-q', 'downscale', '-m', join(presets, 'irn-x2-standin'), 'in.png', 'by-path.jpg']),
      () => withPresets(['downscale', '-m', 'irn-x2', '--quality', '80', '--refine', '1', 'in.png', 'r80-x2.jpg']),
    ]);
    folderOf('x2-in', ['lr.jpg', 'plain.jpg']);
    x2Up = await irn(['-q', 'upscale', '-m', 'irn-x2', 'x2-in', 'x2-up'], work);
  });

  it('downscale to JPEG without --model uses irn-x2-jpeg: irn-x2 makes the pixels, the metadata names the decoder', async () => {
    assert.equal(lrJpg.code, 0, lrJpg.stderr);
    assert.deepEqual(metaOf('lr.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg' });
    // The same pixels as the lossless preset's LR at the same quality: the encoder made them.
    assert.equal(plainJpg.code, 0, plainJpg.stderr);
    assert.deepEqual(metaOf('plain.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2' });
    assert.equal(x2Up.code, 0, x2Up.stderr);
    assert.deepEqual(bytesOf('x2-up/lr.png'), bytesOf('x2-up/plain.png'));
    // --model with the decoder's name writes the same file.
    assert.equal((await withPresets(['-q', 'downscale', '-m', 'irn-x2-jpeg', '--quality', '80', 'in.png', 'named.jpg'])).code, 0);
    assert.deepEqual(bytesOf('named.jpg'), bytesOf('lr.jpg'));
  });

  it('the default decoder is the preset, not a folder of that name in the working directory', async () => {
    const cwd = join(work, 'cwd');
    mkdirSync(cwd, { recursive: true });
    copyFileSync(join(work, 'in.png'), join(cwd, 'in.png'));
    cpSync(join(presets, 'irn-x2-orphan'), join(cwd, 'irn-x2-jpeg'), { recursive: true });
    const run = await irn(['-q', 'downscale', '--quality', '80', 'in.png', 'lr.jpg'], cwd, { IRN_WEIGHTS_DIR: presets });
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readFileSync(join(cwd, 'lr.jpg')), bytesOf('lr.jpg'));
  });

  it('a lossless format keeps irn-x2 by default, and names it', () => {
    assert.equal(lrPng.code, 0, lrPng.stderr);
    assert.deepEqual(readLrMetadata(readPng(join(work, 'lr.png')).text), { scale: 2, width: 48, height: 40, model: 'irn-x2' });
  });

  it('a model given by path writes no model name; the preset folder given by path is the preset', async () => {
    assert.equal(byPath.code, 0, byPath.stderr);
    assert.deepEqual(metaOf('by-path.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-standin' });
    // A copy elsewhere is a model of one's own.
    cpSync(join(presets, 'irn-x2-standin'), join(work, 'own'), { recursive: true });
    const own = await withPresets(['-q', 'downscale', '-m', 'own', 'in.png', 'own.jpg']);
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(metaOf('own.jpg'), { scale: 2, width: 48, height: 40 });
  });

  it('upscale without --model restores with the preset the LR names: the decoder, not irn-x2', async () => {
    // mixed: an LR naming irn-x2 restores with irn-x2, in the same run as one naming the decoder.
    mkdirSync(join(work, 'mixed'));
    copyFileSync(join(work, 'lr.jpg'), join(work, 'mixed/a.jpg'));
    copyFileSync(join(work, 'plain.jpg'), join(work, 'mixed/b.jpg'));
    const [auto, decoder, dir] = await inParallel([
      () => withPresets(['-q', 'upscale', 'lr.jpg', 'auto.png']),
      () => withPresets(['-q', 'upscale', '-m', join(presets, 'irn-x2-jpeg'), 'lr.jpg', 'decoder.png']),
      () => withPresets(['-q', 'upscale', 'mixed', 'mixed-out']),
    ]);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(decoder.code, 0, decoder.stderr);
    assert.deepEqual(bytesOf('auto.png'), bytesOf('decoder.png'));
    assert.notDeepEqual(bytesOf('auto.png'), bytesOf('x2-up/lr.png'), 'the stand-in decoder restores differently from irn-x2');
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(bytesOf('mixed-out/a.png'), bytesOf('auto.png'));
    assert.deepEqual(bytesOf('mixed-out/b.png'), bytesOf('x2-up/plain.png'));
    assert.deepEqual([readPng(join(work, 'auto.png')).width, readPng(join(work, 'auto.png')).height], [48, 40]);
  });

  it('an LR made for a preset this version lacks fails with one line that says to pass --model', async () => {
    // by-path.jpg (above) names irn-x2-standin, which only $IRN_WEIGHTS_DIR has.
    assert.equal(byPath.code, 0, byPath.stderr);
    copyFileSync(join(work, 'by-path.jpg'), join(work, 'standin.jpg'));
    assert.equal(metaOf('standin.jpg')?.model, 'irn-x2-standin');
    const [run, forced] = await inParallel([
      () => irn(['upscale', 'standin.jpg', 'x.png'], work),
      // --model still wins.
      () => irn(['-q', 'upscale', '-m', join(presets, 'irn-x2-standin'), 'standin.jpg', 'x-forced.png'], work),
    ]);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /standin\.jpg: it was made for the model irn-x2-standin, which this version does not have; pass --model/);
    assert.equal(forced.code, 0, forced.stderr);
  });

  it('--refine restores with the decoder: its starting PSNR is the decoder restoring the encoder LR', async () => {
    // Quality 80, as irn-x2's refined LR above (r80-x2.jpg).
    const viaDecoder = await withPresets(['downscale', '-m', 'irn-x2-jpeg', '--quality', '80', '--refine', '1', 'in.png', 'refined.jpg']);
    assert.equal(viaDecoder.code, 0, viaDecoder.stderr);
    assert.equal(refinedX2.code, 0, refinedX2.stderr);
    // The stand-in decoder is a poor restorer: far below irn-x2's own restore of its LR.
    assert.ok(refineStart(viaDecoder) < refineStart(refinedX2) - 3, `${refineStart(viaDecoder)} vs ${refineStart(refinedX2)} dB`);
    assert.equal(metaOf('refined.jpg')?.model, 'irn-x2-jpeg');
  });

  it('a decoder for qualities up to 89 (lrQualityMax) is named only in LRs coded at or below 89; above, the LR names its encoder', async () => {
    const capped = (name: string, ...args: string[]) => () => withPresets(['downscale', '-m', 'irn-x2-capped', ...args, 'in.png', name]);
    const x2 = (name: string, ...args: string[]) => () => withPresets(['downscale', '-m', 'irn-x2', ...args, 'in.png', name]);
    /** The model an LR names, after checking that its run succeeded. */
    const named = (run: CliRun, name: string) => {
      assert.equal(run.code, 0, run.stderr);
      return name.endsWith('.png') ? readLrMetadata(readPng(join(work, name)).text)?.model : metaOf(name)?.model;
    };
    const [q89, q95, qDefault, x2q95, q60, r95, r95x2, r80, png, site, infoJson, infoText] = await inParallel([
      capped('q89.jpg', '--quality', '89'),
      capped('q95.jpg', '--quality', '95'),
      capped('q-default.jpg'),
      x2('x2-q95.jpg', '--quality', '95'),
      capped('q60.jpg', '--quality', '60'),
      capped('r95.jpg', '--quality', '95', '--refine', '1'),
      x2('r95-x2.jpg', '--quality', '95', '--refine', '1'),
      capped('r80.jpg', '--quality', '80', '--refine', '1'),
      () => withPresets(['-q', 'downscale', '-m', 'irn-x2-capped', 'in.png', 'capped.png']),
      () => withPresets(['-q', 'prepare', '-m', 'irn-x2-capped', 'in.png', 'capped-site']),
      () => withPresets(['info', '--json', '-m', 'irn-x2-capped']),
      () => withPresets(['info', '-m', 'irn-x2-capped']),
    ]);
    assert.equal(named(q89, 'q89.jpg'), 'irn-x2-capped');
    assert.equal(named(q95, 'q95.jpg'), 'irn-x2');
    // The JPEG default quality, 90, is above it.
    assert.equal(named(qDefault, 'q-default.jpg'), 'irn-x2');
    // Above its qualities the file is irn-x2's own, byte for byte (same pixels, same name).
    assert.equal(x2q95.code, 0, x2q95.stderr);
    assert.deepEqual(bytesOf('q95.jpg'), bytesOf('x2-q95.jpg'));
    // A byte budget: the name follows the quality that fits.
    assert.equal(q60.code, 0, q60.stderr);
    const [big, small] = await inParallel([
      capped('big.jpg', '--max-size', String(bytesOf('x2-q95.jpg').length)),
      capped('small.jpg', '--max-size', String(bytesOf('q60.jpg').length)),
    ]);
    const bigModel = named(big, 'big.jpg');
    assert.match(outOf(big), /jpeg quality (9[5-9]|100):/);
    assert.equal(bigModel, 'irn-x2');
    const smallModel = named(small, 'small.jpg');
    const q = Number(/jpeg quality (\d+):/.exec(outOf(small))?.[1]);
    assert.ok(q >= 60 && q <= 89, `quality ${q}`);
    assert.equal(smallModel, 'irn-x2-capped');
    // --refine above its qualities restores with irn-x2: the same starting PSNR as irn-x2's.
    assert.equal(r95.code, 0, r95.stderr);
    assert.equal(r95x2.code, 0, r95x2.stderr);
    assert.equal(refineStart(r95), refineStart(r95x2));
    // At 80 (the same options as irn-x2's refined LR above, r80-x2.jpg) the (poor) stand-in decoder restores.
    assert.equal(r80.code, 0, r80.stderr);
    assert.equal(refinedX2.code, 0, refinedX2.stderr);
    assert.ok(refineStart(r80) < refineStart(refinedX2) - 3, 'at 80 the (poor) stand-in decoder restores');
    // A lossless LR counts as the highest quality: downscale to PNG and prepare name irn-x2.
    assert.equal(named(png, 'capped.png'), 'irn-x2');
    assert.equal(named(site, 'capped-site/in.lr.png'), 'irn-x2');
    const info = JSON.parse(infoJson.stdout) as { lrQualityMax: number | null };
    assert.equal(info.lrQualityMax, 89);
    assert.match(infoText.stdout, /^lr quality +up to 89 \(irn downscale names another decoder or irn-x2 in LRs coded outside it\)/m);
  });

  it('without --model, a family of decoders shares the qualities: irn-x2-jpeg up to 89, irn-x2-jpeg-q90 from 90 to 97, irn-x2 above', async () => {
    // A folder of its own: irn-x2-jpeg (up to 89) and its sibling irn-x2-jpeg-q90 (90-97);
    // siblings of other codecs or encoders, or unreadable, take no quality; nor does a
    // preset outside the family, however narrow.
    const family = join(work, 'family');
    await saveDecoder(join(family, 'irn-x2-jpeg'), 'irn-x2', 21, 89);
    await saveDecoder(join(family, 'irn-x2-jpeg-q90'), 'irn-x2', 22, 97, 90);
    await saveDecoder(join(family, 'irn-x2-jpeg-x4'), 'irn-x4', 23, 99, 98);
    await saveDecoder(join(family, 'irn-x2-jpegx'), 'irn-x2', 24, 99, 98);
    mkdirSync(join(family, 'irn-x2-jpeg-broken'));
    writeFileSync(join(family, 'irn-x2-jpeg-broken/model.json'), '{ not json');
    // Notes that would win at 93 (the narrowest range) in a model.json larger than core loads: not read.
    mkdirSync(join(family, 'irn-x2-jpeg-huge'));
    const huge = { userDefinedMetadata: { irn: { encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMin: 93, lrQualityMax: 93 } } };
    writeFileSync(join(family, 'irn-x2-jpeg-huge/model.json'), JSON.stringify(huge) + ' '.repeat(4 * 1024 * 1024));
    // A FIFO for a model.json: skipped, never waited on (a read would block until the run's timeout).
    mkdirSync(join(family, 'irn-x2-jpeg-fifo'));
    execFileSync('mkfifo', [join(family, 'irn-x2-jpeg-fifo/model.json')]);
    const inFamily = (args: string[]) => irn(args, work, { IRN_WEIGHTS_DIR: family });
    const at = (name: string, ...args: string[]) => () => inFamily(['downscale', ...args, 'in.png', name]);
    /** The model an LR names, after checking that its run succeeded. */
    const named = (run: CliRun, name: string) => {
      assert.equal(run.code, 0, run.stderr);
      return name.endsWith('.png') ? readLrMetadata(readPng(join(work, name)).text)?.model : metaOf(name)?.model;
    };
    const [f50, f89, f90, f97, f98, x2q93, f93, fr93, byName, byLow, fm93, fm50, fm95, fmPng, info, infoJson] = await inParallel([
      at('f50.jpg', '--quality', '50'),
      at('f89.jpg', '--quality', '89'),
      at('f90.jpg'),
      at('f97.jpg', '--quality', '97'),
      at('f98.jpg', '--quality', '98'),
      () => irn(['-q', 'downscale', '-m', 'irn-x2', '--quality', '93', 'in.png', 'x2-93.jpg'], work),
      at('f93.jpg', '--quality', '93'),
      at('fr93.jpg', '--quality', '93', '--refine', '1'),
      () => inFamily(['downscale', '-m', 'irn-x2-jpeg-q90', '--quality', '93', '--refine', '1', 'in.png', 'fr93-named.jpg']),
      () => inFamily(['downscale', '-m', join(family, 'irn-x2-jpeg'), '--quality', '88', '--refine', '1', 'in.png', 'fr88-path.jpg']),
      at('fm93.jpg', '-m', 'irn-x2-jpeg', '--quality', '93'),
      at('fm50.jpg', '-m', 'irn-x2-jpeg-q90', '--quality', '50'),
      at('fm95.jpg', '-m', 'irn-x2-jpeg-q90', '--quality', '95'),
      () => inFamily(['-q', 'downscale', '-m', 'irn-x2-jpeg-q90', 'in.png', 'fm-png.png']),
      () => inFamily(['info', '-m', 'irn-x2-jpeg-q90']),
      () => inFamily(['info', '--json', '-m', 'irn-x2-jpeg-q90']),
    ]);
    assert.equal(named(f50, 'f50.jpg'), 'irn-x2-jpeg');
    assert.equal(named(f89, 'f89.jpg'), 'irn-x2-jpeg');
    assert.equal(named(f90, 'f90.jpg'), 'irn-x2-jpeg-q90', 'the default quality, 90');
    assert.equal(named(f97, 'f97.jpg'), 'irn-x2-jpeg-q90');
    assert.equal(named(f98, 'f98.jpg'), 'irn-x2');
    // The pixels are irn-x2's at every quality; upscale restores with the decoder named.
    assert.equal(x2q93.code, 0, x2q93.stderr);
    assert.equal(named(f93, 'f93.jpg'), 'irn-x2-jpeg-q90');
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('f93.jpg'))), decodeLr(new Uint8Array(bytesOf('x2-93.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    const [auto, q90, low, big, small] = await inParallel([
      () => inFamily(['-q', 'upscale', 'f93.jpg', 'f93-auto.png']),
      () => irn(['-q', 'upscale', '-m', join(family, 'irn-x2-jpeg-q90'), 'f93.jpg', 'f93-q90.png'], work),
      () => irn(['-q', 'upscale', '-m', join(family, 'irn-x2-jpeg'), 'f93.jpg', 'f93-low.png'], work),
      // A byte budget: the name follows the quality that fits, across the two decoders.
      at('fbig.jpg', '--max-size', String(bytesOf('f93.jpg').length)),
      at('fsmall.jpg', '--max-size', String(bytesOf('f50.jpg').length)),
    ]);
    for (const run of [auto, q90, low]) assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(bytesOf('f93-auto.png'), bytesOf('f93-q90.png'));
    assert.notDeepEqual(bytesOf('f93-auto.png'), bytesOf('f93-low.png'));
    const bigModel = named(big, 'fbig.jpg');
    const q = Number(/jpeg quality (\d+):/.exec(outOf(big))?.[1]);
    assert.ok(q >= 90 && q <= 97, `quality ${q}`);
    assert.equal(bigModel, 'irn-x2-jpeg-q90');
    assert.equal(named(small, 'fsmall.jpg'), 'irn-x2-jpeg');
    // --refine restores with the decoder of the quality: its starting PSNR is that decoder's.
    assert.equal(fr93.code, 0, fr93.stderr);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(refineStart(fr93), refineStart(byName));
    assert.equal(byLow.code, 0, byLow.stderr);
    assert.notEqual(refineStart(fr93), refineStart(byLow));
    // An explicit --model keeps to that decoder and its encoder: no sibling takes over.
    assert.equal(named(fm93, 'fm93.jpg'), 'irn-x2');
    assert.equal(named(fm50, 'fm50.jpg'), 'irn-x2', 'below its lowest quality');
    assert.equal(named(fm95, 'fm95.jpg'), 'irn-x2-jpeg-q90');
    // A lossless LR names irn-x2 (the lossless default does not look at decoders at all).
    assert.equal(named(fmPng, 'fm-png.png'), 'irn-x2');
    assert.match(info.stdout, /^lr quality +90 to 97 \(irn downscale names another decoder or irn-x2 in LRs coded outside it\)/m);
    const json = JSON.parse(infoJson.stdout) as { lrQualityMin: number | null; lrQualityMax: number | null };
    assert.deepEqual([json.lrQualityMin, json.lrQualityMax], [90, 97]);
  });

  it('refuses a decoder whose encoder preset is missing or of another scale, with one line', async () => {
    const [orphan, scale] = await inParallel([
      () => withPresets(['downscale', '-m', 'irn-x2-orphan', 'in.png', 'o.jpg']),
      () => withPresets(['downscale', '-m', 'irn-x2-wrong-scale', 'in.png', 'o-scale.jpg']),
    ]);
    assert.equal(failedCleanly(orphan, 1), null);
    assert.match(orphan.stderr, /restores LRs made by the preset irn-x2-nowhere, which this version does not have/);
    assert.equal(failedCleanly(scale, 1), null);
    assert.match(scale.stderr, /is x2 but its encoder irn-x4 is x4/);
  });

  it('a --model name that is neither a folder nor a preset lists the presets', async () => {
    const run = await withPresets(['downscale', '-m', 'irn-x3', 'in.png', 'o.png']);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /model directory irn-x3 does not exist, and no preset has that name \(presets: .*irn-x2, .*irn-x2-jpeg.*irn-x4/);
  });

  it('prepare with a decoder preset: the encoder makes the LR PNG, which names the decoder', async () => {
    const run = await withPresets(['-q', 'prepare', '-m', 'irn-x2-jpeg', 'in.png', 'site']);
    assert.equal(run.code, 0, run.stderr);
    const lr = readPng(join(work, 'site/in.lr.png'));
    assert.deepEqual(readLrMetadata(lr.text), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg' });
    assert.equal(lrPng.code, 0, lrPng.stderr);
    const plain = readPng(join(work, 'lr.png')); // irn-x2's LR (the lossless default, above)
    assert.deepEqual(lr.data, plain.data);
  });

  it('eval refuses a decoder preset with one line: its round trip is not what it does', async () => {
    mkdirSync(join(work, 'evaldata'), { recursive: true });
    copyFileSync(join(work, 'in.png'), join(work, 'evaldata/in.png'));
    const run = await withPresets(['eval', '-m', 'irn-x2-jpeg', '--data', 'evaldata']);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /is a lossy decoder \(its LRs are made by irn-x2, stored as jpeg\); irn eval scores the lossless round trip of one model: measure it with pnpm bench:rd/);
  });

  it('info shows the encoder and the LR codec of a decoder preset', async () => {
    const [json, text, plainJson] = await inParallel([
      () => withPresets(['info', '--json', '-m', 'irn-x2-jpeg']),
      () => withPresets(['info', '-m', 'irn-x2-jpeg']),
      () => irn(['info', '--json'], work),
    ]);
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout) as { encoder: string | null; lrCodec: string | null; lrQualityMax: number | null };
    assert.deepEqual([d.encoder, d.lrCodec, d.lrQualityMax], ['irn-x2', 'jpeg', null]);
    assert.match(text.stdout, /^encoder +irn-x2 /m);
    assert.match(text.stdout, /^lr codec +jpeg /m);
    const plain = JSON.parse(plainJson.stdout) as { encoder: string | null };
    assert.equal(plain.encoder, null);
  });
});

describe('the shipped lossy presets weights/irn-x2-avif-v2, weights/irn-x2-avif, weights/irn-x4-avif, weights/irn-x2-jpeg and weights/irn-x4-jpeg', () => {
  // No $IRN_WEIGHTS_DIR here: the repository's weights/ only. Every LR the tests read, made
  // once (two runs at a time): [file, downscale options]. Then three runs on folders restore
  // them: without --model (each LR by the preset it names), with irn-x2 and with irn-x4.
  const LRS: [string, ...string[]][] = [
    ['ship.avif'],
    ['named.avif', '-m', 'irn-x2-avif-v2'],
    ['plain.avif', '-m', 'irn-x2'],
    ['x4.avif', '--scale', '4'],
    ['x4-plain.avif', '-m', 'irn-x4'],
    ['x4.png', '--scale', '4'],
    ['ship70.jpg', '--quality', '70'],
    ['plain70.jpg', '-m', 'irn-x2', '--quality', '70'],
    ['ship90.jpg'],
    ['plain90.jpg', '-m', 'irn-x2'],
    ['ship97.jpg', '--quality', '97'],
    ['ship98.jpg', '--quality', '98'],
    ['x4q60.jpg', '--scale', '4', '--quality', '60'],
    ['x4q60-plain.jpg', '-m', 'irn-x4', '--quality', '60'],
    ['x4q80.jpg', '--scale', '4', '--quality', '80'],
    ['x4q90.jpg', '--scale', '4'],
    ['x4q96.jpg', '--scale', '4', '--quality', '96'],
    ['dec.avif', '-m', 'irn-x2-avif'],
  ];
  const made = new Map<string, CliRun>();
  let autoUp: CliRun;
  let x2Up: CliRun;
  let x4Up: CliRun;
  let v2Up: CliRun;
  let decUp: CliRun;
  before(async () => {
    const runs = await inParallel(LRS.map(([file, ...options]) => () => irn(['-q', 'downscale', ...options, 'in.png', file], work)));
    LRS.forEach(([file], i) => made.set(file, runs[i]));
    folderOf('auto-in', ['ship.avif', 'x4.avif', 'ship70.jpg', 'ship90.jpg', 'x4q60.jpg', 'x4q80.jpg', 'x4q90.jpg', 'dec.avif']);
    folderOf('x2-in-shipped', ['ship.avif', 'ship70.jpg', 'ship90.jpg']);
    folderOf('x4-in', ['x4.avif', 'x4q60.jpg', 'x4q80.jpg', 'x4q90.jpg']);
    [autoUp, x2Up, x4Up, v2Up, decUp] = await inParallel([
      () => irn(['-q', 'upscale', 'auto-in', 'auto-up'], work),
      () => irn(['-q', 'upscale', '-m', 'irn-x2', 'x2-in-shipped', 'by-x2'], work),
      () => irn(['-q', 'upscale', '-m', 'irn-x4', 'x4-in', 'by-x4'], work),
      () => irn(['-q', 'upscale', '-m', 'irn-x2-avif-v2', 'dec.avif', 'v2-up.png'], work),
      () => irn(['-q', 'upscale', '-m', 'irn-x2-avif', 'dec.avif', 'dec-up.png'], work),
    ]);
  });

  /** Checks that the downscale to `file` (LRS) succeeded. */
  const madeOk = (file: string) => {
    const run = made.get(file);
    assert.ok(run != null, file);
    assert.equal(run.code, 0, run.stderr);
  };
  /** Checks that the upscale run succeeded and reads its restored PNG `file`. */
  const restored = (run: CliRun, file: string) => {
    assert.equal(run.code, 0, run.stderr);
    return readPng(join(work, file));
  };
  /** A shipped preset's notes as `irn info --json -m <name>` reports them, read with the CLI's own loader (no second Node process). */
  const presetInfo = async (name: string) => {
    const model = await loadModel(name);
    try {
      const { encoder, lrCodec, lrQualityMin, lrQualityMax } = model;
      return { scale: model.config.scale, encoder: encoder ?? null, lrCodec: lrCodec ?? null, lrQualityMin: lrQualityMin ?? null, lrQualityMax: lrQualityMax ?? null };
    } finally {
      model.dispose();
    }
  };

  it('irn-x2-avif-v2 is the default for an AVIF LR: its own forward makes it, its metadata names it, upscale restores with it', async () => {
    madeOk('ship.avif');
    assert.deepEqual(metaOf('ship.avif'), { scale: 2, width: 48, height: 40, model: 'irn-x2-avif-v2' });
    madeOk('named.avif');
    assert.deepEqual(bytesOf('ship.avif'), bytesOf('named.avif'));
    // Trained end to end: its LR is its own, not irn-x2's (whose file names irn-x2).
    madeOk('plain.avif');
    const [own, x2] = await Promise.all([decodeAvifFile('ship.avif'), decodeAvifFile('plain.avif')]);
    assert.notDeepEqual(own, x2, 'the LR pixels are the v2 preset\'s own');
    const d = await presetInfo('irn-x2-avif-v2');
    assert.deepEqual([d.encoder, d.lrCodec], [null, 'avif']);
    const a = restored(autoUp, 'auto-up/ship.png');
    const b = restored(x2Up, 'by-x2/ship.png');
    assert.deepEqual([a.width, a.height], [48, 40]);
    assert.notDeepEqual(a.data, b.data, 'restored by irn-x2-avif-v2, not by irn-x2');
  });

  it('irn-x4-avif is the default for an x4 AVIF LR; an x4 PNG LR stays irn-x4\'s', async () => {
    madeOk('x4.avif');
    assert.deepEqual(metaOf('x4.avif'), { scale: 4, width: 48, height: 40, model: 'irn-x4-avif' });
    madeOk('x4-plain.avif');
    const [own, x4] = await Promise.all([decodeAvifFile('x4.avif'), decodeAvifFile('x4-plain.avif')]);
    assert.notDeepEqual(own, x4, "the LR pixels are the preset's own");
    const info = await presetInfo('irn-x4-avif');
    assert.deepEqual([info.scale, info.encoder, info.lrCodec], [4, null, 'avif']);
    const a = restored(autoUp, 'auto-up/x4.png');
    assert.deepEqual([a.width, a.height], [48, 40]);
    assert.notDeepEqual(a.data, restored(x4Up, 'by-x4/x4.png').data, 'restored by irn-x4-avif, not by irn-x4');
    madeOk('x4.png');
    assert.deepEqual(readLrMetadata(readPng(join(work, 'x4.png')).text), { scale: 4, width: 48, height: 40, model: 'irn-x4' });
  });

  it('irn-x2-jpeg (a decoder for qualities up to 89) is the default for a JPEG LR below 90; from 90 up the LR names irn-x2', async () => {
    madeOk('ship70.jpg');
    assert.deepEqual(metaOf('ship70.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg' });
    const info = await presetInfo('irn-x2-jpeg');
    assert.deepEqual([info.encoder, info.lrCodec, info.lrQualityMax], ['irn-x2', 'jpeg', 89]);
    // irn-x2 makes the pixels: the same LR as irn-x2's, decoded.
    madeOk('plain70.jpg');
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('ship70.jpg'))), decodeLr(new Uint8Array(bytesOf('plain70.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    // upscale picks the decoder by the LR's name: other pixels than irn-x2's restore.
    const up = restored(autoUp, 'auto-up/ship70.png');
    assert.deepEqual([up.width, up.height], [48, 40]);
    assert.notDeepEqual(up.data, restored(x2Up, 'by-x2/ship70.png').data, 'restored by irn-x2-jpeg, not by irn-x2');
  });

  it('irn-x2-jpeg-q90 (a decoder for qualities 90 to 97, full chroma) is the default for a JPEG LR there, the default quality included; from 98 up the LR names irn-x2', async () => {
    madeOk('ship90.jpg');
    assert.deepEqual(metaOf('ship90.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg-q90' });
    const info = await presetInfo('irn-x2-jpeg-q90');
    assert.deepEqual([info.encoder, info.lrCodec, info.lrQualityMin, info.lrQualityMax], ['irn-x2', 'jpeg', 90, 97]);
    // irn-x2 makes the pixels; the decoder restores other pixels than irn-x2 would.
    madeOk('plain90.jpg');
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('ship90.jpg'))), decodeLr(new Uint8Array(bytesOf('plain90.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    assert.notDeepEqual(restored(autoUp, 'auto-up/ship90.png').data, restored(x2Up, 'by-x2/ship90.png').data, 'restored by irn-x2-jpeg-q90, not by irn-x2');
    madeOk('ship97.jpg');
    assert.equal(metaOf('ship97.jpg')?.model, 'irn-x2-jpeg-q90');
    madeOk('ship98.jpg');
    assert.equal(metaOf('ship98.jpg')?.model, 'irn-x2');
  });

  it('irn-x4-jpeg (a decoder for qualities up to 79) is the default for an x4 JPEG LR below 80, irn-x4-jpeg-q80 from 80 to 89, irn-x4-jpeg-q90 from 90 to 95; above, the LR names irn-x4', async () => {
    madeOk('x4q60.jpg');
    assert.deepEqual(metaOf('x4q60.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4-jpeg' });
    const info = await presetInfo('irn-x4-jpeg');
    assert.deepEqual([info.scale, info.encoder, info.lrCodec, info.lrQualityMax], [4, 'irn-x4', 'jpeg', 79]);
    // irn-x4 makes the pixels; the decoder restores other pixels than irn-x4 would.
    madeOk('x4q60-plain.jpg');
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('x4q60.jpg'))), decodeLr(new Uint8Array(bytesOf('x4q60-plain.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    const up = restored(autoUp, 'auto-up/x4q60.png');
    assert.deepEqual([up.width, up.height], [48, 40]);
    assert.notDeepEqual(up.data, restored(x4Up, 'by-x4/x4q60.png').data, 'restored by irn-x4-jpeg, not by irn-x4');
    // MozJPEG keeps more chroma from quality 80 (4:2:2), which irn-x4-jpeg was not trained on:
    // its sibling irn-x4-jpeg-q80 was, and restores other pixels than irn-x4.
    madeOk('x4q80.jpg');
    assert.deepEqual(metaOf('x4q80.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4-jpeg-q80' });
    const info80 = await presetInfo('irn-x4-jpeg-q80');
    assert.deepEqual([info80.scale, info80.encoder, info80.lrQualityMin, info80.lrQualityMax], [4, 'irn-x4', 80, 89]);
    assert.notDeepEqual(restored(autoUp, 'auto-up/x4q80.png').data, restored(x4Up, 'by-x4/x4q80.png').data, 'restored by irn-x4-jpeg-q80, not by irn-x4');
    // The default quality, 90: MozJPEG keeps full chroma from there, the range of irn-x4-jpeg-q90.
    madeOk('x4q90.jpg');
    assert.deepEqual(metaOf('x4q90.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4-jpeg-q90' });
    const info90 = await presetInfo('irn-x4-jpeg-q90');
    assert.deepEqual([info90.encoder, info90.lrQualityMin, info90.lrQualityMax], ['irn-x4', 90, 95]);
    assert.notDeepEqual(restored(autoUp, 'auto-up/x4q90.png').data, restored(x4Up, 'by-x4/x4q90.png').data, 'restored by irn-x4-jpeg-q90, not by irn-x4');
    madeOk('x4q96.jpg');
    assert.deepEqual(metaOf('x4q96.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4' });
  });

  it('irn-x2-avif (the decoder) still restores the LRs that name it: irn-x2 makes them', async () => {
    madeOk('dec.avif');
    assert.deepEqual(metaOf('dec.avif'), { scale: 2, width: 48, height: 40, model: 'irn-x2-avif' });
    madeOk('plain.avif');
    // The same pixels and codec settings: the files differ only in the metadata's model name
    // ("irn-x2-avif" against "irn-x2", 5 bytes longer).
    assert.equal(bytesOf('dec.avif').length - bytesOf('plain.avif').length, 5);
    const d = await presetInfo('irn-x2-avif');
    assert.deepEqual([d.encoder, d.lrCodec], ['irn-x2', 'avif']);
    // Restored by the decoder the LR names: irn-x2-avif's pixels exactly, not the newer v2's.
    assert.deepEqual(restored(autoUp, 'auto-up/dec.png').data, restored(decUp, 'dec-up.png').data, 'restored by irn-x2-avif, the decoder the LR names');
    assert.notDeepEqual(restored(autoUp, 'auto-up/dec.png').data, restored(v2Up, 'v2-up.png').data, 'restored by irn-x2-avif-v2');
  });
});
