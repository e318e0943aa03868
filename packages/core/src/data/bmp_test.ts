import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { decodeBmp } from './bmp.js';

/** A 24-bit BI_RGB BMP whose header says `width` x `height`, holding `pixelBytes` bytes of pixels. */
function bmp(width: number, height: number, pixelBytes = Math.ceil((width * 3) / 4) * 4 * Math.abs(height), offset = 54): Uint8Array {
  const bytes = new Uint8Array(54 + pixelBytes);
  const v = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  v.setUint32(2, bytes.length, true);
  v.setUint32(10, offset, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  for (let i = 54; i < bytes.length; i++) bytes[i] = i & 0xff;
  return bytes;
}

describe('decodeBmp on hostile headers', () => {
  it('refuses a huge size before allocating, with the pixel limit in the message', () => {
    // 54 bytes that claim 2^31 - 1 x 2^31 - 1 pixels (an allocation would throw a RangeError).
    assert.throws(
      () => decodeBmp(bmp(2 ** 31 - 1, 2 ** 31 - 1, 0)),
      (e: unknown) =>
        e instanceof LimitError &&
        e.limit === 'pixels' &&
        /^the image \(2147483647x2147483647\) is .* pixels, above the limit of 100,000,000 pixels \(raise it with limits: \{ pixels: N \}\)$/.test(e.message),
    );
  });

  it('refuses zero, negative and most-negative sizes', () => {
    assert.throws(() => decodeBmp(bmp(0, 5, 0)), /^Error: corrupt BMP: its size is 0x5$/);
    assert.throws(() => decodeBmp(bmp(-3, 5, 0)), /^Error: corrupt BMP: its size is -3x5$/);
    assert.throws(() => decodeBmp(bmp(3, 0, 0)), /^Error: corrupt BMP: its size is 3x0$/);
    // -2^31 rows: top-down, 2^31 tall; refused by the limit, not by an allocation.
    assert.throws(() => decodeBmp(bmp(1, -(2 ** 31), 0)), /the image \(1x2147483648\) is 2,147,483,648 pixels, above the limit/);
  });

  it('refuses a size the file does not hold, and names the limit before the file length', () => {
    assert.throws(
      () => decodeBmp(bmp(1000, 1000, 100)),
      /^Error: truncated BMP: a 1000x1000 24-bit image needs 3000000 bytes of pixels from byte 54, but the file ends at byte 154$/,
    );
    assert.throws(() => decodeBmp(bmp(2, 2, 16, 1 << 30)), /^Error: corrupt BMP: its pixel data starts at byte 1073741824, outside the header and file \(70 bytes\)$/);
    assert.throws(() => decodeBmp(bmp(2, 2, 16, 3)), /pixel data starts at byte 3, outside the header/);
    // A 400 MB claim in a small file is refused by the limit, which says how to raise it.
    assert.throws(() => decodeBmp(bmp(20000, 20000, 100)), LimitError);
    assert.throws(() => decodeBmp(bmp(20000, 20000, 100), { limits: { pixels: 4e8 } }), /^Error: truncated BMP: a 20000x20000/);
    assert.throws(() => decodeBmp(Uint8Array.of(0x42, 0x4d, 1, 2)), /^Error: not a BMP file: it ends after 4 bytes, inside the 54-byte header$/);
  });

  it('decodes a borderline image only when the pixel limit allows it, top-down or bottom-up', () => {
    const up = bmp(20, 10);
    assert.throws(() => decodeBmp(up, { limits: { pixels: 199 } }), /the image \(20x10\) is 200 pixels, above the limit of 199 pixels/);
    const a = decodeBmp(up, { limits: { pixels: 200 } });
    assert.deepEqual([a.width, a.height, a.data.length], [20, 10, 600]);
    // Bottom-up: the first image row is the last file row (row 9, at 54 + 9 * 60); BGR -> RGB.
    const last = 54 + 9 * 60;
    assert.deepEqual(Array.from(a.data.subarray(0, 3)), [(last + 2) & 0xff, (last + 1) & 0xff, last & 0xff]);
    const down = decodeBmp(bmp(20, -10));
    assert.deepEqual(Array.from(down.data.subarray(0, 3)), [56, 55, 54]);
  });
});
