// `irn downscale` and `irn prepare` of JPEG originals (most photos are JPEGs): read by content,
// turned the way their EXIF Orientation shows them, named by the LR format in a folder, and a
// file that is neither PNG nor JPEG refused with one line.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { readLrMetadata } from '../../packages/core/src/image/lr-metadata.js';
import { encodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { IMAGES, irn, readPng, saveSmallModel } from './helpers.js';

let work: string;
let jpeg: Uint8Array;

/** `jpeg` with an APP1 EXIF segment right after SOI whose IFD0 holds only Orientation = `o`. */
function withOrientation(bytes: Uint8Array, o: number): Uint8Array {
  const tiff = [0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o, 0, 0, 0, 0, 0, 0, 0];
  const body = [...Buffer.from('Exif\0\0', 'latin1'), ...tiff];
  const segment = [0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  return new Uint8Array([...bytes.subarray(0, 2), ...segment, ...bytes.subarray(2)]);
}

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-jpeg-photos-test-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 4 })).dispose();
  // A 48x40 photo as a camera would store it (a JPEG at quality 92).
  jpeg = await encodeLr(readPng(join(IMAGES, 'astronaut-48x40.png')), { format: 'jpeg', quality: 92 });
  writeFileSync(join(work, 'photo.jpg'), jpeg);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('JPEG originals', () => {
  it('irn downscale reads a JPEG photo and records its size', async () => {
    const run = await irn(['-q', 'downscale', '-m', 'model', 'photo.jpg', 'lr.png'], work);
    assert.equal(run.code, 0, run.stderr);
    const lr = readPng(join(work, 'lr.png'));
    assert.deepEqual([lr.width, lr.height], [24, 20]);
    assert.deepEqual(readLrMetadata(lr.text), { scale: 2, width: 48, height: 40 });
  });

  it('turns a JPEG the way its EXIF orientation shows it (6: a quarter turn clockwise)', async () => {
    writeFileSync(join(work, 'turned.jpg'), withOrientation(jpeg, 6));
    const run = await irn(['-q', 'downscale', '-m', 'model', 'turned.jpg', 'turned-lr.png'], work);
    assert.equal(run.code, 0, run.stderr);
    const lr = readPng(join(work, 'turned-lr.png'));
    assert.deepEqual([lr.width, lr.height], [20, 24]);
    assert.deepEqual(readLrMetadata(lr.text), { scale: 2, width: 40, height: 48 });
  });

  it('takes *.jpg and *.png from a folder and names each LR by its format', async () => {
    const dir = join(work, 'photos');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.jpg'), jpeg);
    writeFileSync(join(dir, 'b.png'), readFileSync(join(IMAGES, 'coffee-33x27.png')));
    writeFileSync(join(dir, 'notes.txt'), 'not a photo');
    const png = await irn(['-q', 'downscale', '-m', 'model', 'photos', 'out-png'], work);
    assert.equal(png.code, 0, png.stderr);
    assert.deepEqual(readdirSync(join(work, 'out-png')).sort(), ['a.png', 'b.png']);
    const webp = await irn(['-q', 'downscale', '-m', 'model', '--format', 'webp', '--effort', 'fast', 'photos', 'out-webp'], work);
    assert.equal(webp.code, 0, webp.stderr);
    assert.deepEqual(readdirSync(join(work, 'out-webp')).sort(), ['a.webp', 'b.webp']);
    const prep = await irn(['-q', 'prepare', '-m', 'model', 'photos', 'site'], work);
    assert.equal(prep.code, 0, prep.stderr);
    assert.deepEqual(readdirSync(join(work, 'site')).sort(), ['a.lr.png', 'b.lr.png']);
  });

  it('refuses a file that is neither PNG nor JPEG with one line, and writes nothing', async () => {
    writeFileSync(join(work, 'fake.jpg'), 'GIF89a not really');
    const run = await irn(['downscale', '-m', 'model', 'fake.jpg', 'fake-lr.png'], work);
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, /fake\.jpg.*not a PNG, JPEG, WebP or AVIF file/);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.ok(!readdirSync(work).includes('fake-lr.png'));
  });
});
