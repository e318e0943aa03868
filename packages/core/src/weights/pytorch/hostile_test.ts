import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { crc32, deflateRawSync } from 'node:zlib';
import { unzipSync } from 'fflate';
import { LimitError, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { importIrnCheckpoint } from './irn-checkpoint.js';
import { readTorchStateDict } from './read-state-dict.js';

// Crafted checkpoints, built here byte by byte, that tried to take memory or time from the
// reader (issue 15, items 9, 10, 11 and 14). Each must be refused quickly with one line.

const FIXTURES = new URL('../../../test-fixtures/torch/', import.meta.url);

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

/** A refusal is quick: well under what any of these files cost before they were bounded. */
const QUICK_MS = 2000;

/** Asserts that `fn` throws quickly an error of `type` whose message is one line matching `pattern`. */
function assertRefused(fn: () => unknown, type: typeof TorchFormatError | typeof LimitError, pattern: RegExp): void {
  const start = performance.now();
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.match(e.message, pattern);
    assert.ok(!e.message.includes('\n'), `not one line: ${e.message}`);
    return true;
  });
  const ms = performance.now() - start;
  assert.ok(ms < QUICK_MS, `took ${ms.toFixed(0)} ms`);
}

function u16(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff];
}

function u32(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
}

function u64(n: number): number[] {
  return [...u32(n % 2 ** 32), ...u32(Math.floor(n / 2 ** 32))];
}

/** Writes pickle opcodes (protocol 2). */
class Pickle {
  private readonly out: number[] = [];

  raw(...parts: Array<string | number[]>): this {
    for (const p of parts) {
      if (typeof p === 'string') for (const ch of p) this.out.push(ch.charCodeAt(0) & 0xff);
      else for (const b of p) this.out.push(b);
    }
    return this;
  }

  global(module: string, name: string): this {
    return this.raw(`c${module}\n${name}\n`);
  }

  str(s: string): this {
    return this.raw('X', u32(s.length), s);
  }

  /** BININT, or LONG1 beyond 32 bits. */
  int(n: number): this {
    if (n >= -(2 ** 31) && n < 2 ** 31) return this.raw('J', u32(n >>> 0));
    const bytes = u64(n);
    while (bytes.length > 1 && bytes[bytes.length - 1] === 0 && !(bytes[bytes.length - 2] & 0x80)) bytes.pop();
    if (bytes[bytes.length - 1] & 0x80) bytes.push(0);
    return this.raw('\x8a', [bytes.length], bytes);
  }

  tuple(items: number[]): this {
    this.raw('(');
    for (const i of items) this.int(i);
    return this.raw('t');
  }

  bytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** One state_dict entry: a tensor on float32 storage `storage` of `storageNumel` elements. */
interface CraftedTensor {
  key: string;
  storage: string;
  storageNumel: number;
  offset?: number;
  shape: number[];
  stride?: number[];
}

function contiguous(shape: number[]): number[] {
  const stride = shape.map(() => 1);
  for (let d = shape.length - 2; d >= 0; d--) stride[d] = stride[d + 1] * shape[d + 1];
  return stride;
}

/** Opens the tensor `t`: `_rebuild_tensor_v2(` and its storage's persistent id, up to the offset. */
function tensorStart(p: Pickle, t: CraftedTensor): Pickle {
  p.str(t.key).global('torch._utils', '_rebuild_tensor_v2').raw('(');
  return p.raw('(').str('storage').global('torch', 'FloatStorage').str(t.storage).str('cpu').int(t.storageNumel).raw('tQ');
}

/** The rest of `_rebuild_tensor_v2(...)`: offset, size, stride, requires_grad, hooks. */
function tensorEnd(p: Pickle, t: CraftedTensor): Pickle {
  p.int(t.offset ?? 0).tuple(t.shape).tuple(t.stride ?? contiguous(t.shape));
  return p.raw('\x89').global('collections', 'OrderedDict').raw(')RtR');
}

/** The pickle torch.save writes for an OrderedDict of these tensors. */
function stateDictPickle(tensors: CraftedTensor[]): Uint8Array {
  const p = new Pickle().raw('\x80\x02').global('collections', 'OrderedDict').raw(')R(');
  for (const t of tensors) tensorEnd(tensorStart(p, t), t);
  return p.raw('u.').bytes();
}

interface RawEntry {
  name: string;
  data: Uint8Array;
  /** Deflate the data (method 8) instead of storing it. */
  deflate?: boolean;
  /** The uncompressed size the headers claim (default: the real one); zip64 above 32 bits. */
  declaredSize?: number;
  /** The CRC the headers claim (default: the data's). */
  crc?: number;
}

/** A zip archive written field by field, so that sizes can lie. */
function writeZip(entries: RawEntry[]): Uint8Array {
  const out: number[] = [];
  const central: number[] = [];
  for (const e of entries) {
    const body = e.deflate ? deflateRawSync(e.data, { level: 9 }) : e.data;
    const size = e.declaredSize ?? e.data.length;
    const zip64 = size >= 0xffffffff;
    const extra = zip64 ? [...u16(1), ...u16(8), ...u64(size)] : [];
    const name = [...new TextEncoder().encode(e.name)];
    const common = [
      ...u16(0), ...u16(e.deflate ? 8 : 0), ...u32(0), ...u32(e.crc ?? crc32(e.data)), ...u32(body.length),
      ...u32(zip64 ? 0xffffffff : size), ...u16(name.length), ...u16(extra.length),
    ];
    const offset = out.length;
    out.push(...u32(0x04034b50), ...u16(45), ...common, ...name, ...extra);
    for (const b of body) out.push(b);
    central.push(...u32(0x02014b50), ...u16(45), ...u16(45), ...common, ...u16(0), ...u16(0), ...u16(0), ...u32(0), ...u32(offset), ...name, ...extra);
  }
  const directory = out.length;
  out.push(...central);
  out.push(...u32(0x06054b50), ...u16(0), ...u16(0), ...u16(entries.length), ...u16(entries.length), ...u32(central.length), ...u32(directory), ...u16(0));
  return Uint8Array.from(out);
}

function floats(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

/** A zip checkpoint of `tensors`, with `storages` as stored entries and `extra` entries after. */
function checkpoint(tensors: CraftedTensor[], storages: Record<string, Uint8Array>, extra: RawEntry[] = []): Uint8Array {
  return writeZip([
    { name: 'archive/data.pkl', data: stateDictPickle(tensors) },
    ...Object.entries(storages).map(([key, data]) => ({ name: `archive/data/${key}`, data })),
    ...extra,
  ]);
}

/** The entries of a fixture, to be rewritten with {@link writeZip}. */
function fixtureEntries(name: string): RawEntry[] {
  return Object.entries(unzipSync(fixture(name))).map(([entryName, data]) => ({ name: entryName, data }));
}

/** x2, 1 block, growth `growth`: every conv on one stored float through strides of 0. */
function broadcastIrn(growth: number): Uint8Array {
  const tensors: CraftedTensor[] = [{ key: 'operations.0.haar_weights', storage: 'h', storageNumel: 48, shape: [12, 1, 2, 2] }];
  for (const [net, inC, outC] of [['F', 9, 3], ['G', 3, 9], ['H', 3, 9]] as const) {
    for (let k = 1; k <= 5; k++) {
      const out = k === 5 ? outC : growth;
      const shape = [out, inC + (k - 1) * growth, 3, 3];
      tensors.push({ key: `operations.1.${net}.conv${k}.weight`, storage: 'z', storageNumel: 1, shape, stride: [0, 0, 0, 0] });
      tensors.push({ key: `operations.1.${net}.conv${k}.bias`, storage: 'z', storageNumel: 1, shape: [out], stride: [0] });
    }
  }
  const haar = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]];
  return checkpoint(tensors, { h: floats([0, 1, 2].flatMap(() => haar.flat())), z: floats([0.01]) });
}

describe('hostile checkpoints: tensors that claim more than the file holds', () => {
  it('refuses a stride-0 tensor of a billion elements before allocating it', () => {
    const bytes = checkpoint([{ key: 'w', storage: '0', storageNumel: 1, shape: [1_000_000_000], stride: [0] }], { 0: floats([1]) });
    assert.ok(bytes.length < 700);
    assertRefused(
      () => readTorchStateDict(bytes),
      LimitError,
      /^checkpoint tensor "w" \(shape \[1000000000\]\) is 1,000,000,000 elements, above the limit of 16,777,216 elements \(raise it with limits: \{ tensorElements: N \}\)$/,
    );
  });

  it('reads a stride-0 tensor within the limits as torch does (a broadcast view)', () => {
    const bytes = checkpoint([{ key: 'w', storage: '0', storageNumel: 2, offset: 1, shape: [2, 3], stride: [0, 0] }], { 0: floats([1, 7]) });
    assert.deepEqual(Array.from(readTorchStateDict(bytes).get('w')!.data), [7, 7, 7, 7, 7, 7]);
  });

  it('refuses shapes whose product passes 2^53 without a raw engine error', () => {
    const bytes = checkpoint([{ key: 'w', storage: '0', storageNumel: 1, shape: [1e6, 1e6, 1e6], stride: [0, 0, 0] }], { 0: floats([1]) });
    assertRefused(() => readTorchStateDict(bytes), LimitError, /^checkpoint tensor "w" \(shape \[1000000, 1000000, 1000000\]\) is about 1.00e18 elements, above the limit/);
  });

  it('refuses many tensors that together pass totalElements before reading any', () => {
    // 9 views of 2^22 elements each over one float: 38 million elements (151 MB as float32).
    const tensors = Array.from({ length: 9 }, (_, i) => ({ key: `w${i}`, storage: '0', storageNumel: 1, shape: [2 ** 22], stride: [0] }));
    assertRefused(
      () => readTorchStateDict(checkpoint(tensors, { 0: floats([1]) })),
      LimitError,
      /^the tensors of the checkpoint together is 37,748,736 elements, above the limit of 33,554,432 elements \(raise it with limits: \{ totalElements: N \}\)$/,
    );
    // The limits can be lowered (and raised) by the caller.
    assertRefused(
      () => readTorchStateDict(checkpoint(tensors.slice(0, 2), { 0: floats([1]) }), { limits: { totalElements: 1000 } }),
      LimitError,
      /is 8,388,608 elements, above the limit of 1,000 elements/,
    );
  });

  it('refuses views that reach past their storage, by offset or by stride', () => {
    const past = checkpoint([{ key: 'w', storage: '0', storageNumel: 4, offset: 2, shape: [3], stride: [1] }], { 0: floats([1, 2, 3, 4]) });
    assertRefused(() => readTorchStateDict(past), TorchFormatError, /^tensor "w" \(shape \[3\], stride \[1\], offset 2\) reaches element 4 of a storage of 4$/);
    const huge = checkpoint([{ key: 'w', storage: '0', storageNumel: 4, offset: 2 ** 52, shape: [1], stride: [1] }], { 0: floats([1, 2, 3, 4]) });
    assertRefused(() => readTorchStateDict(huge), TorchFormatError, /reaches element 4503599627370496 of a storage of 4$/);
    const strided = checkpoint([{ key: 'w', storage: '0', storageNumel: 4, shape: [2, 2], stride: [2 ** 40, 1] }], { 0: floats([1, 2, 3, 4]) });
    assertRefused(() => readTorchStateDict(strided), TorchFormatError, /reaches element 1099511627777 of a storage of 4$/);
  });

  it('refuses a storage that claims more elements than its zip entry holds', () => {
    const bytes = checkpoint([{ key: 'w', storage: '0', storageNumel: 2 ** 40, shape: [2], stride: [1] }], { 0: floats([1, 2]) });
    assertRefused(() => readTorchStateDict(bytes), TorchFormatError, /^zip entry "archive\/data\/0" has 8 bytes; its storage needs 4398046511104$/);
  });

  it('refuses negative strides and non-integer shapes', () => {
    for (const t of [
      { key: 'w', storage: '0', storageNumel: 4, shape: [2], stride: [-1] },
      { key: 'w', storage: '0', storageNumel: 4, shape: [-2], stride: [1] },
    ]) {
      assertRefused(
        () => readTorchStateDict(checkpoint([t], { 0: floats([1, 2, 3, 4]) })),
        TorchFormatError,
        /size and stride are not matching lists of non-negative integers/,
      );
    }
  });

  it('refuses an IRN whose weights are broadcast from one float, before reading any', () => {
    // Growth 1024: 171 million parameters (685 MB) from a 6 KB file, had it been accepted.
    const bytes = broadcastIrn(1024);
    assert.ok(bytes.length < 8000);
    assertRefused(
      () => importIrnCheckpoint(bytes),
      TorchFormatError,
      /^checkpoint tensor "operations\.1\.F\.conv1\.weight" \(shape \[1024, 9, 3, 3\], stride \[0, 0, 0, 0\]\) reads stored elements more than once; the weights of a trained IRN are never broadcast views$/,
    );
  });

  it('checks the size of the whole IRN against totalElements before reading a tensor', () => {
    // Every storage's data is damaged under its old CRC: reading any tensor fails.
    const entries = fixtureEntries('irn_x2.pth').map((e) => {
      if (!e.name.startsWith('irn_x2/data/')) return e;
      const data = e.data.slice();
      data[0] ^= 0xff;
      return { ...e, data, crc: crc32(e.data) };
    });
    const broken = writeZip(entries);
    assertRefused(() => importIrnCheckpoint(broken), TorchFormatError, /^zip entry "irn_x2\/data\/0" is corrupt: its CRC does not match its data$/);
    assertRefused(
      () => importIrnCheckpoint(broken, { limits: { totalElements: 40_000 } }),
      LimitError,
      /^the model \(IRN x2 with 2 blocks per level, growth 8\) is 43,212 elements, above the limit of 40,000 elements \(raise it with limits: \{ totalElements: N \}\)$/,
    );
  });
});

describe('hostile checkpoints: zip bombs', () => {
  /** Zeros: deflate shrinks them about 1000 times. */
  const zeros = (n: number): Uint8Array => new Uint8Array(n);

  it('never inflates an entry that no tensor uses, whatever it declares', () => {
    const entries = [
      ...fixtureEntries('irn_x2.pth'),
      // A lie (2^40 bytes from 1 KiB) and a real bomb (16 MiB from 16 KiB).
      { name: 'irn_x2/junk', data: zeros(1024), deflate: true, declaredSize: 2 ** 40 },
      { name: 'irn_x2/bomb', data: zeros(16 << 20), deflate: true },
    ];
    const bytes = writeZip(entries);
    assert.ok(bytes.length < 200_000 + 20_000);
    const start = performance.now();
    const irn = importIrnCheckpoint(bytes, { limits: { inflatedBytes: 1 << 20 } });
    assert.ok(performance.now() - start < QUICK_MS);
    assert.deepEqual(irn, importIrnCheckpoint(fixture('irn_x2.pth')));
  });

  it('reads deflated entries within their declared size (what other zip tools write)', () => {
    const entries = fixtureEntries('irn_x2.pth').map((e) => ({ ...e, deflate: true }));
    assert.deepEqual(importIrnCheckpoint(writeZip(entries)), importIrnCheckpoint(fixture('irn_x2.pth')));
  });

  it('stops inflating a used entry as soon as it passes its declared size', () => {
    const w: CraftedTensor = { key: 'w', storage: '0', storageNumel: 2, shape: [2] };
    const bytes = writeZip([
      { name: 'archive/data.pkl', data: stateDictPickle([w]) },
      // 8 bytes declared, 64 MiB inside (64 KiB deflated).
      { name: 'archive/data/0', data: zeros(64 << 20), deflate: true, declaredSize: 8 },
    ]);
    assertRefused(() => readTorchStateDict(bytes), TorchFormatError, /^zip entry "archive\/data\/0" inflates to more than the 8 bytes it declares$/);
  });

  it('refuses a used entry that inflates to less than it declares', () => {
    const w: CraftedTensor = { key: 'w', storage: '0', storageNumel: 2, shape: [2] };
    const bytes = writeZip([
      { name: 'archive/data.pkl', data: stateDictPickle([w]) },
      { name: 'archive/data/0', data: floats([1, 2]), deflate: true, declaredSize: 12 },
    ]);
    assertRefused(() => readTorchStateDict(bytes), TorchFormatError, /^zip entry "archive\/data\/0" inflates to 8 bytes but declares 12$/);
  });

  it('refuses entries that would pass inflatedBytes, before inflating them', () => {
    // data.pkl declares 2 GiB: refused from the directory alone.
    const declared = writeZip([{ name: 'archive/data.pkl', data: stateDictPickle([]), deflate: true, declaredSize: 2 ** 31 }]);
    assertRefused(
      () => readTorchStateDict(declared),
      LimitError,
      /^zip entry "archive\/data\.pkl" declares 2,147,483,648 bytes, which with what was already inflated passes the limit of 1,073,741,824 bytes per file \(raise it with limits: \{ inflatedBytes: N \}\)$/,
    );
    // Honest entries that together pass a lowered limit: the second one is refused.
    const tensors: CraftedTensor[] = [
      { key: 'a', storage: '0', storageNumel: 1 << 18, shape: [1 << 18] },
      { key: 'b', storage: '1', storageNumel: 1 << 18, shape: [1 << 18] },
    ];
    const honest = writeZip([
      { name: 'archive/data.pkl', data: stateDictPickle(tensors) },
      { name: 'archive/data/0', data: zeros(1 << 20), deflate: true },
      { name: 'archive/data/1', data: zeros(1 << 20), deflate: true },
    ]);
    assert.equal(readTorchStateDict(honest).get('b')!.data.length, 1 << 18);
    assertRefused(
      () => readTorchStateDict(honest, { limits: { inflatedBytes: 1.5 * (1 << 20) } }),
      LimitError,
      /^zip entry "archive\/data\/1" declares 1,048,576 bytes, which with what was already inflated passes the limit of 1,572,864 bytes/,
    );
  });
});

describe('hostile checkpoints: pickles', () => {
  /** A one-tensor state_dict whose storage persistent id starts with `kind` (raw opcodes). */
  const withKind = (kind: Array<string | number[]>): Uint8Array => {
    const p = new Pickle().raw('\x80\x02').global('collections', 'OrderedDict').raw(')R(').str('w');
    p.global('torch._utils', '_rebuild_tensor_v2').raw('((').raw(...kind);
    p.global('torch', 'FloatStorage').str('0').str('cpu').int(1).raw('tQ');
    tensorEnd(p, { key: 'w', storage: '0', storageNumel: 1, shape: [1] });
    return writeZip([{ name: 'archive/data.pkl', data: p.raw('u.').bytes() }, { name: 'archive/data/0', data: floats([1]) }]);
  };

  it('refuses a billion-laughs pickle (nested shared lists) in microseconds, without spelling it out', () => {
    // L0 = [1]; L(i) = [L(i-1)] * 10 through the memo: 10^9 leaves in 9 levels, 400 bytes.
    const kind: Array<string | number[]> = [']q\x00K\x01a0'];
    for (let i = 1; i <= 9; i++) kind.push('(', ...Array.from({ length: 10 }, (): Array<string | number[]> => ['h', [i - 1]]).flat(), 'lq', [i], '0');
    kind.push('h', [9]);
    const bytes = withKind(kind);
    assert.ok(bytes.length < 1200);
    assertRefused(() => readTorchStateDict(bytes), TorchFormatError, /^unknown persistent id of kind a list or tuple of 10$/);
  });

  it('refuses 100000 nested lists at the depth limit, not with a stack overflow', () => {
    const bytes = withKind([']'.repeat(100_000), 'a'.repeat(99_999)]);
    assertRefused(
      () => readTorchStateDict(bytes),
      LimitError,
      /^archive\/data\.pkl: the nesting at byte \d+ is 257 levels, above the limit of 256 levels \(raise it with limits: \{ pickleDepth: N \}\)$/,
    );
    assertRefused(() => readTorchStateDict(withKind(['('.repeat(100_000)])), LimitError, /the nesting at byte \d+ is 257 levels/);
    // Legacy files go through the same reader: the protocol version pickle here.
    const legacy = new Pickle().raw('\x80\x02\x8a\x0a', [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19], '.');
    legacy.raw('\x80\x02', ']'.repeat(100_000), 'a'.repeat(99_999), '.');
    assertRefused(() => readTorchStateDict(legacy.bytes()), LimitError, /^legacy header \(protocol version\): the nesting at byte \d+ is 257 levels/);
  });
});

describe('hostile checkpoints: non-finite weights', () => {
  /** The fixture with float `index` of `entry` (a float32 or float16 storage) set to `bits`. */
  const patched = (file: string, entry: string, index: number, value: number, half = false): Uint8Array =>
    writeZip(fixtureEntries(file).map((e) => {
      if (e.name !== entry) return e;
      const data = e.data.slice();
      const view = new DataView(data.buffer);
      if (half) view.setUint16(index * 2, value, true);
      else view.setFloat32(index * 4, value, true);
      return { ...e, data };
    }));

  it('refuses NaN and infinite weights, naming the key and the index', () => {
    // irn_x2/data/1 is operations.1.F.conv1.weight (8 x 9 x 3 x 3 floats).
    assertRefused(
      () => importIrnCheckpoint(patched('irn_x2.pth', 'irn_x2/data/1', 12, NaN)),
      TorchFormatError,
      /^checkpoint tensor operations\.1\.F\.conv1\.weight holds NaN at index 12; a usable model has finite weights$/,
    );
    assertRefused(
      () => importIrnCheckpoint(patched('irn_x2.pth', 'irn_x2/data/1', 647, -Infinity)),
      TorchFormatError,
      /^checkpoint tensor operations\.1\.F\.conv1\.weight holds -Infinity at index 647;/,
    );
  });

  it('refuses float16 infinities and NaN', () => {
    assertRefused(
      () => importIrnCheckpoint(patched('irn_x2_half.pth', 'irn_x2_half/data/1', 12, 0x7c00, true)),
      TorchFormatError,
      /^checkpoint tensor operations\.1\.F\.conv1\.weight holds Infinity at index 12;/,
    );
    assertRefused(
      () => importIrnCheckpoint(patched('irn_x2_half.pth', 'irn_x2_half/data/1', 3, 0xfe01, true)),
      TorchFormatError,
      /holds NaN at index 3;/,
    );
  });
});
