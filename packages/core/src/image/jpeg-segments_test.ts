import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import jpeg from 'jpeg-js';
import { LimitError } from '../limits.js';
import { decodeLr, encodeLr } from './lr-codecs.js';
import { readLrFileInfo } from './lr-formats.js';
import { JpegFormatError, readJpegInfo, withJpegComment } from './jpeg-segments.js';

/** A smooth RGB test image (JPEG-friendly, so a lossy round trip stays close). */
function testImage(width: number, height: number) {
  const data = new Float32Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      data[i] = 0.5 + 0.4 * Math.sin(x / 5);
      data[i + 1] = (x + y) / (width + height);
      data[i + 2] = 0.3 + 0.3 * Math.cos(y / 4);
    }
  }
  return { width, height, channels: 3 as const, data };
}

/** SOI, a frame header (SOF0) claiming `w x h`, SOS with nothing after it. */
function claiming(w: number, h: number): Uint8Array {
  return new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]);
}

describe('JPEG LR images', () => {
  it('a MozJPEG LR carries its metadata in a COM segment that other decoders skip', async () => {
    const img = testImage(37, 23);
    const meta = { scale: 2, width: 73, height: 45 };
    const bytes = await encodeLr(img, { format: 'jpeg', quality: 90, metadata: meta });
    const info = readJpegInfo(bytes);
    assert.deepEqual([info.width, info.height, info.components], [37, 23, 3]);
    assert.equal(new TextDecoder().decode(info.comments[0]), 'irn {"scale":2,"width":73,"height":45}');
    // After the JFIF APP0 segment, which must come first.
    assert.equal(String.fromCharCode(...bytes.subarray(6, 10)), 'JFIF');
    assert.deepEqual(readLrFileInfo(bytes).lrMetadata, meta);
    const ours = await decodeLr(bytes);
    assert.deepEqual([ours.format, ours.image.width, ours.image.height, ours.image.channels], ['jpeg', 37, 23, 3]);
    assert.deepEqual(ours.lrMetadata, meta);
    // Another decoder (jpeg-js) reads the same image: the comment changed nothing.
    const other = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true });
    let worst = 0;
    for (let i = 0; i < 37 * 23; i++) {
      for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(other.data[4 * i + c] / 255 - ours.image.data[3 * i + c]));
    }
    assert.ok(worst <= 3 / 255, `decoders differ by ${worst * 255} levels`);
    // Lossy but close at quality 90 on a smooth image.
    let err = 0;
    for (let i = 0; i < img.data.length; i++) err += (img.data[i] - ours.image.data[i]) ** 2;
    assert.ok(10 * Math.log10(img.data.length / err) > 35, 'PSNR above 35 dB');
    // Higher quality, more bytes.
    assert.ok((await encodeLr(img, { format: 'jpeg', quality: 50 })).length < bytes.length - 4 - 40);
  });

  it('refuses alpha and a bad quality', async () => {
    await assert.rejects(encodeLr({ width: 2, height: 2, channels: 4, data: new Float32Array(16) }, { format: 'jpeg' }), /JPEG has no alpha channel/);
    await assert.rejects(encodeLr(testImage(4, 4), { format: 'jpeg', quality: 0 }), /quality must be a whole number from 1 to 100/);
  });

  it('checks the pixels a file claims before decoding, and refuses lying segments with one line', async () => {
    const bomb = claiming(60000, 60000);
    assert.throws(() => readLrFileInfo(bomb), (e: Error) => e instanceof LimitError && /\(60000x60000\) is 3,600,000,000 pixels/.test(e.message));
    await assert.rejects(decodeLr(bomb), LimitError);
    const good = await encodeLr(testImage(8, 8), { format: 'jpeg' });
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 10), /claims 16 bytes, more than the 6 left/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xfe, 0, 2), /cut short before its image data/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xfe, 0xff, 0xff, 1, 2), /COM|0xfffe at byte 2 claims 65535 bytes/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2), /before any frame header/],
      [claiming(0, 10), /frame header says 0x10/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xd9), /ends \(EOI\) before any image data/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 4, 8, 0), /frame header has 2 bytes/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xfe, 0, 2, 0x12), /no marker at byte 6/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => readJpegInfo(bytes), (e: Error) => e instanceof JpegFormatError && message.test(e.message) && !e.message.includes('\n'));
    }
    assert.throws(() => withJpegComment(good, new Uint8Array(70000)), /at most 65533 bytes/);
  });
});
