import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { avifFile } from '../testing/avif-fixtures.js';
import { riff, vp8lHeader } from '../testing/fixtures.js';
import { AVIF_SPEED, AVIF_SPEED_MAX, AVIF_SUBSAMPLE, DEFAULT_AVIF_QUALITY, DEFAULT_JPEG_QUALITY, lrEncoderOptions, lrEncoderVariants } from './lr-encoders.js';
import { readLrFileInfo, withLrMetadata } from './lr-formats.js';
import { decodePng } from './png.js';
import { encodePng } from './png-write.js';

/** SOI, a frame header (SOF0) of `w x h`, SOS, a few bytes of scan data (a bit per 8x8 block), EOI. */
function jpeg(w: number, h: number): Uint8Array {
  return new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0x12, 0x34, 0x56, 0x78, 0xff, 0xd9]);
}

const META = { scale: 2, width: 23, height: 19, model: 'irn-x2-avif-v2' };

describe('LR encoder settings', () => {
  it('gives the settings the presets were trained with, per format', () => {
    assert.deepEqual(lrEncoderOptions('avif'), { quality: DEFAULT_AVIF_QUALITY, speed: AVIF_SPEED, subsample: AVIF_SUBSAMPLE });
    assert.deepEqual(lrEncoderOptions('avif', 25), { quality: 25, speed: 6, subsample: 3 }, '4:4:4 at speed 6');
    assert.deepEqual(lrEncoderOptions('avif', 25, 'fast'), { quality: 25, speed: 6, subsample: 3 });
    assert.deepEqual(lrEncoderOptions('avif', 25, 'max'), { quality: 25, speed: AVIF_SPEED_MAX, subsample: 3 }, 'max: the slower speed');
    assert.ok(AVIF_SPEED_MAX < AVIF_SPEED, 'max searches more (a lower libavif speed)');
    assert.deepEqual(lrEncoderOptions('jpeg'), { quality: DEFAULT_JPEG_QUALITY });
    assert.deepEqual(lrEncoderOptions('jpeg', 1), { quality: 1 });
    assert.deepEqual(lrEncoderOptions('webp'), { lossless: 1, method: 6, quality: 100, exact: 1 });
    assert.deepEqual(lrEncoderOptions('webp', undefined, 'max'), lrEncoderOptions('webp'), 'WebP: max unless told');
    assert.deepEqual(lrEncoderOptions('webp', 40, 'fast'), { lossless: 1, method: 4, quality: 50, exact: 1 }, 'lossless: the quality is not used');
  });

  it('refuses qualities out of the format range and PNG', () => {
    assert.throws(() => lrEncoderOptions('jpeg', 0), /^RangeError: the JPEG quality must be a whole number from 1 to 100, got 0$/);
    assert.throws(() => lrEncoderOptions('jpeg', 90.5), /JPEG quality .* got 90\.5$/);
    assert.throws(() => lrEncoderOptions('avif', 101), /^RangeError: the AVIF quality must be a whole number from 0 to 100, got 101$/);
    assert.throws(() => lrEncoderOptions('avif', Number.NaN), /AVIF quality/);
    assert.throws(() => lrEncoderOptions('png'), /png is not written by a Squoosh codec/);
  });
});

describe('lrEncoderVariants', () => {
  it('JPEG: the progressive settings, then the same as baseline; one setting for the other formats', () => {
    assert.deepEqual(lrEncoderVariants('jpeg', 60), [{ quality: 60 }, { quality: 60, baseline: true }]);
    assert.deepEqual(lrEncoderVariants('jpeg')[0], lrEncoderOptions('jpeg'), 'the first is lrEncoderOptions');
    assert.deepEqual(lrEncoderVariants('avif', 25, 'max'), [lrEncoderOptions('avif', 25, 'max')]);
    assert.deepEqual(lrEncoderVariants('webp'), [lrEncoderOptions('webp')]);
    assert.throws(() => lrEncoderVariants('jpeg', 0), /JPEG quality must be a whole number from 1 to 100, got 0$/);
    assert.throws(() => lrEncoderVariants('png'), /png is not written by a Squoosh codec/);
  });
});

describe('withLrMetadata', () => {
  it('writes the metadata where each format keeps it, and it reads back', () => {
    const png = encodePng({ width: 2, height: 1, channels: 3, data: Float32Array.of(1, 0, 0, 0, 1, 0) });
    const withPng = withLrMetadata(png, META);
    const decoded = decodePng(withPng);
    assert.equal(decoded.text.irn, '{"scale":2,"width":23,"height":19,"model":"irn-x2-avif-v2"}');
    assert.deepEqual(Array.from(decoded.data), [1, 0, 0, 0, 1, 0], 'the pixels are untouched');
    for (const [format, file] of [
      ['webp', riff([['VP8L', vp8lHeader(12, 10)]])],
      ['jpeg', jpeg(12, 10)],
      ['avif', avifFile({ width: 12, height: 10 })],
    ] as const) {
      const info = readLrFileInfo(withLrMetadata(file, META));
      assert.equal(info.format, format);
      assert.deepEqual([info.width, info.height], [12, 10], format);
      assert.deepEqual(info.lrMetadata, META, format);
    }
  });

  it('refuses a file that already has irn metadata, and one in no LR format', () => {
    const once = withLrMetadata(jpeg(12, 10), META);
    assert.throws(() => withLrMetadata(once, { scale: 2, width: 24, height: 20 }), /^Error: withLrMetadata: the JPEG file already has irn metadata$/);
    const png = withLrMetadata(encodePng({ width: 1, height: 1, channels: 3, data: Float32Array.of(0, 0, 0) }), META);
    assert.throws(() => withLrMetadata(png, META), /the PNG file already has irn metadata/);
    assert.throws(() => withLrMetadata(new TextEncoder().encode('GIF89a...'), META), /not a PNG, WebP, JPEG or AVIF file/);
  });
});
