// bench:jpeg-scans' files (bench/jpeg/scan-bomb.ts): progressive grey JPEGs of exactly the
// scans asked for, each a valid step of the progression, so that the decoders decode them to
// flat grey without a warning (the CLI's MozJPEG reader refuses a file libjpeg warns about), with
// the least image data core's data-size check lets through.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkJpegDataSize, checkJpegScans, resolveLimits } from '@irn/core';
import { readJpegInfo } from '../../packages/core/src/image/jpeg-segments.js';
import { decodeJpeg } from '../../packages/cli/src/data/image-folder.js';
import { decodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { MAX_PROGRESSION_SCANS, scanBomb } from '../../bench/jpeg/scan-bomb.js';

test('scanBomb: the scans asked for, a frame of the size asked for, decoded to grey 128 by MozJPEG and jpeg-js without a warning', async () => {
  assert.equal(MAX_PROGRESSION_SCANS, 883);
  for (const [width, height, scans] of [
    [100, 60, 1],
    [100, 60, 2],
    [13, 9, 15],
    [64, 64, 499],
    [64, 8, 500],
    [24, 16, MAX_PROGRESSION_SCANS],
  ] as const) {
    const what = `${width}x${height}, ${scans} scans`;
    const bytes = scanBomb(width, height, scans);
    if (scans > 500) {
      // Past core's cap: refused by both of its readers before any decoder.
      assert.throws(() => readJpegInfo(bytes), /more than 500 scans/, what);
      assert.throws(() => checkJpegScans(bytes), /more than 500 scans/, what);
      continue;
    }
    const info = readJpegInfo(bytes);
    assert.deepEqual([info.width, info.height, info.components, info.scans], [width, height, 1, scans], what);
    // The least data core lets through: about a bit per 8x8 block (the DC scan) and a few bytes per scan.
    checkJpegDataSize(info);
    const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
    assert.ok(info.dataBytes <= Math.ceil(blocks / 8) + 20 * scans, `${what}: ${info.dataBytes} bytes of data`);
    checkJpegScans(bytes);
    // decodeLr refuses what libjpeg calls corrupt or an inconsistent progression.
    const { image } = await decodeLr(bytes);
    assert.deepEqual([image.width, image.height], [width, height], what);
    assert.ok(image.data.every((v) => Math.round(v * 255) === 128), `${what}: MozJPEG's pixels are all 128`);
    const js = decodeJpeg(bytes, resolveLimits({}));
    assert.deepEqual([js.width, js.height], [width, height], what);
    assert.ok(js.data.every((v) => v === 128), `${what}: jpeg-js's pixels (8-bit) are all 128`);
  }
});

test('scanBomb: a frame of 2^17 blocks takes 5 end-of-band runs per AC scan, each 0xFF byte stuffed', () => {
  const bytes = scanBomb(8192, 1024, 3);
  const info = readJpegInfo(bytes);
  assert.equal(info.scans, 3);
  // DC scan: 2^17 zero bits, 16384 bytes. Each AC scan: its 10-byte SOS segment, then 4 runs of
  // 32767 blocks (EOB14, 4 + 14 bits) and one of 4 (EOB2, 4 + 2 bits): 78 bits padded to 80,
  // 10 bytes of which 5 are 0xFF and take a stuffed 0x00 each. Then EOI.
  assert.equal(info.dataBytes, 16384 + 2 * (10 + 10 + 5) + 2);
  for (let i = 2; i < bytes.length - 2; i++) {
    if (bytes[i] === 0xff) assert.ok(bytes[i + 1] === 0x00 || (bytes[i + 1] >= 0xc0 && bytes[i + 1] !== 0xff), `0xFF at ${i} followed by ${bytes[i + 1]}`);
  }
});

test('scanBomb refuses sizes and scan counts it cannot write, in one line', () => {
  assert.throws(() => scanBomb(0, 8, 2), /^RangeError: width and height must be whole numbers from 1 to 65535, got 0x8$/);
  assert.throws(() => scanBomb(8, 65536, 2), /got 8x65536$/);
  assert.throws(() => scanBomb(8, 8, 0), /^RangeError: scans must be a whole number from 1 to 883, got 0$/);
  assert.throws(() => scanBomb(8, 8, MAX_PROGRESSION_SCANS + 1), /got 884$/);
  assert.throws(() => scanBomb(8, 8, 2.5), /got 2.5$/);
});
