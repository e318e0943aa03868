import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { lrMetadataXmp } from '../image/lr-formats.js';
import { encodePng } from '../image/png-write.js';
import { withWebpXmp } from '../image/webp-container.js';
import { riff, vp8lHeader } from '../testing/fixtures.js';
import { lrFileMetadata, presetForLr, readLrHeader } from './lr-preset.js';

const META = { scale: 2, width: 9, height: 5, model: 'irn-x2-avif-v2' };

describe('LR headers', () => {
  it('reads the size and metadata of a PNG and a WebP LR without decoding pixels', () => {
    const png = encodePng({ width: 5, height: 3, channels: 3, data: new Float32Array(45).fill(0.5) }, { text: { irn: JSON.stringify(META) } });
    assert.deepEqual(readLrHeader(png), { format: 'png', width: 5, height: 3, lrMetadata: META });
    // A WebP that is all header: there are no pixels to decode, and none are needed.
    const webp = withWebpXmp(riff([['VP8L', vp8lHeader(5, 3)]]), lrMetadataXmp(META));
    assert.deepEqual(readLrHeader(webp), { format: 'webp', width: 5, height: 3, lrMetadata: META });
    assert.deepEqual(lrFileMetadata(webp), META);
    assert.equal(presetForLr(lrFileMetadata(png)), 'irn-x2-avif-v2');
    const plain = encodePng({ width: 2, height: 2, channels: 3, data: new Float32Array(12) });
    assert.equal(readLrHeader(plain).lrMetadata, null);
  });

  it('checks the claimed size against the pixel limit, and refuses what is not an LR file', () => {
    const png = encodePng({ width: 50, height: 40, channels: 3, data: new Float32Array(6000) });
    assert.throws(() => readLrHeader(png, { pixels: 1999 }), (e: unknown) => e instanceof LimitError && /the image \(50x40\) is 2,000 pixels/.test(e.message));
    assert.throws(() => readLrHeader(new TextEncoder().encode('GIF89a and so on')), /^Error: it is not a PNG, WebP, JPEG or AVIF image$/);
  });
});
