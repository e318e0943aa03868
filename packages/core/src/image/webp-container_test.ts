import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { lrMetadataXmp, readLrFileInfo, readLrMetadataXmp } from './lr-formats.js';
import { readWebpInfo, WebpFormatError, withWebpXmp } from './webp-container.js';
import { riff, vp8lHeader, vp8x } from '../testing/fixtures.js';


describe('WebP container', () => {
  it('reads the size from VP8L and VP8 headers', () => {
    assert.deepEqual(readWebpInfo(riff([['VP8L', vp8lHeader(37, 21)]])), { width: 37, height: 21, alpha: false, lossless: true, xmp: null });
    // A VP8 key frame: tag, start code 9d 01 2a, 14-bit width and height.
    const vp8 = new Uint8Array([0x10, 0, 0, 0x9d, 0x01, 0x2a, 300 & 0xff, 300 >> 8, 200, 0]);
    assert.deepEqual(readWebpInfo(riff([['VP8 ', vp8]])), { width: 300, height: 200, alpha: false, lossless: false, xmp: null });
  });

  it('adds an XMP chunk in a VP8X file that reads back, replacing any it had', () => {
    // A lossless image with alpha, headers only: the container is rewritten, the bitstream
    // copied (that libwebp still decodes the result: @irn/cli's lr-codecs_test).
    const plain = riff([['VP8L', vp8lHeader(13, 9, true)]]);
    assert.equal(readWebpInfo(plain).xmp, null);
    const xmp = lrMetadataXmp({ scale: 4, width: 49, height: 35 });
    const ext = withWebpXmp(plain, xmp);
    const info = readWebpInfo(ext);
    assert.equal(String.fromCharCode(...ext.subarray(12, 16)), 'VP8X');
    assert.equal(ext[20] & 0x14, 0x14, 'alpha and XMP flags set');
    assert.deepEqual([info.width, info.height, info.alpha], [13, 9, true]);
    assert.deepEqual(readLrMetadataXmp(info.xmp!), { scale: 4, width: 49, height: 35 });
    // Replacing, not adding: one XMP chunk.
    const again = withWebpXmp(ext, lrMetadataXmp({ scale: 2, width: 25, height: 17 }));
    assert.equal(again.length, ext.length);
    assert.deepEqual(readLrFileInfo(again).lrMetadata, { scale: 2, width: 25, height: 17 });
  });

  it('ignores XMP from other tools and refuses a malformed irn:lr', () => {
    const other = new TextEncoder().encode('<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:title>irn</dc:title></x:xmpmeta>');
    assert.equal(readLrMetadataXmp(other), null);
    const bad = new TextEncoder().encode('<rdf:Description irn:lr="{&quot;scale&quot;:2}"/>');
    assert.throws(() => readLrMetadataXmp(bad), /its "irn" XMP metadata should hold/);
  });

  it('refuses truncated and lying files with one line, before reading past the end', () => {
    const good = riff([['VP8L', vp8lHeader(8, 8)]]);
    const cases: [Uint8Array, RegExp][] = [
      [new TextEncoder().encode('RIFF\0\0\0\0WEBX'), /not a WebP file/],
      [good.subarray(0, good.length - 3), /cut short: its RIFF header claims 26 bytes, the file has 23/],
      [riff([['VP8L', vp8lHeader(8, 8)]], 0xfffffff0), /cut short/],
      // A chunk claiming more than the file holds (size near 2^32: no wrap-around).
      [(() => {
        const f = riff([['VP8L', vp8lHeader(8, 8)]]);
        new DataView(f.buffer).setUint32(16, 0xfffffffc, true);
        return f;
      })(), /"VP8L" chunk at byte 12 claims 4294967292 bytes, more than the 6 left/],
      [riff([['VP8L', new Uint8Array([0x2e, 0, 0, 0, 0])]]), /no valid lossless header/],
      [riff([['ICCP', new Uint8Array(4)]]), /first chunk is "ICCP"/],
      [riff([['VP8X', vp8x(8, 8)]]), /not followed by an image/],
      [riff([['VP8X', vp8x(8, 8)], ['VP8L', vp8lHeader(9, 8)]]), /VP8X header says 8x8 but its image is 9x8/],
      [riff([['VP8X', vp8x(8, 8, 0x02)], ['ANIM', new Uint8Array(6)]]), /animated WebP/],
      [riff([['VP8X', new Uint8Array(4)]]), /VP8X chunk has 4 bytes, not 10/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => readWebpInfo(bytes), (e: Error) => e instanceof WebpFormatError && message.test(e.message) && !e.message.includes('\n'));
    }
  });

  it('checks the pixels a file claims against the limit before any decoder runs', () => {
    // 16384 x 16384 (268 M pixels) in 35 bytes: no image data at all behind the headers.
    const bomb = riff([['VP8X', vp8x(16384, 16384)], ['VP8L', vp8lHeader(16384, 16384)]]);
    assert.throws(() => readLrFileInfo(bomb), (e: Error) => e instanceof LimitError && /the image \(16384x16384\) is 268,435,456 pixels, above the limit/.test(e.message));
    // XMP is bounded by textBytes.
    const xmp = new Uint8Array(2000);
    assert.throws(() => readLrFileInfo(riff([['VP8X', vp8x(8, 8, 4)], ['VP8L', vp8lHeader(8, 8)], ['XMP ', xmp]]), { textBytes: 1000 }), LimitError);
  });
});
