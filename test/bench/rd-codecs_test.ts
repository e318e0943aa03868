// bench:rd's codecs (bench/rd/codecs.ts): effort max codes AVIF at libavif speed 4 (core's
// AVIF_SPEED_MAX), for the photo and the LRs alike; no other codec has an effort-max setting.
// Every JPEG is the smaller of MozJPEG's progressive and baseline files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AVIF_SPEED_MAX } from '@irn/core';
import { CODEC_SETTINGS, decode, EFFORT_MAX, encode, encodeRaw, type Rgba } from '../../bench/rd/codecs.js';

/** A 64x48 image with edges and texture, so that encoder settings show in the bytes. */
function image(): Rgba {
  const width = 64;
  const height = 48;
  const data = new Uint8ClampedArray(width * height * 4);
  let seed = 7;
  for (let i = 0; i < width * height; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const x = i % width;
    const y = Math.floor(i / width);
    data.set([(x * 4 + (seed >>> 28)) & 255, ((x ^ y) * 5) & 255, y * 5 + (x > 30 ? 60 : 0), 255], i * 4);
  }
  return { width, height, data };
}

test('effort max: AVIF at speed 4 (another file than speed 6, same size, decodes); JPEG has none', async () => {
  assert.deepEqual(EFFORT_MAX, { avif: { speed: AVIF_SPEED_MAX } });
  const img = image();
  for (const irnLr of [false, true]) {
    const fast = await encode(img, { codec: 'avif', quality: 50, irnLr });
    const max = await encode(img, { codec: 'avif', quality: 50, irnLr, effort: 'max' });
    assert.notDeepEqual(max, fast, `irnLr ${irnLr}: speed 4 writes another file`);
    const back = await decode(max, 'avif', img.width, img.height);
    assert.equal(back.data.length, img.data.length);
  }
  await assert.rejects(encode(img, { codec: 'jpeg', quality: 50, effort: 'max' }), /no effort-max setting for jpeg/);
});

test('JPEG: the smaller of the progressive and the baseline file, whichever it is', async () => {
  assert.deepEqual(CODEC_SETTINGS.jpeg, { smallestOf: [{}, { baseline: true }] });
  const img = image();
  for (const quality of [30, 90]) {
    const progressive = await encodeRaw(img, 'jpeg', { quality });
    const baseline = await encodeRaw(img, 'jpeg', { quality, baseline: true });
    assert.notEqual(progressive.length, baseline.length, 'two different files');
    for (const irnLr of [false, true]) {
      const file = await encode(img, { codec: 'jpeg', quality, irnLr });
      assert.deepEqual(file, progressive.length < baseline.length ? progressive : baseline, `quality ${quality}, irnLr ${irnLr}`);
    }
  }
  // On this 64x48 image baseline is the smaller at quality 30 (8-bit tables, one scan).
  assert.ok((await encodeRaw(img, 'jpeg', { quality: 30, baseline: true })).length < (await encodeRaw(img, 'jpeg', { quality: 30 })).length);
});
