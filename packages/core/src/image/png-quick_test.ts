import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePng } from './png.js';
import { encodePngQuick, type PngQuickOptions } from './png-quick.js';
import { encodePng } from './png-write.js';
import type { RasterImage } from './raster.js';

/** A smooth image with noise and out-of-range values, `channels` deep. */
function image(width: number, height: number, channels: 1 | 2 | 3 | 4, seed = 1, noise = 0.3): RasterImage {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const data = new Float32Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = 0.5 + 0.4 * Math.sin(i / 37) + noise * (rand() - 0.5);
  data[0] = -0.2;
  data[1] = 1.3;
  return { width, height, channels, data };
}

describe('encodePngQuick', () => {
  it('writes the pixels encodePng writes, for every channel count, filter and level', () => {
    const settings: PngQuickOptions[] = [{}, { filter: 0, level: 0 }, { filter: 'adaptive', level: 6 }, { filter: 4, level: 9 }, { filter: 1, level: 2 }, { filter: 3, level: 1 }];
    for (const channels of [1, 2, 3, 4] as const) {
      const img = image(37, 23, channels, channels);
      const reference = decodePng(encodePng(img));
      for (const o of settings) {
        const file = encodePngQuick(img, o);
        const back = decodePng(file);
        assert.equal(back.bitDepth, 8);
        assert.deepEqual([back.width, back.height, back.channels], [37, 23, channels], JSON.stringify(o));
        assert.deepEqual(back.data, reference.data, `${channels} channels, ${JSON.stringify(o)}`);
      }
    }
  });

  it('compresses: a smooth image takes a fraction of its raw bytes; level 0 stores it', () => {
    const img = image(256, 128, 3, 1, 0.01);
    const raw = 256 * 128 * 3;
    assert.ok(encodePngQuick(img).length < 0.8 * raw, `${encodePngQuick(img).length} of ${raw}`);
    assert.ok(encodePngQuick(img, { filter: 0, level: 0 }).length > raw, 'stored blocks hold every byte');
  });

  it('refuses NaN and malformed images as encodePng does', () => {
    const img = image(4, 4, 3);
    img.data[5] = Number.NaN;
    assert.throws(() => encodePngQuick(img), /NaN at index 5/);
    assert.throws(() => encodePngQuick({ width: 4, height: 4, channels: 3, data: new Float32Array(10) }));
  });
});
