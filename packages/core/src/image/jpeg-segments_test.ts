import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../limits.js';
import { readLrFileInfo } from './lr-formats.js';
import { checkJpegDataSize, checkJpegScans, countJpegScans, isSofMarker, JpegFormatError, MAX_JPEG_SCANS, readJpegInfo, withJpegComment } from './jpeg-segments.js';

/** The frame header (SOF0) of a grey `w x h` image. */
const sof = (w: number, h: number) => [0xff, 0xc0, 0, 11, 8, h >> 8, h & 0xff, w >> 8, w & 0xff, 1, 1, 0x11, 0];
/** A scan header (SOS) of that one component. */
const SOS = [0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0];

/** SOI, a frame header (SOF0) claiming `w x h`, SOS, then `dataBytes` zero bytes of image data. */
function claiming(w: number, h: number, dataBytes = 0): Uint8Array {
  return new Uint8Array([0xff, 0xd8, ...sof(w, h), ...SOS, ...new Array<number>(dataBytes).fill(0)]);
}

/** {@link claiming} with the 16-byte JFIF APP0 segment after SOI, as encoders write it. */
function jfif(w: number, h: number, dataBytes = 0): Uint8Array {
  const app0 = [0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
  const rest = claiming(w, h, dataBytes);
  return new Uint8Array([...rest.subarray(0, 2), ...app0, ...rest.subarray(2)]);
}

/** A 16x8 progressive JPEG of 4 scans, as MozJPEG (`irn downscale --format jpeg`) writes them. */
const REAL = Uint8Array.from(
  atob(
    '/9j/4AAQSkZJRgABAQAAAQABAAD/2wCEAAgICAgJCAkKCgkNDgwODRMREBARExwUFhQWFBwrGx8bGx8bKyYuJSMlLiZENS8vNUROQj5CTl9VVV93cXecnNEBCAgICAkICQoKCQ0ODA4NExEQEBETHBQWFBYUHCsbHxsbHxsrJi4lIyUuJkQ1Ly81RE5CPkJOX1VVX3dxd5yc0f/CABEIAAgAEAMBIgACEQEDEQH/xAApAAEBAQAAAAAAAAAAAAAAAAAAAQYBAQEAAAAAAAAAAAAAAAAAAAMF/9oADAMBAAIQAxAAAADSwjP/AP/EABsQAAEEAwAAAAAAAAAAAAAAAAEAESFhUYGR/9oACAEBAAE/AAA1YEDZUNXAv//EABsRAAIBBQAAAAAAAAAAAAAAAAIRAQADInFy/9oACAECAQE/AGxDGIdoiXMpar//xAAYEQACAwAAAAAAAAAAAAAAAAAAAwUGVP/aAAgBAwEBPwBNVhs5/9k=',
  ),
  (c) => c.charCodeAt(0),
);

const oneLine = (re: RegExp) => (e: Error) => e instanceof JpegFormatError && re.test(e.message) && !e.message.includes('\n');

describe('JPEG LR images', () => {
  it('carries the metadata in a COM segment after the JFIF segment', () => {
    // (That MozJPEG's files keep decoding the same with it: @irn/cli's lr-codecs_test.)
    const meta = { scale: 2, width: 73, height: 45 };
    const bytes = withJpegComment(jfif(37, 23, 2), new TextEncoder().encode('irn {"scale":2,"width":73,"height":45}'));
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

  it('reads a real progressive JPEG: its size, its scans, the start of its image data', () => {
    const info = readJpegInfo(REAL);
    assert.deepEqual([info.width, info.height, info.components, info.arithmetic, info.scans], [16, 8, 3, false, 4]);
    assert.ok(info.dataBytes > 0 && info.dataBytes < REAL.length - 200, String(info.dataBytes));
    assert.deepEqual([readLrFileInfo(REAL).width, readLrFileInfo(REAL).height], [16, 8]);
  });

  it('refuses a JPEG cut short from its size, before any decoder sees it (a bit per 8x8 block)', () => {
    // 200x200 is 625 blocks: at least 79 bytes of image data.
    const message = /^truncated JPEG: a 200x200 image needs at least 79 bytes of image data \(a bit per 8x8 block\), the file holds 6$/;
    assert.throws(() => readLrFileInfo(claiming(200, 200, 6)), oneLine(message));
    assert.equal(readLrFileInfo(claiming(200, 200, 79)).width, 200);
    assert.throws(() => checkJpegDataSize({ width: 200, height: 200, dataBytes: 78 }), oneLine(/holds 78$/));
    checkJpegDataSize({ width: 200, height: 200, dataBytes: 79 });
    // An arithmetic-coded frame can code a flat block in less than a bit.
    checkJpegDataSize({ width: 200, height: 200, dataBytes: 6, arithmetic: true });
    // The real file cut in its first scan, and claiming more than it holds.
    const cut = REAL.slice(0, REAL.length - readJpegInfo(REAL).dataBytes + 3);
    assert.equal(readJpegInfo(cut).scans, 1, 'a file cut in a scan is read up to there');
    const sofAt = cut.findIndex((b, i) => b === 0xff && cut[i + 1] === 0xc2);
    cut.set([0x03, 0xe8, 0x03, 0xe8], sofAt + 5); // 1000x1000
    assert.throws(() => readLrFileInfo(cut), oneLine(/^truncated JPEG: a 1000x1000 image needs at least 1954 bytes of image data .* the file holds 3$/));
  });

  it(`accepts ${MAX_JPEG_SCANS} scans and refuses one more, in time linear in the file`, () => {
    const scans = (n: number) => new Uint8Array([0xff, 0xd8, ...sof(8, 8), ...new Array<number[]>(n).fill([...SOS, 0x12, 0x34]).flat(), 0xff, 0xd9]);
    assert.equal(readLrFileInfo(scans(MAX_JPEG_SCANS)).width, 8);
    assert.equal(readJpegInfo(scans(MAX_JPEG_SCANS)).scans, MAX_JPEG_SCANS);
    assert.throws(() => readLrFileInfo(scans(MAX_JPEG_SCANS + 1)), oneLine(new RegExp(`more than ${MAX_JPEG_SCANS} scans`)));
    // 10,000 scans of a 10000x10000 frame (the audit's 344 KB file is like it): refused at once.
    const bomb = new Uint8Array([0xff, 0xd8, ...sof(10000, 10000), ...new Array<number[]>(10000).fill(SOS).flat(), 0xff, 0xd9]);
    // A single scan of 4 MB of data (0xff00 all through it) is walked fast too. Both files are
    // made before the clock starts (spreading 4 M bytes into an array alone took over a second
    // on a busy CI machine), so the bound times the walks only: tens of milliseconds, where a
    // walk quadratic in the file would take minutes.
    const head = claiming(8, 8);
    const one = new Uint8Array(head.length + (4 << 20) + 2).fill(0xff, head.length);
    one.set(head);
    for (let i = head.length + 1; i < one.length - 2; i += 2) one[i] = 0;
    one.set([0xff, 0xd9], one.length - 2);
    const start = performance.now();
    assert.throws(() => readLrFileInfo(bomb), oneLine(/more than 500 scans/));
    assert.equal(readJpegInfo(one).scans, 1);
    assert.ok(performance.now() - start < 2000, `${performance.now() - start} ms`);
  });

  it('countJpegScans: the scans checkJpegScans counts, the walk stopped one past max; 0 for what is not a JPEG', () => {
    const scans = (n: number, stray: number[] = []) =>
      new Uint8Array([0xff, 0xd8, ...sof(8, 8), ...stray, ...new Array<number[]>(n).fill([...SOS, 0x12, 0x34]).flat(), 0xff, 0xd9]);
    assert.equal(countJpegScans(REAL), readJpegInfo(REAL).scans);
    assert.equal(countJpegScans(scans(99)), 99);
    assert.equal(countJpegScans(scans(99), 99), 99);
    assert.equal(countJpegScans(scans(100), 99), 100);
    assert.equal(countJpegScans(scans(MAX_JPEG_SCANS + 7), 99), 100, 'stops at max + 1');
    assert.equal(countJpegScans(scans(MAX_JPEG_SCANS)), MAX_JPEG_SCANS);
    assert.equal(countJpegScans(scans(MAX_JPEG_SCANS + 7)), MAX_JPEG_SCANS + 1, 'the default max is the cap');
    assert.equal(countJpegScans(scans(120, [0x00, 0x17, 0x42]), 1000), 120, 'past stray bytes');
    assert.equal(countJpegScans(new Uint8Array([0x89, 0x50, 0x4e, 0x47])), 0);
  });

  it('checkJpegScans: the scan cap for photos, read past stray bytes that readJpegInfo refuses', () => {
    const scans = (n: number, stray: number[] = []) =>
      new Uint8Array([0xff, 0xd8, ...sof(8, 8), ...stray, ...new Array<number[]>(n).fill([...SOS, 0x12, 0x34]).flat(), 0xff, 0xd9]);
    checkJpegScans(REAL);
    checkJpegScans(scans(MAX_JPEG_SCANS));
    assert.throws(() => checkJpegScans(scans(MAX_JPEG_SCANS + 1)), oneLine(new RegExp(`^it has more than ${MAX_JPEG_SCANS} scans`)));
    // Stray bytes after the frame header: readJpegInfo gives up there, a decoder reads on.
    const untidy = scans(MAX_JPEG_SCANS + 1, [0x00, 0x17, 0x42]);
    assert.throws(() => readJpegInfo(untidy), oneLine(/^no marker at byte 15 /));
    assert.throws(() => checkJpegScans(untidy), oneLine(/more than 500 scans/));
    checkJpegScans(scans(MAX_JPEG_SCANS, [0x00, 0x17, 0x42]));
    // SOS bytes inside a segment (an APP1 holding 600 of them) and after EOI are no scans.
    const app1 = [0xff, 0xe1, 0x04, 0xb2, ...new Array<number[]>(600).fill([0xff, 0xda]).flat()];
    checkJpegScans(new Uint8Array([0xff, 0xd8, ...app1, ...sof(8, 8), ...SOS, 0x12, 0xff, 0xd9, ...new Array<number[]>(600).fill(SOS).flat()]));
    // A segment cut short ends the walk (the decoder says what is wrong); not a JPEG: nothing to check.
    checkJpegScans(new Uint8Array([0xff, 0xd8, 0xff, 0xe1, 0x7f]));
    checkJpegScans(new Uint8Array([0x89, 0x50, 0x4e, 0x47]));
    // 10,000 empty scans of a 10000x10000 frame, in time linear in the file.
    const start = performance.now();
    const bomb = new Uint8Array([0xff, 0xd8, ...sof(10000, 10000), 0x00, ...new Array<number[]>(10000).fill(SOS).flat(), 0xff, 0xd9]);
    assert.throws(() => checkJpegScans(bomb), oneLine(/more than 500 scans/));
    assert.ok(performance.now() - start < 1000, `${performance.now() - start} ms`);
  });

  it('steps over stuffed 0xff00 bytes, RST0-7 markers and fill bytes inside image data, and stops at EOI', () => {
    const data = [0x12, 0xff, 0x00, 0xda, 0xff, 0xd0, 0x34, 0xff, 0x00, 0xff, 0xd7, 0xff, 0x00, 0xff, 0xff, 0xfe, 0, 4, 0x61, 0x62];
    // SOS, data, then a COM segment (after fill bytes), a second scan, EOI and bytes after it.
    const file = new Uint8Array([
      ...jfif(8, 8), ...data, ...SOS, 0xff, 0x00, 0xff, 0xd9, 0xff, 0xda, 0xff, 0xda, 0xff, 0xda,
    ]);
    const info = readJpegInfo(file);
    assert.equal(info.scans, 2, 'the 0xffda after a stuffed 0xff00, and those after EOI, are no scans');
    assert.equal(info.comments.length, 0, 'comments after the first scan are not metadata');
    assert.equal(info.dataBytes, file.length - jfif(8, 8).length);
    // Cut anywhere in the first scan's data: read up to there (the decoder says the rest).
    for (let n = jfif(8, 8).length; n <= jfif(8, 8).length + data.length - 6; n++) assert.equal(readJpegInfo(file.subarray(0, n)).scans, 1);
    // A segment after a scan is checked like those before it.
    assert.throws(() => readJpegInfo(new Uint8Array([...jfif(8, 8, 1), 0xff, 0xfe, 0, 9, 0x61])), oneLine(/0xfffe at byte \d+ claims 9 bytes/));
    assert.throws(() => readJpegInfo(new Uint8Array([...jfif(8, 8, 1), 0xff, 0xd8])), oneLine(/unexpected marker 0xffd8/));
  });
});

describe('isSofMarker', () => {
  it('is true for SOF0-15 and false for DHT, JPG, DAC and the markers around them', () => {
    const sof = [0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf];
    for (let m = 0; m < 256; m++) assert.equal(isSofMarker(m), sof.includes(m), `0xff${m.toString(16)}`);
  });
});
