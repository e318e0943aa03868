// `irn downscale --format webp|jpeg|avif` and `irn upscale` of those LRs, end to end through
// the CLI: WebP lossless (the same pixels and the same restored image as the PNG route), JPEG
// and AVIF lossy (close to it), the original's odd size restored from the metadata, and
// hostile WebP, JPEG and AVIF files refused with one line.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { decodeLr, encodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { readLrFileInfo } from '../../packages/core/src/image/lr-formats.js';
import { avifFile } from '../../packages/core/src/testing/avif-fixtures.js';
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
    assert.equal(lossless.stderr, 'irn: error: --quality only applies to --format jpeg or avif (webp is lossless)\n');
    assert.equal(alpha.code, 1);
    assert.match(alpha.stderr, /chelsea-rgba-40x32\.png: JPEG has no alpha channel; write images with transparency as png or webp\n$/);
    assert.equal(range.code, 2);
    assert.match(range.stderr, /The quality must be a whole number from 0 to 100 \(jpeg: 1 to 100\)/);
    const zero = await irn(['downscale', '-m', 'model', '--quality', '0', COFFEE, 'q.jpg'], work);
    assert.equal(zero.code, 2);
    assert.equal(zero.stderr, 'irn: error: the JPEG quality must be from 1 to 100 (0 is for avif)\n');
    assert.deepEqual(readdirSync(work).filter((n) => /^(q\.webp|q\.jpg|chelsea\.jpg)$/.test(n)), []);
  });

  it('refuses a JPEG claiming more pixels than the limit before decoding it', async () => {
    const head = [0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xea, 0x60, 0xea, 0x60, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0];
    writeFileSync(join(work, 'huge.jpg'), new Uint8Array(head));
    const run = await irn(['upscale', '-m', 'model', 'huge.jpg', 'huge-jpg.png'], work);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^irn: error: huge\.jpg: the image \(60000x60000\) is 3,600,000,000 pixels, above the limit of 100,000,000 pixels \(raise it with --limit pixels=N\)\n$/);
  });

  it('refuses a JPEG cut short, from its size, and one libjpeg calls corrupt, with one line (libjpeg prints nothing), -q too', async () => {
    // A 200x200 frame and 6 bytes of image data: it decoded to grey, exit 0, before.
    const head = [0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 200, 0, 200, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0];
    writeFileSync(join(work, 'cut.jpg'), new Uint8Array([...head, 0, 0, 0, 0, 0xff, 0xd9]));
    // A real LR with the second half of its image data gone: enough bytes for its size.
    const data = new Float32Array(48 * 48 * 3).map((_, i) => ((i * 7919) % 251) / 250);
    const real = await encodeLr({ width: 48, height: 48, channels: 3, data }, { format: 'jpeg' });
    assert.equal(readLrFileInfo(real).width, 48);
    const firstScan = real.findIndex((b, i) => b === 0xff && real[i + 1] === 0xda);
    const cut = firstScan + Math.floor((real.length - firstScan) / 2);
    writeFileSync(join(work, 'damaged.jpg'), new Uint8Array([...real.subarray(0, cut), 0xff, 0xd9]));
    const runs = await Promise.all([
      irn(['upscale', '-m', 'model', 'cut.jpg', 'cut-jpg.png'], work),
      irn(['-q', 'upscale', '-m', 'model', 'cut.jpg', 'cut-jpg.png'], work),
      irn(['upscale', '-m', 'model', 'damaged.jpg', 'damaged-jpg.png'], work),
      irn(['-q', 'upscale', '-m', 'model', 'damaged.jpg', 'damaged-jpg.png'], work),
    ]);
    for (const [i, run] of runs.entries()) {
      assert.equal(run.code, 1, run.stderr);
      assert.equal(run.stderr.split('\n').length, 2, run.stderr);
      assert.match(
        run.stderr,
        i < 2
          ? /^irn: error: cut\.jpg: truncated JPEG: a 200x200 image needs at least 79 bytes of image data \(a bit per 8x8 block\), the file holds 6\n$/
          : /^irn: error: damaged\.jpg: its JPEG data is corrupt \((Corrupt JPEG data|Premature end of JPEG file)[^\n]*\)\n$/,
      );
    }
    assert.deepEqual(readdirSync(work).filter((n) => /^(cut|damaged)-jpg\.png$/.test(n)), []);
  });

  it('refuses a progressive JPEG of 10,000 empty scans (a decoder would take each over 10000x10000 pixels) at once', async () => {
    const sof = [0xff, 0xc2, 0, 11, 8, 0x27, 0x10, 0x27, 0x10, 1, 1, 0x11, 0];
    const sos = [0xff, 0xda, 0, 8, 1, 1, 1, 63, 0, 0];
    writeFileSync(join(work, 'scans.jpg'), new Uint8Array([0xff, 0xd8, ...sof, ...new Array<number[]>(10_000).fill(sos).flat(), 0xff, 0xd9]));
    const start = performance.now();
    const run = await irn(['-q', 'upscale', '-m', 'model', 'scans.jpg', 'scans-jpg.png'], work);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /^irn: error: scans\.jpg: it has more than 500 scans \(SOS markers\)[^\n]*\n$/);
    assert.ok(performance.now() - start < 30_000, 'refused from its segments, not by decoding');
    assert.equal(existsSync(join(work, 'scans-jpg.png')), false);
  });
});

/** Y (BT.601) PSNR in dB of two RGB rasters. */
function psnrY(a: { data: Float32Array }, b: { data: Float32Array }): number {
  let se = 0;
  const y = (d: Float32Array, i: number) => 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  for (let i = 0; i < a.data.length; i += 3) se += (y(a.data, i) - y(b.data, i)) ** 2;
  return 10 * Math.log10(a.data.length / 3 / se);
}

describe('irn downscale --format avif', () => {
  it('writes a lossy AVIF LR with the metadata in a uuid box, which upscale restores at the odd original size', async () => {
    const [q80, byName] = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', '--format', 'avif', '--quality', '80', COFFEE, 'coffee-q80.avif'], work),
      irn(['-q', 'downscale', '-m', 'model', COFFEE, 'coffee-default.avif'], work),
    ]);
    assert.equal(q80.code, 0, q80.stderr);
    assert.equal(byName.code, 0, byName.stderr);
    const bytes = readFileSync(join(work, 'coffee-q80.avif'));
    assert.equal(bytes.subarray(4, 12).toString('latin1'), 'ftypavif');
    const info = readLrFileInfo(bytes);
    assert.deepEqual([info.format, info.width, info.height], ['avif', 17, 14]);
    assert.deepEqual(info.lrMetadata, { scale: 2, width: 33, height: 27 });
    // The format from the name, at the default quality (another quality: other bytes).
    const byNameBytes = readFileSync(join(work, 'coffee-default.avif'));
    assert.equal(readLrFileInfo(byNameBytes).format, 'avif');
    assert.notDeepEqual(byNameBytes, bytes);
    // The LR is close to the PNG LR's pixels (lossy, 4:2:0).
    const lr = await decodeLr(bytes);
    const pngLr = readPng(join(work, 'coffee-lr.png'));
    assert.ok(psnrY(lr.image, pngLr) > 30, `AVIF LR vs PNG LR: ${psnrY(lr.image, pngLr).toFixed(1)} dB`);
    const up = await irn(['-q', 'upscale', '-m', 'model', 'coffee-q80.avif', 'coffee-q80-avif-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const hr = readPng(join(work, 'coffee-q80-avif-up.png'));
    assert.deepEqual([hr.width, hr.height], [33, 27]);
    const exact = readPng(join(work, 'coffee-up-png.png'));
    const db = psnrY(hr, exact);
    assert.ok(db > 25 && Number.isFinite(db), `AVIF route vs lossless route: ${db.toFixed(1)} dB Y`);
  });

  it('writes AVIF at --effort fast (libavif speed 6) unless told; --effort max searches more (speed 4): other bytes, the same metadata', async () => {
    const runs = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', '--quality', '70', COFFEE, 'eff-default.avif'], work),
      irn(['-q', 'downscale', '-m', 'model', '--quality', '70', '--effort', 'fast', COFFEE, 'eff-fast.avif'], work),
      irn(['-q', 'downscale', '-m', 'model', '--quality', '70', '--effort', 'max', COFFEE, 'eff-max.avif'], work),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const [byDefault, fast, max] = ['eff-default.avif', 'eff-fast.avif', 'eff-max.avif'].map((f) => readFileSync(join(work, f)));
    assert.deepEqual(byDefault, fast);
    assert.notDeepEqual(max, fast, 'max coded the same bytes as fast');
    // The same LR pixels in, at speed 4: what the in-page recipe (lrEncoderOptions) writes.
    const lr = await decodeLr(readFileSync(join(work, 'eff-max.avif')));
    assert.deepEqual(lr.lrMetadata, { scale: 2, width: 33, height: 27 });
    const png = readPng(join(work, 'coffee-lr.png'));
    const again = await encodeLr(png, { format: 'avif', quality: 70, effort: 'max', metadata: { scale: 2, width: 33, height: 27 } });
    assert.deepEqual(Buffer.from(again), max, 'encodeLr at effort max is not what --effort max wrote');
  });

  it('--refine starts from the AVIF round trip, not from the lossless LR', async () => {
    const runs = await Promise.all([
      irn(['downscale', '-m', 'model', '--refine', '1', COFFEE, 'refine-lossless.png'], work),
      irn(['downscale', '-m', 'model', '--format', 'avif', '--quality', '5', '--refine', '1', COFFEE, 'refine-q5.avif'], work),
    ]);
    const initial = runs.map((run) => {
      assert.equal(run.code, 0, run.stderr);
      // The per-file report goes to stderr (stdout is for data).
      const m = /refined: ([\d.]+) ->/.exec(run.stderr);
      assert.ok(m != null, run.stderr);
      return Number(m[1]);
    });
    // Quality 5 loses detail that the lossless LR keeps: the restore it starts from is worse.
    assert.ok(initial[1] < initial[0] - 1, `initial PSNR: lossless ${initial[0]}, AVIF q5 ${initial[1]}`);
  });

  it('--max-size and --max-bpp: the highest quality whose file fits, the same bytes as that --quality; refuses a budget nothing fits, writing nothing', async () => {
    // The budget halfway between the smallest and the largest file of this LR.
    const ends = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', '--quality', '0', COFFEE, 'fit-q0.avif'], work),
      irn(['-q', 'downscale', '-m', 'model', '--quality', '100', COFFEE, 'fit-q100.avif'], work),
    ]);
    for (const run of ends) assert.equal(run.code, 0, run.stderr);
    const [lo, hi] = ['fit-q0.avif', 'fit-q100.avif'].map((f) => readFileSync(join(work, f)).length);
    const budget = Math.floor((lo + hi) / 2);
    const run = await irn(['downscale', '-m', 'model', '--max-size', String(budget), COFFEE, 'fit.avif'], work);
    assert.equal(run.code, 0, run.stderr);
    const m = /avif quality (\d+): (\d+) bytes \(([\d.]+) bpp, budget (\d+)\)/.exec(run.stderr);
    assert.ok(m != null, run.stderr);
    const [q, size] = [Number(m[1]), Number(m[2])];
    const file = readFileSync(join(work, 'fit.avif'));
    assert.equal(file.length, size);
    assert.ok(size <= budget && Number(m[4]) === budget, `${size} bytes for a budget of ${budget}`);
    // The file is that quality's file (metadata and all), and one step up does not fit.
    const [same, above] = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', '--quality', String(q), COFFEE, 'fit-same.avif'], work),
      irn(['-q', 'downscale', '-m', 'model', '--quality', String(q + 1), COFFEE, 'fit-above.avif'], work),
    ]);
    assert.deepEqual([same.code, above.code], [0, 0], same.stderr + above.stderr);
    assert.deepEqual(readFileSync(join(work, 'fit-same.avif')), file);
    assert.ok(readFileSync(join(work, 'fit-above.avif')).length > budget, `quality ${q + 1} also fits ${budget} bytes`);
    assert.deepEqual(readLrFileInfo(file).lrMetadata, { scale: 2, width: 33, height: 27 });
    // --max-bpp: bits per pixel of the 33x27 photo; JPEG's lowest quality is 1.
    const bpp = ((lo + hi) / 2) * 8 / (33 * 27);
    const byBpp = await irn(['downscale', '-m', 'model', '--max-bpp', bpp.toFixed(4), COFFEE, 'fit-bpp.avif'], work);
    assert.equal(byBpp.code, 0, byBpp.stderr);
    const want = Math.floor((Number(bpp.toFixed(4)) * 33 * 27) / 8);
    assert.ok(byBpp.stderr.includes(`budget ${want})`) && readFileSync(join(work, 'fit-bpp.avif')).length <= want, byBpp.stderr);
    // Nothing fits: one line naming the smallest file, no output written.
    const tooSmall = await irn(['downscale', '-m', 'model', '--max-size', String(lo - 1), COFFEE, 'fit-none.avif'], work);
    assert.equal(tooSmall.code, 1);
    assert.match(tooSmall.stderr, new RegExp(`--max-size ${lo - 1} bytes is too small: the smallest avif LR \\(quality 0\\) is ${lo} bytes`));
    assert.equal(existsSync(join(work, 'fit-none.avif')), false);
    const jpeg = await irn(['downscale', '-m', 'model', '--max-bpp', '0.01', COFFEE, 'fit-none.jpg'], work);
    assert.equal(jpeg.code, 1);
    assert.match(jpeg.stderr, /--max-bpp 0\.01 \(1 bytes for 33x27\) is too small: the smallest jpeg LR \(quality 1\) is \d+ bytes/);
    const zero = await irn(['downscale', '-m', 'model', '--max-bpp', '0.001', COFFEE, 'fit-none.avif'], work);
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /--max-bpp 0\.001 \(0 bytes for 33x27\) is too small for any avif file/);
    // Usage: not with --quality, not for a lossless format, not a size.
    for (const [args, error] of [
      [['--max-size', '1k', '--quality', '50', COFFEE, 'u.avif'], /--quality or a budget/],
      [['--max-bpp', '0.3', COFFEE, 'u.png'], /only apply to --format jpeg or avif \(png is lossless\)/],
      [['--max-size', '10x', COFFEE, 'u.avif'], /not a size in bytes: "10x"/],
      [['--max-bpp', '-1', COFFEE, 'u.avif'], /bits per pixel above 0/],
    ] as const) {
      const r = await irn(['downscale', '-m', 'model', ...args], work);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, error);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
  });

  it('refuses two budgets, a --max-bpp above 48 naming the range, and --effort with jpeg (which has one setting), before any work', async () => {
    for (const [args, error] of [
      [['--max-size', '1k', '--max-bpp', '0.3', COFFEE, 'u.avif'], /^irn: error: give one budget: --max-size or --max-bpp, not both$/],
      [['--max-bpp', '50', COFFEE, 'u.avif'], /The budget must be a number of bits per pixel above 0 and at most 48 \(16-bit RGB\), e\.g\. 0\.3\.$/],
      [['--effort', 'max', '--format', 'jpeg', COFFEE, 'u.jpg'], /^irn: error: --effort does not apply to jpeg \(it is for png, webp and avif\)$/],
      [['--effort', 'fast', COFFEE, 'u.jpeg'], /^irn: error: --effort does not apply to jpeg/],
    ] as const) {
      const r = await irn(['downscale', '-m', 'model', ...args], work);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trim(), error);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(readdirSync(work).filter((n) => n.startsWith('u.')), []);
  });

  it('--max-size with JPEG on a tiny LR: no 128-byte step at quality 70 (8-bit tables), so the budget of quality 70 fits at about that quality', async () => {
    const sizes = new Map<number, number>();
    await Promise.all(
      [1, 69, 70].map(async (q) => {
        const r = await irn(['-q', 'downscale', '-m', 'model', '--quality', String(q), COFFEE, `jfit-q${q}.jpg`], work);
        assert.equal(r.code, 0, r.stderr);
        sizes.set(q, readFileSync(join(work, `jfit-q${q}.jpg`)).length);
      }),
    );
    // Progressive only, quality 69 was 128 bytes bigger than 70 (16-bit tables), quality 1 too,
    // and this budget found nothing that fits.
    // Now (the smaller of progressive and baseline) there is no such step, only a byte or two.
    assert.ok(sizes.get(1)! < sizes.get(70)! - 50 && Math.abs(sizes.get(69)! - sizes.get(70)!) < 16, JSON.stringify([...sizes]));
    const budget = sizes.get(70)!;
    const run = await irn(['downscale', '-m', 'model', '--max-size', String(budget), COFFEE, 'jfit.jpg'], work);
    assert.equal(run.code, 0, run.stderr);
    const m = /jpeg quality (\d+): (\d+) bytes/.exec(run.stderr);
    assert.ok(m != null, run.stderr);
    const q = Number(m[1]);
    // Quality 70 fits. A byte of wobble (quality 69 is 1 byte bigger than 70 here) stopped the
    // bisection at 68; fitQuality now tries the qualities above a near miss and finds 70.
    assert.ok(q >= 70 && readFileSync(join(work, 'jfit.jpg')).length <= budget, `quality ${q} for a budget of ${budget} bytes`);
    if (q < 100) {
      const above = await irn(['-q', 'downscale', '-m', 'model', '--quality', String(q + 1), COFFEE, 'jfit-above.jpg'], work);
      assert.equal(above.code, 0, above.stderr);
      assert.ok(readFileSync(join(work, 'jfit-above.jpg')).length > budget, `quality ${q + 1} also fits ${budget} bytes`);
    }
  });

  it('names AVIF outputs in a folder .avif, keeps alpha, and upscale reads a folder of them', async () => {
    const src = join(work, 'photos-avif');
    mkdirSync(src);
    copyFileSync(COFFEE, join(src, 'coffee.png'));
    copyFileSync(CHELSEA, join(src, 'chelsea.png'));
    const dir = await irn(['-q', 'downscale', '-m', 'model', '--format', 'avif', '--quality', '70', 'photos-avif', 'lr-avif'], work);
    assert.equal(dir.code, 0, dir.stderr);
    assert.deepEqual(readdirSync(join(work, 'lr-avif')).sort(), ['chelsea.avif', 'coffee.avif']);
    assert.equal((await decodeLr(readFileSync(join(work, 'lr-avif/chelsea.avif')))).image.channels, 4);
    const up = await irn(['-q', 'upscale', '-m', 'model', 'lr-avif', 'restored-avif'], work);
    assert.equal(up.code, 0, up.stderr);
    assert.deepEqual(readdirSync(join(work, 'restored-avif')).sort(), ['chelsea.png', 'coffee.png']);
    assert.deepEqual([readPng(join(work, 'restored-avif/chelsea.png')).width, readPng(join(work, 'restored-avif/coffee.png')).height], [40, 27]);
  });

  it('refuses a fake .avif, a cut one, one whose ispe claims more pixels than the limit, and one whose ispe is smaller than its AV1 frame, before decoding, with one line each', async () => {
    const dir = join(work, 'hostile-avif');
    mkdirSync(dir);
    writeFileSync(join(dir, 'fake.avif'), new TextEncoder().encode('GIF89a, not an AVIF at all'));
    writeFileSync(join(dir, 'cut.avif'), readFileSync(join(work, 'coffee-q80.avif')).subarray(0, 300));
    writeFileSync(join(dir, 'huge.avif'), avifFile({ width: 60000, height: 60000 }));
    const names = ['fake', 'cut', 'huge'];
    const runs = await Promise.all(names.map((n) => irn(['upscale', '-m', 'model', `hostile-avif/${n}.avif`, `${n}-avif.png`], work)));
    const expected = [
      /^irn: error: hostile-avif\/fake\.avif: it is not a PNG, WebP, JPEG or AVIF image\n$/,
      /^irn: error: hostile-avif\/cut\.avif: the "mdat" box at byte \d+ claims \d+ bytes, more than the \d+ left in the file\n$/,
      /^irn: error: hostile-avif\/huge\.avif: the image \(60000x60000\) is 3,600,000,000 pixels, above the limit of 100,000,000 pixels \(raise it with --limit pixels=N\)\n$/,
    ];
    runs.forEach((run, i) => {
      assert.equal(run.code, 1, run.stderr);
      assert.match(run.stderr, expected[i]);
    });
    // Raised past the LR's claim, the restored size (from the headers) is refused first...
    const restored = await irn(['--limit', 'pixels=4e9', 'upscale', '-m', 'model', 'hostile-avif/huge.avif', 'huge-avif.png'], work);
    assert.equal(restored.code, 1);
    assert.match(restored.stderr, /^irn: error: hostile-avif\/huge\.avif: the restored image \(120000x120000\) is 14,400,000,000 pixels, above the limit of 4,000,000,000 pixels/);
    // ...and raised past that too, the (missing) AV1 data reaches the decoder, which refuses it.
    const raised = await irn(['--limit', 'pixels=2e10', 'upscale', '-m', 'model', 'hostile-avif/huge.avif', 'huge-avif.png'], work);
    assert.equal(raised.code, 1);
    assert.match(raised.stderr, /^irn: error: hostile-avif\/huge\.avif: its AVIF image data cannot be decoded \(.*\)\n$/);
    // A real 17x14 LR whose ispe says 8x7 (56 pixels, under the limit of 100; the frame is
    // 238): refused from the AV1 sequence header, before the decoder allocates the frame.
    const liar = new Uint8Array(readFileSync(join(work, 'coffee-q80.avif')));
    const ispe = Buffer.from(liar).indexOf('ispe');
    new DataView(liar.buffer).setUint32(ispe + 8, 8);
    new DataView(liar.buffer).setUint32(ispe + 12, 7);
    writeFileSync(join(dir, 'liar.avif'), liar);
    const lying = await irn(['--limit', 'pixels=100', 'upscale', '-m', 'model', 'hostile-avif/liar.avif', 'liar-avif.png'], work);
    assert.equal(lying.code, 1, lying.stderr);
    assert.match(lying.stderr, /^irn: error: hostile-avif\/liar\.avif: its AV1 sequence header says 17x14, its ispe box 8x7: its frames may be larger than the size it claims\n$/);
    assert.deepEqual(readdirSync(work).filter((n) => /-avif\.png$/.test(n)), []);
  });
});

describe('an output file named for what it holds', () => {
  it('refuses, before any work, an output file whose extension names another format than the one written, or none irn writes', async () => {
    const lr = await irn(['-q', 'downscale', '-m', 'model', COFFEE, 'named-lr.png'], work);
    assert.equal(lr.code, 0, lr.stderr);
    for (const [args, error] of [
      [['downscale', '--format', 'jpeg', COFFEE, 'n.png'], /^irn: error: --format jpeg writes a jpeg file, but the output n\.png is named as png: name it n\.jpg, or leave out --format$/],
      [['downscale', '--format', 'png', COFFEE, 'n.webp'], /^irn: error: --format png writes a png file, but the output n\.webp is named as webp: name it n\.png, or leave out --format$/],
      [['downscale', COFFEE, 'n.tif'], /^irn: error: the output n\.tif ends in \.tif, not an LR format irn writes: name it n\.png, \.webp, \.jpg \(\.jpeg\) or \.avif$/],
      [['downscale', '--format', 'avif', COFFEE, 'n.tif'], /^irn: error: the output n\.tif ends in \.tif, not an LR format irn writes: name it n\.avif$/],
      [['downscale', COFFEE, 'n'], /^irn: error: the output n has no extension: name the file n\.png \(a png LR\), or n\/ for a folder$/],
      [['downscale', COFFEE, '-'], /^irn: error: the output -: irn writes no standard output; name a file or a folder \(\.\/- for a file named -\)$/],
      [['upscale', 'named-lr.png', 'n.jpg'], /^irn: error: irn upscale writes PNG images, but the output n\.jpg ends in \.jpg: name it n\.png$/],
      [['upscale', 'named-lr.png', 'n'], /^irn: error: the output n has no extension: name the file n\.png \(irn upscale writes PNG\), or n\/ for a folder$/],
      [['upscale', 'named-lr.png', '-'], /^irn: error: the output -: irn writes no standard output/],
    ] as const) {
      const r = await irn([args[0], '-m', 'model', ...args.slice(1)], work);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr.trim(), error);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    assert.deepEqual(readdirSync(work).filter((n) => /^(n|n\..*|-)$/.test(n)), [], 'a refused run wrote its output');
    // Upper case is the same extension; a folder output takes the format's extension as before.
    const upper = await irn(['-q', 'downscale', '-m', 'model', '--format', 'jpeg', COFFEE, 'N.JPEG'], work);
    assert.equal(upper.code, 0, upper.stderr);
    const folder = await irn(['-q', 'downscale', '-m', 'model', '--format', 'jpeg', COFFEE, 'named-out/'], work);
    assert.equal(folder.code, 0, folder.stderr);
    assert.deepEqual(readdirSync(join(work, 'named-out')), ['coffee-33x27.jpg']);
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
    // Raised past the LR's claim, the restored size (from the headers) is refused first...
    const restored = await irn(['--limit', 'pixels=3e8', 'upscale', '-m', 'model', 'hostile/huge.webp', 'huge.png'], work);
    assert.equal(restored.code, 1);
    assert.match(restored.stderr, /^irn: error: hostile\/huge\.webp: the restored image \(32768x32768\) is 1,073,741,824 pixels, above the limit of 300,000,000 pixels/);
    // ...and raised past that too, the (missing) bitstream reaches the decoder, which refuses it.
    const raised = await irn(['--limit', 'pixels=2e9', 'upscale', '-m', 'model', 'hostile/huge.webp', 'huge.png'], work);
    assert.equal(raised.code, 1);
    assert.match(raised.stderr, /^irn: error: hostile\/huge\.webp: its WebP bitstream cannot be decoded \(.*\)\n$/);
    assert.deepEqual(readdirSync(work).filter((n) => /^(huge|lying|cut)\.png$/.test(n)), []);
  });
});
