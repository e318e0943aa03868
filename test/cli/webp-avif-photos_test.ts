// `irn downscale` and `irn prepare` of WebP and AVIF originals (read by content through the LR
// decoders, libwebp and libavif): an AVIF turned and mirrored as its irot and imir boxes say,
// as browsers show it (test/browser/avif-lr.test.ts checks the same files against Chromium),
// a clap crop refused with one line, grid AVIFs read, and an output that would replace its
// own input refused.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { readLrMetadata } from '../../packages/core/src/image/lr-metadata.js';
import { LIBAVIF_GRID_RGB, LIBAVIF_QUAD, LIBAVIF_QUAD_CLAP, LIBAVIF_QUAD_IROT1_IMIR0 } from '../../packages/core/src/testing/avif-fixtures.js';
import { encodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { readPhoto } from '../../packages/cli/src/cli/files.js';
import { IMAGES, irn, readPng, saveSmallModel } from './helpers.js';

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-webp-avif-photos-test-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 4 })).dispose();
  writeFileSync(join(work, 'photo.webp'), await encodeLr(readPng(join(IMAGES, 'astronaut-48x40.png')), { format: 'webp', effort: 'fast' }));
  writeFileSync(join(work, 'quad.avif'), LIBAVIF_QUAD);
  writeFileSync(join(work, 'turned.avif'), LIBAVIF_QUAD_IROT1_IMIR0);
  writeFileSync(join(work, 'cropped.avif'), LIBAVIF_QUAD_CLAP);
  writeFileSync(join(work, 'grid.avif'), LIBAVIF_GRID_RGB);
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

/** The dominant colour of the pixel at (x, y): 'r', 'g', 'b' or 'w'. */
function colourAt(img: { width: number; channels: number; data: Float32Array }, x: number, y: number): string {
  const at = (y * img.width + x) * img.channels;
  const [r, g, b] = [img.data[at], img.data[at + 1], img.data[at + 2]];
  if (r > 0.5 && g > 0.5 && b > 0.5) return 'w';
  return r > 0.5 ? 'r' : g > 0.5 ? 'g' : b > 0.5 ? 'b' : '?';
}

describe('WebP and AVIF originals', () => {
  it('readPhoto: an AVIF shown turned a quarter anticlockwise, then top and bottom exchanged', async () => {
    const plain = await readPhoto(join(work, 'quad.avif'));
    assert.deepEqual([plain.width, plain.height], [96, 64]);
    const corners = (img: typeof plain) => [colourAt(img, 4, 4), colourAt(img, img.width - 5, 4), colourAt(img, 4, img.height - 5), colourAt(img, img.width - 5, img.height - 5)].join('');
    assert.equal(corners(plain), 'rgbw');
    const turned = await readPhoto(join(work, 'turned.avif'));
    assert.deepEqual([turned.width, turned.height], [64, 96]);
    // Turned: top left green, top right white, bottom left red, bottom right blue; then
    // mirrored top to bottom: red, blue, green, white (the stored image transposed).
    assert.equal(corners(turned), 'rbgw');
    for (let y = 0; y < 96; y += 7) for (let x = 0; x < 64; x += 5) assert.equal(turned.data[(y * 64 + x) * 3], plain.data[(x * 96 + y) * 3]);
  });

  it('irn downscale reads WebP and AVIF photos, turned, grids too, and records their size', async () => {
    for (const [input, size] of [['photo.webp', [48, 40]], ['turned.avif', [64, 96]], ['grid.avif', [128, 128]]] as const) {
      const out = `${input}.lr.png`;
      const run = await irn(['-q', 'downscale', '-m', 'model', input, out], work);
      assert.equal(run.code, 0, `${input}: ${run.stderr}`);
      const lr = readPng(join(work, out));
      assert.deepEqual([lr.width, lr.height], [size[0] / 2, size[1] / 2], input);
      assert.deepEqual(readLrMetadata(lr.text), { scale: 2, width: size[0], height: size[1] }, input);
    }
  });

  it('refuses a clap crop with one line, and writes nothing', async () => {
    const run = await irn(['downscale', '-m', 'model', 'cropped.avif', 'cropped-lr.png'], work);
    assert.equal(run.code, 1, run.stderr);
    assert.equal(run.stderr, 'irn: error: cropped.avif: it is cropped by a clean aperture (clap box), which is not applied here: crop and save it without one\n');
    assert.ok(!readdirSync(work).includes('cropped-lr.png'));
  });

  it('takes *.webp and *.avif from a folder; an LR in the photo\'s own format beside it is refused, not written over it', async () => {
    const dir = join(work, 'mixed');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.webp'), readFileSync(join(work, 'photo.webp')));
    writeFileSync(join(dir, 'b.avif'), LIBAVIF_QUAD);
    const run = await irn(['-q', 'downscale', '-m', 'model', 'mixed', 'out'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(readdirSync(join(work, 'out')).sort(), ['a.png', 'b.png']);
    const before = readFileSync(join(dir, 'a.webp'));
    const own = await irn(['-q', 'downscale', '-m', 'model', '--format', 'webp', 'mixed/a.webp', 'mixed/'], work);
    assert.equal(own.code, 2, own.stderr);
    assert.equal(own.stderr, 'irn: error: the output mixed/a.webp would overwrite the input mixed/a.webp\n');
    assert.ok(readFileSync(join(dir, 'a.webp')).equals(before), 'the photo is untouched');
  });
});
