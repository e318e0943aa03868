import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { readLrFileInfo } from './lr-formats.js';
import { JpegFormatError, readJpegInfo, withJpegComment } from './jpeg-segments.js';

/** SOI, a frame header (SOF0) claiming `w x h`, SOS with nothing after it. */
function claiming(w: number, h: number): Uint8Array {
  return new Uint8Array([0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0, 0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0]);
}

/** {@link claiming} with the 16-byte JFIF APP0 segment after SOI, as encoders write it. */
function jfif(w: number, h: number): Uint8Array {
  const app0 = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const rest = claiming(w, h);
  return new Uint8Array([...rest.subarray(0, 2), ...app0, ...rest.subarray(2)]);
}

describe('JPEG LR images', () => {
  it('carries the metadata in a COM segment after the JFIF segment', () => {
    // (That MozJPEG's files keep decoding the same with it: @irn/cli's lr-codecs_test.)
    const meta = { scale: 2, width: 73, height: 45 };
    const bytes = withJpegComment(jfif(37, 23), new TextEncoder().encode('irn {"scale":2,"width":73,"height":45}'));
    const info = readJpegInfo(bytes);
    assert.deepEqual([info.width, info.height, info.components], [37, 23, 1]);
    assert.equal(new TextDecoder().decode(info.comments[0]), 'irn {"scale":2,"width":73,"height":45}');
    assert.equal(String.fromCharCode(...bytes.subarray(6, 10)), 'JFIF');
    assert.deepEqual([bytes[20], bytes[21]], [0xff, 0xfe], 'the COM segment right after APP0');
    assert.deepEqual(readLrFileInfo(bytes).lrMetadata, meta);
  });

  it('checks the pixels a file claims before decoding, and refuses lying segments with one line', () => {
    const bomb = claiming(60000, 60000);
    assert.throws(() => readLrFileInfo(bomb), (e: Error) => e instanceof LimitError && /\(60000x60000\) is 3,600,000,000 pixels/.test(e.message));
    const good = jfif(8, 8);
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, 10), /claims 16 bytes, more than the 6 left/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xfe, 0, 2), /cut short before its image data/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xfe, 0xff, 0xff, 1, 2), /COM|0xfffe at byte 2 claims 65535 bytes/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xda, 0, 2), /before any frame header/],
      [claiming(0, 10), /frame header says 0x10/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xd9), /ends \(EOI\) before any image data/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xc0, 0, 4, 8, 0), /frame header has 2 bytes/],
      [Uint8Array.of(0xff, 0xd8, 0xff, 0xfe, 0, 2, 0x12), /no marker at byte 6/],
    ];
    for (const [bytes, message] of cases) {
      assert.throws(() => readJpegInfo(bytes), (e: Error) => e instanceof JpegFormatError && message.test(e.message) && !e.message.includes('\n'));
    }
    assert.throws(() => withJpegComment(good, new Uint8Array(70000)), /at most 65533 bytes/);
  });
});
