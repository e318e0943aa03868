// Lossy presets through the CLI (issue 13, item 4): a decoder preset (model metadata `encoder`
// + `lrCodec`) is used by name, by default for a lossy format, makes its LRs with its encoder
// preset's forward pass, and is named in the LR's metadata (`model`), so that `irn upscale`
// picks it by itself. The decoder here is a stand-in (a small perturbed model, not the
// shipped architecture), found through $IRN_WEIGHTS_DIR, so that these tests hold before and
// after real lossy presets land in weights/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { decodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { failedCleanly, IMAGES, irn, readPng } from './helpers.js';

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
  it('downscale to JPEG without --model uses irn-x2-jpeg: irn-x2 makes the pixels, the metadata names the decoder', async () => {
    // Quality 80: from 90 to 97 the shipped sibling irn-x2-jpeg-q90 (weights/, searched after
    // $IRN_WEIGHTS_DIR) has the narrower range and takes those LRs (the family test below).
    const run = await withPresets(['downscale', '--quality', '80', 'in.png', 'lr.jpg']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(metaOf('lr.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg' });
    // The same pixels as the lossless preset's LR at the same quality: the encoder made them.
    const plain = await withPresets(['downscale', '-m', 'irn-x2', '--quality', '80', 'in.png', 'plain.jpg']);
    assert.equal(plain.code, 0, plain.stderr);
    assert.deepEqual(metaOf('plain.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2' });
    for (const f of ['lr.jpg', 'plain.jpg']) assert.equal((await irn(['-q', 'upscale', '-m', 'irn-x2', f, `${f}.x2.png`], work)).code, 0);
    assert.deepEqual(bytesOf('lr.jpg.x2.png'), bytesOf('plain.jpg.x2.png'));
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

  it('a lossless format keeps irn-x2 by default, and names it', async () => {
    const run = await withPresets(['-q', 'downscale', 'in.png', 'lr.png']);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readLrMetadata(readPng(join(work, 'lr.png')).text), { scale: 2, width: 48, height: 40, model: 'irn-x2' });
  });

  it('a model given by path writes no model name; the preset folder given by path is the preset', async () => {
    assert.equal((await withPresets(['-q', 'downscale', '-m', join(presets, 'irn-x2-standin'), 'in.png', 'by-path.jpg'])).code, 0);
    assert.deepEqual(metaOf('by-path.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-standin' });
    // A copy elsewhere is a model of one's own.
    cpSync(join(presets, 'irn-x2-standin'), join(work, 'own'), { recursive: true });
    const own = await withPresets(['-q', 'downscale', '-m', 'own', 'in.png', 'own.jpg']);
    assert.equal(own.code, 0, own.stderr);
    assert.deepEqual(metaOf('own.jpg'), { scale: 2, width: 48, height: 40 });
  });

  it('upscale without --model restores with the preset the LR names: the decoder, not irn-x2', async () => {
    const auto = await withPresets(['-q', 'upscale', 'lr.jpg', 'auto.png']);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal((await withPresets(['-q', 'upscale', '-m', join(presets, 'irn-x2-jpeg'), 'lr.jpg', 'decoder.png'])).code, 0);
    assert.deepEqual(bytesOf('auto.png'), bytesOf('decoder.png'));
    assert.notDeepEqual(bytesOf('auto.png'), bytesOf('lr.jpg.x2.png'), 'the stand-in decoder restores differently from irn-x2');
    // An LR naming irn-x2 restores with irn-x2, in the same run as one naming the decoder.
    mkdirSync(join(work, 'mixed'));
    copyFileSync(join(work, 'lr.jpg'), join(work, 'mixed/a.jpg'));
    copyFileSync(join(work, 'plain.jpg'), join(work, 'mixed/b.jpg'));
    const dir = await withPresets(['-q', 'upscale', 'mixed', 'mixed-out']);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(bytesOf('mixed-out/a.png'), bytesOf('auto.png'));
    assert.deepEqual(bytesOf('mixed-out/b.png'), bytesOf('plain.jpg.x2.png'));
    assert.deepEqual([readPng(join(work, 'auto.png')).width, readPng(join(work, 'auto.png')).height], [48, 40]);
  });

  it('an LR made for a preset this version lacks fails with one line that says to pass --model', async () => {
    assert.equal((await withPresets(['-q', 'downscale', '-m', 'irn-x2-standin', 'in.png', 'standin.jpg'])).code, 0);
    assert.equal(metaOf('standin.jpg')?.model, 'irn-x2-standin');
    const run = await irn(['upscale', 'standin.jpg', 'x.png'], work);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /standin\.jpg: it was made for the model irn-x2-standin, which this version does not have; pass --model/);
    // --model still wins.
    assert.equal((await irn(['-q', 'upscale', '-m', join(presets, 'irn-x2-standin'), 'standin.jpg', 'x.png'], work)).code, 0);
  });

  it('--refine restores with the decoder: its starting PSNR is the decoder restoring the encoder LR', async () => {
    const viaDecoder = await withPresets(['downscale', '-m', 'irn-x2-jpeg', '--refine', '1', 'in.png', 'refined.jpg']);
    const viaEncoder = await withPresets(['downscale', '-m', 'irn-x2', '--refine', '1', 'in.png', 'refined-x2.jpg']);
    assert.equal(viaDecoder.code, 0, viaDecoder.stderr);
    assert.equal(viaEncoder.code, 0, viaEncoder.stderr);
    const start = (run: { stdout: string; stderr: string }) => Number(/refined: ([\d.]+) ->/.exec(run.stdout + run.stderr)?.[1]);
    // The stand-in decoder is a poor restorer: far below irn-x2's own restore of its LR.
    assert.ok(start(viaDecoder) < start(viaEncoder) - 3, `${start(viaDecoder)} vs ${start(viaEncoder)} dB`);
    assert.equal(metaOf('refined.jpg')?.model, 'irn-x2-jpeg');
  });

  it('a decoder for qualities up to 89 (lrQualityMax) is named only in LRs coded at or below 89; above, the LR names its encoder', async () => {
    const at = async (name: string, ...args: string[]) => {
      const run = await withPresets(['downscale', '-m', 'irn-x2-capped', ...args, 'in.png', name]);
      assert.equal(run.code, 0, run.stderr);
      return { model: metaOf(name)?.model, out: run.stdout + run.stderr };
    };
    assert.equal((await at('q89.jpg', '--quality', '89')).model, 'irn-x2-capped');
    assert.equal((await at('q95.jpg', '--quality', '95')).model, 'irn-x2');
    // The JPEG default quality, 90, is above it.
    assert.equal((await at('q-default.jpg')).model, 'irn-x2');
    // Above its qualities the file is irn-x2's own, byte for byte (same pixels, same name).
    assert.equal((await withPresets(['-q', 'downscale', '-m', 'irn-x2', '--quality', '95', 'in.png', 'x2-q95.jpg'])).code, 0);
    assert.deepEqual(bytesOf('q95.jpg'), bytesOf('x2-q95.jpg'));
    // A byte budget: the name follows the quality that fits.
    const big = await at('big.jpg', '--max-size', String(bytesOf('x2-q95.jpg').length));
    assert.match(big.out, /jpeg quality (9[5-9]|100):/);
    assert.equal(big.model, 'irn-x2');
    await at('q60.jpg', '--quality', '60');
    const small = await at('small.jpg', '--max-size', String(bytesOf('q60.jpg').length));
    const q = Number(/jpeg quality (\d+):/.exec(small.out)?.[1]);
    assert.ok(q >= 60 && q <= 89, `quality ${q}`);
    assert.equal(small.model, 'irn-x2-capped');
    // --refine above its qualities restores with irn-x2: the same starting PSNR as irn-x2's.
    const start = (out: string) => Number(/refined: ([\d.]+) ->/.exec(out)?.[1]);
    const capped = await at('r95.jpg', '--quality', '95', '--refine', '1');
    const x2 = await withPresets(['downscale', '-m', 'irn-x2', '--quality', '95', '--refine', '1', 'in.png', 'r95-x2.jpg']);
    assert.equal(start(capped.out), start(x2.stdout + x2.stderr));
    const low = await at('r80.jpg', '--quality', '80', '--refine', '1');
    const x2low = await withPresets(['downscale', '-m', 'irn-x2', '--quality', '80', '--refine', '1', 'in.png', 'r80-x2.jpg']);
    assert.ok(start(low.out) < start(x2low.stdout + x2low.stderr) - 3, 'at 80 the (poor) stand-in decoder restores');
    // A lossless LR counts as the highest quality: downscale to PNG and prepare name irn-x2.
    const png = await withPresets(['-q', 'downscale', '-m', 'irn-x2-capped', 'in.png', 'capped.png']);
    assert.equal(png.code, 0, png.stderr);
    assert.equal(readLrMetadata(readPng(join(work, 'capped.png')).text)?.model, 'irn-x2');
    const site = await withPresets(['-q', 'prepare', '-m', 'irn-x2-capped', 'in.png', 'capped-site']);
    assert.equal(site.code, 0, site.stderr);
    assert.equal(readLrMetadata(readPng(join(work, 'capped-site/in.lr.png')).text)?.model, 'irn-x2');
    const info = JSON.parse((await withPresets(['info', '--json', '-m', 'irn-x2-capped'])).stdout) as { lrQualityMax: number | null };
    assert.equal(info.lrQualityMax, 89);
    assert.match((await withPresets(['info', '-m', 'irn-x2-capped'])).stdout, /^lr quality +up to 89 \(irn downscale names another decoder or irn-x2 in LRs coded outside it\)/m);
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
    const at = async (name: string, ...args: string[]) => {
      const run = await inFamily(['downscale', ...args, 'in.png', name]);
      assert.equal(run.code, 0, run.stderr);
      return { model: metaOf(name)?.model, out: run.stdout + run.stderr };
    };
    assert.equal((await at('f50.jpg', '--quality', '50')).model, 'irn-x2-jpeg');
    assert.equal((await at('f89.jpg', '--quality', '89')).model, 'irn-x2-jpeg');
    assert.equal((await at('f90.jpg')).model, 'irn-x2-jpeg-q90', 'the default quality, 90');
    assert.equal((await at('f97.jpg', '--quality', '97')).model, 'irn-x2-jpeg-q90');
    assert.equal((await at('f98.jpg', '--quality', '98')).model, 'irn-x2');
    // The pixels are irn-x2's at every quality; upscale restores with the decoder named.
    assert.equal((await irn(['-q', 'downscale', '-m', 'irn-x2', '--quality', '93', 'in.png', 'x2-93.jpg'], work)).code, 0);
    const f93 = await at('f93.jpg', '--quality', '93');
    assert.equal(f93.model, 'irn-x2-jpeg-q90');
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('f93.jpg'))), decodeLr(new Uint8Array(bytesOf('x2-93.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    assert.equal((await inFamily(['-q', 'upscale', 'f93.jpg', 'f93-auto.png'])).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', join(family, 'irn-x2-jpeg-q90'), 'f93.jpg', 'f93-q90.png'], work)).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', join(family, 'irn-x2-jpeg'), 'f93.jpg', 'f93-low.png'], work)).code, 0);
    assert.deepEqual(bytesOf('f93-auto.png'), bytesOf('f93-q90.png'));
    assert.notDeepEqual(bytesOf('f93-auto.png'), bytesOf('f93-low.png'));
    // A byte budget: the name follows the quality that fits, across the two decoders.
    const big = await at('fbig.jpg', '--max-size', String(bytesOf('f93.jpg').length));
    const q = Number(/jpeg quality (\d+):/.exec(big.out)?.[1]);
    assert.ok(q >= 90 && q <= 97, `quality ${q}`);
    assert.equal(big.model, 'irn-x2-jpeg-q90');
    const small = await at('fsmall.jpg', '--max-size', String(bytesOf('f50.jpg').length));
    assert.equal(small.model, 'irn-x2-jpeg');
    // --refine restores with the decoder of the quality: its starting PSNR is that decoder's.
    const start = (out: string) => Number(/refined: ([\d.]+) ->/.exec(out)?.[1]);
    const refined = await at('fr93.jpg', '--quality', '93', '--refine', '1');
    const byName = await inFamily(['downscale', '-m', 'irn-x2-jpeg-q90', '--quality', '93', '--refine', '1', 'in.png', 'fr93-named.jpg']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(start(refined.out), start(byName.stdout + byName.stderr));
    const byLow = await inFamily(['downscale', '-m', join(family, 'irn-x2-jpeg'), '--quality', '88', '--refine', '1', 'in.png', 'fr88-path.jpg']);
    assert.notEqual(start(refined.out), start(byLow.stdout + byLow.stderr));
    // An explicit --model keeps to that decoder and its encoder: no sibling takes over.
    assert.equal((await at('fm93.jpg', '-m', 'irn-x2-jpeg', '--quality', '93')).model, 'irn-x2');
    assert.equal((await at('fm50.jpg', '-m', 'irn-x2-jpeg-q90', '--quality', '50')).model, 'irn-x2', 'below its lowest quality');
    assert.equal((await at('fm95.jpg', '-m', 'irn-x2-jpeg-q90', '--quality', '95')).model, 'irn-x2-jpeg-q90');
    // A lossless LR names irn-x2 (the lossless default does not look at decoders at all).
    assert.equal((await inFamily(['-q', 'downscale', '-m', 'irn-x2-jpeg-q90', 'in.png', 'fm-png.png'])).code, 0);
    assert.equal(readLrMetadata(readPng(join(work, 'fm-png.png')).text)?.model, 'irn-x2');
    const info = await inFamily(['info', '-m', 'irn-x2-jpeg-q90']);
    assert.match(info.stdout, /^lr quality +90 to 97 \(irn downscale names another decoder or irn-x2 in LRs coded outside it\)/m);
    const json = JSON.parse((await inFamily(['info', '--json', '-m', 'irn-x2-jpeg-q90'])).stdout) as { lrQualityMin: number | null; lrQualityMax: number | null };
    assert.deepEqual([json.lrQualityMin, json.lrQualityMax], [90, 97]);
  });

  it('refuses a decoder whose encoder preset is missing or of another scale, with one line', async () => {
    const orphan = await withPresets(['downscale', '-m', 'irn-x2-orphan', 'in.png', 'o.jpg']);
    assert.equal(failedCleanly(orphan, 1), null);
    assert.match(orphan.stderr, /restores LRs made by the preset irn-x2-nowhere, which this version does not have/);
    const scale = await withPresets(['downscale', '-m', 'irn-x2-wrong-scale', 'in.png', 'o.jpg']);
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
    const json = await withPresets(['info', '--json', '-m', 'irn-x2-jpeg']);
    assert.equal(json.code, 0, json.stderr);
    const d = JSON.parse(json.stdout) as { encoder: string | null; lrCodec: string | null; lrQualityMax: number | null };
    assert.deepEqual([d.encoder, d.lrCodec, d.lrQualityMax], ['irn-x2', 'jpeg', null]);
    const text = await withPresets(['info', '-m', 'irn-x2-jpeg']);
    assert.match(text.stdout, /^encoder +irn-x2 /m);
    assert.match(text.stdout, /^lr codec +jpeg /m);
    const plain = JSON.parse((await irn(['info', '--json'], work)).stdout) as { encoder: string | null };
    assert.equal(plain.encoder, null);
  });
});

describe('the shipped lossy presets weights/irn-x2-avif-v2, weights/irn-x2-avif, weights/irn-x4-avif, weights/irn-x2-jpeg and weights/irn-x4-jpeg', () => {
  it('irn-x2-avif-v2 is the default for an AVIF LR: its own forward makes it, its metadata names it, upscale restores with it', async () => {
    // No $IRN_WEIGHTS_DIR: the repository's weights/ only.
    const run = await irn(['downscale', 'in.png', 'ship.avif'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(metaOf('ship.avif'), { scale: 2, width: 48, height: 40, model: 'irn-x2-avif-v2' });
    const byName = await irn(['downscale', '-m', 'irn-x2-avif-v2', 'in.png', 'named.avif'], work);
    assert.equal(byName.code, 0, byName.stderr);
    assert.deepEqual(bytesOf('ship.avif'), bytesOf('named.avif'));
    // Trained end to end: its LR is its own, not irn-x2's (whose file names irn-x2).
    const plain = await irn(['downscale', '-m', 'irn-x2', 'in.png', 'plain.avif'], work);
    assert.equal(plain.code, 0, plain.stderr);
    const [own, x2] = await Promise.all([decodeAvifFile('ship.avif'), decodeAvifFile('plain.avif')]);
    assert.notDeepEqual(own, x2, 'the LR pixels are the v2 preset\'s own');
    const info = await irn(['info', '--json', '-m', 'irn-x2-avif-v2'], work);
    const d = JSON.parse(info.stdout) as { encoder: string | null; lrCodec: string | null };
    assert.deepEqual([d.encoder, d.lrCodec], [null, 'avif']);
    const up = await irn(['upscale', 'ship.avif', 'ship-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const byX2 = await irn(['upscale', '-m', 'irn-x2', 'ship.avif', 'x2-up.png'], work);
    assert.equal(byX2.code, 0, byX2.stderr);
    const a = readPng(join(work, 'ship-up.png'));
    const b = readPng(join(work, 'x2-up.png'));
    assert.deepEqual([a.width, a.height], [48, 40]);
    assert.notDeepEqual(a.data, b.data, 'restored by irn-x2-avif-v2, not by irn-x2');
  });

  it('irn-x4-avif is the default for an x4 AVIF LR; an x4 PNG LR stays irn-x4\'s', async () => {
    const run = await irn(['downscale', '--scale', '4', 'in.png', 'x4.avif'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(metaOf('x4.avif'), { scale: 4, width: 48, height: 40, model: 'irn-x4-avif' });
    const plain = await irn(['downscale', '-m', 'irn-x4', 'in.png', 'x4-plain.avif'], work);
    assert.equal(plain.code, 0, plain.stderr);
    const [own, x4] = await Promise.all([decodeAvifFile('x4.avif'), decodeAvifFile('x4-plain.avif')]);
    assert.notDeepEqual(own, x4, "the LR pixels are the preset's own");
    const info = JSON.parse((await irn(['info', '--json', '-m', 'irn-x4-avif'], work)).stdout) as { scale: number; encoder: string | null; lrCodec: string | null };
    assert.deepEqual([info.scale, info.encoder, info.lrCodec], [4, null, 'avif']);
    const up = await irn(['upscale', 'x4.avif', 'x4-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const byX4 = await irn(['upscale', '-m', 'irn-x4', 'x4.avif', 'x4-by-x4.png'], work);
    assert.equal(byX4.code, 0, byX4.stderr);
    const a = readPng(join(work, 'x4-up.png'));
    assert.deepEqual([a.width, a.height], [48, 40]);
    assert.notDeepEqual(a.data, readPng(join(work, 'x4-by-x4.png')).data, 'restored by irn-x4-avif, not by irn-x4');
    const png = await irn(['downscale', '--scale', '4', 'in.png', 'x4.png'], work);
    assert.equal(png.code, 0, png.stderr);
    assert.deepEqual(readLrMetadata(readPng(join(work, 'x4.png')).text), { scale: 4, width: 48, height: 40, model: 'irn-x4' });
  });

  it('irn-x2-jpeg (a decoder for qualities up to 89) is the default for a JPEG LR below 90; from 90 up the LR names irn-x2', async () => {
    // No $IRN_WEIGHTS_DIR: the repository's weights/ only.
    const run = await irn(['downscale', '--quality', '70', 'in.png', 'ship70.jpg'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(metaOf('ship70.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg' });
    const info = JSON.parse((await irn(['info', '--json', '-m', 'irn-x2-jpeg'], work)).stdout) as { encoder: string | null; lrCodec: string | null; lrQualityMax: number | null };
    assert.deepEqual([info.encoder, info.lrCodec, info.lrQualityMax], ['irn-x2', 'jpeg', 89]);
    // irn-x2 makes the pixels: the same LR as irn-x2's, decoded.
    const plain = await irn(['downscale', '-m', 'irn-x2', '--quality', '70', 'in.png', 'plain70.jpg'], work);
    assert.equal(plain.code, 0, plain.stderr);
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('ship70.jpg'))), decodeLr(new Uint8Array(bytesOf('plain70.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    // upscale picks the decoder by the LR's name: other pixels than irn-x2's restore.
    assert.equal((await irn(['-q', 'upscale', 'ship70.jpg', 'ship70-up.png'], work)).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', 'irn-x2', 'ship70.jpg', 'ship70-x2.png'], work)).code, 0);
    const up = readPng(join(work, 'ship70-up.png'));
    assert.deepEqual([up.width, up.height], [48, 40]);
    assert.notDeepEqual(up.data, readPng(join(work, 'ship70-x2.png')).data, 'restored by irn-x2-jpeg, not by irn-x2');
  });

  it('irn-x2-jpeg-q90 (a decoder for qualities 90 to 97, full chroma) is the default for a JPEG LR there, the default quality included; from 98 up the LR names irn-x2', async () => {
    const q90 = await irn(['downscale', 'in.png', 'ship90.jpg'], work);
    assert.equal(q90.code, 0, q90.stderr);
    assert.deepEqual(metaOf('ship90.jpg'), { scale: 2, width: 48, height: 40, model: 'irn-x2-jpeg-q90' });
    const info = JSON.parse((await irn(['info', '--json', '-m', 'irn-x2-jpeg-q90'], work)).stdout) as { encoder: string | null; lrCodec: string | null; lrQualityMin: number | null; lrQualityMax: number | null };
    assert.deepEqual([info.encoder, info.lrCodec, info.lrQualityMin, info.lrQualityMax], ['irn-x2', 'jpeg', 90, 97]);
    // irn-x2 makes the pixels; the decoder restores other pixels than irn-x2 would.
    const plain = await irn(['downscale', '-m', 'irn-x2', 'in.png', 'plain90.jpg'], work);
    assert.equal(plain.code, 0, plain.stderr);
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('ship90.jpg'))), decodeLr(new Uint8Array(bytesOf('plain90.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    assert.equal((await irn(['-q', 'upscale', 'ship90.jpg', 'ship90-up.png'], work)).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', 'irn-x2', 'ship90.jpg', 'ship90-x2.png'], work)).code, 0);
    assert.notDeepEqual(readPng(join(work, 'ship90-up.png')).data, readPng(join(work, 'ship90-x2.png')).data, 'restored by irn-x2-jpeg-q90, not by irn-x2');
    const q97 = await irn(['-q', 'downscale', '--quality', '97', 'in.png', 'ship97.jpg'], work);
    assert.equal(q97.code, 0, q97.stderr);
    assert.equal(metaOf('ship97.jpg')?.model, 'irn-x2-jpeg-q90');
    const q98 = await irn(['-q', 'downscale', '--quality', '98', 'in.png', 'ship98.jpg'], work);
    assert.equal(q98.code, 0, q98.stderr);
    assert.equal(metaOf('ship98.jpg')?.model, 'irn-x2');
  });

  it('irn-x4-jpeg (a decoder for qualities up to 79) is the default for an x4 JPEG LR below 80, irn-x4-jpeg-q80 from 80 to 89, irn-x4-jpeg-q90 from 90 to 95; above, the LR names irn-x4', async () => {
    const run = await irn(['downscale', '--scale', '4', '--quality', '60', 'in.png', 'x4q60.jpg'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(metaOf('x4q60.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4-jpeg' });
    const info = JSON.parse((await irn(['info', '--json', '-m', 'irn-x4-jpeg'], work)).stdout) as { scale: number; encoder: string | null; lrCodec: string | null; lrQualityMax: number | null };
    assert.deepEqual([info.scale, info.encoder, info.lrCodec, info.lrQualityMax], [4, 'irn-x4', 'jpeg', 79]);
    // irn-x4 makes the pixels; the decoder restores other pixels than irn-x4 would.
    const plain = await irn(['downscale', '-m', 'irn-x4', '--quality', '60', 'in.png', 'x4q60-plain.jpg'], work);
    assert.equal(plain.code, 0, plain.stderr);
    const [a, b] = await Promise.all([decodeLr(new Uint8Array(bytesOf('x4q60.jpg'))), decodeLr(new Uint8Array(bytesOf('x4q60-plain.jpg')))]);
    assert.deepEqual(a.image.data, b.image.data);
    assert.equal((await irn(['-q', 'upscale', 'x4q60.jpg', 'x4q60-up.png'], work)).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', 'irn-x4', 'x4q60.jpg', 'x4q60-x4.png'], work)).code, 0);
    const up = readPng(join(work, 'x4q60-up.png'));
    assert.deepEqual([up.width, up.height], [48, 40]);
    assert.notDeepEqual(up.data, readPng(join(work, 'x4q60-x4.png')).data, 'restored by irn-x4-jpeg, not by irn-x4');
    // MozJPEG keeps more chroma from quality 80 (4:2:2), which irn-x4-jpeg was not trained on:
    // its sibling irn-x4-jpeg-q80 was, and restores other pixels than irn-x4.
    const q80 = await irn(['downscale', '--scale', '4', '--quality', '80', 'in.png', 'x4q80.jpg'], work);
    assert.equal(q80.code, 0, q80.stderr);
    assert.deepEqual(metaOf('x4q80.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4-jpeg-q80' });
    const info80 = JSON.parse((await irn(['info', '--json', '-m', 'irn-x4-jpeg-q80'], work)).stdout) as { scale: number; encoder: string | null; lrQualityMin: number | null; lrQualityMax: number | null };
    assert.deepEqual([info80.scale, info80.encoder, info80.lrQualityMin, info80.lrQualityMax], [4, 'irn-x4', 80, 89]);
    assert.equal((await irn(['-q', 'upscale', 'x4q80.jpg', 'x4q80-up.png'], work)).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', 'irn-x4', 'x4q80.jpg', 'x4q80-x4.png'], work)).code, 0);
    assert.notDeepEqual(readPng(join(work, 'x4q80-up.png')).data, readPng(join(work, 'x4q80-x4.png')).data, 'restored by irn-x4-jpeg-q80, not by irn-x4');
    // The default quality, 90: MozJPEG keeps full chroma from there, the range of irn-x4-jpeg-q90.
    const q90 = await irn(['-q', 'downscale', '--scale', '4', 'in.png', 'x4q90.jpg'], work);
    assert.equal(q90.code, 0, q90.stderr);
    assert.deepEqual(metaOf('x4q90.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4-jpeg-q90' });
    const info90 = JSON.parse((await irn(['info', '--json', '-m', 'irn-x4-jpeg-q90'], work)).stdout) as { encoder: string | null; lrQualityMin: number | null; lrQualityMax: number | null };
    assert.deepEqual([info90.encoder, info90.lrQualityMin, info90.lrQualityMax], ['irn-x4', 90, 95]);
    assert.equal((await irn(['-q', 'upscale', 'x4q90.jpg', 'x4q90-up.png'], work)).code, 0);
    assert.equal((await irn(['-q', 'upscale', '-m', 'irn-x4', 'x4q90.jpg', 'x4q90-x4.png'], work)).code, 0);
    assert.notDeepEqual(readPng(join(work, 'x4q90-up.png')).data, readPng(join(work, 'x4q90-x4.png')).data, 'restored by irn-x4-jpeg-q90, not by irn-x4');
    const q96 = await irn(['-q', 'downscale', '--scale', '4', '--quality', '96', 'in.png', 'x4q96.jpg'], work);
    assert.equal(q96.code, 0, q96.stderr);
    assert.deepEqual(metaOf('x4q96.jpg'), { scale: 4, width: 48, height: 40, model: 'irn-x4' });
  });

  it('irn-x2-avif (the decoder) still restores the LRs that name it: irn-x2 makes them', async () => {
    const run = await irn(['downscale', '-m', 'irn-x2-avif', 'in.png', 'dec.avif'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(metaOf('dec.avif'), { scale: 2, width: 48, height: 40, model: 'irn-x2-avif' });
    const plain = await irn(['downscale', '-m', 'irn-x2', 'in.png', 'plain-x2.avif'], work);
    assert.equal(plain.code, 0, plain.stderr);
    // The same pixels and codec settings: the files differ only in the metadata's model name
    // ("irn-x2-avif" against "irn-x2", 5 bytes longer).
    assert.equal(bytesOf('dec.avif').length - bytesOf('plain-x2.avif').length, 5);
    const info = await irn(['info', '--json', '-m', 'irn-x2-avif'], work);
    const d = JSON.parse(info.stdout) as { encoder: string | null; lrCodec: string | null };
    assert.deepEqual([d.encoder, d.lrCodec], ['irn-x2', 'avif']);
    const up = await irn(['upscale', 'dec.avif', 'dec-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const byV2 = await irn(['upscale', '-m', 'irn-x2-avif-v2', 'dec.avif', 'v2-up.png'], work);
    assert.equal(byV2.code, 0, byV2.stderr);
    assert.notDeepEqual(readPng(join(work, 'dec-up.png')).data, readPng(join(work, 'v2-up.png')).data, 'restored by the decoder the LR names');
  });
});
