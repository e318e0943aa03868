import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { ascii, avifFile, box, concat, u32s } from '../testing/avif-fixtures.js';
import { seededRandom } from '../testing/fixtures.js';
import { AvifFormatError, IRN_AVIF_UUID, isAvif, readAvifInfo, withAvifMetadata } from './avif-container.js';
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
    assert.deepEqual([readAvifInfo(avifFile({ alpha: true, alphaSize: [320, 240] })).width], [12]);
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
    const mdatAt = file.length - 24;
    assert.equal(String.fromCharCode(...file.subarray(mdatAt + 4, mdatAt + 8)), 'mdat');
    file.set(u32s(0), mdatAt);
    assert.equal(readAvifInfo(file).irn, null);
    const out = withAvifMetadata(file, lrMetadataText(META));
    assert.equal(new DataView(out.buffer).getUint32(mdatAt), 24, 'mdat sized');
    assert.deepEqual(readLrFileInfo(out).lrMetadata, META);
    // Left at 0, the mdat would have swallowed the metadata: then the reader sees none.
    const swallowed = concat(file, withAvifMetadata(avifFile(), lrMetadataText(META)).subarray(avifFile().length));
    assert.equal(readAvifInfo(swallowed).irn, null);
  });

  it('refuses to replace a box of ours that is not at the end (that would move the image data)', () => {
    const ours = withAvifMetadata(avifFile(), lrMetadataText(META)).subarray(avifFile().length);
    const middle = concat(avifFile().subarray(0, avifFile().length - 24), ours, box('mdat', new Uint8Array(16)));
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
  const cases: Array<[string, Uint8Array, RegExp]> = [
    ['cut short in the mdat', file.subarray(0, file.length - 5), /the "mdat" box at byte \d+ claims 24 bytes, more than the 19 left in the file/],
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

  it('reads no metadata from a mutated file it cannot trust: 2000 seeded mutations of a real file throw only AvifFormatError, LimitError or metadata errors', () => {
    const base = withAvifMetadata(LIBAVIF_12X10, lrMetadataText(META));
    const random = seededRandom(13);
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
});

/** Offset of the first box of type `type` in `bytes` (its size field). */
function indexOf(bytes: Uint8Array, type: string): number {
  for (let i = 4; i + 4 <= bytes.length; i++) if (String.fromCharCode(...bytes.subarray(i, i + 4)) === type) return i - 4;
  throw new Error(`no ${type}`);
}
