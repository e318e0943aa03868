import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { decodeBmp, encodePng, LimitError } from '@irn/core';
import { loadImageFolder, loadTrainImage, loadTrainingFolders, readJpegInfo } from './image-folder.js';

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

/**
 * A real 64x32 JPEG (jpeg-js) of four flat quadrants as stored: red top left, green top
 * right, blue bottom left, white bottom right; with `orientation`, an APP1 EXIF segment
 * (`little` or big-endian TIFF) right after SOI, whose IFD0 has another tag before 0x0112.
 */
function quadrantJpeg(orientation?: number, little = true): Uint8Array {
  const w = 64;
  const h = 32;
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const c = y < h / 2 ? (x < w / 2 ? [255, 0, 0] : [0, 255, 0]) : x < w / 2 ? [0, 0, 255] : [255, 255, 255];
      rgba.set([...c, 255], (y * w + x) * 4);
    }
  }
  const plain = new Uint8Array(jpeg.encode({ width: w, height: h, data: rgba }, 95).data);
  if (orientation == null) return plain;
  // TIFF: header (8), IFD0 with 2 entries (2 + 24 + 4).
  const tiff = new Uint8Array(8 + 2 + 24 + 4);
  const v = new DataView(tiff.buffer);
  tiff.set(little ? [0x49, 0x49] : [0x4d, 0x4d]);
  v.setUint16(2, 42, little);
  v.setUint32(4, 8, little);
  v.setUint16(8, 2, little);
  // 0x010F Make, ASCII, 2 bytes "A\0" inline.
  v.setUint16(10, 0x010f, little);
  v.setUint16(12, 2, little);
  v.setUint32(14, 2, little);
  tiff.set([0x41, 0], 18);
  // 0x0112 Orientation, SHORT, 1 value.
  v.setUint16(22, 0x0112, little);
  v.setUint16(24, 3, little);
  v.setUint32(26, 1, little);
  v.setUint16(30, orientation, little);
  const payload = new Uint8Array([0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff]);
  const segment = new Uint8Array([0xff, 0xe1, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload]);
  return new Uint8Array([...plain.subarray(0, 2), ...segment, ...plain.subarray(2)]);
}

test('a JPEG is turned the way its EXIF orientation shows it (1-8, both byte orders)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-exif-'));
  try {
    const [R, G, B, W] = ['R', 'G', 'B', 'W'];
    // The colours at the centres of the shown quadrants: top left, top right, bottom left, bottom right.
    const expected: Record<number, string[]> = {
      1: [R, G, B, W],
      2: [G, R, W, B],
      3: [W, B, G, R],
      4: [B, W, R, G],
      5: [R, B, G, W],
      6: [B, R, W, G],
      7: [W, G, B, R],
      8: [G, W, R, B],
    };
    const colour = (img: { width: number; data: Uint8Array }, x: number, y: number): string => {
      const [r, g, b] = img.data.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3);
      const hi = (c: number) => c > 200;
      const lo = (c: number) => c < 60;
      if (hi(r) && hi(g) && hi(b)) return 'W';
      if (hi(r) && lo(g) && lo(b)) return 'R';
      if (lo(r) && hi(g) && lo(b)) return 'G';
      if (lo(r) && lo(g) && hi(b)) return 'B';
      return `(${r},${g},${b})`;
    };
    for (const little of [true, false]) {
      for (let o = 1; o <= 8; o++) {
        const file = join(dir, `o${o}${little ? 'le' : 'be'}.jpg`);
        await writeFile(file, quadrantJpeg(o, little));
        assert.equal(readJpegInfo(await readFile(file)).orientation, o);
        const img = await loadTrainImage(file);
        const swap = o >= 5;
        assert.deepEqual([img.width, img.height], swap ? [32, 64] : [64, 32], `orientation ${o}`);
        const [qw, qh] = [img.width / 4, img.height / 4];
        const seen = [colour(img, qw, qh), colour(img, 3 * qw, qh), colour(img, qw, 3 * qh), colour(img, 3 * qw, 3 * qh)];
        assert.deepEqual(seen, expected[o], `orientation ${o}, ${little ? 'little' : 'big'}-endian`);
      }
    }
    // Without EXIF the stored image is the shown one.
    await writeFile(join(dir, 'plain.jpg'), quadrantJpeg());
    const plain = await loadTrainImage(join(dir, 'plain.jpg'));
    assert.deepEqual([plain.width, plain.height, colour(plain, 16, 8)], [64, 32, 'R']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('readJpegInfo never reads out of bounds of a malformed EXIF segment', () => {
  const good = quadrantJpeg(6);
  // Every truncation, and every byte of the APP1 segment set to 0xff in turn: no throw, an
  // orientation of 1-8 and, once the frame header is whole, the frame size.
  for (let n = 0; n <= good.length; n += n < 200 ? 1 : 97) {
    const info = readJpegInfo(good.subarray(0, n));
    assert.ok(info.orientation >= 1 && info.orientation <= 8);
  }
  for (let i = 2; i < 50; i++) {
    const bad = good.slice();
    bad[i] = 0xff;
    const info = readJpegInfo(bad);
    assert.ok(info.orientation >= 1 && info.orientation <= 8, `byte ${i}`);
  }
  // An IFD that claims 65535 entries in a 38-byte TIFF, none of them the orientation: 1,
  // without reading past its end (a DataView would throw). The TIFF starts at byte 12.
  const huge = good.slice();
  huge[12 + 8] = 0xff;
  huge[12 + 9] = 0xff;
  assert.equal(readJpegInfo(huge).orientation, 6);
  huge[12 + 22] = 0;
  huge[12 + 23] = 0;
  assert.equal(readJpegInfo(huge).orientation, 1);
  assert.deepEqual([readJpegInfo(good).width, readJpegInfo(good).height], [64, 32]);
});

test('loadTrainImage names the file in every error and checks the pixel limit before decoding', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-bad-'));
  try {
    await writeFile(join(dir, 'big.jpg'), quadrantJpeg());
    await assert.rejects(
      loadTrainImage(join(dir, 'big.jpg'), { limits: { pixels: 1000 } }),
      (e: unknown) => e instanceof LimitError && /big\.jpg: the image \(64x32\) is 2,048 pixels, above the limit of 1,000 pixels/.test(e.message),
    );
    await writeFile(join(dir, 'noise.jpg'), 'not a jpeg');
    await assert.rejects(loadTrainImage(join(dir, 'noise.jpg')), /noise\.jpg: not a readable JPEG/);
    await writeFile(join(dir, 'short.png'), new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    await assert.rejects(loadTrainImage(join(dir, 'short.png')), /short\.png: /);
    await writeFile(join(dir, 'short.bmp'), 'BM');
    await assert.rejects(loadTrainImage(join(dir, 'short.bmp')), /short\.bmp: not a BMP file/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadImageFolder skips unreadable images with one warning each, and fails when none is left', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-skip-'));
  try {
    await writeFile(join(dir, 'a.jpg'), quadrantJpeg());
    await writeFile(join(dir, 'b.png'), 'garbage');
    await writeFile(join(dir, 'c.jpg'), quadrantJpeg().subarray(0, 3));
    const lines: string[] = [];
    const images = await loadImageFolder(dir, { log: (l) => lines.push(l) });
    assert.deepEqual(images.map((i) => i.name), ['a.jpg']);
    assert.equal(lines.length, 2);
    assert.match(lines[0], /^irn: warning: \S+\/b\.png: .+; skipped$/);
    assert.match(lines[1], /^irn: warning: \S+\/c\.jpg: .+; skipped$/);
    await assert.rejects(loadImageFolder(dir, { log: () => undefined, minCount: 2 }), /2 of 3 images could not be read, 1 left, fewer than the 2 needed \(first: \S+b\.png: /);
    await rm(join(dir, 'a.jpg'));
    await assert.rejects(loadImageFolder(dir, { log: () => undefined }), /2 of 2 images could not be read, 0 left/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

/** `bytes` with the frame size in its first SOF segment replaced. */
function withFrameSize(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const out = bytes.slice();
  for (let p = 2; p + 9 < out.length; ) {
    const marker = out[p + 1];
    const length = (out[p + 2] << 8) | out[p + 3];
    if (marker === 0xc0 || marker === 0xc2) {
      out.set([height >> 8, height & 0xff, width >> 8, width & 0xff], p + 5);
      return out;
    }
    p += 2 + length;
  }
  throw new Error('no SOF segment');
}

test('a JPEG whose frame claims more blocks than its data could hold is refused before jpeg-js allocates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-jpeg-claim-'));
  try {
    // 64x32 of real data claiming 10000x10000 (exactly the default pixel limit): jpeg-js took
    // 35 s and 3 GB on such a file before finding no data.
    const forged = withFrameSize(quadrantJpeg(), 10000, 10000);
    assert.deepEqual([readJpegInfo(forged).width, readJpegInfo(forged).height], [10000, 10000]);
    await writeFile(join(dir, 'claim.jpg'), forged);
    const start = performance.now();
    await assert.rejects(
      loadTrainImage(join(dir, 'claim.jpg')),
      /claim\.jpg: truncated JPEG: a 10000x10000 image needs at least 195313 bytes of image data \(a bit per 8x8 block\), the file holds \d+$/,
    );
    assert.ok(performance.now() - start < 1000, 'refused from its size, not by decoding');
    // A flat image (jpeg-js's encoder: 1.8 bytes per block) still decodes.
    const w = 1024;
    const h = 768;
    const flat = new Uint8Array(jpeg.encode({ width: w, height: h, data: new Uint8Array(w * h * 4).fill(128) }, 50).data);
    await writeFile(join(dir, 'flat.jpg'), flat);
    const img = await loadTrainImage(join(dir, 'flat.jpg'));
    assert.deepEqual([img.width, img.height], [w, h]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a JPEG photo with more than 500 scans is refused before jpeg-js takes each over the frame', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-jpeg-scans-'));
  try {
    // The real file's scan header repeated 600 times before EOI (a scan bomb's shape).
    const real = quadrantJpeg();
    const sos = real.findIndex((b, i) => b === 0xff && real[i + 1] === 0xda);
    const header = real.slice(sos, sos + 2 + ((real[sos + 2] << 8) | real[sos + 3]));
    const bomb = new Uint8Array([...real.subarray(0, real.length - 2), ...new Array<Uint8Array>(600).fill(header).flatMap((h) => [...h]), 0xff, 0xd9]);
    await writeFile(join(dir, 'scans.jpg'), bomb);
    await assert.rejects(loadTrainImage(join(dir, 'scans.jpg')), /scans\.jpg: it has more than 500 scans \(SOS markers\)/);
    await writeFile(join(dir, 'real.jpg'), real);
    assert.equal((await loadTrainImage(join(dir, 'real.jpg'))).width, 64);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('loadTrainingFolders holds out the last images of the first folder and trains on the rest of every folder', async () => {
  const root = await mkdtemp(join(tmpdir(), 'irn-folders-'));
  try {
    const png = (v: number) => encodePng({ width: 4, height: 4, channels: 1, data: new Float32Array(16).fill(v) });
    for (const [dir, names] of [['a', ['a1', 'a2', 'a3']], ['b', ['b1', 'b2']]] as const) {
      await mkdir(join(root, dir));
      for (const [i, n] of names.entries()) await writeFile(join(root, dir, `${n}.png`), png(i / 4));
    }
    const { train, val } = await loadTrainingFolders(root, ['a', 'b'], { holdout: 1, minSize: 4 });
    assert.deepEqual(val.map((v) => v.name), ['a3.png']);
    assert.deepEqual(train.map((v) => v.name), ['a1.png', 'a2.png', 'b1.png', 'b2.png']);
    await assert.rejects(loadTrainingFolders(root, ['b', 'a'], { holdout: 2, minSize: 4 }), /b has 2 images: too few to hold out 2/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

/** The offset of the first SOF0/SOF2 segment of `bytes`, and the index just after it. */
function sofAt(bytes: Uint8Array): [number, number] {
  for (let p = 2; p + 4 <= bytes.length; ) {
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    if (bytes[p + 1] === 0xc0 || bytes[p + 1] === 0xc2) return [p, p + 2 + length];
    p += 2 + length;
  }
  throw new Error('no SOF segment');
}

/** A SOF0 segment of `w` x `h` with `n` components of sampling `hv` (0x11: 1x1). */
function sof0(w: number, h: number, n: number, hv = 0x11): number[] {
  const body = [8, h >> 8, h & 0xff, w >> 8, w & 0xff, n];
  for (let i = 0; i < n; i++) body.push(10 + i, hv, 0);
  return [0xff, 0xc0, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
}

test('a JPEG photo with a second frame header, or a frame jpeg-js cannot show, is refused before jpeg-js allocates', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-jpeg-sof-'));
  try {
    const real = quadrantJpeg();
    const [at, end] = sofAt(real);
    const splice = (parts: (Uint8Array | number[])[]) => new Uint8Array(parts.flatMap((p) => [...p]));
    const cases: [string, Uint8Array, RegExp][] = [
      // The audit's files: jpeg-js took 24 s and 3 GB, 50 s and 4.8 GB ("Cannot set properties of
      // undefined (setting 'huffmanTableDC')"), or was fast but said the same.
      ['big.jpg', splice([real.subarray(0, end), sof0(10000, 10000, 3), real.subarray(end)]), /big\.jpg: not a readable JPEG \(it has 2 frame headers \(SOF markers\); a photo has one\)$/],
      ['five.jpg', splice([real.subarray(0, end), sof0(10000, 10000, 5), real.subarray(end)]), /five\.jpg: not a readable JPEG \(it has 2 frame headers \(SOF markers\); a photo has one\)$/],
      ['small.jpg', splice([real.subarray(0, end), sof0(16, 16, 3), real.subarray(end)]), /small\.jpg: not a readable JPEG \(it has 2 frame headers \(SOF markers\); a photo has one\)$/],
      // A second one after the scans counts too, and so does SOF15.
      ['after.jpg', splice([real.subarray(0, real.length - 2), [0xff, 0xcf, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0], [0xff, 0xd9]]), /after\.jpg: not a readable JPEG \(it has 2 frame headers/],
      // One frame of 9 components (200 KB: enough data for one 10000x10000 component): 65-81 s, 5.9 GB.
      ['nine.jpg', splice([real.subarray(0, at), sof0(10000, 10000, 9), real.subarray(end, real.length - 2), new Uint8Array(200_000), [0xff, 0xd9]]), /nine\.jpg: not a readable JPEG \(its frame has 9 colour components; a photo has 1 \(grey\), 3 \(colour\) or 4 \(CMYK\)\)$/],
      ['two.jpg', splice([real.subarray(0, at), sof0(64, 32, 2), real.subarray(end)]), /two\.jpg: not a readable JPEG \(its frame has 2 colour components/],
      // Data for one full-size component, not for three.
      ['three.jpg', splice([real.subarray(0, at), sof0(10000, 10000, 3), real.subarray(end, real.length - 2), new Uint8Array(200_000), [0xff, 0xd9]]), /three\.jpg: truncated JPEG: a 10000x10000 image of 3 components needs at least 585938 bytes of image data \(a bit per 8x8 block of each\), the file holds \d+$/],
      ['sampling.jpg', splice([real.subarray(0, at), sof0(64, 32, 3, 0x51), real.subarray(end)]), /sampling\.jpg: not a readable JPEG \(its frame header has sampling factors outside 1-4: 5x1, 5x1, 5x1\)$/],
    ];
    for (const [name, bytes, expected] of cases) {
      await writeFile(join(dir, name), bytes);
      const start = performance.now();
      await assert.rejects(loadTrainImage(join(dir, name)), expected, name);
      assert.ok(performance.now() - start < 500, `${name}: refused from its headers, not by decoding (${performance.now() - start} ms)`);
    }
    // The real photo still decodes.
    await writeFile(join(dir, 'real.jpg'), real);
    assert.equal((await loadTrainImage(join(dir, 'real.jpg'))).width, 64);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("jpeg-js's engine errors on malformed input become one clear line", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'irn-jpeg-engine-'));
  try {
    // A scan naming a component the frame does not have: jpeg-js's TypeError "Cannot set
    // properties of undefined (setting 'huffmanTableDC')".
    const real = quadrantJpeg();
    const sos = real.findIndex((b, i) => b === 0xff && real[i + 1] === 0xda);
    const bad = real.slice();
    bad[sos + 5] = 0x77;
    await writeFile(join(dir, 'scan.jpg'), bad);
    await assert.rejects(loadTrainImage(join(dir, 'scan.jpg')), (e: Error) => {
      assert.match(e.message, /scan\.jpg: not a readable JPEG \(the decoder stopped on its malformed structure\)$/);
      assert.doesNotMatch(e.message, /Cannot|undefined|huffmanTable/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
