import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LimitError } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { PickleDict, unpickle, type PickleGlobal, type UnpickleOptions } from './pickle.js';
import { findTorchGlobal } from './torch-globals.js';

/** Bytes from a mix of opcode strings (latin1) and byte arrays. */
function bytes(...parts: Array<string | number[]>): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'string') for (const ch of p) out.push(ch.charCodeAt(0));
    else out.push(...p);
  }
  return Uint8Array.from(out);
}

function u32(n: number): number[] {
  return [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff];
}

/** BINUNICODE of an ASCII string. */
function binunicode(s: string): Array<string | number[]> {
  return ['X', u32(s.length), s];
}

/** SHORT_BINUNICODE of an ASCII string. */
function shortUnicode(s: string): Array<string | number[]> {
  return ['\x8c', [s.length], s];
}

const torchOnly: UnpickleOptions = { findGlobal: findTorchGlobal };

function load(data: Uint8Array, options: UnpickleOptions = torchOnly): unknown {
  return unpickle(data, 0, options).value;
}

describe('unpickle', () => {
  it('reads protocol 2 scalars, containers and memo references', () => {
    // Python: pickle.dumps({'a': [1, -2, 300, 70000, 2.5, None, True, False], 'b': ('x', 'x')}, 2)
    // written out by hand, plus LONG1 for a negative and a >2^53 integer.
    const data = bytes(
      '\x80\x02}q\x00(', ...binunicode('a'), ']q\x01(K\x01J', u32(-2 >>> 0), 'M', [0x2c, 0x01],
      'J', u32(70000), 'G', [0x40, 0x04, 0, 0, 0, 0, 0, 0], 'N\x88\x89e', ...binunicode('b'),
      ...binunicode('x'), 'q\x02h\x02\x86', ...binunicode('n'), '\x8a\x01', [0xfe],
      ...binunicode('big'), '\x8a\x09', [0, 0, 0, 0, 0, 0, 0, 0, 1], 'u.',
    );
    const value = load(data);
    assert.ok(value instanceof PickleDict);
    assert.deepEqual(value.entries.get('a'), [1, -2, 300, 70000, 2.5, null, true, false]);
    assert.deepEqual(value.entries.get('b'), ['x', 'x']);
    assert.equal(value.entries.get('n'), -2);
    assert.equal(value.entries.get('big'), 2n ** 64n);
  });

  it('reads protocol 4 framing: FRAME, SHORT_BINUNICODE, MEMOIZE, STACK_GLOBAL', () => {
    // Python: pickle.dumps(collections.OrderedDict(w='\u00e9'), 4), modulo frame length.
    const body = bytes(
      ...shortUnicode('collections'), '\x94', ...shortUnicode('OrderedDict'), '\x94\x93\x94)R\x94',
      ...shortUnicode('w'), '\x94\x8c\x02', [0xc3, 0xa9], '\x94s.',
    );
    const data = bytes('\x80\x04\x95', [body.length, 0, 0, 0, 0, 0, 0, 0], Array.from(body));
    const value = load(data);
    assert.ok(value instanceof PickleDict);
    assert.equal(value.className, 'collections.OrderedDict');
    assert.equal(value.entries.get('w'), '\u00e9');
  });

  it('stops at STOP and reports where the next pickle starts', () => {
    const data = bytes('\x80\x02K\x07.\x80\x02K\x08.');
    const first = unpickle(data, 0, torchOnly);
    assert.equal(first.value, 7);
    assert.equal(first.end, 5);
    assert.equal(unpickle(data, first.end, torchOnly).value, 8);
  });

  for (const [label, data, name] of [
    ['GLOBAL os.system', bytes('\x80\x02cos\nsystem\n', ...binunicode('true'), '\x85R.'), 'os.system'],
    ['STACK_GLOBAL builtins.eval', bytes('\x80\x04', ...shortUnicode('builtins'), ...shortUnicode('eval'), '\x93', ...shortUnicode('1'), '\x85R.'), 'builtins.eval'],
    ['GLOBAL __builtin__.exec', bytes('\x80\x02c__builtin__\nexec\n', ...binunicode('1'), '\x85R.'), '__builtin__.exec'],
    ['GLOBAL subprocess.Popen', bytes('\x80\x02csubprocess\nPopen\n', ...binunicode('true'), '\x85R.'), 'subprocess.Popen'],
    ['INST posix.system', bytes('(', ...binunicode('true'), 'iposix\nsystem\n.'), 'posix.system'],
    ['torch.storage._load_from_bytes', bytes('\x80\x02ctorch.storage\n_load_from_bytes\n', 'C\x00\x85R.'), 'torch.storage._load_from_bytes'],
  ] as const) {
    it(`refuses ${label} before calling anything`, () => {
      assert.throws(() => load(data), (e: unknown) => {
        assert.ok(e instanceof TorchFormatError);
        assert.equal(
          e.message,
          `checkpoint refused: the pickle asks for the global "${name}", which a state_dict never needs`,
        );
        return true;
      });
    });
  }

  it('calls only the handlers of globals that findGlobal returned', () => {
    const calls: unknown[][] = [];
    const options: UnpickleOptions = {
      findGlobal: (module, name): PickleGlobal => ({
        qualifiedName: `${module}.${name}`,
        call: (args) => {
          calls.push([`${module}.${name}`, ...args]);
          return 'handled';
        },
      }),
    };
    assert.equal(load(bytes('\x80\x02cm\nf\nK\x01\x85R.'), options), 'handled');
    assert.deepEqual(calls, [['m.f', 1]]);
    // A list is not callable, and neither is an allowed global without a handler.
    assert.throws(() => load(bytes('\x80\x02]K\x01\x85R.'), options), /REDUCE calls a value that is not a global/);
    assert.throws(() => load(bytes('\x80\x02ctorch\nFloatStorage\n)R.')), /REDUCE calls torch.FloatStorage, which is not callable/);
    assert.equal(calls.length, 1);
  });

  it('refuses BUILD on objects that take no state', () => {
    assert.throws(() => load(bytes('\x80\x02]}b.')), /BUILD on an object that takes no state \(at byte 4\)/);
  });

  it('reports truncation with the opcode and offset', () => {
    assert.throws(() => load(bytes('\x80\x02X', u32(10), 'abc')), (e: unknown) => {
      assert.ok(e instanceof TorchFormatError);
      assert.match(e.message, /truncated: BINUNICODE needs 10 bytes but only 3 remain \(at byte 7\)/);
      return true;
    });
    assert.throws(() => load(bytes('\x80\x02K\x01')), /truncated: opcode needs 1 bytes but only 0 remain/);
  });

  it('rejects unknown opcodes, bad memo reads and unbalanced stacks', () => {
    assert.throws(() => load(bytes('\x80\x02\xff.')), /unsupported pickle opcode 0xff \(at byte 2\)/);
    assert.throws(() => load(bytes('\x80\x02h\x05.')), /memo entry 5 read before it was written/);
    assert.throws(() => load(bytes('\x80\x02K\x01K\x02.')), /STOP with an unbalanced stack/);
    assert.throws(() => load(bytes('\x80\x02t.')), /TUPLE without a MARK/);
    assert.throws(() => load(bytes('\x80\x06N.')), /unsupported pickle protocol 6/);
    assert.throws(() => load(bytes('\x80\x02K\x01Q.')), /persistent id where none is expected/);
  });

  it('counts the work of every use of a shared list towards pickleObjects', () => {
    let walked = 0;
    const options: UnpickleOptions = {
      findGlobal: (module, name): PickleGlobal => ({
        qualifiedName: `${module}.${name}`,
        call: (args) => {
          for (const item of args[0] as unknown[]) walked += item === 1 ? 1 : 0;
          return null;
        },
      }),
      limits: { pickleObjects: 50_000 },
    };
    // L = [1] * 1000 (DUP), memoized; then f(L) 100 times: 100 bytes of calls walk 100,000 items.
    const calls = Array.from({ length: 100 }, () => 'h\x01h\x00\x85R0').join('');
    const data = bytes('\x80\x02(K\x01', '2'.repeat(999), 'lq\x000cm\nf\nq\x010', calls, 'N.');
    assert.throws(() => load(data, options), (e: unknown) => {
      assert.ok(e instanceof LimitError);
      assert.equal(e.limit, 'pickleObjects');
      assert.match(e.message, /^pickle: the pickle builds more than 50,000 objects \(stopped at byte \d+\), above the limit \(raise it with limits: \{ pickleObjects: N \}\)$/);
      return true;
    });
    assert.ok(walked < 50_000, `the handler walked ${walked} items`);
    // With room for it, the same pickle loads.
    assert.equal(load(data, { ...options, limits: { pickleObjects: 200_000 } }), null);
  });

  it('refuses a list that contains itself or changes after it was nested', () => {
    assert.throws(() => load(bytes('\x80\x02]q\x00h\x00a.')), /a list or dict that contains itself, which a state_dict never has \(at byte 7\)/);
    // L0 goes into L1, then L0 gets an item: L1's depth would be stale, and cycles possible.
    assert.throws(
      () => load(bytes('\x80\x02]q\x00]h\x00ah\x00K\x01a0.')),
      /APPEND changes a list or dict that is already inside another one, which torch\.save never writes/,
    );
    // Shared but unchanged lists are fine (Python memoizes repeated tuples such as shapes).
    assert.deepEqual(load(bytes('\x80\x02]q\x00K\x01a0(h\x00h\x00t.')), [[1], [1]]);
  });

  it('bounds nesting by pickleDepth, lists and MARKs alike', () => {
    const deep = (n: number): Uint8Array => bytes('\x80\x02', ']'.repeat(n), 'a'.repeat(n - 1), '.');
    assert.equal((load(deep(256)) as unknown[]).length, 1);
    assert.throws(() => load(deep(257)), (e: unknown) => e instanceof LimitError && e.limit === 'pickleDepth'
      && /^pickle: the nesting at byte \d+ is 257 levels, above the limit of 256 levels/.test(e.message));
    assert.equal((load(deep(257), { ...torchOnly, limits: { pickleDepth: 300 } }) as unknown[]).length, 1);
    assert.throws(() => load(bytes('\x80\x02', '('.repeat(300), '.'), { ...torchOnly, limits: { pickleDepth: 10 } }), /the nesting at byte 12 is 11 levels/);
  });

  it('checks length fields against the bytes that remain before allocating', () => {
    assert.throws(() => load(bytes('\x80\x02B', u32(0xffffffff), 'ab.')), /truncated: BINBYTES needs 4294967295 bytes but only 3 remain/);
    assert.throws(() => load(bytes('\x80\x04\x8d', [0, 0, 0, 0, 0, 1, 0, 0], '.')), /truncated: BINUNICODE8 needs 1099511627776 bytes/);
    assert.throws(() => load(bytes('\x80\x04\x8e', [0, 0, 0, 0, 0, 0, 0, 0x80], '.')), /BINBYTES8: length 9223372036854775808 is absurd/);
    assert.throws(() => load(bytes('\x80\x02T', u32(-5 >>> 0), '.')), /truncated: BINSTRING needs -5 bytes/);
    assert.throws(() => load(bytes('\x80\x02\x8b', u32(0x7fffffff), '.')), /LONG4 integer of 2147483647 bytes is too large/);
    // A text opcode reads at most one line's worth, however much follows without a newline.
    assert.throws(() => load(bytes('\x80\x02c', 'x'.repeat(100_000))), /GLOBAL line is longer than 1024 bytes \(at byte 3\)/);
    assert.throws(() => load(bytes('\x80\x02c', 'x'.repeat(10))), /truncated: GLOBAL has no terminating newline/);
  });
});
