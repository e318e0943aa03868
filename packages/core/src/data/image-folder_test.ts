import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { encodePng } from '../image/png.js';
import { decodeBmp } from './bmp.js';
import { loadImageFolder } from './image-folder.js';

/** A bottom-up 24-bit BMP of a 3x2 image (rows padded to 12 bytes). */
function makeBmp(): Uint8Array {
  const w = 3;
  const h = 2;
  const stride = 12;
  const bytes = new Uint8Array(54 + stride * h);
  const v = new DataView(bytes.buffer);
  bytes[0] = 0x42;
  bytes[1] = 0x4d;
  v.setUint32(2, bytes.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, w, true);
  v.setInt32(22, h, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      // File row 0 is the bottom image row; pixel (x, imageRow) has R = 10 imageRow + x.
      const imageRow = h - 1 - y;
      const o = 54 + y * stride + x * 3;
      bytes[o] = 200; // B
      bytes[o + 1] = 100; // G
      bytes[o + 2] = 10 * imageRow + x; // R
    }
  }
  return bytes;
}

test('decodeBmp reads a bottom-up 24-bit BMP as top-down RGB', () => {
  const img = decodeBmp(makeBmp());
  assert.equal(img.width, 3);
  assert.equal(img.height, 2);
  assert.deepEqual(Array.from(img.data.slice(0, 6)), [0, 100, 200, 1, 100, 200]);
  assert.deepEqual(Array.from(img.data.slice(9, 12)), [10, 100, 200]);
  assert.throws(() => decodeBmp(new Uint8Array(60)), /not a BMP/);
});

test('loadImageFolder reads PNG, JPEG and BMP files sorted by name', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-images-'));
  try {
    const png = encodePng({ width: 2, height: 2, channels: 1, data: Float32Array.of(0, 1, 0.2, 0.4) });
    await writeFile(join(dir, 'a.png'), png);
    const rgba = new Uint8Array(4 * 4 * 4).fill(128);
    await writeFile(join(dir, 'b.jpg'), jpeg.encode({ width: 4, height: 4, data: rgba }, 95).data);
    await writeFile(join(dir, 'c.bmp'), makeBmp());
    await writeFile(join(dir, 'notes.txt'), 'not an image');
    const images = await loadImageFolder(dir);
    assert.deepEqual(images.map((i) => i.name), ['a.png', 'b.jpg', 'c.bmp']);
    assert.deepEqual(Array.from(images[0].data.slice(0, 6)), [0, 0, 0, 255, 255, 255]);
    assert.ok(Math.abs(images[1].data[0] - 128) <= 2);
    assert.equal((await loadImageFolder(dir, { minSize: 3 })).length, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadImageFolder says clearly what is missing', async () => {
  await assert.rejects(loadImageFolder('/nonexistent/irn-train'), /image folder \/nonexistent\/irn-train does not exist/);
  const dir = await mkdtemp(join(tmpdir(), 'irn-empty-'));
  try {
    await assert.rejects(loadImageFolder(dir), /holds no \.png/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
