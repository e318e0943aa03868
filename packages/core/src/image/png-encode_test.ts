import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decode, encode } from 'fast-png';
import { inflate } from 'pako';
import { makeTextChunk, readChunks } from './png-chunks.js';
import { encodePngSamples, type PngEffort, type PngSamples } from './png-encode.js';

const IMAGES = fileURLToPath(new URL('../../test-fixtures/images/', import.meta.url));

/** A seeded image with smooth areas, edges and noise, so that every filter gets chosen somewhere. */
function testImage(width: number, height: number, channels: PngSamples['channels'], depth: 8 | 16, seed = 1): PngSamples {
  const max = depth === 8 ? 255 : 65535;
  const data = depth === 8 ? new Uint8Array(width * height * channels) : new Uint16Array(width * height * channels);
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < channels; c++) {
        const smooth = ((x + y * (c + 1)) / (width + height * 4)) * max;
        const edge = x > width / 2 ? max / 3 : 0;
        const noise = y % 3 === 0 ? rand() * max * 0.2 : 0;
        data[(y * width + x) * channels + c] = Math.min(max, Math.round(smooth + edge + noise));
      }
    }
  }
  return { width, height, channels, depth, data };
}

/** The filter-type byte of each row, read back from the file's image data. */
function rowFilters(png: Uint8Array, height: number): number[] {
  const idat = readChunks(png).filter((c) => c.type === 'IDAT');
  const raw = inflate(idat[0].data);
  const stride = raw.length / height;
  return Array.from({ length: height }, (_, y) => raw[y * stride]);
}

describe('encodePngSamples', () => {
  for (const depth of [8, 16] as const) {
    for (const channels of [1, 2, 3, 4] as const) {
      for (const effort of ['fast', 'max'] as PngEffort[]) {
        it(`writes ${channels}-channel ${depth}-bit images that another decoder reads back exactly (${effort})`, () => {
          const img = testImage(37, 23, channels, depth);
          const png = encodePngSamples(img, [], effort);
          const back = decode(png);
          assert.equal(back.width, 37);
          assert.equal(back.height, 23);
          assert.equal(back.channels, channels);
          assert.equal(back.depth, depth);
          assert.deepEqual(Array.from(back.data), Array.from(img.data));
        });
      }
    }
  }

  it('chooses filters row by row (adaptive), not one for the whole image', () => {
    const img = testImage(64, 48, 3, 8);
    const filters = new Set(rowFilters(encodePngSamples(img, [], 'fast'), 48));
    assert.ok(filters.size >= 2, `only filter(s) ${[...filters]} used`);
  });

  it('is smaller than fast-png (no filters, level 3) on a photo, and max is never larger than fast', () => {
    const photo = decode(readFileSync(join(IMAGES, 'astronaut-48x40.png')));
    const img: PngSamples = { width: photo.width, height: photo.height, channels: photo.channels as 3, depth: 8, data: photo.data as Uint8Array };
    const plain = encode({ ...img }).length;
    const fast = encodePngSamples(img, [], 'fast').length;
    const max = encodePngSamples(img, [], 'max').length;
    assert.ok(fast < plain * 0.9, `fast ${fast} bytes against fast-png's ${plain}`);
    assert.ok(max <= fast, `max ${max} > fast ${fast}`);
  });

  it('puts extra chunks right after IHDR, and the file is well formed', () => {
    const png = encodePngSamples(testImage(5, 4, 3, 8), [makeTextChunk('irn', '{"scale":2}')]);
    assert.deepEqual(readChunks(png).map((c) => c.type), ['IHDR', 'tEXt', 'IDAT', 'IEND']);
  });

  it('refuses sizes and sample arrays that do not match', () => {
    const img = testImage(4, 4, 3, 8);
    assert.throws(() => encodePngSamples({ ...img, width: 0 }), /1 to 2\^31 - 1 pixels on each side, got 0x4/);
    assert.throws(() => encodePngSamples({ ...img, width: 5 }), /5x4x3 needs 60 samples, got 48/);
    assert.throws(() => encodePngSamples({ ...img, depth: 16 }), /16-bit samples must be a Uint16Array/);
  });

  it('is as small as OptiPNG -o7 on a photo (when optipng is installed)', (t) => {
    try {
      execFileSync('optipng', ['-v'], { stdio: 'ignore' });
    } catch {
      t.skip('optipng is not installed');
      return;
    }
    const photo = decode(readFileSync(join(IMAGES, 'astronaut-48x40.png')));
    const img: PngSamples = { width: photo.width, height: photo.height, channels: photo.channels as 3, depth: 8, data: photo.data as Uint8Array };
    const ours = encodePngSamples(img, [], 'max');
    const out = execFileSync('sh', ['-c', 'd=$(mktemp -d) && cat > $d/a.png && optipng -quiet -o7 -out $d/b.png $d/a.png && cat $d/b.png && rm -r $d'], { input: ours });
    assert.ok(ours.length <= out.length, `ours ${ours.length} bytes, optipng ${out.length}`);
  });
});
