import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { encode as fastEncode } from 'fast-png';
import { decodePng, PngFormatError } from './png.js';
import { encodePng } from './png-write.js';
import { insertAfterHeader, makeChunk } from './png-chunks.js';
import type { RasterImage } from './raster.js';

const FIXTURES = new URL('../../test-fixtures/images/', import.meta.url);
const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, FIXTURES)));

/** Deterministic pseudo-random integers in [0, max] (a small LCG; seeds are fixed). */
function levels(n: number, max: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % (max + 1);
  });
}

function imageOf(width: number, height: number, channels: RasterImage['channels'], max: number, seed: number): RasterImage {
  const data = Float32Array.from(levels(width * height * channels, max, seed), (k) => k / max);
  // Always include both ends of the range.
  data[0] = 0;
  data[data.length - 1] = 1;
  return { width, height, channels, data };
}

describe('encodePng / decodePng round trip', () => {
  for (const bitDepth of [8, 16] as const) {
    for (const channels of [1, 2, 3, 4] as const) {
      it(`is exact for ${channels} channel(s) at ${bitDepth} bits`, () => {
        const max = 2 ** bitDepth - 1;
        const img = imageOf(13, 7, channels, max, 100 * bitDepth + channels);
        const back = decodePng(encodePng(img, { bitDepth }));
        assert.equal(back.width, 13);
        assert.equal(back.height, 7);
        assert.equal(back.channels, channels);
        assert.equal(back.bitDepth, bitDepth);
        assert.deepEqual(back.text, {});
        assert.deepEqual(back.data, img.data);
      });
    }
  }

  it('defaults to 8 bits and rounds to the nearest level, clamping to [0, 1]', () => {
    const data = Float32Array.of(-0.5, 1.7, 0.49 / 255, 0.51 / 255, 254.6 / 255, 1 / 3);
    const back = decodePng(encodePng({ width: 6, height: 1, channels: 1, data }));
    assert.equal(back.bitDepth, 8);
    assert.deepEqual(Array.from(back.data, (v) => Math.round(v * 255)), [0, 255, 0, 1, 255, 85]);
  });

  it('maps every k/255 to k', () => {
    const data = Float32Array.from({ length: 256 }, (_, k) => k / 255);
    const back = decodePng(encodePng({ width: 256, height: 1, channels: 1, data }));
    assert.deepEqual(back.data, data);
  });

  it('refuses NaN and malformed images', () => {
    assert.throws(() => encodePng({ width: 1, height: 1, channels: 1, data: Float32Array.of(NaN) }), /NaN/);
    assert.throws(() => encodePng({ width: 2, height: 1, channels: 1, data: Float32Array.of(0) }), /2 values/);
    assert.throws(() => encodePng(imageOf(1, 1, 1, 255, 1), { bitDepth: 4 as 8 }), /bit depth must be 8 or 16/);
  });
});

describe('PNG text chunks', () => {
  it('round trip Latin-1 (tEXt) and other Unicode text (iTXt)', () => {
    const text = {
      irn: JSON.stringify({ scale: 2, width: 33, height: 27 }),
      Comment: 'café au lait',
      Title: 'upscaled → 東京 🐈',
      Empty: '',
    };
    const bytes = encodePng(imageOf(3, 2, 3, 255, 7), { text });
    const back = decodePng(bytes);
    assert.deepEqual(back.text, text);
    const ascii = new TextDecoder('latin1').decode(bytes);
    assert.match(ascii, /tEXtirn\0\{"scale":2/);
    assert.match(ascii, /iTXtTitle\0/);
  });

  it('rejects keywords PNG does not allow', () => {
    const img = imageOf(1, 1, 1, 255, 1);
    assert.throws(() => encodePng(img, { text: { '': 'x' } }), /keyword "" must be 1 to 79/);
    assert.throws(() => encodePng(img, { text: { ['k'.repeat(80)]: 'x' } }), /keyword/);
    assert.throws(() => encodePng(img, { text: { 'é→': 'x' } }), /keyword/);
  });
});

describe('decodePng on other encoders\' files', () => {
  // Golden values: /usr/bin/python3 packages/core/scripts/make-image-fixtures.py (Pillow + numpy).
  const golden = JSON.parse(readFileSync(new URL('fixtures.json', FIXTURES), 'utf8')) as Record<
    string,
    { width: number; height: number; channels: number; bitDepth: number; sampleSum: number; firstPixel: number[] }
  >;
  for (const [name, g] of Object.entries(golden)) {
    it(`reads ${name}`, () => {
      const img = decodePng(fixture(name));
      assert.equal(img.width, g.width);
      assert.equal(img.height, g.height);
      assert.equal(img.channels, g.channels);
      assert.equal(img.bitDepth, g.bitDepth);
      // Palette colours are 8-bit whatever the index depth.
      const max = name.includes('palette') ? 255 : 2 ** g.bitDepth - 1;
      let sum = 0;
      for (const v of img.data) sum += Math.round(v * max);
      assert.equal(sum, g.sampleSum);
      assert.deepEqual(Array.from(img.data.subarray(0, img.channels), (v) => Math.round(v * max)), g.firstPixel);
    });
  }

  it('expands a palette without tRNS to RGB', () => {
    const palette = [
      [255, 0, 0],
      [0, 128, 255],
      [10, 20, 30],
    ];
    const bytes = fastEncode({ width: 3, height: 1, channels: 1, depth: 8, data: Uint8Array.of(2, 0, 1), palette });
    const img = decodePng(bytes);
    assert.equal(img.channels, 3);
    assert.deepEqual(Array.from(img.data, (v) => Math.round(v * 255)), [10, 20, 30, 255, 0, 0, 0, 128, 255]);
  });

  for (const depth of [2, 4] as const) {
    it(`unpacks ${depth}-bit grey`, () => {
      const max = 2 ** depth - 1;
      const values = levels(5 * 3, max, depth); // 5 wide: rows end inside a byte
      const perByte = 8 / depth;
      const rowBytes = Math.ceil(5 / perByte);
      const packed = new Uint8Array(rowBytes * 3);
      values.forEach((v, i) => {
        const x = i % 5;
        const y = Math.floor(i / 5);
        packed[y * rowBytes + Math.floor(x / perByte)] |= v << (8 - depth * ((x % perByte) + 1));
      });
      const img = decodePng(fastEncode({ width: 5, height: 3, channels: 1, depth, data: packed }));
      assert.equal(img.bitDepth, depth);
      assert.deepEqual(Array.from(img.data, (v) => Math.round(v * max)), values);
    });
  }

  it('turns a tRNS colour key into alpha', () => {
    const grey = fastEncode({ width: 4, height: 1, channels: 1, depth: 8, data: Uint8Array.of(0, 7, 200, 7) });
    const img = decodePng(insertAfterHeader(grey, [makeChunk('tRNS', Uint8Array.of(0, 7))]));
    assert.equal(img.channels, 2);
    assert.deepEqual(Array.from(img.data, (v) => Math.round(v * 255)), [0, 255, 7, 0, 200, 255, 7, 0]);
  });

  it('reads Adam7-interlaced 8-bit images', () => {
    const img = imageOf(11, 9, 3, 255, 3);
    const u8 = Uint8Array.from(img.data, (v) => Math.round(v * 255));
    const bytes = fastEncode({ width: 11, height: 9, channels: 3, depth: 8, data: u8 }, { interlace: 'Adam7' });
    assert.deepEqual(decodePng(bytes).data, img.data);
  });
});

describe('decodePng region', () => {
  const cut = (img: RasterImage, x: number, y: number, w: number, h: number): number[] => {
    const out: number[] = [];
    for (let j = y; j < y + h; j++) out.push(...img.data.subarray(((j * img.width) + x) * img.channels, ((j * img.width) + x + w) * img.channels));
    return out;
  };
  const keyed = insertAfterHeader(fastEncode({ width: 6, height: 3, channels: 1, depth: 8, data: Uint8Array.from({ length: 18 }, (_, i) => (i % 3 === 0 ? 7 : i * 9)) }), [makeChunk('tRNS', Uint8Array.of(0, 7))]);
  const interlaced = fastEncode({ width: 11, height: 9, channels: 3, depth: 8, data: Uint8Array.from(levels(11 * 9 * 3, 255, 5)) }, { interlace: 'Adam7' });
  const files: Array<[string, Uint8Array]> = [
    ['8-bit RGB', fixture('coffee-33x27.png')],
    ['RGBA', fixture('chelsea-rgba-40x32.png')],
    ['16-bit grey', fixture('camera-grey16-32x24.png')],
    ['1-bit grey', fixture('camera-1bit-21x13.png')],
    ['palette', fixture('coffee-palette-24x20.png')],
    ['grey with a tRNS colour key', keyed],
    ['Adam7-interlaced', interlaced],
  ];
  for (const [what, bytes] of files) {
    it(`keeps exactly the rectangle of the whole image: ${what}`, () => {
      const whole = decodePng(bytes);
      const r = { x: 1, y: 1, width: whole.width - 3, height: whole.height - 1 };
      const sizes: string[] = [];
      const part = decodePng(bytes, { region: (w, h) => (sizes.push(`${w}x${h}`), r) });
      assert.deepEqual(sizes, [`${whole.width}x${whole.height}`]);
      assert.deepEqual([part.width, part.height, part.channels, part.bitDepth], [r.width, r.height, whole.channels, whole.bitDepth]);
      assert.deepEqual(Array.from(part.data), cut(whole, r.x, r.y, r.width, r.height));
    });
  }

  it('refuses a rectangle outside the image, and checks the pixel limit before asking', () => {
    const bytes = fixture('coffee-33x27.png');
    assert.throws(() => decodePng(bytes, { region: () => ({ x: 30, y: 0, width: 4, height: 1 }) }), /^RangeError: region: 4x1 at \(30, 0\) is not whole pixels inside the 33x27 image$/);
    let asked = false;
    assert.throws(() => decodePng(bytes, { limits: { pixels: 33 * 27 - 1 }, region: () => ((asked = true), null) }), /above the limit/);
    assert.equal(asked, false);
  });
});

describe('decodePng errors', () => {
  const good = fixture('astronaut-48x40.png');

  it('says when a file is not a PNG', () => {
    assert.throws(() => decodePng(new Uint8Array(0)), /^PngFormatError: not a PNG file \(the file is empty\)$/);
    assert.throws(() => decodePng(new TextEncoder().encode('hello, world')), /not a PNG file$/);
    assert.throws(() => decodePng(Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 16, 74, 70, 73, 70)), /not a PNG file \(it looks like a JPEG\)/);
    assert.throws(() => decodePng(new TextEncoder().encode('GIF89a......')), /looks like a GIF/);
  });

  it('says when a PNG is truncated, wherever it is cut', () => {
    for (const length of [4, 8, 20, 33, 100, Math.floor(good.length / 2), good.length - 13, good.length - 1]) {
      assert.throws(() => decodePng(good.subarray(0, length)), (e: Error) => {
        assert.ok(e instanceof PngFormatError, String(e));
        assert.match(e.message, /^truncated PNG: /);
        return true;
      }, `cut at ${length}`);
    }
  });

  it('says when image data is damaged', () => {
    const bad = good.slice();
    bad[bad.length - 40] ^= 0xff; // inside the last IDAT chunk
    assert.throws(() => decodePng(bad), /^PngFormatError: corrupt PNG: the checksum of the IDAT chunk at byte \d+ does not match$/);
  });

  it('refuses interlaced images with fewer than 8 bits per sample', () => {
    const bytes = fastEncode({ width: 8, height: 1, channels: 1, depth: 8, data: new Uint8Array(8) });
    const header = bytes.slice();
    header[8 + 8 + 8] = 1; // bit depth
    header[8 + 8 + 12] = 1; // interlace method
    // Recompute the IHDR checksum so the only problem is the unsupported combination.
    const ihdr = makeChunk('IHDR', header.subarray(16, 29));
    const patched = new Uint8Array(bytes.length);
    patched.set(bytes.subarray(0, 8));
    patched.set(ihdr, 8);
    patched.set(bytes.subarray(33), 33);
    assert.throws(() => decodePng(patched), /unsupported PNG: interlaced images with 1-bit samples/);
  });
});
