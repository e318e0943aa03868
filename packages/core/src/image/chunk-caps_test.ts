import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { zlibSync } from 'fflate';
import { concatBytes, riff, vp8lHeader } from '../testing/fixtures.js';
import { JpegFormatError, MAX_JPEG_SEGMENTS, readJpegInfo, withJpegComment } from './jpeg-segments.js';
import { readLrFileInfo } from './lr-formats.js';
import { decodeFailure, decodePng, PngFormatError } from './png.js';
import { makeChunk, MAX_PNG_CHUNKS, MAX_PNG_OTHER_CHUNKS, readChunks } from './png-chunks.js';
import { MAX_WEBP_CHUNKS, readWebpInfo, WebpFormatError, withWebpXmp } from './webp-container.js';

// Hostile containers (chunk and segment floods, a second PNG header), made here in memory.
// Before the caps, a 4x4 PNG with 25 million empty ancillary chunks (300 MB) ran `irn
// downscale` out of a 4.8 GB heap after 78 s, a WebP with 8 million empty chunks took 25 s and
// 2.9 GB, a JPEG with 8 million empty COM segments 12.6 s and 1.4 GB. Here the floods are just
// past the caps; each must stop with its one-line error.

const SIGNATURE = Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10);

function ihdr(width: number, height: number, depth = 8, colourType = 0): Uint8Array {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  d.set([depth, colourType, 0, 0, 0], 8);
  return makeChunk('IHDR', d);
}

/** `n` copies of `piece`, end to end: a flood without building an array of n pieces. */
function repeat(piece: Uint8Array, n: number): Uint8Array {
  const out = new Uint8Array(piece.length * n);
  for (let i = 0; i < n; i++) out.set(piece, i * piece.length);
  return out;
}

/** A 2x2 grey PNG (zero pixels), with `before` between IHDR and IDAT and `after` between IDAT and IEND. */
function png2x2(before: Uint8Array = new Uint8Array(0), after: Uint8Array = new Uint8Array(0)): Uint8Array {
  const idat = makeChunk('IDAT', zlibSync(new Uint8Array(2 * 3)));
  return concatBytes(SIGNATURE, ihdr(2, 2), before, idat, after, makeChunk('IEND', new Uint8Array(0)));
}

const EMPTY_ANCILLARY = makeChunk('abCD', new Uint8Array(0));

/** An assert.throws check: an error of class `type` whose whole message is one line matching `re`. */
const oneLine = (type: new (...args: never[]) => Error, re: RegExp) => (e: unknown) =>
  e instanceof type && re.test(e.message) && !e.message.includes('\n');

describe('PNG chunk caps', () => {
  it('refuses a PNG with more than 10,000 chunks other than IDAT, and reads one with 10,000', () => {
    assert.equal(MAX_PNG_OTHER_CHUNKS, 10_000);
    // IHDR and IEND count: 2 + 9,998 = 10,000 chunks other than IDAT.
    const most = png2x2(repeat(EMPTY_ANCILLARY, MAX_PNG_OTHER_CHUNKS - 2));
    assert.equal(readChunks(most).length, MAX_PNG_OTHER_CHUNKS + 1);
    assert.equal(decodePng(most).width, 2);
    const flood = png2x2(repeat(EMPTY_ANCILLARY, MAX_PNG_OTHER_CHUNKS - 1));
    const re = /^unsupported PNG: it has more than 10,000 chunks other than IDAT$/;
    assert.throws(() => readChunks(flood), oneLine(PngFormatError, re));
    assert.throws(() => decodePng(flood), oneLine(PngFormatError, re));
    // After the image data too, and when the chunks are damaged (dropped, but still walked).
    assert.throws(() => decodePng(png2x2(undefined, repeat(EMPTY_ANCILLARY, MAX_PNG_OTHER_CHUNKS))), oneLine(PngFormatError, re));
    const damaged = EMPTY_ANCILLARY.slice();
    damaged[11] ^= 1;
    assert.throws(() => decodePng(png2x2(repeat(damaged, MAX_PNG_OTHER_CHUNKS))), oneLine(PngFormatError, re));
  });

  it('counts IDAT chunks apart: a file with its image data in 22,661 IDATs of a byte decodes', () => {
    const data = zlibSync(new Uint8Array(150 * 151), { level: 0 }); // 150x150 grey, stored: 22,661 bytes
    const idats = Array.from(data, (b) => makeChunk('IDAT', Uint8Array.of(b)));
    assert.ok(idats.length > 2 * MAX_PNG_OTHER_CHUNKS);
    const bytes = concatBytes(SIGNATURE, ihdr(150, 150), ...idats, makeChunk('IEND', new Uint8Array(0)));
    const img = decodePng(bytes);
    assert.deepEqual([img.width, img.height, img.data.every((v) => v === 0)], [150, 150, true]);
  });

  it('refuses a PNG with more than 250,000 chunks in all (a flood of empty IDATs), and reads one with 250,000', () => {
    assert.equal(MAX_PNG_CHUNKS, 250_000);
    const emptyIdat = makeChunk('IDAT', new Uint8Array(0));
    // IHDR, the IDAT of png2x2 and IEND: 3 + 249,997 = 250,000.
    const most = png2x2(repeat(emptyIdat, MAX_PNG_CHUNKS - 3));
    assert.equal(readChunks(most).length, MAX_PNG_CHUNKS);
    const flood = png2x2(repeat(emptyIdat, MAX_PNG_CHUNKS - 2)); // 3 MB
    const re = /^unsupported PNG: it has more than 250,000 chunks$/;
    assert.throws(() => readChunks(flood), oneLine(PngFormatError, re));
    assert.throws(() => decodePng(flood), oneLine(PngFormatError, re));
  });
});

describe('PNG header (IHDR) once, first', () => {
  // The checks read the first IHDR and fast-png decoded with the last: "corrupt PNG: Invalid
  // typed array length: 30000000000" and "corrupt PNG: Unsupported filter: undefined" before.
  const idat = makeChunk('IDAT', zlibSync(new Uint8Array(2 * 3)));
  const iend = makeChunk('IEND', new Uint8Array(0));

  it('refuses a second IHDR right after the first, naming where it is', () => {
    const bytes = concatBytes(SIGNATURE, ihdr(2, 2), ihdr(100000, 100000, 8, 2), idat, iend);
    const re = /^corrupt PNG: it has a second IHDR chunk, at byte 33$/;
    assert.throws(() => readChunks(bytes), oneLine(PngFormatError, re));
    assert.throws(() => decodePng(bytes), oneLine(PngFormatError, re));
    const small = concatBytes(SIGNATURE, ihdr(2, 2), ihdr(9000, 9000, 8, 2), idat, iend);
    assert.throws(() => decodePng(small), oneLine(PngFormatError, re));
  });

  it('refuses an IHDR after the image data, and a copy of the same header', () => {
    const after = concatBytes(SIGNATURE, ihdr(2, 2), idat, ihdr(4, 4), iend);
    const at = 8 + 25 + idat.length;
    assert.throws(() => decodePng(after), oneLine(PngFormatError, new RegExp(`^corrupt PNG: it has a second IHDR chunk, at byte ${at}$`)));
    const twice = concatBytes(SIGNATURE, ihdr(2, 2), ihdr(2, 2), idat, iend);
    assert.throws(() => decodePng(twice), oneLine(PngFormatError, /^corrupt PNG: it has a second IHDR chunk, at byte 33$/));
  });

  it('words the decoder\'s errors without passing an engine message off as the file\'s fault', () => {
    const oom = decodeFailure(new RangeError('Invalid typed array length: 30000000000'), 100000, 100000);
    assert.equal(oom.constructor, Error);
    assert.equal(oom.message, 'out of memory decoding the 100000x100000 PNG');
    const oob = decodeFailure(new RangeError('Offset is outside the bounds of the DataView'), 2, 2);
    assert.ok(oob instanceof PngFormatError);
    assert.equal(oob.message, 'corrupt PNG: the decoder failed on its image data (RangeError)');
    assert.equal(decodeFailure(new TypeError("Cannot read properties of undefined (reading '0')"), 2, 2).message, 'corrupt PNG: the decoder failed on its image data (TypeError)');
    // fast-png's own messages are the file's fault, and kept.
    assert.equal(decodeFailure(new Error('Unsupported filter: 9'), 2, 2).message, 'corrupt PNG: Unsupported filter: 9');
    assert.equal(decodeFailure(new RangeError('PLTE field length must be a multiple of 3. Got 4'), 2, 2).message, 'corrupt PNG: PLTE field length must be a multiple of 3. Got 4');
    // And through decodePng: a row with filter type 9.
    const bad = concatBytes(SIGNATURE, ihdr(2, 2), makeChunk('IDAT', zlibSync(Uint8Array.of(9, 0, 0, 0, 0, 0))), iend);
    assert.throws(() => decodePng(bad), oneLine(PngFormatError, /^corrupt PNG: Unsupported filter: 9$/));
  });
});

describe('WebP chunk cap', () => {
  it('refuses a WebP with more than 10,000 chunks, and reads one with 10,000', () => {
    assert.equal(MAX_WEBP_CHUNKS, 10_000);
    const image: [string, Uint8Array] = ['VP8L', vp8lHeader(4, 4)];
    const filler: [string, Uint8Array] = ['ABCD', new Uint8Array(0)];
    const most = riff([image, ...Array<[string, Uint8Array]>(MAX_WEBP_CHUNKS - 1).fill(filler)]);
    assert.equal(readWebpInfo(most).width, 4);
    const flood = riff([image, ...Array<[string, Uint8Array]>(MAX_WEBP_CHUNKS).fill(filler)]);
    const re = /^it has more than 10,000 chunks$/;
    assert.throws(() => readWebpInfo(flood), oneLine(WebpFormatError, re));
    assert.throws(() => readLrFileInfo(flood), oneLine(WebpFormatError, re));
    assert.throws(() => withWebpXmp(flood, new Uint8Array(1)), oneLine(WebpFormatError, re));
  });
});

describe('JPEG segment cap', () => {
  /** SOI, `comments` empty COM segments, a 8x8 grey frame (SOF0), a scan (SOS) with 8 bytes of data, EOI. */
  function withComments(comments: number): Uint8Array {
    const sof = Uint8Array.of(0xff, 0xc0, 0, 11, 8, 0, 8, 0, 8, 1, 1, 0x11, 0);
    const sos = Uint8Array.of(0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xd9);
    return concatBytes(Uint8Array.of(0xff, 0xd8), repeat(Uint8Array.of(0xff, 0xfe, 0, 2), comments), sof, sos);
  }

  it('refuses a JPEG with more than 10,000 segments, and reads one with 10,000', () => {
    assert.equal(MAX_JPEG_SEGMENTS, 10_000);
    // The frame header is a segment too: 9,999 + 1.
    const most = readJpegInfo(withComments(MAX_JPEG_SEGMENTS - 1));
    assert.deepEqual([most.width, most.comments.length, most.scans], [8, MAX_JPEG_SEGMENTS - 1, 1]);
    const flood = withComments(MAX_JPEG_SEGMENTS);
    const re = /^it has more than 10,000 marker segments$/;
    assert.throws(() => readJpegInfo(flood), oneLine(JpegFormatError, re));
    assert.throws(() => readLrFileInfo(flood), oneLine(JpegFormatError, re));
    assert.throws(() => withJpegComment(flood, new Uint8Array(1)), oneLine(JpegFormatError, re));
  });
});
