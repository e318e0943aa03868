import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { strToU8, zlibSync } from 'fflate';
import { LimitError } from '../limits.js';
import { concatBytes } from '../image/bytes.js';
import { lrMetadataXmp } from '../image/lr-formats.js';
import { readLrMetadata } from '../image/lr-metadata.js';
import { decodePng } from '../image/png.js';
import { makeChunk, makeTextChunk } from '../image/png-chunks.js';
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

  it('reads a PNG as decodePng does (the restore): which irn chunk counts, and what is refused, in the same words', () => {
    // <irn-image> sizes its box and picks its preset from readLrHeader before the restore
    // decodes the file: the two must never read a stranger's PNG differently.
    const plain = encodePng({ width: 5, height: 3, channels: 3, data: new Float32Array(45).fill(0.5) });
    const ihdrEnd = 8 + 25;
    const iendAt = plain.length - 12;
    const png = (before: Uint8Array[], after: Uint8Array[] = [], body = plain.subarray(ihdrEnd, iendAt)) =>
      concatBytes([plain.subarray(0, ihdrEnd), ...before, body, ...after, plain.subarray(iendAt)]);
    const damaged = (chunk: Uint8Array) => chunk.map((b, i) => (i === chunk.length - 1 ? b ^ 1 : b));
    const wrong = JSON.stringify({ scale: 2, width: 10, height: 6, model: 'no-such-preset' });
    const right = JSON.stringify({ scale: 2, width: 9, height: 5 });
    const ztxt = makeChunk('zTXt', concatBytes([strToU8('irn'), Uint8Array.of(0, 0), zlibSync(strToU8(right))]));
    // The file with its IHDR body's bytes at `at` set to `to` (and the checksum made right).
    const withHeader = (changes: Record<number, number>) => {
      const out = plain.slice();
      out.set(makeChunk('IHDR', plain.subarray(16, 29).map((b, i) => changes[i] ?? b)), 8);
      return out;
    };
    const zeroWide = withHeader({ 0: 0, 1: 0, 2: 0, 3: 0 });
    const files: Array<[string, Uint8Array, string]> = [
      ['two irn chunks', png([makeTextChunk('irn', wrong), makeTextChunk('irn', right)]), right],
      ['two irn chunks, the later damaged', png([makeTextChunk('irn', right), damaged(makeTextChunk('irn', wrong))]), right],
      ['an irn chunk after the image data', png([], [makeTextChunk('irn', right)]), right],
      ['a compressed irn chunk', png([ztxt]), right],
      ['a damaged image data chunk', png([makeTextChunk('irn', right)], [], damaged(plain.subarray(ihdrEnd, iendAt))), 'corrupt PNG'],
      ['no IEND', plain.subarray(0, iendAt), 'truncated PNG'],
      ['0 pixels wide', zeroWide, 'corrupt PNG: its size is 0x3'],
      ['colour type 5', withHeader({ 9: 5 }), 'corrupt PNG: unknown colour type 5'],
      ['4-bit RGB', withHeader({ 8: 4 }), 'corrupt PNG: bit depth 4 is not allowed for RGB images'],
      ['a palette image without a palette', withHeader({ 9: 3 }), 'without a palette (PLTE chunk)'],
      ['interlaced 1-bit grey', withHeader({ 8: 1, 9: 0, 12: 1 }), 'interlaced images with 1-bit samples cannot be read'],
      ['no image data', png([makeTextChunk('irn', right)], [], new Uint8Array(0)), 'corrupt PNG: it has no image data'],
      ['a model that is not a preset name', png([makeTextChunk('irn', JSON.stringify({ scale: 2, width: 9, height: 5, model: '../x' }))]), 'not a preset name'],
    ];
    const outcome = (read: () => { width: number; height: number; meta: unknown }): unknown => {
      try {
        return read();
      } catch (e) {
        return (e as Error).message;
      }
    };
    for (const [what, bytes, expected] of files) {
      const header = outcome(() => {
        const h = readLrHeader(bytes);
        return { width: h.width, height: h.height, meta: h.lrMetadata };
      });
      const decoded = outcome(() => {
        const d = decodePng(bytes);
        return { width: d.width, height: d.height, meta: readLrMetadata(d.text) };
      });
      assert.deepEqual(header, decoded, what);
      const said = typeof header === 'string' ? header : JSON.stringify((header as { meta: unknown }).meta);
      assert.ok(said.includes(expected), `${what}: ${said}`);
    }
  });
});
