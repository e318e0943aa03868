// `irn downscale --format webp` and `irn upscale` of WebP LRs, end to end through the CLI:
// lossless (the same pixels and the same restored image as the PNG route), the original's
// odd size restored from the XMP metadata, and hostile WebP files refused with one line.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { decodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { readLrFileInfo } from '../../packages/core/src/image/lr-formats.js';
import { IMAGES, irn, readPng, saveSmallModel } from './helpers.js';

const COFFEE = join(IMAGES, 'coffee-33x27.png');
const CHELSEA = join(IMAGES, 'chelsea-rgba-40x32.png');

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-lr-formats-test-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 5 })).dispose();
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('irn downscale --format webp', () => {
  it('writes a lossless WebP LR with the same pixels as the PNG LR, and upscale restores the same image at the odd original size', async () => {
    const [png, webp] = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', COFFEE, 'coffee-lr.png'], work),
      irn(['-q', 'downscale', '-m', 'model', '--format', 'webp', '--effort', 'max', COFFEE, 'coffee-lr.webp'], work),
    ]);
    assert.equal(png.code, 0, png.stderr);
    assert.equal(webp.code, 0, webp.stderr);
    const webpBytes = readFileSync(join(work, 'coffee-lr.webp'));
    assert.equal(webpBytes.subarray(8, 16).toString('latin1'), 'WEBPVP8X');
    const info = readLrFileInfo(webpBytes);
    assert.deepEqual([info.width, info.height], [17, 14]);
    assert.deepEqual(info.lrMetadata, { scale: 2, width: 33, height: 27 });
    const fromWebp = await decodeLr(webpBytes);
    assert.deepEqual(fromWebp.image.data, readPng(join(work, 'coffee-lr.png')).data);

    const [up1, up2] = await Promise.all([
      irn(['-q', 'upscale', '-m', 'model', 'coffee-lr.png', 'coffee-up-png.png'], work),
      irn(['-q', 'upscale', '-m', 'model', 'coffee-lr.webp', 'coffee-up-webp.png'], work),
    ]);
    assert.equal(up1.code, 0, up1.stderr);
    assert.equal(up2.code, 0, up2.stderr);
    const a = readPng(join(work, 'coffee-up-png.png'));
    const b = readPng(join(work, 'coffee-up-webp.png'));
    assert.deepEqual([b.width, b.height], [33, 27]);
    assert.deepEqual(b.data, a.data);
  });

  it('writes WebP at --effort fast unless told (max takes tens of seconds on a photo), PNG at max', async () => {
    const runs = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', COFFEE, 'eff-default.webp'], work),
      irn(['-q', 'downscale', '-m', 'model', '--effort', 'fast', COFFEE, 'eff-fast.webp'], work),
      irn(['-q', 'downscale', '-m', 'model', COFFEE, 'eff-default.png'], work),
      irn(['-q', 'downscale', '-m', 'model', '--effort', 'max', COFFEE, 'eff-max.png'], work),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readFileSync(join(work, 'eff-default.webp')), readFileSync(join(work, 'eff-fast.webp')));
    assert.deepEqual(readFileSync(join(work, 'eff-default.png')), readFileSync(join(work, 'eff-max.png')));
  });

  it('takes the format from the output name, names WebP outputs in a folder .webp, and upscale reads a folder of both', async () => {
    const src = join(work, 'photos');
    mkdirSync(src);
    copyFileSync(COFFEE, join(src, 'coffee.png'));
    copyFileSync(CHELSEA, join(src, 'chelsea.png'));
    const one = await irn(['-q', 'downscale', '-m', 'model', '--effort', 'fast', COFFEE, 'by-name.webp'], work);
    assert.equal(one.code, 0, one.stderr);
    const fast = readFileSync(join(work, 'by-name.webp'));
    assert.equal(fast.subarray(0, 4).toString('latin1'), 'RIFF');
    // --effort fast: another search (other bytes), the same pixels.
    assert.notDeepEqual(fast, readFileSync(join(work, 'coffee-lr.webp')));
    assert.deepEqual((await decodeLr(fast)).image.data, readPng(join(work, 'coffee-lr.png')).data);
    const dir = await irn(['-q', 'downscale', '-m', 'model', '--format', 'webp', 'photos', 'lr'], work);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(readdirSync(join(work, 'lr')).sort(), ['chelsea.webp', 'coffee.webp']);
    // The RGBA photo keeps its alpha through WebP.
    assert.equal((await decodeLr(readFileSync(join(work, 'lr/chelsea.webp')))).image.channels, 4);
    copyFileSync(join(work, 'coffee-lr.png'), join(work, 'lr/coffee-png.png'));
    const up = await irn(['-q', 'upscale', '-m', 'model', 'lr', 'restored'], work);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(readdirSync(join(work, 'restored')).sort(), ['chelsea.png', 'coffee-png.png', 'coffee.png']);
    assert.deepEqual(readPng(join(work, 'restored/chelsea.png')).width, 40);
    assert.deepEqual(readPng(join(work, 'restored/coffee.png')).data, readPng(join(work, 'restored/coffee-png.png')).data);
  });
});

describe('irn downscale --format jpeg', () => {
  it('writes a lossy JPEG LR with the metadata in a comment, which upscale restores at the odd original size', async () => {
    const [q80, q30] = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', '--format', 'jpeg', '--quality', '80', COFFEE, 'coffee-q80.jpg'], work),
      irn(['-q', 'downscale', '-m', 'model', '--quality', '30', COFFEE, 'coffee-q30.jpeg'], work),
    ]);
    assert.equal(q80.code, 0, q80.stderr);
    assert.equal(q30.code, 0, q30.stderr);
    const bytes = readFileSync(join(work, 'coffee-q80.jpg'));
    const info = readLrFileInfo(bytes);
    assert.deepEqual([info.format, info.width, info.height], ['jpeg', 17, 14]);
    assert.deepEqual(info.lrMetadata, { scale: 2, width: 33, height: 27 });
    // The quality reaches the encoder (on an LR this small, size is not monotonic in quality).
    const q30bytes = readFileSync(join(work, 'coffee-q30.jpeg'));
    assert.equal(readLrFileInfo(q30bytes).format, 'jpeg');
    assert.notDeepEqual(q30bytes, bytes);
    const up = await irn(['-q', 'upscale', '-m', 'model', 'coffee-q80.jpg', 'coffee-q80-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const hr = readPng(join(work, 'coffee-q80-up.png'));
    assert.deepEqual([hr.width, hr.height], [33, 27]);
    // Close to the lossless route's result, not equal: the LR was quantised by the codec.
    const exact = readPng(join(work, 'coffee-up-png.png'));
    let se = 0;
    for (let i = 0; i < hr.data.length; i++) se += (hr.data[i] - exact.data[i]) ** 2;
    const db = 10 * Math.log10(hr.data.length / se);
    assert.ok(db > 25 && Number.isFinite(db), `JPEG route vs lossless route: ${db.toFixed(1)} dB`);
  });

  it('refuses --quality with a lossless format, and alpha in a JPEG, with one line', async () => {
    const [lossless, alpha, range] = await Promise.all([
      irn(['downscale', '-m', 'model', '--format', 'webp', '--quality', '80', COFFEE, 'q.webp'], work),
      irn(['downscale', '-m', 'model', CHELSEA, 'chelsea.jpg'], work),
      irn(['downscale', '-m', 'model', '--quality', '101', COFFEE, 'q.jpg'], work),
    ]);
    assert.equal(lossless.code, 2);
    assert.equal(lossless.stderr, 'irn: error: --quality only applies to --format jpeg (webp is lossless)\n');
    assert.equal(alpha.code, 1);
    assert.match(alpha.stderr, /chelsea-rgba-40x32\.png: JPEG has no alpha channel; write images with transparency as png or webp\n$/);
    assert.equal(range.code, 2);
    assert.match(range.stderr, /The quality must be a whole number from 1 to 100/);
    assert.deepEqual(readdirSync(work).filter((n) => /^(q\.webp|q\.jpg|chelsea\.jpg)$/.test(n)), []);
  });

  it('refuses a JPEG claiming more pixels than the limit before decoding it', async () => {
    const head = [0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xea, 0x60, 0xea, 0x60, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0];
    writeFileSync(join(work, 'huge.jpg'), new Uint8Array(head));
    const run = await irn(['upscale', '-m', 'model', 'huge.jpg', 'huge-jpg.png'], work);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^irn: error: huge\.jpg: the image \(60000x60000\) is 3,600,000,000 pixels, above the limit of 100,000,000 pixels \(raise it with --limit pixels=N\)\n$/);
  });
});

describe('irn upscale of hostile WebP files', () => {
  /** RIFF/WEBP around one VP8X header and a VP8L header claiming `w x h`, no image data. */
  function claiming(w: number, h: number): Uint8Array {
    const file = new Uint8Array(12 + 18 + 14);
    const view = new DataView(file.buffer);
    file.set(new TextEncoder().encode('RIFF'), 0);
    view.setUint32(4, file.length - 8, true);
    file.set(new TextEncoder().encode('WEBPVP8X'), 8);
    view.setUint32(16, 10, true);
    view.setUint32(24, (w - 1) | ((h - 1 & 0xff) << 24), true);
    file[28] = ((h - 1) >> 8) & 0xff;
    file[29] = (h - 1) >> 16;
    file.set(new TextEncoder().encode('VP8L'), 30);
    view.setUint32(34, 5, true);
    file[38] = 0x2f;
    view.setUint32(39, ((w - 1) | ((h - 1) << 14)) >>> 0, true);
    return file;
  }

  it('refuses a WebP claiming more pixels than the limit before decoding it, and a lying RIFF, with one line each', async () => {
    const dir = join(work, 'hostile');
    mkdirSync(dir);
    writeFileSync(join(dir, 'huge.webp'), claiming(16384, 16384));
    const lying = new Uint8Array(readFileSync(join(work, 'coffee-lr.webp')));
    new DataView(lying.buffer).setUint32(4, lying.length * 4, true);
    writeFileSync(join(dir, 'lying.webp'), lying);
    writeFileSync(join(dir, 'cut.webp'), readFileSync(join(work, 'coffee-lr.webp')).subarray(0, 40));
    const runs = await Promise.all(['huge', 'lying', 'cut'].map((n) => irn(['upscale', '-m', 'model', `hostile/${n}.webp`, `${n}.png`], work)));
    const expected = [
      /^irn: error: hostile\/huge\.webp: the image \(16384x16384\) is 268,435,456 pixels, above the limit of 100,000,000 pixels \(raise it with --limit pixels=N\)\n$/,
      /^irn: error: hostile\/lying\.webp: the file is cut short: its RIFF header claims \d+ bytes, the file has \d+\n$/,
      /^irn: error: hostile\/cut\.webp: the file is cut short: its RIFF header claims \d+ bytes, the file has 40\n$/,
    ];
    runs.forEach((run, i) => {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, expected[i]);
    });
    // Raised past the claim, the (missing) bitstream reaches the decoder, which refuses it.
    const raised = await irn(['--limit', 'pixels=3e8', 'upscale', '-m', 'model', 'hostile/huge.webp', 'huge.png'], work);
    assert.equal(raised.code, 1);
    assert.match(raised.stderr, /^irn: error: hostile\/huge\.webp: its WebP bitstream cannot be decoded \(.*\)\n$/);
    assert.deepEqual(readdirSync(work).filter((n) => /^(huge|lying|cut)\.png$/.test(n)), []);
  });
});
