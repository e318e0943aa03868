import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { ascii, av1ItemData, av1SequenceHeader, avifFile, box, concat, LIBAVIF_GRID_RGB, LIBAVIF_GRID_RGBA, LIBAVIF_QUAD, LIBAVIF_QUAD_CLAP, LIBAVIF_QUAD_IROT1_IMIR0, obu, u32s } from '../testing/avif-fixtures.js';
import { seededRandom } from '../testing/fixtures.js';
import { applyAvifTransform, AvifFormatError, IRN_AVIF_UUID, isAvif, readAvifInfo, withAvifMetadata } from './avif-container.js';
import { readLrFileInfo, sniffLrFormat } from './lr-formats.js';
import { lrMetadataText } from './lr-metadata.js';

/**
 * A 12x10 AVIF as libavif writes it (jsquash's @jsquash/avif 2.1.1, quality 60, speed 6):
 * ftyp avif/mif1/miaf/MA1B, meta with iloc, ispe, pixi, av1C, colr, ipma; 98 bytes of AV1 in mdat.
 */
const LIBAVIF_12X10 = Uint8Array.from(
  atob(
    'AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADybWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAAAeaWxvYwAAAABEAAABAAEAAAABAAABGgAAAFoAAAAoaWluZgAAAAAAAQAAABppbmZlAgAAAAABAABhdjAxQ29sb3IAAAAAamlwcnAAAABLaXBjbwAAABRpc3BlAAAAAAAAAAwAAAAKAAAAEHBpeGkAAAAAAwgICAAAAAxhdjFDgQAMAAAAABNjb2xybmNseAACAAIABoAAAAAXaXBtYQAAAAAAAAABAAEEAQKDBAAAAGJtZGF0EgAKCRgM7lggQEDQgDJLFkAGGGGFAMQp2nJPna3tsJNwRb1fxrOi8N6iXvZxtpID2LJXULQQexpzWnK9sRsoZaMh88OSd8bxMQGz81QhOop6KNID1QQxYsyY',
  ),
  (c) => c.charCodeAt(0),
);

/**
 * 64x64 AVIFs from libavif (jsquash's @jsquash/avif 2.1.1, quality 10, speed 10), RGB and
 * RGBA (an alpha item 2, stored before item 1 in mdat): real AV1 data, reduced still
 * picture sequence headers of 64x64.
 */
const LIBAVIF_64X64 = fromBase64(
  'AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAADybWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAAAeaWxvYwAAAABEAAABAAEAAAABAAABGgAAAEUAAAAoaWluZgAAAAAAAQAAABppbmZlAgAAAAABAABhdjAxQ29sb3IAAAAAamlwcnAAAABLaXBjbwAAABRpc3BlAAAAAAAAAEAAAABAAAAAEHBpeGkAAAAAAwgICAAAAAxhdjFDgQAMAAAAABNjb2xybmNseAACAAIABoAAAAAXaXBtYQAAAAAAAAABAAEEAQKDBAAAAE1tZGF0EgAKCRgVf/2CBAQNCDI2HkA////EANgERHIndbXx+jxWeE8mwYcUAvj5vzXh4WzWBjUWZ7UyxBgL4AtZ7LkFE8hyWJ3Q',
);
const LIBAVIF_64X64_RGBA = fromBase64(
  'AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAAGNbWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAAAsaWxvYwAAAABEAAACAAEAAAABAAAB2wAAAEUAAgAAAAEAAAG1AAAAJgAAAEJpaW5mAAAAAAACAAAAGmluZmUCAAAAAAEAAGF2MDFDb2xvcgAAAAAaaW5mZQIAAAAAAgAAYXYwMUFscGhhAAAAABppcmVmAAAAAAAAAA5hdXhsAAIAAQABAAAAw2lwcnAAAACdaXBjbwAAABRpc3BlAAAAAAAAAEAAAABAAAAAEHBpeGkAAAAAAwgICAAAAAxhdjFDgQAMAAAAABNjb2xybmNseAACAAIABoAAAAAOcGl4aQAAAAABCAAAAAxhdjFDgQAcAAAAADhhdXhDAAAAAHVybjptcGVnOm1wZWdCOmNpY3A6c3lzdGVtczphdXhpbGlhcnk6YWxwaGEAAAAAHmlwbWEAAAAAAAAAAgABBAECgwQAAgQBBYYHAAAAc21kYXQSAAoGGBV//YVAMhoeQP/xANgOIRbFmHwMNT+0JEW50S3y/u+KnBIACgkYFX/9ggQEDQgyNh5AP///xADYBERyJ3W18fo8VnhPJsGHFAL4+b814eFs1gY1Fme1MsQYC+ALWey5BRPIclid0A==',
);

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

/** `bytes` with the size in its first (the primary's) `ispe` replaced. */
function withIspe(bytes: Uint8Array, width: number, height: number): Uint8Array {
  const copy = bytes.slice();
  const at = indexOf(copy, 'ispe') + 12;
  new DataView(copy.buffer).setUint32(at, width);
  new DataView(copy.buffer).setUint32(at + 4, height);
  return copy;
}

const META = { scale: 2, width: 23, height: 19 };

/** The error `fn` throws (it must throw). */
function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  assert.fail('expected an error');
}

describe('AVIF container', () => {
  it('recognises AVIF by the avif or avis brand, major or compatible, and nothing else', () => {
    assert.ok(isAvif(LIBAVIF_12X10));
    assert.ok(isAvif(avifFile({ major: 'mif1', brands: ['mif1', 'avif'] })));
    assert.ok(isAvif(avifFile({ major: 'avis', brands: [] })));
    assert.ok(!isAvif(avifFile({ major: 'heic', brands: ['mif1', 'heic'] })), 'HEIC is not AVIF');
    assert.ok(!isAvif(avifFile({ major: 'mif1', brands: ['mif1'] })));
    assert.ok(!isAvif(LIBAVIF_12X10.subarray(0, 15)));
    assert.equal(sniffLrFormat(LIBAVIF_12X10), 'avif');
    assert.equal(sniffLrFormat(avifFile({ major: 'heic', brands: ['heic'] })), null);
    assert.match(thrown(() => readAvifInfo(avifFile({ major: 'heic', brands: ['heic'] }))).message, /^not an AVIF file \(no ftyp box with an avif or avis brand\)$/);
  });

  it("reads libavif's file: the primary image's size from ispe, no alpha, no metadata", () => {
    assert.deepEqual(readAvifInfo(LIBAVIF_12X10), { width: 12, height: 10, alpha: false, irn: null });
    assert.deepEqual(readLrFileInfo(LIBAVIF_12X10), { format: 'avif', width: 12, height: 10, alpha: false, lrMetadata: null });
  });

  it('finds the primary item through pitm and ipma, and alpha from an auxiliary alpha item', () => {
    const info = readAvifInfo(avifFile({ width: 640, height: 480, alpha: true }));
    assert.deepEqual([info.width, info.height, info.alpha], [640, 480, true]);
    // The size is the primary item's, wherever its ispe is: pitm naming item 2 gives item 2's.
    const second = readAvifInfo(avifFile({ width: 640, height: 480, alpha: true, alphaSize: [320, 240], primary: 2 }));
    assert.deepEqual([second.width, second.height], [320, 240]);
    // The alpha item's own ispe does not count (its frames are checked against the primary's).
    assert.deepEqual([readAvifInfo(avifFile({ alpha: true, alphaSize: [320, 240], alphaAv1: av1ItemData(12, 10) })).width], [12]);
  });

  it('reads the irot, imir and clap transforms of the primary image, and applyAvifTransform turns and mirrors as they say', () => {
    assert.equal(readAvifInfo(LIBAVIF_QUAD).transform, undefined);
    assert.deepEqual(readAvifInfo(LIBAVIF_QUAD_IROT1_IMIR0).transform, { crop: false, rotate: 1, mirror: 0 });
    assert.deepEqual(readAvifInfo(LIBAVIF_QUAD_CLAP).transform, { crop: true, rotate: 0, mirror: null });
    // [[0 1 2] [3 4 5]], turned and mirrored (Chromium agrees: test/browser/avif-lr.test.ts).
    const img = { width: 3, height: 2, channels: 1 as const, data: Float32Array.of(0, 1, 2, 3, 4, 5) };
    const rows = (t: { crop: boolean; rotate: 0 | 1 | 2 | 3; mirror: 0 | 1 | null }) => {
      const out = applyAvifTransform(img, t);
      return Array.from({ length: out.height }, (_, y) => [...out.data.subarray(y * out.width, (y + 1) * out.width)].join('')).join(' ');
    };
    assert.equal(rows({ crop: false, rotate: 0, mirror: null }), '012 345');
    assert.equal(rows({ crop: false, rotate: 1, mirror: null }), '25 14 03', 'a quarter turn anticlockwise');
    assert.equal(rows({ crop: false, rotate: 2, mirror: null }), '543 210');
    assert.equal(rows({ crop: false, rotate: 3, mirror: null }), '30 41 52');
    assert.equal(rows({ crop: false, rotate: 0, mirror: 0 }), '345 012', 'axis 0: top and bottom exchanged');
    assert.equal(rows({ crop: false, rotate: 0, mirror: 1 }), '210 543', 'axis 1: left and right exchanged');
    assert.equal(rows({ crop: false, rotate: 1, mirror: 0 }), '03 14 25', 'turned, then mirrored: the transpose');
    assert.equal(applyAvifTransform(img, undefined), img);
    assert.throws(() => applyAvifTransform(img, { crop: true, rotate: 0, mirror: null }), (e: Error) => e instanceof AvifFormatError && /clean aperture \(clap box\)/.test(e.message));
  });

  it('appends the metadata as a uuid box at the end, leaving every byte before it (and so iloc offsets) as it was', () => {
    const text = lrMetadataText(META);
    const out = withAvifMetadata(LIBAVIF_12X10, text);
    assert.deepEqual(out.subarray(0, LIBAVIF_12X10.length), LIBAVIF_12X10);
    const tail = out.subarray(LIBAVIF_12X10.length);
    assert.equal(new DataView(tail.buffer, tail.byteOffset).getUint32(0), tail.length);
    assert.equal(String.fromCharCode(...tail.subarray(4, 8)), 'uuid');
    assert.deepEqual(tail.subarray(8, 24), IRN_AVIF_UUID);
    assert.equal(new TextDecoder().decode(tail.subarray(24)), text);
    assert.deepEqual(new TextDecoder().decode(readAvifInfo(out).irn!), text);
    assert.deepEqual(readLrFileInfo(out).lrMetadata, META);
    // Replacing, not adding: one box of ours, the image bytes untouched.
    const again = withAvifMetadata(out, lrMetadataText({ scale: 4, width: 45, height: 37 }));
    assert.deepEqual(again.subarray(0, LIBAVIF_12X10.length), LIBAVIF_12X10);
    assert.equal(again.length, out.length);
    assert.deepEqual(readLrFileInfo(again).lrMetadata, { scale: 4, width: 45, height: 37 });
    // Every field lr-metadata.ts writes rides along (the preset the LR was made for, too).
    const named = withAvifMetadata(LIBAVIF_12X10, lrMetadataText({ ...META, model: 'irn-x2-avif' }));
    assert.deepEqual(readLrFileInfo(named).lrMetadata, { ...META, model: 'irn-x2-avif' });
  });

  it('writes out the size of a last box that runs to the end of the file before appending', () => {
    const file = avifFile();
    const mdatAt = indexOf(file, 'mdat');
    const mdatSize = file.length - mdatAt;
    file.set(u32s(0), mdatAt);
    assert.equal(readAvifInfo(file).irn, null);
    const out = withAvifMetadata(file, lrMetadataText(META));
    assert.equal(new DataView(out.buffer).getUint32(mdatAt), mdatSize, 'mdat sized');
    assert.deepEqual(readLrFileInfo(out).lrMetadata, META);
    // Left at 0, the mdat would have swallowed the metadata: then the reader sees none.
    const swallowed = concat(file, withAvifMetadata(avifFile(), lrMetadataText(META)).subarray(avifFile().length));
    assert.equal(readAvifInfo(swallowed).irn, null);
  });

  it('refuses to replace a box of ours that is not at the end (that would move the image data)', () => {
    const ours = withAvifMetadata(avifFile(), lrMetadataText(META)).subarray(avifFile().length);
    const middle = concat(avifFile(), ours, box('free', new Uint8Array(16)));
    assert.deepEqual(readLrFileInfo(middle).lrMetadata, META, 'read wherever it is');
    assert.throws(() => withAvifMetadata(middle, '{}'), /not at the end of the file/);
  });

  it('checks the size against the pixel limit and the metadata against textBytes before anything else', () => {
    const huge = avifFile({ width: 60000, height: 60000 });
    const e = thrown(() => readLrFileInfo(huge));
    assert.ok(e instanceof LimitError, e.message);
    assert.match(e.message, /the image \(60000x60000\) is 3,600,000,000 pixels, above the limit/);
    assert.equal(readLrFileInfo(huge, { pixels: 4e9 }).width, 60000);
    const big = withAvifMetadata(avifFile(), `{"scale":2,"width":23,"height":19,"pad":"${'x'.repeat(2000)}"}`);
    assert.ok(thrown(() => readLrFileInfo(big, { textBytes: 1000 })) instanceof LimitError);
    assert.deepEqual(readLrFileInfo(big).lrMetadata, META);
    const bad = withAvifMetadata(avifFile(), '{"scale":2}');
    assert.match(thrown(() => readLrFileInfo(bad)).message, /^its "irn" AVIF metadata box should hold \{"scale", "width", "height"\}/);
  });
});

describe('AVIF container: malformed files, one AvifFormatError line each', () => {
  const file = avifFile();
  /** `bytes` with the 32-bit value at `at` replaced. */
  const patched = (bytes: Uint8Array, at: number, value: number) => {
    const copy = bytes.slice();
    new DataView(copy.buffer).setUint32(at, value);
    return copy;
  };
  const metaAt = new DataView(file.buffer).getUint32(0);
  const mdatSize = file.length - indexOf(file, 'mdat');
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['cut short in the mdat', file.subarray(0, file.length - 5), new RegExp(`the "mdat" box at byte \\d+ claims ${mdatSize} bytes, more than the ${mdatSize - 5} left in the file`)],
    ['cut short in a box header', file.subarray(0, metaAt + 5), /a box header at byte \d+ is cut short/],
    ['a box claiming 4 GiB', patched(file, metaAt, 0xffffffff), /the "meta" box at byte \d+ claims 4294967295 bytes, more than/],
    ['a box smaller than its header', patched(file, metaAt, 4), /claims 4 bytes, fewer than its 8-byte header/],
    ['a 64-bit size of 2^63', concat(file, box('free'), u32s(1), ascii('free'), u32s(0x80000000, 0)).subarray(0, file.length + 8 + 16), /the "free" box at byte \d+ claims 9223372036854776000 bytes/],
    ['a 64-bit size cut short', concat(file, u32s(1), ascii('free'), u32s(0)), /the 64-bit size of the "free" box at byte \d+ is cut short/],
    ['no meta', concat(file.subarray(0, metaAt), box('mdat')), /it has no meta box/],
    ['an ipma claiming 2^32-1 entries', (() => {
      const at = indexOf(file, 'ipma') + 12;
      return patched(file, at, 0xffffffff);
    })(), /its ipma box claims 4294967295 entries, more than its \d+ bytes hold/],
    ['no ispe for the primary item', avifFile({ primary: 7 }), /its primary image \(item 7\) has no size \(no ispe property\)/],
    ['an ispe of 0x10', avifFile({ width: 0, height: 10 }), /its ispe property says 0x10/],
    ['a uuid box cut in its user type', concat(file, u32s(12), ascii('uuid'), u32s(0)), /the "uuid" box at byte \d+ claims 12 bytes, fewer than its 24-byte header/],
    ['10,001 boxes', concat(file, ...Array.from({ length: 10_001 }, () => box('free'))), /it has more than 10000 boxes/],
  ];
  for (const [what, bytes, message] of cases) {
    it(`refuses ${what}`, () => {
      const e = thrown(() => readLrFileInfo(bytes));
      assert.ok(e instanceof AvifFormatError, `${e.name}: ${e.message}`);
      assert.match(e.message, message);
      assert.ok(!e.message.includes('\n'));
    });
  }

  for (const [what, file, seed] of [['a real file', LIBAVIF_12X10, 13], ['a real grid file with alpha', LIBAVIF_GRID_RGBA, 14]] as const) {
    it(`reads no metadata from a mutated file it cannot trust: 2000 seeded mutations of ${what} throw only AvifFormatError, LimitError or metadata errors`, () => {
      const base = withAvifMetadata(file, lrMetadataText(META));
      const random = seededRandom(seed);
      const names = new Set<string>();
      for (let n = 0; n < 2000; n++) {
        const bytes = base.slice();
        const edits = 1 + Math.floor(random() * 4);
        for (let k = 0; k < edits; k++) {
          const at = Math.floor(random() * bytes.length);
          bytes[at] = random() < 0.5 ? Math.floor(random() * 256) : [0, 0xff, 1, 0x80][Math.floor(random() * 4)];
        }
        const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
        try {
          readLrFileInfo(cut);
        } catch (e) {
          const err = e as Error;
          names.add(err.name);
          assert.ok(['AvifFormatError', 'LimitError', 'Error', 'WebpFormatError'].includes(err.name), `mutation ${n}: ${err.name}: ${err.message}`);
          assert.ok(!/Cannot read propert|Invalid typed array length|undefined|is not a function/.test(err.message), `mutation ${n}: ${err.message}`);
          assert.ok(!err.message.includes('\n'), `mutation ${n}: ${err.message}`);
        }
      }
      assert.ok(names.has('AvifFormatError'), [...names].join());
    });
  }
});

describe('AVIF container: the AV1 sequence header vouches for ispe', () => {
  /** The AvifFormatError `fn` throws, checked to be one line. */
  const refusal = (fn: () => unknown): string => {
    const e = thrown(fn);
    assert.ok(e instanceof AvifFormatError, `${e.name}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), e.message);
    return e.message;
  };

  it("reads libavif's files, whose sequence headers (found through iloc, not in av1C) say what ispe says", () => {
    assert.deepEqual(readAvifInfo(LIBAVIF_12X10), { width: 12, height: 10, alpha: false, irn: null });
    assert.deepEqual(readAvifInfo(LIBAVIF_64X64), { width: 64, height: 64, alpha: false, irn: null });
    assert.deepEqual(readAvifInfo(LIBAVIF_64X64_RGBA), { width: 64, height: 64, alpha: true, irn: null });
    // A frame smaller than ispe allocates less; the decoder's size check refuses it later.
    assert.equal(readAvifInfo(withIspe(LIBAVIF_64X64, 100, 100)).width, 100);
  });

  it('refuses a file whose ispe is smaller than its frame before decoding, whatever the pixel limit, with one line', () => {
    const liar = withIspe(LIBAVIF_64X64, 20, 20);
    assert.equal(refusal(() => readAvifInfo(liar)), 'its AV1 sequence header says 64x64, its ispe box 20x20: its frames may be larger than the size it claims');
    assert.match(refusal(() => readLrFileInfo(liar, { pixels: 1000 })), /says 64x64, its ispe box 20x20/);
    assert.match(refusal(() => readLrFileInfo(withIspe(LIBAVIF_64X64, 64, 63))), /says 64x64, its ispe box 64x63/);
    assert.match(refusal(() => withAvifMetadata(liar, lrMetadataText(META))), /says 64x64, its ispe box 20x20/);
    // The alpha image too, against the primary's ispe (the size a pixel limit is checked on).
    assert.match(refusal(() => readAvifInfo(withIspe(LIBAVIF_64X64_RGBA, 64, 32))), /^its AV1 sequence header says 64x64, its ispe box 64x32/);
    assert.equal(
      refusal(() => readAvifInfo(avifFile({ alpha: true, alphaAv1: av1ItemData(8000, 8000) }))),
      'the AV1 sequence header of its alpha image (item 2) says 8000x8000, its ispe box 12x10: its frames may be larger than the size it claims',
    );
    // A second sequence header would replace the first: every one is read.
    assert.match(refusal(() => readAvifInfo(avifFile({ av1: concat(av1ItemData(12, 10), av1SequenceHeader(8000, 10)) }))), /says 8000x10, its ispe box 12x10/);
  });

  it("reads libavif's grid files (tiles checked one by one) and refuses grids that would decode more than ispe says", () => {
    assert.deepEqual(readAvifInfo(LIBAVIF_GRID_RGB), { width: 128, height: 128, alpha: false, irn: null });
    // The alpha grid's tiles carry the alpha property too: one alpha image, not five.
    assert.deepEqual(readAvifInfo(LIBAVIF_GRID_RGBA), { width: 128, height: 128, alpha: true, irn: null });
    assert.match(new TextDecoder().decode(withAvifMetadata(LIBAVIF_GRID_RGB, lrMetadataText(META)).subarray(-60)), /"width":23/);
    /** The file with the 2x2 grid description (version 0, 16-bit sizes, 128x128) replaced. */
    const grid = (file: Uint8Array, rowsMinus1: number, columnsMinus1: number, width: number, height: number) => {
      const copy = file.slice();
      const at = copy.findIndex((b, i) => [0, 0, 1, 1, 0, 0x80, 0, 0x80].every((v, k) => copy[i + k] === v));
      assert.ok(at > 0, 'the grid description');
      copy.set([0, 0, rowsMinus1, columnsMinus1, width >> 8, width & 0xff, height >> 8, height & 0xff], at);
      return copy;
    };
    /** The file with its n-th ispe (0: the grid's, 1: the colour tiles') replaced. */
    const ispe = (file: Uint8Array, n: number, width: number, height: number) => {
      const copy = file.slice();
      // indexOf gives the box's start (its type is 4 bytes on); width and height follow version and flags.
      let at = indexOf(copy, 'ispe');
      for (let k = 0; k < n; k++) at += 8 + indexOf(copy.subarray(at + 8), 'ispe');
      new DataView(copy.buffer).setUint32(at + 12, width);
      new DataView(copy.buffer).setUint32(at + 16, height);
      return copy;
    };
    // Tiles that say 32x32 in a 64x64 grid whose AV1 frames are 64x64: a decoder allocates 4x.
    assert.equal(
      refusal(() => readAvifInfo(ispe(grid(ispe(LIBAVIF_GRID_RGB, 0, 64, 64), 1, 1, 64, 64), 1, 32, 32))),
      'the AV1 sequence header of the tile (item 2) of its primary image (item 1) says 64x64, its ispe box 32x32: its frames may be larger than the size it claims',
    );
    assert.equal(refusal(() => readAvifInfo(ispe(LIBAVIF_GRID_RGB, 0, 64, 64))), 'its primary image (item 1) is a grid of 128x128 pixels, its ispe box says 64x64');
    assert.match(refusal(() => readAvifInfo(ispe(LIBAVIF_GRID_RGB, 1, 128, 128))), /is a grid of 2x2 tiles of 128x128, which do not tile 128x128 \(too few, or a spare row or column\)$/);
    assert.match(refusal(() => readAvifInfo(grid(LIBAVIF_GRID_RGB, 2, 1, 128, 128))), /is a grid of 3x2 tiles, and its iref box names 4$/);
    // One column leaves libavif's rule no upper bound on the tiles' width: 4 rows x 1 column
    // of 100x256 whose tiles say 60000x64 (their 64x64 frames fit that ispe; a decoder could
    // be handed frames of up to 60000 wide).
    const wide = ispe(grid(ispe(LIBAVIF_GRID_RGB, 0, 100, 256), 3, 0, 100, 256), 1, 60000, 64);
    assert.equal(refusal(() => readAvifInfo(wide)), 'its primary image (item 1) is a grid of 100x256 pixels with tiles of 60000x64, more than twice its size');
    assert.deepEqual(readAvifInfo(ispe(grid(ispe(LIBAVIF_GRID_RGB, 0, 100, 256), 3, 0, 100, 256), 1, 128, 64)).width, 100, 'the same grid with tiles of 128x64');
    assert.match(refusal(() => readAvifInfo(grid(LIBAVIF_GRID_RGB, 255, 255, 128, 128))), /is a grid of 256x256 tiles, more than 4096$/);
    assert.match(refusal(() => readLrFileInfo(renamed(LIBAVIF_GRID_RGB, 'dimg', 'xxxx'))), /is a grid of 2x2 tiles, and its iref box names 0$/);
    // Only an alpha grid's own tiles are exempt from the alpha check. libavif's RGBA grid with
    // its ipma rewritten (same sizes): the alpha grid (item 6) and its tiles (7-10) lose the
    // alpha property (auxC, property 7; colr, property 3, in its place), and a colour tile
    // (item 2, a tile of the primary grid) gets it instead of its colr. That tile is then an
    // alpha image of its own, counted (and checked, against the primary's 128x128) as one:
    // the file has alpha. Were every tile exempt, it would have none.
    const ipma = (file: Uint8Array, entries: [number[], number[]][]) => {
      const copy = file.slice();
      const start = indexOf(copy, 'ipma') + 4;
      const end = start + new DataView(copy.buffer).getUint32(start - 8) - 8;
      for (const [from, to] of entries) {
        const at = copy.subarray(start, end).findIndex((_, i) => from.every((v, k) => copy[start + i + k] === v));
        assert.ok(at >= 0, `ipma entry ${from.join(',')}`);
        copy.set(to, start + at);
      }
      return copy;
    };
    const unalpha: [number[], number[]][] = [
      [[0, 6, 3, 1, 6, 7], [0, 6, 3, 1, 6, 3]],
      ...[7, 8, 9, 10].map((item): [number[], number[]] => [[0, item, 4, 4, 6, 136, 7], [0, item, 4, 4, 6, 136, 3]]),
    ];
    assert.equal(readAvifInfo(ipma(LIBAVIF_GRID_RGBA, unalpha)).alpha, false, 'no item says alpha any more');
    const colourTileAlpha = ipma(LIBAVIF_GRID_RGBA, [...unalpha, [[0, 2, 4, 4, 2, 133, 3], [0, 2, 4, 4, 2, 133, 7]]]);
    assert.deepEqual(readAvifInfo(colourTileAlpha), { width: 128, height: 128, alpha: true, irn: null }, 'a colour tile that says alpha is an alpha image');
    // A tile that is itself a grid: not decoded as one (no nesting).
    const nested = LIBAVIF_GRID_RGB.slice();
    nested.set(ascii('grid'), indexOf(nested, 'av01') + 4);
    assert.match(refusal(() => readAvifInfo(nested)), /^the tile \(item 2\) of its primary image \(item 1\) is a "grid" item, not an AV1 image \(av01\) or a grid of them$/);
  });

  it('finds the data through iloc: several extents in any order, and in idat (construction method 1)', () => {
    for (const options of [{ extents: 3 }, { extents: 7, alpha: true }, { idat: true }, { idat: true, extents: 4, alpha: true }]) {
      assert.deepEqual([readAvifInfo(avifFile(options)).width, readAvifInfo(avifFile(options)).height], [12, 10], JSON.stringify(options));
      const liar = avifFile({ ...options, av1: av1ItemData(8000, 8000) });
      assert.match(refusal(() => readAvifInfo(liar)), /says 8000x8000, its ispe box 12x10/, JSON.stringify(options));
    }
    // OBUs with an extension byte, and a last OBU without a size field (it runs to the end).
    const header = av1SequenceHeader(12, 10);
    assert.equal(readAvifInfo(avifFile({ av1: concat(obu(2, new Uint8Array(0), { extension: true }), obu(15, new Uint8Array(200)), obu(1, header.subarray(2), { sized: false })) })).width, 12);
  });

  it('reads full (not reduced) sequence headers: timing info, decoder model, operating points', () => {
    const full = {
      timing: { ticksPerPictureMinus1: 1000 },
      decoderModel: { bufferDelayBits: 17 },
      initialDisplayDelay: true,
      operatingPoints: [
        { level: 8, decoderModel: true, displayDelay: true },
        { level: 3, decoderModel: false, displayDelay: false },
        { level: 31, decoderModel: true, displayDelay: false },
      ],
    };
    const variants = [
      { full },
      { full: { operatingPoints: [{ level: 0 }] } },
      { full: { timing: { ticksPerPictureMinus1: null }, operatingPoints: [{ level: 9 }] } },
      { full: { ...full, timing: { ticksPerPictureMinus1: 0 }, initialDisplayDelay: false } },
    ];
    for (const options of variants) {
      for (const [w, h] of [[12, 10], [1, 1], [65536, 300]]) {
        assert.deepEqual([readAvifInfo(avifFile({ width: w, height: h, av1: av1ItemData(w, h, options) })).width], [w], JSON.stringify(options));
        const liar = avifFile({ width: w, height: h - 1 || 1, av1: av1ItemData(w, h + 1, options) });
        assert.match(refusal(() => readAvifInfo(liar)), new RegExp(`says ${w}x${h + 1}, its ispe box`), JSON.stringify(options));
      }
    }
    // A full header lets a frame header override the size with frame_width_bits bits (dav1d
    // does not hold it to the maximum), so those are held to what ispe needs; a reduced still
    // picture header cannot.
    const wide = av1ItemData(12, 10, { full: { operatingPoints: [{ level: 0 }] }, sizeBits: [16, 16] });
    assert.equal(
      refusal(() => readAvifInfo(avifFile({ av1: wide }))),
      'the AV1 sequence header of its primary image (item 1) lets a frame be up to 65536x65536 (16- and 16-bit sizes), more than its ispe box 12x10 needs',
    );
    assert.equal(readAvifInfo(avifFile({ av1: av1ItemData(12, 10, { sizeBits: [16, 16] }) })).width, 12);
  });

  const primary = 'the AV1 data of its primary image (item 1)';
  const cases: Array<[string, () => Uint8Array, RegExp]> = [
    ['no sequence header', () => avifFile({ av1: obu(2, new Uint8Array(0)) }), new RegExp(`^${escape(primary)} has no sequence header OBU$`)],
    ['no data at all', () => avifFile({ av1: new Uint8Array(0) }), /has no sequence header OBU$/],
    ['a frame before the sequence header', () => avifFile({ av1: concat(obu(6, new Uint8Array(4)), av1ItemData(12, 10)) }), /has a frame before any sequence header$/],
    ['a cut sequence header OBU', () => avifFile({ av1: av1ItemData(12, 10).subarray(0, 6) }), /has an OBU of \d+ bytes, more than the \d+ left$/],
    ['a sequence header too short for its fields', () => avifFile({ av1: obu(1, Uint8Array.of(0x18, 0x0c)) }), /^the AV1 sequence header of its primary image \(item 1\) is cut short$/],
    ['an OBU header cut in its extension', () => avifFile({ av1: Uint8Array.of(0x0e) }), new RegExp(`^${escape(primary)} is cut short$`)],
    ['a forbidden bit', () => avifFile({ av1: concat(Uint8Array.of(0x92, 0), av1ItemData(12, 10)) }), /has an OBU header with its forbidden bit set$/],
    ['an OBU size of 9 leb128 bytes', () => avifFile({ av1: Uint8Array.of(0x12, ...new Array(8).fill(0xff), 0) }), /has a malformed OBU size \(leb128\)$/],
    ['an OBU size above 2^32 - 1', () => avifFile({ av1: Uint8Array.of(0x12, 0x80, 0x80, 0x80, 0x80, 0x10) }), /has a malformed OBU size \(leb128\)$/],
    ['an OBU claiming 4 GiB', () => avifFile({ av1: Uint8Array.of(0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x18) }), /has an OBU of 4294967295 bytes, more than the 1 left$/],
    ['10,001 OBUs', () => avifFile({ av1: concat(...Array.from({ length: 10_001 }, () => obu(15, new Uint8Array(0))), av1ItemData(12, 10)) }), /has more than 10000 OBUs$/],
    // Timing info, equal_picture_interval, then 40 zeros.
    ['a huge uvlc', () => avifFile({ av1: obu(1, Uint8Array.of(0x04, 0, 0, 0, 0x04, 0, 0, 0, 0x06, 0, 0, 0, 0, 0x01)) }), /has a malformed num_ticks_per_picture_minus_1 \(uvlc\)$/],
    ['an iloc extent beyond the file', () => patchIloc(LIBAVIF_64X64, 'length', 0x10000), /^the data of item 1 \(iloc extent at 282, 65536 bytes\) lies outside the 351-byte file$/],
    ['an iloc extent at 2^32 - 1', () => patchIloc(LIBAVIF_64X64, 'offset', 0xffffffff), /iloc extent at 4294967295, 69 bytes\) lies outside the 351-byte file$/],
    ['no iloc entry for the primary', () => patchIloc(LIBAVIF_64X64, 'item', 9), /^its primary image \(item 1\) has no data \(no entry in iloc\)$/],
    ['no iloc box', () => renamed(LIBAVIF_64X64, 'iloc', 'xloc'), /^it says nowhere where its images are \(no iloc box\)$/],
    ['a single AV1 image called a grid', () => renamed(LIBAVIF_64X64, 'av01', 'grid'), /^the grid description of its primary image \(item 1\) has version 18, not 0$/],
    ['an Exif item as the primary image', () => renamed(LIBAVIF_64X64, 'av01', 'Exif'), /^its primary image \(item 1\) is a "Exif" item, not an AV1 image \(av01\) or a grid of them$/],
    ['no infe for the primary', () => renamed(LIBAVIF_64X64, 'infe', 'xnfe'), /^its primary image \(item 1\) is not described \(no infe entry in iinf\)$/],
    ['data in idat without an idat box', () => renamed(avifFile({ idat: true }), 'idat', 'free'), /^the data of item 1 is in an idat box, and it has none$/],
    ['17 alpha images', () => manyAlphas(17), /^it has 17 alpha images, more than 16$/],
  ];
  for (const [what, make, message] of cases) {
    it(`refuses ${what}, with one line`, () => {
      assert.match(refusal(() => readLrFileInfo(make())), message);
    });
  }
});

/** A regular expression matching `text` literally. */
function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `bytes` with the first occurrence of the four characters `from` replaced by `to`. */
function renamed(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const copy = bytes.slice();
  copy.set(ascii(to), indexOf(copy, from) + 4);
  return copy;
}

/** A one-item libavif file (iloc version 0, 4-byte offsets and lengths) with a field of its one iloc entry replaced. */
function patchIloc(bytes: Uint8Array, field: 'item' | 'offset' | 'length', value: number): Uint8Array {
  const copy = bytes.slice();
  const entry = indexOf(copy, 'iloc') + 16;
  const view = new DataView(copy.buffer);
  if (field === 'item') view.setUint16(entry, value);
  else view.setUint32(entry + (field === 'offset' ? 6 : 10), value);
  return copy;
}

/** avifFile's alpha file with `count` alpha items in ipma (items 2, 3, ...: all but item 2 without data). */
function manyAlphas(count: number): Uint8Array {
  const file = avifFile({ alpha: true });
  const at = indexOf(file, 'ipma');
  const extra = Array.from({ length: count - 1 }, (_, i) => Uint8Array.of(0, 3 + i, 1, 0x03));
  const ipma = concat(u32s(8 + 8 + 5 + 6 + 4 * extra.length), ascii('ipma'), Uint8Array.of(0, 0, 0, 0), u32s(2 + extra.length), file.subarray(at + 16, at + 16 + 11), ...extra);
  const old = new DataView(file.buffer).getUint32(at);
  const grow = ipma.length - old;
  const out = concat(file.subarray(0, at), ipma, file.subarray(at + old));
  // The boxes around ipma grow with it (meta, iprp); iloc offsets into mdat move: irrelevant, as the count is refused first.
  const view = new DataView(out.buffer);
  for (const type of ['meta', 'iprp']) {
    const box = indexOf(out, type);
    view.setUint32(box, view.getUint32(box) + grow);
  }
  return out;
}

/** Offset of the first box of type `type` in `bytes` (its size field). */
function indexOf(bytes: Uint8Array, type: string): number {
  for (let i = 4; i + 4 <= bytes.length; i++) if (String.fromCharCode(...bytes.subarray(i, i + 4)) === type) return i - 4;
  throw new Error(`no ${type}`);
}
