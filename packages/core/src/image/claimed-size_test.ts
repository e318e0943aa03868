import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimedImageSize } from './claimed-size.js';
import { encodePng } from './png-write.js';

/** A BMP file header and BITMAPINFOHEADER claiming `width` x `height` (negative: top-down). */
function bmp(width: number, height: number, core = false): Uint8Array {
  const b = new Uint8Array(54);
  const v = new DataView(b.buffer);
  b.set([0x42, 0x4d]);
  v.setUint32(14, core ? 12 : 40, true);
  if (core) {
    v.setUint16(18, width, true);
    v.setUint16(20, height, true);
  } else {
    v.setInt32(18, width, true);
    v.setInt32(22, height, true);
  }
  return b;
}

describe('claimedImageSize', () => {
  it('reads a BMP header of each kind: info header (top-down too) and core header', () => {
    assert.deepEqual(claimedImageSize(bmp(20000, -20000)), { format: 'bmp', width: 20000, height: 20000 });
    assert.deepEqual(claimedImageSize(bmp(640, 480)), { format: 'bmp', width: 640, height: 480 });
    assert.deepEqual(claimedImageSize(bmp(300, 200, true)), { format: 'bmp', width: 300, height: 200 });
    assert.equal(claimedImageSize(bmp(640, 480).subarray(0, 20)), null, 'cut short');
  });

  it("reads a GIF's logical screen, grown to a first frame past it (after a comment extension)", () => {
    const screen = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x80, 0x3e, 0x80, 0x3e, 0, 0, 0, 0x3b]);
    assert.deepEqual(claimedImageSize(screen), { format: 'gif', width: 16000, height: 16000 });
    const frame = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 1, 0, 1, 0, 0, 0, 0, 0x21, 0xfe, 2, 0x68, 0x69, 0, 0x2c, 0, 0, 0, 0, 0x80, 0x3e, 0x80, 0x3e, 0]);
    assert.deepEqual(claimedImageSize(frame), { format: 'gif', width: 16000, height: 16000 });
    // A global colour table of 2 entries before it.
    const table = Uint8Array.from([0x47, 0x49, 0x46, 0x38, 0x37, 0x61, 2, 0, 2, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x2c, 0, 0, 0, 0, 2, 0, 2, 0, 0]);
    assert.deepEqual(claimedImageSize(table), { format: 'gif', width: 2, height: 2 });
  });

  it("takes an ICO's largest entry: the directory's size, or the embedded PNG's or BMP's when larger", () => {
    const png = encodePng({ width: 3, height: 2, channels: 3, data: new Float32Array(18) });
    // A directory of two entries: 16 x 16 (a BMP header claiming 30000 x 60000, mask included) and 0 x 0 (256) with a PNG.
    const ico = new Uint8Array(6 + 32 + 40 + png.length);
    const v = new DataView(ico.buffer);
    v.setUint16(2, 1, true);
    v.setUint16(4, 2, true);
    ico.set([16, 16], 6);
    v.setUint32(6 + 12, 38, true);
    v.setUint32(38, 40, true);
    v.setInt32(42, 30000, true);
    v.setInt32(46, 60000, true);
    v.setUint32(22 + 12, 78, true);
    ico.set(png, 78);
    assert.deepEqual(claimedImageSize(ico), { format: 'ico', width: 30000, height: 30000 });
    // The PNG entry alone: 256 x 256 from the directory (0 bytes), larger than its 3 x 2.
    v.setUint16(4, 1, true);
    v.setUint32(6 + 12, 78, true);
    ico[6] = 0;
    ico[7] = 0;
    assert.deepEqual(claimedImageSize(ico), { format: 'ico', width: 256, height: 256 });
  });

  it('says nothing of other formats or of a few bytes', () => {
    const png = encodePng({ width: 3, height: 2, channels: 3, data: new Float32Array(18) });
    for (const bytes of [png, Uint8Array.from([0xff, 0xd8, 0xff, 0xe0]), new Uint8Array(0), new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg"/>')]) {
      assert.equal(claimedImageSize(bytes), null);
    }
  });
});
