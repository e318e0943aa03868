import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encode as fastEncode } from 'fast-png';
import { unzlibSync } from 'fflate';
import { crc32 } from '../crc32.js';
import { concatBytes } from '../testing/fixtures.js';
import { DEFAULT_LIMITS, LimitError, type Limits } from '../limits.js';
import { decodePng, PngFormatError } from './png.js';
import { inflateBounded, readChunks, readTextChunks, TEXT_CHUNKS_PER_FILE } from './png-chunks.js';

// Hostile PNGs (issue 15, items 7 and 8), made here in memory: small files that claim or
// inflate to gigabytes. Before the limits, the zTXt bomb below took 34 s and 3.3 GB, 200
// 1 MiB zTXt chunks ran out of a 4 GB heap after two minutes, the 20000x20000 1-bit PNG
// decoded to 2 GB, and the 16x16 PNG with 1 GB of image data took 5 s and 2.9 GB.

/** A chunk: length, type, data, CRC. */
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function ihdr(width: number, height: number, depth: number, colourType: number, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const v = new DataView(d.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  d.set([depth, colourType, 0, 0, interlace], 8);
  return chunk('IHDR', d);
}

function png(...chunks: Uint8Array[]): Uint8Array {
  return concatBytes(Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), ...chunks, chunk('IEND', new Uint8Array(0)));
}

/**
 * A zlib stream of `n` zero bytes at DEFLATE's largest ratio (about 1032:1), written by hand
 * in a few milliseconds where a compressor would take seconds for hundreds of megabytes.
 * One dynamic-Huffman block: literal/length codes 285 (length 258, 1 bit), 0 (literal 0, 2
 * bits) and 256 (end, 2 bits); distance code 0 (distance 1, 1 bit). So the block is a literal
 * 0, then (n - 1) / 258 matches of 2 zero bits each, then the leftover literals and the end.
 */
function zlibZeros(n: number): Uint8Array {
  const matches = Math.floor((n - 1) / 258);
  const literals = n - 1 - matches * 258;
  const out = new Uint8Array(64 + Math.ceil((matches * 2 + literals * 2) / 8));
  let at = 2;
  out[0] = 0x78;
  out[1] = 0x9c;
  let acc = 0;
  let nacc = 0;
  const put = (value: number, count: number): void => {
    // LSB first (header fields, extra bits)
    for (let i = 0; i < count; i++) {
      acc |= ((value >> i) & 1) << nacc;
      if (++nacc === 8) {
        out[at++] = acc;
        acc = 0;
        nacc = 0;
      }
    }
  };
  const code = (value: number, length: number): void => {
    // Huffman codes go MSB first
    for (let i = length - 1; i >= 0; i--) put((value >> i) & 1, 1);
  };
  put(1, 1); // BFINAL
  put(2, 2); // dynamic
  put(286 - 257, 5); // HLIT
  put(2 - 1, 5); // HDIST
  put(18 - 4, 4); // HCLEN
  const order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1];
  const clLen: Record<number, number> = { 18: 1, 1: 2, 2: 2 };
  for (const s of order) put(clLen[s] ?? 0, 3);
  // code-length codes: 18 -> 0, 1 -> 10, 2 -> 11
  const cl = (s: number): void => (s === 18 ? code(0, 1) : s === 1 ? code(2, 2) : code(3, 2));
  cl(2); // literal 0: length 2
  cl(18); put(138 - 11, 7); // 1..138 zero
  cl(18); put(117 - 11, 7); // 139..255 zero
  cl(2); // 256: length 2
  cl(18); put(28 - 11, 7); // 257..284 zero
  cl(1); // 285: length 1
  cl(1); cl(1); // distance codes 0, 1: length 1
  // litlen codes: 285 -> 0, 0 -> 10, 256 -> 11; distance 0 -> 0
  code(2, 2);
  // Whole bytes of zero bits for the matches, then the remainder bit by bit.
  let left = matches;
  while (left > 0 && nacc !== 0) { code(0, 2); left--; }
  const whole = Math.floor(left / 4);
  at += whole; // already zero
  left -= whole * 4;
  for (; left > 0; left--) code(0, 2);
  for (let i = 0; i < literals; i++) code(2, 2);
  code(3, 2); // end of block
  if (nacc > 0) { out[at++] = acc; acc = 0; nacc = 0; }
  const adler = ((n % 65521) << 16) | 1;
  new DataView(out.buffer).setUint32(at, adler >>> 0);
  return out.subarray(0, at + 4);
}

const latin1Bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));

const concat = concatBytes;

/** A 1x1 grey PNG with one pixel and the given extra chunks before IDAT. */
function tinyPng(...extra: Uint8Array[]): Uint8Array {
  return png(ihdr(1, 1, 8, 0), ...extra, chunk('IDAT', zlibZeros(2)));
}

function ztxt(key: string, inflated: number): Uint8Array {
  return chunk('zTXt', concat(latin1Bytes(key), Uint8Array.of(0, 0), zlibZeros(inflated)));
}

function itxt(key: string, inflated: number): Uint8Array {
  return chunk('iTXt', concat(latin1Bytes(key), Uint8Array.of(0, 1, 0, 0, 0), zlibZeros(inflated)));
}

/** Milliseconds `f` takes. */
function timed(f: () => void): number {
  const t = performance.now();
  f();
  return performance.now() - t;
}

describe('the test generators', () => {
  it('zlibZeros makes valid zlib streams of exactly n zero bytes at about 1032:1', () => {
    for (const n of [1, 2, 100, 258, 259, 260, 1000, 123457]) {
      const out = unzlibSync(zlibZeros(n));
      assert.equal(out.length, n);
      assert.ok(out.every((b) => b === 0));
    }
    assert.ok(zlibZeros(100e6).length < 100e6 / 1000);
  });

  it('tinyPng decodes', () => {
    const img = decodePng(tinyPng(ztxt('Comment', 10), itxt('Title', 5)));
    assert.deepEqual([img.width, img.height, img.channels, img.data[0]], [1, 1, 1, 0]);
    assert.deepEqual(img.text, { Comment: '\0'.repeat(10), Title: '\0'.repeat(5) });
  });
});

describe('inflateBounded', () => {
  it('stops soon after max bytes, and reports the whole length otherwise', () => {
    const z = zlibZeros(5e6);
    let got = 0;
    const r = inflateBounded([z], 1000, (piece) => (got += piece.length));
    assert.equal(r.over, true);
    assert.ok(r.length > 1000 && r.length < 2 << 20, `stopped after ${r.length} bytes`);
    assert.ok(got <= 1000);
    assert.deepEqual(inflateBounded([z.subarray(0, 7), z.subarray(7)], 5e6), { length: 5e6, over: false });
  });

  it('throws for a corrupt or cut stream', () => {
    assert.throws(() => inflateBounded([Uint8Array.of(1, 2, 3, 4, 5, 6, 7)], 100), /invalid zlib data/);
    assert.throws(() => inflateBounded([zlibZeros(100000).subarray(0, 20)], 1e6), /unexpected EOF|invalid zlib data/);
  });
});

describe('PNG text chunk limits', () => {
  it('skips a zTXt bomb at textBytes, quickly (34 s and 3.3 GB before)', () => {
    const bytes = tinyPng(ztxt('Comment', 100e6), chunk('tEXt', latin1Bytes('Title\0kept')));
    assert.ok(bytes.length < 100_000);
    let img: ReturnType<typeof decodePng> | undefined;
    const ms = timed(() => (img = decodePng(bytes)));
    assert.deepEqual(img?.text, { Title: 'kept' });
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('skips an iTXt bomb the same way', () => {
    const ms = timed(() => assert.deepEqual(decodePng(tinyPng(itxt('Comment', 100e6))).text, {}));
    assert.ok(ms < 2000, `took ${ms} ms`);
  });

  it('reads a text chunk of exactly textBytes, and one past it only when the limit is raised', () => {
    const at = tinyPng(ztxt('a', 4096));
    assert.equal(decodePng(at, { limits: { textBytes: 4096 } }).text.a.length, 4096);
    const past = tinyPng(ztxt('a', 4097), itxt('b', 4097));
    assert.deepEqual(decodePng(past, { limits: { textBytes: 4096 } }).text, {});
    const raised = decodePng(past, { limits: { textBytes: 4097 } }).text;
    assert.deepEqual([raised.a.length, raised.b.length], [4097, 4097]);
  });

  it('refuses an irn chunk past textBytes rather than lose it', () => {
    for (const make of [ztxt, itxt]) {
      assert.throws(
        () => decodePng(tinyPng(make('irn', 10e6))),
        (e: unknown) =>
          e instanceof LimitError &&
          e.limit === 'textBytes' &&
          /^the PNG's (zTXt|iTXt) chunk "irn" at byte \d+ inflates to more than the limit of 1,048,576 bytes \(raise it with limits: \{ textBytes: N \}\)$/.test(e.message),
      );
    }
  });

  it('refuses a file whose text chunks together pass 8 x textBytes (many-chunk bomb), at the default limits too', () => {
    // 40 chunks of 512 KiB each, every one under textBytes, 20 MiB together.
    const bytes = tinyPng(...Array.from({ length: 40 }, (_, i) => ztxt(`k${i}`, 512 * 1024)));
    const refusal = (limits: Partial<Limits> | undefined) => {
      let error: unknown;
      const ms = timed(() => {
        try {
          decodePng(bytes, { limits });
        } catch (e) {
          error = e;
        }
      });
      assert.ok(error instanceof LimitError, String(error));
      return { error, ms };
    };
    const byDefault = refusal(undefined);
    assert.equal(TEXT_CHUNKS_PER_FILE, 8);
    assert.equal(byDefault.error.limit, 'textBytes');
    assert.equal(
      byDefault.error.message,
      'the compressed text chunks of the PNG inflate to more than 8,388,608 bytes together (8 x textBytes; raise it with limits: { textBytes: N })',
    );
    assert.ok(byDefault.ms < 2000, `took ${byDefault.ms} ms`);
    // inflatedBytes still caps the total when it is the smaller.
    const capped = refusal({ inflatedBytes: 4 << 20 });
    assert.equal(capped.error.limit, 'inflatedBytes');
    assert.equal(
      capped.error.message,
      'the compressed text chunks of the PNG inflate to more than 4,194,304 bytes together (inflatedBytes; raise it with limits: { inflatedBytes: N })',
    );
    // Within the limit, all of them are read.
    assert.equal(Object.keys(decodePng(bytes, { limits: { textBytes: 4 << 20 } }).text).length, 40);
  });

  it('keeps Latin-1 text byte for byte (0x80-0x9F included), and reads UTF-8 iTXt', () => {
    const all = Uint8Array.from({ length: 255 }, (_, i) => i + 1);
    const text = readTextChunks(
      [
        { type: 'tEXt', offset: 0, data: concat(latin1Bytes('t\0'), all) },
        { type: 'iTXt', offset: 0, data: concat(latin1Bytes('u\0\0\0en\0\0'), new TextEncoder().encode('東京 🐈')) },
      ],
      DEFAULT_LIMITS,
    );
    assert.equal(text.t, String.fromCharCode(...all));
    assert.equal(text.u, '東京 🐈');
  });

  it('skips corrupt compressed text', () => {
    const bad = chunk('zTXt', concat(latin1Bytes('bad\0\0'), Uint8Array.of(0x78, 0x9c, 0xff, 0xff)));
    assert.deepEqual(decodePng(tinyPng(bad, ztxt('good', 3))).text, { good: '\0\0\0' });
  });

  it('never inflates an iCCP profile (fast-png would, without limit)', () => {
    const iccp = chunk('iCCP', concat(latin1Bytes('icc\0\0'), zlibZeros(500e6)));
    const ms = timed(() => assert.equal(decodePng(tinyPng(iccp)).width, 1));
    assert.ok(ms < 2000, `took ${ms} ms`);
  });
});

describe('PNG pixel limit and image data size', () => {
  it('refuses a 48 KB 20000x20000 1-bit PNG before inflating it (2 GB before)', () => {
    const bytes = png(ihdr(20000, 20000, 1, 0), chunk('IDAT', zlibZeros(20000 * 2501)));
    assert.ok(bytes.length < 50_000);
    const ms = timed(() =>
      assert.throws(
        () => decodePng(bytes),
        (e: unknown) =>
          e instanceof LimitError &&
          e.limit === 'pixels' &&
          e.message === 'the image (20000x20000) is 400,000,000 pixels, above the limit of 100,000,000 pixels (raise it with limits: { pixels: N })',
      ),
    );
    assert.ok(ms < 500, `took ${ms} ms`);
  });

  it('decodes a borderline image only when the pixel limit allows it', () => {
    const bytes = png(ihdr(1000, 1000, 1, 0), chunk('IDAT', zlibZeros(1000 * 126)));
    assert.throws(() => decodePng(bytes, { limits: { pixels: 999_999 } }), /the image \(1000x1000\) is 1,000,000 pixels, above the limit of 999,999 pixels/);
    const img = decodePng(bytes, { limits: { pixels: 1_000_000 } });
    assert.deepEqual([img.width, img.height, img.data.length], [1000, 1000, 1_000_000]);
  });

  it('stops a small image whose data inflates to gigabytes at the size its header gives', () => {
    const bytes = png(ihdr(16, 16, 8, 0), chunk('IDAT', zlibZeros(1e9)));
    assert.ok(bytes.length < 1_000_000);
    const ms = timed(() =>
      assert.throws(() => decodePng(bytes), /^PngFormatError: corrupt PNG: its image data inflates to more than the 272 bytes of a 16x16 8-bit grey image$/),
    );
    assert.ok(ms < 1000, `took ${ms} ms`);
  });

  it('counts Adam7 passes, so data one byte too long or short is refused', () => {
    // 11x9 8-bit RGB interlaced: passes of 2x2, 1x2, 3x1, 3x3, 6x2, 5x5 and 11x4 pixels.
    const expected = 2 * 7 + 2 * 4 + 1 * 10 + 3 * 10 + 2 * 19 + 5 * 16 + 4 * 34;
    const header = ihdr(11, 9, 8, 2, 1);
    assert.equal(decodePng(png(header, chunk('IDAT', zlibZeros(expected)))).width, 11);
    assert.throws(() => decodePng(png(header, chunk('IDAT', zlibZeros(expected + 1)))), /inflates to more than the 316 bytes of a 11x9 8-bit RGB interlaced image/);
    assert.throws(
      () => decodePng(png(header, chunk('IDAT', zlibZeros(expected - 1)))),
      /^PngFormatError: truncated PNG: its image data inflates to 315 bytes, short of the 316 bytes of a 11x9 8-bit RGB interlaced image$/,
    );
  });

  it('agrees with fast-png about the data size of every colour type and depth, interlaced or not', () => {
    const cases = [
      [1, 1], [1, 2], [1, 4], [1, 8], [1, 16], [2, 8], [2, 16], [3, 8], [3, 16], [4, 8], [4, 16],
    ] as const;
    for (const [channels, depth] of cases) {
      for (const interlace of ['null', 'Adam7'] as const) {
        if (interlace === 'Adam7' && depth < 8) continue; // fast-png cannot read these back
        for (const [w, h] of [[1, 1], [5, 3], [13, 7], [17, 16]]) {
          const rowBytes = Math.ceil((w * channels * depth) / 8);
          const data = depth === 16 ? new Uint16Array(w * h * channels).fill(0x1234) : new Uint8Array(rowBytes * h).fill(depth === 8 ? 7 : 0xa5);
          const bytes = fastEncode({ width: w, height: h, channels, depth, data }, { interlace });
          const img = decodePng(bytes);
          assert.equal(img.width * img.height * img.channels, w * h * channels, `${channels}x${depth} ${interlace} ${w}x${h}`);
        }
      }
    }
  });
});

describe('PNG header checks', () => {
  const cases: [Uint8Array, RegExp][] = [
    [ihdr(0, 5, 8, 0), /^corrupt PNG: its size is 0x5$/],
    [ihdr(5, 0, 8, 0), /^corrupt PNG: its size is 5x0$/],
    [ihdr(2 ** 31, 1, 8, 0), /^corrupt PNG: its width is 2147483648, above the PNG maximum of 2147483647$/],
    [ihdr(1, 2 ** 32 - 1, 8, 0), /^corrupt PNG: its height is 4294967295, above the PNG maximum of 2147483647$/],
    [ihdr(1, 1, 8, 5), /^corrupt PNG: unknown colour type 5 in the IHDR chunk$/],
    [ihdr(1, 1, 3, 2), /^corrupt PNG: bit depth 3 is not allowed for RGB images \(8, 16 are\)$/],
    [ihdr(1, 1, 16, 3), /^corrupt PNG: bit depth 16 is not allowed for palette images \(1, 2, 4, 8 are\)$/],
    [ihdr(1, 1, 4, 6), /^corrupt PNG: bit depth 4 is not allowed for RGBA images/],
    [ihdr(1, 1, 8, 0, 2), /^corrupt PNG: unknown interlace method 2 in the IHDR chunk$/],
  ];
  for (const [header, message] of cases) {
    it(`refuses ${message.source.slice(1, 60)}`, () => {
      assert.throws(() => decodePng(png(header, chunk('IDAT', zlibZeros(2)))), (e: unknown) => e instanceof PngFormatError && message.test(e.message));
    });
  }

  it('refuses other compression and filter methods, and a palette image without a palette', () => {
    const header = (byte: number, value: number): Uint8Array => {
      const d = readChunks(png(ihdr(1, 1, 8, 0), chunk('IDAT', zlibZeros(2))))[0].data.slice();
      d[byte] = value;
      return chunk('IHDR', d);
    };
    assert.throws(() => decodePng(png(header(10, 1), chunk('IDAT', zlibZeros(2)))), /^PngFormatError: corrupt PNG: unknown compression method 1/);
    assert.throws(() => decodePng(png(header(11, 1), chunk('IDAT', zlibZeros(2)))), /^PngFormatError: corrupt PNG: unknown filter method 1/);
    assert.throws(() => decodePng(png(ihdr(1, 1, 8, 3), chunk('IDAT', zlibZeros(2)))), /palette image without a palette \(PLTE chunk\)$/);
  });

  it('words corrupt image data', () => {
    const bytes = png(ihdr(4, 4, 8, 0), chunk('IDAT', Uint8Array.of(0x78, 0x9c, 0xff, 0xff, 0xff, 0xff, 0, 0)));
    assert.throws(() => decodePng(bytes), /^PngFormatError: corrupt PNG: its image data cannot be inflated \(invalid block type\)$/);
  });
});
