import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodePng } from '@irn/core';
import { MAX_PNG_BYTES, MAX_TRAIN_PHOTOS, checkPhotoHeader, histogram, moments, openPhoto, openTrainingPhotos, photoRegion, planeRgba, preparePhoto, rasterRgba, toRgb, toTrainImage } from './images.js';

const ramp = (w: number, h: number, c: 1 | 2 | 3 | 4) => ({ width: w, height: h, channels: c, data: Float32Array.from({ length: w * h * c }, (_, i) => (i % 256) / 255) });

test('preparePhoto: RGB, multiples of 4, centre crop of big photos, with a note saying so', () => {
  const p = preparePhoto('a', ramp(1203, 30, 3));
  assert.equal(p.image.width, 1024);
  assert.equal(p.image.height, 28);
  assert.match(p.note, /centre 1024x28 of 1203x30/);
  // The crop is centred: first row starts at x = (1203 - 1024) >> 1 = 89, y = 1.
  assert.equal(p.image.data[0], Math.fround((((1 * 1203 + 89) * 3) % 256) / 255));
  const q = preparePhoto('b', ramp(18, 17, 4));
  assert.equal(q.image.channels, 3);
  assert.deepEqual([q.image.width, q.image.height], [16, 16]);
  assert.match(q.note, /alpha left out/);
  assert.equal(preparePhoto('c', ramp(16, 16, 3)).note, '');
  assert.throws(() => preparePhoto('tiny', ramp(8, 40, 3)), /tiny is 8x40; the playground needs at least 16x16/);
});

test('openPhoto reads only the region it keeps, and gives what preparePhoto gives of the whole image', async () => {
  const whole = ramp(1203, 30, 4);
  const png = new Blob([encodePng(whole) as Uint8Array<ArrayBuffer>], { type: 'image/png' });
  const opened = await openPhoto('a', png);
  const prepared = preparePhoto('a', whole);
  assert.deepEqual([opened.image.width, opened.image.height, opened.image.channels, opened.note], [1024, 28, 3, 'alpha left out; centre 1024x28 of 1203x30']);
  assert.deepEqual(opened, prepared);
  assert.deepEqual(photoRegion(1203, 30), { x: 89, y: 1, width: 1024, height: 28 });
  // Already cut to the region: kept as it is, the note still names the whole size.
  const r = photoRegion(1203, 30);
  const cut = { width: r.width, height: r.height, channels: 3 as const, data: prepared.image.data };
  assert.deepEqual(preparePhoto('a', cut, { width: 1203, height: 30 }).note, 'centre 1024x28 of 1203x30');
  assert.throws(() => preparePhoto('a', ramp(500, 28, 3), { width: 1203, height: 30 }), /a: got 500x28 pixels of a 1203x30 image/);
  await assert.rejects(openPhoto('tiny', new Blob([encodePng(ramp(2, 40, 3)) as Uint8Array<ArrayBuffer>])), /tiny is 2x40; the playground needs at least 16x16/);
});

test('toRgb repeats grey; toTrainImage rounds to bytes', () => {
  const g = toRgb({ width: 2, height: 1, channels: 1, data: new Float32Array([0.5, 1]) });
  assert.deepEqual([...g.data], [0.5, 0.5, 0.5, 1, 1, 1]);
  const t = toTrainImage({ name: 'x', note: '', image: g });
  assert.deepEqual([...t.data], [128, 128, 128, 255, 255, 255]);
});

test('histogram is a density and moments are right', () => {
  const v = new Float32Array([-1, -1, 1, 1, 5]);
  const h = histogram(v, -2, 2, 4);
  assert.deepEqual(h.centres, [-1.5, -0.5, 0.5, 1.5]);
  // -1 falls in bin 1 and 1 in bin 3 ([-2,-1), [-1,0), [0,1), [1,2)): 2 of 5 values each, bins 1 wide.
  assert.deepEqual(h.density, [0, 0.4, 0, 0.4]);
  const m = moments(new Float32Array([1, 3]));
  assert.equal(m.mean, 2);
  assert.equal(m.std, 1);
});

test('openTrainingPhotos: at most MAX_TRAIN_PHOTOS in all, those past it not read; one line for what was left out', async () => {
  const good = (name: string) => new File([encodePng(ramp(16, 16, 3)) as Uint8Array<ArrayBuffer>], name, { type: 'image/png' });
  const unread = (name: string) => ({ name, size: 1e9, arrayBuffer: () => assert.fail(`${name} was read`) }) as unknown as File;
  const files = [good('a.png'), new File(['not an image'], 'b.png'), good('c.png'), unread('d.png'), unread('e.png')];
  const { photos, refused } = await openTrainingPhotos(files, MAX_TRAIN_PHOTOS - 2);
  assert.deepEqual(photos.map((p) => p.name), ['a', 'c']);
  assert.match(refused ?? '', /^b\.png: cannot decode the image .*; 2 photos not added: a fine-tune takes at most 32$/);
  assert.doesNotMatch(refused ?? '', /\n/);
  const none = await openTrainingPhotos([unread('x.png')], MAX_TRAIN_PHOTOS);
  assert.deepEqual(none, { photos: [], refused: '1 photo not added: a fine-tune takes at most 32' });
  const bad = await openTrainingPhotos([new File([], 'e1.png'), new File(['x'], 'e2.png'), new File(['y'], 'e3.png')], 0);
  assert.match(bad.refused ?? '', /^e1\.png: .* \(and 2 more that could not be opened\)$/);
  assert.deepEqual(await openTrainingPhotos([good('ok.png')], 0).then((r) => [r.photos.length, r.refused]), [1, null]);
});

test('checkPhotoHeader: a PNG over the byte or pixel limit is refused from its first bytes', () => {
  const png = (w: number, h: number, depth: number, colour: number) => {
    const b = new Uint8Array(33);
    b.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
    new DataView(b.buffer).setUint32(16, w);
    new DataView(b.buffer).setUint32(20, h);
    b[24] = depth;
    b[25] = colour;
    return b;
  };
  assert.throws(() => checkPhotoHeader(png(10000, 10000, 16, 6)), /^Error: the PNG \(10000x10000, 16-bit RGBA\) is 763 MiB of pixel data, above the limit of 128 MiB/);
  assert.throws(() => checkPhotoHeader(png(30000, 30000, 1, 0)), /the image \(30000x30000\) is 900,000,000 pixels, above the limit of 100,000,000 pixels/);
  checkPhotoHeader(png(6000, 4000, 8, 2)); // a 24-megapixel photo: 69 MiB
  assert.ok(MAX_PNG_BYTES >= 6000 * 4000 * 3);
  checkPhotoHeader(Uint8Array.from([0xff, 0xd8, 0xff])); // others pass to the decoders
});

/** Values that test the rounding and clipping: ties at .5 levels, out of range, NaN, -0, and noise. */
function awkward(n: number): Float32Array {
  const special = [0, -0, 1, -1e-9, 1 + 1e-7, 0.5, 127.5 / 255, 126.5 / 255, 2, -2, Number.NaN, 1e30, -1e30];
  let seed = 7;
  return Float32Array.from({ length: n }, (_, i) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return i < special.length ? special[i] : (seed / 2147483648) * 1.4 - 0.2;
  });
}

test('rasterRgba: the bytes a per-byte Uint8ClampedArray loop gives, for grey, grey+alpha, RGB and RGBA, whole or a band of rows', () => {
  for (const channels of [1, 2, 3, 4] as const) {
    const img = { width: 37, height: 11, channels, data: awkward(37 * 11 * channels) };
    const expected = new Uint8ClampedArray(37 * 11 * 4);
    for (let i = 0; i < 37 * 11; i++) {
      for (let k = 0; k < 3; k++) expected[i * 4 + k] = Math.round(Math.min(1, Math.max(0, img.data[i * channels + (channels >= 3 ? k : 0)])) * 255);
      expected[i * 4 + 3] = channels === 4 ? Math.round(img.data[i * 4 + 3] * 255) : channels === 2 ? Math.round(img.data[i * 2 + 1] * 255) : 255;
    }
    assert.deepEqual(rasterRgba(img), expected, `${channels} channels`);
    // A band of rows is those rows of the whole.
    assert.deepEqual(rasterRgba(img, 3, 7), expected.slice(3 * 37 * 4, 7 * 37 * 4), `${channels} channels, rows 3 to 7`);
  }
});

test('planeRgba: grey with 0 at mid-grey and ±range at the ends, the bytes a per-byte loop gives', () => {
  for (const range of [3, 0.0021, 1e-6]) {
    const plane = awkward(500).map((v) => (v - 0.5) * 8 * range);
    plane[3] = Number.NaN;
    const expected = new Uint8ClampedArray(500 * 4);
    for (let i = 0; i < 500; i++) {
      const v = Math.round(127.5 + (plane[i] / range) * 127.5);
      const g = v < 0 ? 0 : v > 255 ? 255 : v;
      expected.set([g, g, g, 255], i * 4);
    }
    assert.deepEqual(planeRgba(plane, range), expected, `range ${range}`);
  }
  assert.deepEqual([...planeRgba(Float32Array.of(0, -3, 3, 10), 3)], [128, 128, 128, 255, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255]);
});
