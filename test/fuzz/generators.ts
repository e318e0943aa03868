// Generators of hostile inputs for the fuzz suite (issue 15, "Hostile input"): PNG bombs and
// malformed PNGs, BMP and JPEG headers that lie, PyTorch checkpoints with stride-0 tensors, zip
// bombs and billion-laughs pickles, and seeded random mutations of real files. Everything here
// is pure byte building, with no Node or DOM API and no dependency but core's CRC-32 and test
// fixtures (the seeded generator), so the Chromium suite
// (test/browser/hostile-input.test.ts) runs the very same files as the Node suite
// (test/fuzz/*_test.ts). Generators that need the file system are in node-fixtures.ts.
//
// The bombs are made without compressing anything: deflateRepeat writes a deflate stream by
// hand whose every 2 bits stand for 258 output bytes, so a 1 GB bomb takes 1 MB and no time.

import { crc32 } from '../../packages/core/src/crc32.js';
import { concatBytes, seededRandom } from '../../packages/core/src/testing/fixtures.js';

// ---------------------------------------------------------------------------------------------
// Seeded randomness

// Shared with the unit tests (core's src/testing/fixtures.ts).
export { seededRandom };

/** A whole number in [0, n) from `random`. */
function below(random: () => number, n: number): number {
  return Math.floor(random() * n);
}

// ---------------------------------------------------------------------------------------------
// Checksums

/** CRC-32 (ISO 3309, as PNG chunks and zip entries use it): core's own. */
export { crc32 };

/** `mat` (32 columns over GF(2)) times `vec`. */
function gf2Times(mat: Uint32Array, vec: number): number {
  let sum = 0;
  for (let i = 0; vec !== 0; i++, vec >>>= 1) if (vec & 1) sum ^= mat[i];
  return sum >>> 0;
}

function gf2Square(mat: Uint32Array): Uint32Array<ArrayBuffer> {
  const sq = new Uint32Array(32);
  for (let n = 0; n < 32; n++) sq[n] = gf2Times(mat, mat[n]);
  return sq;
}

/**
 * CRC-32 of `n` zero bytes without touching them: one zero byte is a linear map of the CRC
 * register (zlib's crc32_combine), raised to the n-th power by squaring. A zip bomb's entries
 * then carry the right CRC, so only the size, not a checksum, can give them away.
 */
export function crc32Zeros(n: number): number {
  let op = new Uint32Array(32);
  op[0] = 0xedb88320; // one zero bit
  for (let i = 1; i < 32; i++) op[i] = (1 << (i - 1)) >>> 0;
  for (let i = 0; i < 3; i++) op = gf2Square(op); // eight bits: one byte
  let reg = 0xffffffff;
  for (let k = n; k > 0; k = Math.floor(k / 2)) {
    if (k % 2 === 1) reg = gf2Times(op, reg);
    op = gf2Square(op);
  }
  return (reg ^ 0xffffffff) >>> 0;
}

/** Adler-32 (the zlib trailer) of `byte` repeated `n` times, in closed form. */
export function adler32Repeat(byte: number, n: number): number {
  const mod = 65521n;
  const N = BigInt(n);
  const c = BigInt(byte);
  const a = (1n + c * N) % mod;
  const b = (N + (c * N * (N + 1n)) / 2n) % mod;
  return Number((b << 16n) | a) >>> 0;
}

/** Adler-32 of `bytes`. */
export function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < bytes.length; i++) {
    a = (a + bytes[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Deflate and zlib streams, by hand

/** Writes bits least significant first, as deflate packs them. */
class BitWriter {
  private pos = 0; // in bits
  constructor(readonly bytes: Uint8Array) {}
  /** `n` bits of `value`, least significant first (header fields, extra bits). */
  bits(value: number, n: number): void {
    for (let i = 0; i < n; i++, this.pos++) if ((value >>> i) & 1) this.bytes[this.pos >>> 3] |= 1 << (this.pos & 7);
  }
  /** A Huffman code of `len` bits, most significant first (RFC 1951, 3.1.1). */
  code(code: number, len: number): void {
    for (let i = len - 1; i >= 0; i--, this.pos++) if ((code >>> i) & 1) this.bytes[this.pos >>> 3] |= 1 << (this.pos & 7);
  }
  /** Skips `n` zero bits (the buffer starts zeroed). */
  zeros(n: number): void {
    this.pos += n;
  }
  get byteLength(): number {
    return Math.ceil(this.pos / 8);
  }
}

/** HCLEN's order of the code-length alphabet (RFC 1951, 3.2.7). */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

/**
 * A raw deflate stream (one dynamic block) that inflates to `byte` repeated `n` times
 * (n >= 1). Its codes: length 258 is `0`, distance 1 is `0`, so each 2 bits give 258 bytes
 * (the format's best ratio, about 1032:1), and the stream is mostly zero bytes.
 */
export function deflateRepeat(byte: number, n: number): Uint8Array {
  if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`deflateRepeat: n must be >= 1, got ${n}`);
  const matches = Math.floor((n - 1) / 258);
  const literals = (n - 1) % 258;
  const out = new Uint8Array(64 + Math.ceil((2 * matches + 2 * literals) / 8));
  const w = new BitWriter(out);
  w.bits(1, 1); // BFINAL
  w.bits(2, 2); // dynamic Huffman codes
  w.bits(286 - 257, 5); // HLIT: literal/length codes 0..285
  w.bits(0, 5); // HDIST: one distance code
  w.bits(18 - 4, 4); // HCLEN: up to code-length code 1 in CL_ORDER
  // Code-length code: 1, 2, 18 -> 2 bits; 0, 17 -> 3 bits (complete).
  const clLengths: Record<number, number> = { 1: 2, 2: 2, 18: 2, 0: 3, 17: 3 };
  for (const sym of CL_ORDER.slice(0, 18)) w.bits(clLengths[sym] ?? 0, 3);
  const clCode: Record<number, [number, number]> = { 1: [0b00, 2], 2: [0b01, 2], 18: [0b10, 2], 0: [0b110, 3], 17: [0b111, 3] };
  // Literal/length lengths: `byte` 2, end-of-block 2, length 258 (285) 1; then distance 0: 1.
  const lengths = new Array<number>(287).fill(0);
  lengths[byte] = 2;
  lengths[256] = 2;
  lengths[285] = 1;
  lengths[286] = 1;
  for (let i = 0; i < lengths.length; ) {
    if (lengths[i] !== 0) {
      w.code(...clCode[lengths[i]]);
      i++;
      continue;
    }
    let run = 0;
    while (i + run < lengths.length && lengths[i + run] === 0) run++;
    let left = run;
    while (left >= 11) {
      const k = Math.min(left, 138);
      w.code(...clCode[18]);
      w.bits(k - 11, 7);
      left -= k;
    }
    if (left >= 3) {
      w.code(...clCode[17]);
      w.bits(left - 3, 3);
      left = 0;
    }
    for (; left > 0; left--) w.code(...clCode[0]);
    i += run;
  }
  // Canonical codes: 285 -> 0; byte -> 10; 256 -> 11. Distance 0 -> 0.
  w.code(0b10, 2); // the first byte, which distance 1 then repeats
  w.zeros(2 * matches); // each match: length code 0, distance code 0
  for (let i = 0; i < literals; i++) w.code(0b10, 2);
  w.code(0b11, 2); // end of block
  return out.subarray(0, w.byteLength);
}

/** A zlib stream (RFC 1950) of `byte` repeated `n` times, with the right Adler-32. */
export function zlibRepeat(byte: number, n: number): Uint8Array {
  return zlibWrap(deflateRepeat(byte, n), adler32Repeat(byte, n));
}

/** A zlib stream of `data` in stored (uncompressed) deflate blocks. */
export function zlibStored(data: Uint8Array): Uint8Array {
  const blocks = Math.max(1, Math.ceil(data.length / 65535));
  const raw = new Uint8Array(data.length + 5 * blocks);
  let at = 0;
  for (let b = 0; b < blocks; b++) {
    const part = data.subarray(b * 65535, (b + 1) * 65535);
    raw[at] = b === blocks - 1 ? 1 : 0;
    raw[at + 1] = part.length & 0xff;
    raw[at + 2] = part.length >>> 8;
    raw[at + 3] = ~part.length & 0xff;
    raw[at + 4] = (~part.length >>> 8) & 0xff;
    raw.set(part, at + 5);
    at += 5 + part.length;
  }
  return zlibWrap(raw, adler32(data));
}

function zlibWrap(deflated: Uint8Array, adler: number): Uint8Array {
  const out = new Uint8Array(deflated.length + 6);
  out[0] = 0x78; // deflate, 32 KB window
  out[1] = 0x01; // (0x7801 % 31 === 0)
  out.set(deflated, 2);
  new DataView(out.buffer).setUint32(out.length - 4, adler, false);
  return out;
}

// ---------------------------------------------------------------------------------------------
// PNG

const PNG_SIGNATURE = Uint8Array.from([137, 80, 78, 71, 13, 10, 26, 10]);

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (ch) => ch.charCodeAt(0) & 0xff);
}

const concat = (parts: Uint8Array[]): Uint8Array => concatBytes(...parts);

/** One PNG chunk: length, type, data, CRC (right unless `badCrc`). */
export function pngChunk(type: string, data: Uint8Array, options: { length?: number; badCrc?: boolean } = {}): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, options.length ?? data.length, false);
  out.set(ascii(type), 4);
  out.set(data, 8);
  const crc = crc32(out.subarray(4, 8 + data.length));
  view.setUint32(8 + data.length, options.badCrc ? crc ^ 1 : crc, false);
  return out;
}

/** IHDR data: size, bit depth, colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA). */
export function ihdr(width: number, height: number, bitDepth: number, colourType: number, interlace = 0): Uint8Array {
  const d = new Uint8Array(13);
  const view = new DataView(d.buffer);
  view.setUint32(0, width >>> 0, false);
  view.setUint32(4, height >>> 0, false);
  d[8] = bitDepth;
  d[9] = colourType;
  d[12] = interlace;
  return d;
}

/** A PNG file of the signature and `chunks` (already framed by {@link pngChunk}). */
export function pngFile(chunks: Uint8Array[]): Uint8Array {
  return concat([PNG_SIGNATURE, ...chunks]);
}

const IEND = pngChunk('IEND', new Uint8Array(0));

/** A valid 8-bit RGB PNG of `width` x `height` from raw scanlines (filter byte + pixels). */
export function rgbPng(width: number, height: number, pixels: (x: number, y: number) => [number, number, number], extra: Uint8Array[] = []): Uint8Array {
  const stride = 1 + 3 * width;
  const raw = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) raw.set(pixels(x, y), y * stride + 1 + 3 * x);
  }
  return pngFile([pngChunk('IHDR', ihdr(width, height, 8, 2)), ...extra, pngChunk('IDAT', zlibStored(raw)), IEND]);
}

/** A tEXt chunk `key` = `text` (Latin-1). */
export function textChunk(key: string, text: string): Uint8Array {
  return pngChunk('tEXt', concat([ascii(key), Uint8Array.of(0), ascii(text)]));
}

/** A valid 1x1 grey PNG with `extra` chunks after IHDR (the carrier of the text bombs). */
function tinyPngWith(extra: Uint8Array[]): Uint8Array {
  return pngFile([pngChunk('IHDR', ihdr(1, 1, 8, 0)), ...extra, pngChunk('IDAT', zlibStored(Uint8Array.of(0, 128))), IEND]);
}

/**
 * Case 7, the zTXt bomb: a 1x1 PNG whose zTXt chunk `keyword` inflates to `inflated` bytes of
 * "a" (default 111 MB, which is the 108 KB file: 61 s and 3.5 GB before the fix).
 */
export function ztxtBomb(inflated = 111_000_000, keyword = 'Comment'): Uint8Array {
  const body = concat([ascii(keyword), Uint8Array.of(0, 0), zlibRepeat(0x61, inflated)]);
  return tinyPngWith([pngChunk('zTXt', body)]);
}

/** The iTXt form of the text bomb: compression flag 1, empty language and translated keyword. */
export function itxtBomb(inflated = 111_000_000, keyword = 'Description'): Uint8Array {
  const body = concat([ascii(keyword), Uint8Array.of(0, 1, 0, 0, 0), zlibRepeat(0x61, inflated)]);
  return tinyPngWith([pngChunk('iTXt', body)]);
}

/**
 * Many compressed text chunks, each at the usual per-chunk limit of 1 MiB and together 1 GB
 * (a 1.1 MB file): a per-chunk limit alone does not stop them.
 */
export function manyTextChunks(chunks = 1000, each = 1 << 20): Uint8Array {
  const one = pngChunk('zTXt', concat([ascii('Comment'), Uint8Array.of(0, 0), zlibRepeat(0x62, each)]));
  return tinyPngWith(new Array<Uint8Array>(chunks).fill(one));
}

/**
 * Case 8, the pixel bomb: a valid 20000 x 20000 1-bit grey PNG (400 megapixels, 48 KB); its
 * IDAT inflates to the 50 MB the header promises, and decoding it to floats takes 1.6 GB.
 */
export function pixelBomb(side = 20000): Uint8Array {
  const raw = side * (1 + Math.ceil(side / 8));
  return pngFile([pngChunk('IHDR', ihdr(side, side, 1, 0)), pngChunk('IDAT', zlibRepeat(0, raw)), IEND]);
}

/** A header claiming the largest size PNG allows (2^31 - 1 square), with a tiny IDAT. */
export function hugeHeader(): Uint8Array {
  const max = 0x7fffffff;
  return pngFile([pngChunk('IHDR', ihdr(max, max, 8, 6)), pngChunk('IDAT', zlibRepeat(0, 1000)), IEND]);
}

/** A 16 x 16 RGB header whose IDAT inflates to `inflated` bytes, far beyond its 784. */
export function idatOverflow(inflated = 400_000_000): Uint8Array {
  return pngFile([pngChunk('IHDR', ihdr(16, 16, 8, 2)), pngChunk('IDAT', zlibRepeat(0, inflated)), IEND]);
}

/** A black 8-bit RGB PNG of `width` x `height` (case 13's 6000 x 4000 photo: 70 KB). */
export function blackPng(width: number, height: number): Uint8Array {
  return pngFile([pngChunk('IHDR', ihdr(width, height, 8, 2)), pngChunk('IDAT', zlibRepeat(0, height * (1 + 3 * width))), IEND]);
}

/**
 * Case 15: an 8 x 6 LR image whose `irn` chunk claims scale 3, which no model has (upscale
 * must not tell the user to "use an x3 model").
 */
export function lrClaimingScale3(): Uint8Array {
  return rgbPng(8, 6, (x, y) => [x * 30, y * 40, 128], [textChunk('irn', JSON.stringify({ scale: 3, width: 24, height: 18 }))]);
}

/** A PNG's chunks: type, where the chunk starts, its data length. */
export interface ChunkInfo {
  type: string;
  start: number;
  length: number;
}

/** The chunks of a well-formed PNG (stops at the first one that does not fit). */
export function listChunks(png: Uint8Array): ChunkInfo[] {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: ChunkInfo[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = view.getUint32(at, false);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    if (at + 12 + length > png.length) break;
    out.push({ type, start: at, length });
    at += 12 + length;
  }
  return out;
}

/** Recomputes the CRC of the chunk at `start` in place (so a mutation passes the check). */
function fixCrc(png: Uint8Array, c: ChunkInfo): void {
  const crc = crc32(png.subarray(c.start + 4, c.start + 8 + c.length));
  new DataView(png.buffer, png.byteOffset).setUint32(c.start + 8 + c.length, crc, false);
}

/** A mutated file and what was done to it (printed when a case fails, to reproduce it). */
export interface Mutant {
  bytes: Uint8Array;
  what: string;
}

/**
 * A seeded random mutation of a valid PNG: bit flips, truncation, a chunk length that lies,
 * damage inside a chunk with its CRC fixed up (so the decoder gets past the checksum), a
 * header with random fields, a duplicated or dropped chunk. The same seed gives the same file.
 */
export function mutatePng(png: Uint8Array, seed: number): Mutant {
  const random = seededRandom(seed);
  const chunks = listChunks(png);
  const kind = below(random, 7);
  const out = png.slice();
  const view = new DataView(out.buffer);
  const chunk = chunks[below(random, chunks.length)];
  switch (kind) {
    case 0: {
      const flips = 1 + below(random, 8);
      const at: number[] = [];
      for (let i = 0; i < flips; i++) {
        const p = below(random, out.length);
        out[p] ^= 1 << below(random, 8);
        at.push(p);
      }
      return { bytes: out, what: `seed ${seed}: bits flipped at bytes ${at.join(', ')}` };
    }
    case 1: {
      const n = below(random, png.length);
      return { bytes: png.slice(0, n), what: `seed ${seed}: truncated to ${n} bytes` };
    }
    case 2: {
      const lies = [0, 1, chunk.length - 1, chunk.length + 1, chunk.length + 1000, 0x7fffffff, 0xffffffff, 0x80000000];
      const v = lies[below(random, lies.length)] >>> 0;
      view.setUint32(chunk.start, v, false);
      return { bytes: out, what: `seed ${seed}: ${chunk.type} at ${chunk.start} claims length ${v} (has ${chunk.length})` };
    }
    case 3: {
      if (chunk.length === 0) return mutatePng(png, seed + 1_000_003);
      const n = 1 + below(random, 4);
      for (let i = 0; i < n; i++) out[chunk.start + 8 + below(random, chunk.length)] = below(random, 256);
      fixCrc(out, chunk);
      return { bytes: out, what: `seed ${seed}: ${n} bytes of ${chunk.type} damaged, CRC fixed` };
    }
    case 4: {
      const h = chunks[0];
      const field = below(random, 5);
      const values = [
        [0, 1, 2, 0x7fffffff, 0xffffffff, 65536, 1 + below(random, 100000)],
        [0, 1, 2, 0x7fffffff, 0x80000000, 65536, 1 + below(random, 100000)],
        [0, 1, 2, 3, 4, 5, 7, 8, 16, 32, 255],
        [0, 1, 2, 3, 4, 5, 6, 7, 255],
        [0, 1, 2, 255],
      ][field];
      const v = values[below(random, values.length)];
      if (field < 2) view.setUint32(h.start + 8 + 4 * field, v >>> 0, false);
      else out[h.start + 8 + [8, 9, 12][field - 2]] = v;
      fixCrc(out, h);
      return { bytes: out, what: `seed ${seed}: IHDR ${['width', 'height', 'bit depth', 'colour type', 'interlace'][field]} = ${v}, CRC fixed` };
    }
    case 5: {
      const c = chunks[below(random, chunks.length)];
      const copy = png.subarray(c.start, c.start + 12 + c.length);
      const at = chunks[below(random, chunks.length)].start;
      return { bytes: concat([png.subarray(0, at), copy, png.subarray(at)]), what: `seed ${seed}: ${c.type} copied to byte ${at}` };
    }
    default: {
      const c = chunks[below(random, chunks.length)];
      return { bytes: concat([png.subarray(0, c.start), png.subarray(c.start + 12 + c.length)]), what: `seed ${seed}: ${c.type} dropped` };
    }
  }
}

// ---------------------------------------------------------------------------------------------
// BMP and JPEG (training photos)

/**
 * A 24-bit BMP header claiming `width` x `height` with `dataBytes` of pixel data after it (a
 * truncated file when that is less than the header promises).
 */
export function bmpHeader(width: number, height: number, dataBytes = 0): Uint8Array {
  const out = new Uint8Array(54 + dataBytes);
  const v = new DataView(out.buffer);
  out[0] = 0x42;
  out[1] = 0x4d;
  v.setUint32(2, out.length, true);
  v.setUint32(10, 54, true);
  v.setUint32(14, 40, true);
  v.setInt32(18, width, true);
  v.setInt32(22, height, true);
  v.setUint16(26, 1, true);
  v.setUint16(28, 24, true);
  return out;
}

/**
 * A baseline JPEG whose frame header claims `width` x `height` (3 components), with one
 * scan of a few bytes: what a decoder that sizes its buffers from the header pays for.
 */
export function jpegHeaderBomb(width = 10000, height = 10000): Uint8Array {
  const seg = (marker: number, body: number[]): number[] => [0xff, marker, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body];
  const dqt = seg(0xdb, [0x00, ...new Array<number>(64).fill(1)]);
  const sof = seg(0xc0, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 3, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0]);
  // One DC table and one AC table, each with a single 1-bit code (symbol 0: DC difference 0,
  // AC end of block), so every block decodes from one 0 bit... for as many as there are.
  const counts = [1, ...new Array<number>(15).fill(0)];
  const dht = seg(0xc4, [0x00, ...counts, 0x00, 0x10, ...counts, 0x00]);
  const sos = seg(0xda, [3, 1, 0x00, 2, 0x00, 3, 0x00, 0, 63, 0]);
  return Uint8Array.from([0xff, 0xd8, ...dqt, ...sof, ...dht, ...sos, ...new Array<number>(64).fill(0), 0xff, 0xd9]);
}

// ---------------------------------------------------------------------------------------------
// Pickles and PyTorch checkpoints

/** Builds a pickle (protocol 2) opcode by opcode, as torch.save writes state dicts. */
export class Pickler {
  private parts: number[] = [];
  private memo = 0;
  proto(): this {
    return this.raw(0x80, 2);
  }
  raw(...bytes: number[]): this {
    for (const b of bytes) this.parts.push(b);
    return this;
  }
  u32(n: number): this {
    return this.raw(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }
  global(module: string, name: string): this {
    return this.raw(0x63, ...ascii(`${module}\n${name}\n`));
  }
  str(s: string): this {
    const b = ascii(s);
    return this.raw(0x58).u32(b.length).raw(...b);
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw(0x4a).u32(n >>> 0);
    // LONG1: little-endian two's complement
    const bytes: number[] = [];
    let v = BigInt(n);
    for (let i = 0; i < 9; i++, v >>= 8n) bytes.push(Number(v & 0xffn));
    return this.raw(0x8a, bytes.length, ...bytes);
  }
  mark(): this {
    return this.raw(0x28);
  }
  tuple(): this {
    return this.raw(0x74);
  }
  list(): this {
    return this.raw(0x6c);
  }
  emptyTuple(): this {
    return this.raw(0x29);
  }
  emptyList(): this {
    return this.raw(0x5d);
  }
  append(): this {
    return this.raw(0x61);
  }
  falseValue(): this {
    return this.raw(0x89);
  }
  reduce(): this {
    return this.raw(0x52);
  }
  binpersid(): this {
    return this.raw(0x51);
  }
  setitems(): this {
    return this.raw(0x75);
  }
  /** LONG_BINPUT of the top of the stack; returns the memo index through `into`. */
  put(into?: (index: number) => void): this {
    const i = this.memo++;
    into?.(i);
    return this.raw(0x72).u32(i);
  }
  get(index: number): this {
    return this.raw(0x6a).u32(index);
  }
  stop(): Uint8Array {
    this.raw(0x2e);
    return Uint8Array.from(this.parts);
  }
}

/** One tensor of a generated checkpoint. */
export interface TensorSpec {
  key: string;
  shape: number[];
  /** Default: contiguous. */
  stride?: number[];
  offset?: number;
  /** The storage's key (its zip entry `data/<key>`) and element count. */
  storage: string;
  storageNumel: number;
  /**
   * Writes the persistent id's first element (normally the string 'storage') instead, e.g. a
   * billion-laughs list.
   */
  pidKind?: (p: Pickler) => void;
}

function contiguous(shape: number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d];
  }
  return stride;
}

/** The `data.pkl` of `torch.save(OrderedDict)` for float32 `tensors` (protocol 2, as torch writes it). */
export function stateDictPickle(tensors: TensorSpec[], prelude?: (p: Pickler) => void): Uint8Array {
  const p = new Pickler().proto();
  prelude?.(p);
  p.global('collections', 'OrderedDict').put().emptyTuple().reduce().put().mark();
  for (const t of tensors) {
    p.str(t.key).global('torch._utils', '_rebuild_tensor_v2').put().mark();
    p.mark();
    if (t.pidKind) t.pidKind(p);
    else p.str('storage');
    p.global('torch', 'FloatStorage').put().str(t.storage).str('cpu').int(t.storageNumel).tuple().binpersid();
    p.int(t.offset ?? 0);
    p.mark();
    for (const d of t.shape) p.int(d);
    p.tuple();
    p.mark();
    for (const s of t.stride ?? contiguous(t.shape)) p.int(s);
    p.tuple();
    p.falseValue().global('collections', 'OrderedDict').put().emptyTuple().reduce().put();
    p.tuple().reduce().put();
  }
  p.setitems();
  return p.stop();
}

/** One zip entry: stored `data`, or a deflate stream with its declared size and CRC. */
export interface ZipEntry {
  name: string;
  data?: Uint8Array;
  deflated?: { stream: Uint8Array; size: number; crc: number };
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
}

/** A zip archive of `entries` (no zip64), as torch.save's writer lays it out. */
export function zipArchive(entries: ZipEntry[]): Uint8Array {
  const locals: Uint8Array[] = [];
  const centrals: Uint8Array[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = ascii(e.name);
    const body = e.deflated ? e.deflated.stream : (e.data ?? new Uint8Array(0));
    const size = e.declaredSize ?? (e.deflated ? e.deflated.size : body.length);
    const crc = e.deflated ? e.deflated.crc : crc32(body);
    const method = e.deflated ? 8 : 0;
    const local = new Uint8Array(30 + name.length + body.length);
    const lv = new DataView(local.buffer);
    lv.setUint32(0, 0x04034b50, true);
    lv.setUint16(4, 20, true);
    lv.setUint16(8, method, true);
    lv.setUint16(12, 0x21, true); // 1980-01-01
    lv.setUint32(14, crc, true);
    lv.setUint32(18, body.length, true);
    lv.setUint32(22, size, true);
    lv.setUint16(26, name.length, true);
    local.set(name, 30);
    local.set(body, 30 + name.length);
    const central = new Uint8Array(46 + name.length);
    const cv = new DataView(central.buffer);
    cv.setUint32(0, 0x02014b50, true);
    cv.setUint16(4, 20, true);
    cv.setUint16(6, 20, true);
    cv.setUint16(10, method, true);
    cv.setUint16(14, 0x21, true);
    cv.setUint32(16, crc, true);
    cv.setUint32(20, body.length, true);
    cv.setUint32(24, size, true);
    cv.setUint16(28, name.length, true);
    cv.setUint32(42, offset, true);
    central.set(name, 46);
    locals.push(local);
    centrals.push(central);
    offset += local.length;
  }
  const cd = concat(centrals);
  const end = new Uint8Array(22);
  const ev = new DataView(end.buffer);
  ev.setUint32(0, 0x06054b50, true);
  ev.setUint16(8, entries.length, true);
  ev.setUint16(10, entries.length, true);
  ev.setUint32(12, cd.length, true);
  ev.setUint32(16, offset, true);
  return concat([...locals, cd, end]);
}

/** The entries of a zip whose entries are all stored (as torch.save writes them). */
export function readStoredZip(zip: Uint8Array): ZipEntry[] {
  const v = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  let end = zip.length - 22;
  while (end >= 0 && v.getUint32(end, true) !== 0x06054b50) end--;
  if (end < 0) throw new Error('readStoredZip: no end record');
  const count = v.getUint16(end + 10, true);
  const entries: ZipEntry[] = [];
  for (let i = 0, at = v.getUint32(end + 16, true); i < count; i++) {
    const method = v.getUint16(at + 10, true);
    const size = v.getUint32(at + 20, true);
    const nameLength = v.getUint16(at + 28, true);
    const extra = v.getUint16(at + 30, true);
    const comment = v.getUint16(at + 32, true);
    const local = v.getUint32(at + 42, true);
    const name = String.fromCharCode(...zip.subarray(at + 46, at + 46 + nameLength));
    if (method !== 0) throw new Error(`readStoredZip: entry ${name} is compressed`);
    const dataAt = local + 30 + v.getUint16(local + 26, true) + v.getUint16(local + 28, true);
    entries.push({ name, data: zip.slice(dataAt, dataAt + size) });
    at += 46 + nameLength + extra + comment;
  }
  return entries;
}

/** A torch.save zip checkpoint of `tensors` with float32 storages `storages` (key -> values). */
export function torchZip(tensors: TensorSpec[], storages: Record<string, Float32Array>, extra: ZipEntry[] = [], prelude?: (p: Pickler) => void): Uint8Array {
  const entries: ZipEntry[] = [{ name: 'archive/data.pkl', data: stateDictPickle(tensors, prelude) }];
  for (const [key, values] of Object.entries(storages)) {
    entries.push({ name: `archive/data/${key}`, data: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) });
  }
  entries.push({ name: 'archive/version', data: ascii('3\n') }, ...extra);
  return zipArchive(entries);
}

/**
 * Case 9: a stride-0 tensor. One float of storage, viewed as a `rows` x `cols` tensor with
 * strides (0, 0): a few hundred bytes that claim (by default) 10^9 elements, 4 GB as float32.
 */
export function strideZeroPth(rows = 40000, cols = 25000): Uint8Array {
  return torchZip([{ key: 'w', shape: [rows, cols], stride: [0, 0], storage: '0', storageNumel: 1 }], { '0': Float32Array.of(1) });
}

/** Many stride-0 tensors, each under the one-tensor limit, together far past the total one. */
export function manyStrideZeroPth(tensors = 64, each = 40_000_000): Uint8Array {
  const specs: TensorSpec[] = [];
  for (let i = 0; i < tensors; i++) specs.push({ key: `w${i}`, shape: [each], stride: [0], storage: '0', storageNumel: 1 });
  return torchZip(specs, { '0': Float32Array.of(1) });
}

/** A tiny valid checkpoint (one 2 x 3 tensor), the carrier of the zip bombs. */
function tinyTensors(): { tensors: TensorSpec[]; storages: Record<string, Float32Array> } {
  return {
    tensors: [{ key: 'w', shape: [2, 3], storage: '0', storageNumel: 6 }],
    storages: { '0': Float32Array.of(1, 2, 3, 4, 5, 6) },
  };
}

/** Case 10: a valid checkpoint plus an entry no one reads, deflated from `inflated` zero bytes (1 GB: 1 MB). */
export function zipBombUnusedPth(inflated = 1 << 30): Uint8Array {
  const { tensors, storages } = tinyTensors();
  return torchZip(tensors, storages, [
    { name: 'archive/extra/padding.bin', deflated: { stream: deflateRepeat(0, inflated), size: inflated, crc: crc32Zeros(inflated) } },
  ]);
}

/**
 * Case 10, the other way: the storage entry that is used says it holds 24 bytes (six floats)
 * in both headers, but its deflate stream inflates to `inflated` bytes.
 */
export function zipBombUsedPth(inflated = 1 << 30): Uint8Array {
  const { tensors } = tinyTensors();
  return zipArchive([
    { name: 'archive/data.pkl', data: stateDictPickle(tensors) },
    { name: 'archive/data/0', deflated: { stream: deflateRepeat(0, inflated), size: inflated, crc: crc32Zeros(24) }, declaredSize: 24 },
    { name: 'archive/version', data: ascii('3\n') },
  ]);
}

/**
 * Case 11, billion laughs: `levels` nested lists of `width` references each to the level
 * below (10^9 "lol"s at 9 x 10), used where a parser is likely to print or walk a value: as
 * the kind of a storage's persistent id. About 1 KB.
 */
export function billionLaughsPth(levels = 9, width = 10): Uint8Array {
  const { tensors, storages } = tinyTensors();
  const laugh = (p: Pickler): void => {
    let below = -1;
    p.str('lol').put((i) => (below = i)).raw(0x30); // POP: only the memo keeps it
    for (let l = 0; l < levels; l++) {
      p.mark();
      for (let k = 0; k < width; k++) p.get(below);
      p.list().put((i) => (below = i));
      if (l < levels - 1) p.raw(0x30);
    }
  };
  return torchZip([{ ...tensors[0], pidKind: laugh }], storages);
}

/** The same laughs built before the state dict and left on the stack's memo only (never used). */
export function billionLaughsUnusedPth(levels = 9, width = 10): Uint8Array {
  const { tensors, storages } = tinyTensors();
  return torchZip(tensors, storages, [], (p) => {
    let below = -1;
    p.str('lol').put((i) => (below = i)).raw(0x30);
    for (let l = 0; l < levels; l++) {
      p.mark();
      for (let k = 0; k < width; k++) p.get(below);
      p.list().put((i) => (below = i)).raw(0x30); // POP: the laughs leave the stack, the memo keeps them
    }
  });
}

/** A list nested `depth` deep ([[[...]]]) as a storage's persistent id kind: recursion bait. */
export function deepNestingPth(depth = 100_000): Uint8Array {
  const { tensors, storages } = tinyTensors();
  const nest = (p: Pickler): void => {
    for (let i = 0; i < depth; i++) p.emptyList();
    for (let i = 1; i < depth; i++) p.append();
  };
  return torchZip([{ ...tensors[0], pidKind: nest }], storages);
}

/**
 * Replaces every float of the storages of a stored torch zip with `value` (NaN by default);
 * with `largestOnly`, only of the largest storage (a conv kernel of an IRN checkpoint, so the
 * fixed Haar weights, which the converter checks against their known values, stay intact).
 */
export function fillTorchStorages(zip: Uint8Array, value = Number.NaN, largestOnly = false): Uint8Array {
  const storages = readStoredZip(zip).filter((e) => /\/data\/[^/]+$/.test(e.name));
  const largest = storages.reduce((a, b) => ((b.data?.length ?? 0) > (a.data?.length ?? 0) ? b : a)).name;
  const entries = readStoredZip(zip).map((e) => {
    if (!/\/data\/[^/]+$/.test(e.name) || e.data == null || (largestOnly && e.name !== largest)) return e;
    const floats = new Float32Array(e.data.length / 4).fill(value);
    return { name: e.name, data: new Uint8Array(floats.buffer) };
  });
  return zipArchive(entries);
}

/**
 * A seeded random mutation of a torch zip checkpoint: bit flips, truncation, lies in the zip
 * headers (sizes, offsets, counts), or damage inside `data.pkl` with the archive rebuilt (so
 * the unpickler, not the zip reader, meets it).
 */
export function mutateTorchZip(zip: Uint8Array, seed: number): Mutant {
  const random = seededRandom(seed);
  const kind = below(random, 4);
  const out = zip.slice();
  const view = new DataView(out.buffer);
  if (kind === 0) {
    const at: number[] = [];
    for (let i = 0, n = 1 + below(random, 8); i < n; i++) {
      const p = below(random, out.length);
      out[p] ^= 1 << below(random, 8);
      at.push(p);
    }
    return { bytes: out, what: `seed ${seed}: bits flipped at bytes ${at.join(', ')}` };
  }
  if (kind === 1) {
    const n = below(random, zip.length);
    return { bytes: zip.slice(0, n), what: `seed ${seed}: truncated to ${n} bytes` };
  }
  if (kind === 2) {
    // A field of a central directory record or of the end record.
    let end = out.length - 22;
    while (view.getUint32(end, true) !== 0x06054b50) end--;
    const count = view.getUint16(end + 10, true);
    const lies = [0, 1, 0x7fffffff, 0xffffffff, 0xfffffff0, below(random, 1 << 20)];
    const v = lies[below(random, lies.length)] >>> 0;
    if (random() < 0.3) {
      const field = [8, 10, 12, 16][below(random, 4)];
      if (field < 12) view.setUint16(end + field, v & 0xffff, true);
      else view.setUint32(end + field, v, true);
      return { bytes: out, what: `seed ${seed}: end record field at +${field} = ${v}` };
    }
    let at = view.getUint32(end + 16, true);
    for (let i = below(random, count); i > 0; i--) {
      at += 46 + view.getUint16(at + 28, true) + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    }
    const field = [10, 20, 24, 28, 42][below(random, 5)];
    if (field === 10 || field === 28) view.setUint16(at + field, field === 10 ? [8, 12, 14, 99][below(random, 4)] : v & 0xffff, true);
    else view.setUint32(at + field, v, true);
    return { bytes: out, what: `seed ${seed}: central record at ${at}, field +${field} changed` };
  }
  const entries = readStoredZip(zip);
  const pkl = entries.find((e) => e.name.endsWith('/data.pkl'));
  if (pkl?.data == null) throw new Error('mutateTorchZip: no data.pkl');
  const data = pkl.data.slice();
  const n = 1 + below(random, 4);
  for (let i = 0; i < n; i++) data[below(random, data.length)] = below(random, 256);
  pkl.data = data;
  return { bytes: zipArchive(entries), what: `seed ${seed}: ${n} bytes of data.pkl damaged, archive rebuilt` };
}
