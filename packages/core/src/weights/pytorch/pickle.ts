import { checkLimit, LimitError, raiseAdvice, resolveLimits, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';

/**
 * A Python dict (or `collections.OrderedDict`) read from a pickle. Keys keep insertion order.
 * Only hashable scalars are accepted as keys.
 */
export class PickleDict {
  /** The entries, in pickle order. */
  readonly entries = new Map<PickleKey, unknown>();

  /** @param className `dict`, or the qualified name of the dict subclass that made it. */
  constructor(readonly className = 'dict') {}
}

/** A dict key: the hashable scalar values a pickle can hold. */
export type PickleKey = string | number | bigint | boolean | null;

/**
 * What a GLOBAL / STACK_GLOBAL opcode resolves to. The unpickler never imports or runs
 * anything: it asks {@link UnpickleOptions.findGlobal} for one of these, and REDUCE / NEWOBJ
 * call the handler's own `call`, written in TypeScript. A global without `call` is a plain value
 * (for example a storage type passed inside a persistent id).
 */
export interface PickleGlobal {
  /** `module.name`, as written in the pickle. */
  readonly qualifiedName: string;
  /**
   * What REDUCE (and NEWOBJ) with this callable produces from its positional arguments. The
   * unpickler charges the arguments and the elements of each list among them to
   * `limits.pickleObjects`, so a handler may walk that far (and no further: a list shared
   * through the memo costs its length again at every call, which is what the charge bounds).
   */
  call?(args: readonly unknown[]): unknown;
}

/** Callbacks that give the unpickler its only contact with the outside. */
export interface UnpickleOptions {
  /** Resolves `module.name`; MUST throw for anything not explicitly allowed. */
  findGlobal(module: string, name: string): PickleGlobal;
  /** Resolves a persistent id (BINPERSID); absent: persistent ids are refused. */
  persistentLoad?(pid: unknown): unknown;
  /** Applies BUILD state to an object; absent or returning false: BUILD is refused. */
  build?(target: unknown, state: unknown): boolean;
  /** Name used in error messages, e.g. `data.pkl`. */
  label?: string;
  /** `pickleDepth` and `pickleObjects` bound the nesting and the work; see {@link unpickle}. */
  limits?: Partial<Limits>;
}

/** Result of {@link unpickle}: the value and the byte offset just after its STOP opcode. */
export interface UnpickleResult {
  value: unknown;
  end: number;
}

/** Longest LONG4 integer accepted, in bytes. */
const MAX_LONG_BYTES = 1024;
/** Longest line of a text opcode (INT, GLOBAL, ...) accepted, in bytes. */
const MAX_LINE = 1024;

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Opcode names for error messages (pickletools' names). */
const OPCODE_NAMES: Record<number, string> = {
  0x28: 'MARK', 0x2e: 'STOP', 0x30: 'POP', 0x31: 'POP_MARK', 0x32: 'DUP', 0x46: 'FLOAT',
  0x49: 'INT', 0x4a: 'BININT', 0x4b: 'BININT1', 0x4c: 'LONG', 0x4d: 'BININT2', 0x4e: 'NONE',
  0x50: 'PERSID', 0x51: 'BINPERSID', 0x52: 'REDUCE', 0x53: 'STRING', 0x54: 'BINSTRING',
  0x55: 'SHORT_BINSTRING', 0x56: 'UNICODE', 0x58: 'BINUNICODE', 0x61: 'APPEND', 0x62: 'BUILD',
  0x63: 'GLOBAL', 0x64: 'DICT', 0x7d: 'EMPTY_DICT', 0x65: 'APPENDS', 0x67: 'GET',
  0x68: 'BINGET', 0x69: 'INST', 0x6a: 'LONG_BINGET', 0x6c: 'LIST', 0x5d: 'EMPTY_LIST',
  0x6f: 'OBJ', 0x70: 'PUT', 0x71: 'BINPUT', 0x72: 'LONG_BINPUT', 0x73: 'SETITEM', 0x74: 'TUPLE',
  0x29: 'EMPTY_TUPLE', 0x75: 'SETITEMS', 0x47: 'BINFLOAT', 0x80: 'PROTO', 0x81: 'NEWOBJ',
  0x82: 'EXT1', 0x83: 'EXT2', 0x84: 'EXT4', 0x85: 'TUPLE1', 0x86: 'TUPLE2', 0x87: 'TUPLE3',
  0x88: 'NEWTRUE', 0x89: 'NEWFALSE', 0x8a: 'LONG1', 0x8b: 'LONG4', 0x42: 'BINBYTES',
  0x43: 'SHORT_BINBYTES', 0x8c: 'SHORT_BINUNICODE', 0x8d: 'BINUNICODE8', 0x8e: 'BINBYTES8',
  0x8f: 'EMPTY_SET', 0x90: 'ADDITEMS', 0x91: 'FROZENSET', 0x92: 'NEWOBJ_EX',
  0x93: 'STACK_GLOBAL', 0x94: 'MEMOIZE', 0x95: 'FRAME', 0x96: 'BYTEARRAY8', 0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

function opcodeName(op: number): string {
  return OPCODE_NAMES[op] ?? `0x${op.toString(16).padStart(2, '0')}`;
}

/** Narrows a bigint to a number when it fits exactly, as Python ints are unbounded. */
function normaliseInt(v: bigint): number | bigint {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

/** Little-endian two's complement, as LONG1 / LONG4 store Python ints. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let v = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) v -= 1n << BigInt(8 * bytes.length);
  return normaliseInt(v);
}

/** Text from the file, quoted and cut short, for error messages. */
export function quote(s: string, max = 40): string {
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

/**
 * What an unpickled value is, in a few words, for error messages. It never converts the value
 * itself to text: a list of lists would be joined recursively (a shared nested list spells out
 * billions of elements; a deep one overflows the call stack).
 */
export function describePickleValue(v: unknown): string {
  if (v === null) return 'None';
  if (typeof v === 'string') return `the string ${quote(v)}`;
  if (typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return `the ${typeof v} ${String(v)}`;
  if (Array.isArray(v)) return `a list or tuple of ${v.length}`;
  if (v instanceof PickleDict) return `a ${v.className}`;
  if (v instanceof Uint8Array) return 'bytes';
  return 'an object';
}

function isKey(v: unknown): v is PickleKey {
  const t = typeof v;
  return v === null || t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean';
}

/**
 * Reads one pickle (protocols 0-5 as `torch.save` writes them) starting at `offset` and stops at
 * its STOP opcode. It executes nothing: globals go through `options.findGlobal`, which must refuse
 * unknown names, and REDUCE / NEWOBJ / BUILD only reach TypeScript handlers supplied by the
 * caller. Errors are {@link TorchFormatError}s naming the opcode and byte offset.
 *
 * Values: None -> null, bool -> boolean, int -> number (bigint beyond 2^53), float -> number,
 * str -> string, bytes -> Uint8Array, list / tuple / set -> array, dict -> {@link PickleDict}.
 *
 * Bounded for hostile files: every length field is checked against the bytes that remain before
 * anything is allocated; every opcode, every item moved into a list, tuple or dict and every
 * argument a handler may look at counts towards `limits.pickleObjects` (so a "billion laughs"
 * file that shares one list through the memo pays for each use); lists and dicts nest at most
 * `limits.pickleDepth` deep, and so do MARKs. A list or dict can no longer change once it is
 * inside another one (Python's pickler builds every container completely before it uses it;
 * only a recursive structure would do otherwise), so the depth of every value is known when it
 * is built and no value can contain itself. Nothing here or in the readers recurses on a value.
 *
 * @throws {TorchFormatError} for a malformed pickle. {@link LimitError} past a limit.
 */
export function unpickle(bytes: Uint8Array, offset: number, options: UnpickleOptions): UnpickleResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const label = options.label ?? 'pickle';
  const limits = resolveLimits(options.limits);
  let pos = offset;
  /** Work done so far: opcodes, items moved, arguments handed to handlers. */
  let work = 0;
  /** Lists, tuples and dicts that are inside another one: they may not change any more. */
  const contained = new WeakSet<object>();
  /** Nesting depth of each container built (1: holds no container). */
  const depths = new WeakMap<object, number>();
  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  // Only what findGlobal returned during this call may be called by REDUCE / NEWOBJ / INST / OBJ.
  const globals = new WeakSet<object>();
  const resolve = (module: string, name: string): PickleGlobal => {
    const g = options.findGlobal(module, name);
    globals.add(g);
    return g;
  };

  const fail = (message: string, at = pos): never => {
    throw new TorchFormatError(`${label}: ${message} (at byte ${at})`);
  };
  const need = (n: number, what: string): void => {
    if (n < 0 || pos + n > bytes.length) {
      fail(`truncated: ${what} needs ${n} bytes but only ${Math.max(0, bytes.length - pos)} remain`);
    }
  };
  const take = (n: number, what: string): Uint8Array => {
    need(n, what);
    const out = bytes.subarray(pos, pos + n);
    pos += n;
    return out;
  };
  const u8 = (what: string): number => {
    need(1, what);
    return bytes[pos++];
  };
  const u16 = (what: string): number => {
    need(2, what);
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (what: string): number => {
    need(4, what);
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (what: string): number => {
    need(4, what);
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (what: string): number => {
    need(8, what);
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what}: length ${v} is absurd`);
    return Number(v);
  };
  const line = (what: string): string => {
    // Look no further than a line may be long: a file without newlines must not cost a scan
    // of everything that follows at every text opcode.
    const end = Math.min(bytes.length, pos + MAX_LINE + 1);
    const nl = bytes.subarray(pos, end).indexOf(0x0a);
    if (nl < 0) {
      fail(end === bytes.length ? `truncated: ${what} has no terminating newline` : `${what} line is longer than ${MAX_LINE} bytes`);
    }
    const raw = bytes.subarray(pos, pos + nl);
    pos += nl + 1;
    return String.fromCharCode(...raw);
  };
  const text = (raw: Uint8Array, what: string): string => {
    try {
      return decoder.decode(raw);
    } catch {
      return fail(`${what} is not valid UTF-8`);
    }
  };
  const pop = (what: string): unknown => {
    if (stack.length === 0) fail(`stack underflow in ${what}`);
    return stack.pop();
  };
  const top = (what: string): unknown => {
    if (stack.length === 0) fail(`stack underflow in ${what}`);
    return stack[stack.length - 1];
  };
  const popMark = (what: string): unknown[] => {
    const items = stack;
    const previous = metastack.pop();
    if (previous === undefined) fail(`${what} without a MARK`);
    stack = previous as unknown[];
    return items;
  };
  const charge = (n: number, at: number): void => {
    work += n;
    if (work > limits.pickleObjects) {
      throw new LimitError(
        `${label}: the pickle builds more than ${limits.pickleObjects.toLocaleString('en-US')} objects (stopped at byte ${at}), above the limit (${raiseAdvice('pickleObjects')})`,
        'pickleObjects',
      );
    }
  };
  /** Charges what a handler may look at: its arguments and the elements of those that are lists. */
  const chargeArgs = (args: unknown, at: number): void => {
    if (!Array.isArray(args)) return;
    let n = args.length;
    for (const a of args) {
      if (Array.isArray(a)) n += a.length;
      else if (a instanceof PickleDict) n += a.entries.size;
    }
    charge(n, at);
  };
  const checkDepth = (depth: number, at: number): void => {
    checkLimit(limits, 'pickleDepth', depth, `${label}: the nesting at byte ${at}`, 'levels');
  };
  /** Records that `items` went into `container`: they are frozen, and its depth grows. */
  const contain = (container: object, items: readonly unknown[], at: number): void => {
    let depth = depths.get(container) ?? 1;
    for (const item of items) {
      if (typeof item !== 'object' || item === null) continue;
      if (item === container) fail('a list or dict that contains itself, which a state_dict never has', at);
      contained.add(item);
      depth = Math.max(depth, (depths.get(item) ?? 1) + 1);
    }
    checkDepth(depth, at);
    depths.set(container, depth);
  };
  const mutable = (target: unknown, what: string, at: number): void => {
    if (typeof target === 'object' && target !== null && contained.has(target)) {
      fail(`${what} changes a list or dict that is already inside another one, which torch.save never writes`, at);
    }
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) fail(`memo entry ${index} read before it was written`);
    return memo.get(index);
  };
  const memoPut = (index: number): void => {
    memo.set(index, top('PUT'));
  };
  const setItems = (target: unknown, items: unknown[], what: string, at: number): void => {
    if (!(target instanceof PickleDict)) fail(`${what} on something that is not a dict`, at);
    const dict = target as PickleDict;
    mutable(dict, what, at);
    if (items.length % 2 !== 0) fail(`${what} with an odd number of items`, at);
    charge(items.length, at);
    for (let i = 0; i < items.length; i += 2) {
      const key = items[i];
      if (!isKey(key)) fail(`${what}: dict key of an unsupported type`, at);
      dict.entries.set(key as PickleKey, items[i + 1]);
    }
    contain(dict, items, at);
  };
  const appendItems = (target: unknown, items: unknown[], what: string, at: number): void => {
    if (!Array.isArray(target)) fail(`${what} on something that is not a list`, at);
    const list = target as unknown[];
    mutable(list, what, at);
    charge(items.length, at);
    for (const item of items) list.push(item); // no spread: item counts may be huge
    contain(list, items, at);
  };
  /** A new tuple or list of `items` (the array itself becomes the value). */
  const sequence = (items: unknown[], at: number): unknown[] => {
    charge(items.length, at);
    contain(items, items, at);
    return items;
  };
  const callGlobal = (callable: unknown, args: unknown, what: string, at: number): unknown => {
    const isGlobal = typeof callable === 'object' && callable !== null && globals.has(callable);
    const g = callable as PickleGlobal;
    if (!isGlobal || g.call === undefined) {
      return fail(`${what} calls ${isGlobal ? g.qualifiedName : 'a value that is not a global'}, which is not callable here`, at);
    }
    if (!Array.isArray(args)) return fail(`${what} arguments are not a tuple`, at);
    chargeArgs(args, at);
    const result = g.call(args);
    // The result may hold (parts of) the arguments: it is at most as deep as they are.
    contained.add(args);
    if (typeof result === 'object' && result !== null) depths.set(result, Math.max(depths.get(result) ?? 1, depths.get(args) ?? 1));
    return result;
  };

  for (;;) {
    const at = pos;
    const op = u8('opcode');
    charge(1, at);
    switch (op) {
      case 0x80: { // PROTO
        const version = u8('PROTO');
        if (version > 5) fail(`unsupported pickle protocol ${version}`, at);
        break;
      }
      case 0x95: // FRAME: a length prefix only, the opcodes follow inline
        u64('FRAME');
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length !== 0) fail('STOP with an unbalanced stack', at);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        checkDepth(metastack.length + 1, at);
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) pop('POP');
        else popMark('POP');
        break;
      case 0x31: // POP_MARK
        popMark('POP_MARK');
        break;
      case 0x32: // DUP
        stack.push(top('DUP'));
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT
        stack.push(i32('BININT'));
        break;
      case 0x4b: // BININT1
        stack.push(u8('BININT1'));
        break;
      case 0x4d: // BININT2
        stack.push(u16('BININT2'));
        break;
      case 0x8a: // LONG1
        stack.push(decodeLong(take(u8('LONG1'), 'LONG1')));
        break;
      case 0x8b: { // LONG4
        const n = i32('LONG4');
        // Decoding is quadratic in length; no integer in a state_dict is anywhere near this.
        if (n > MAX_LONG_BYTES) fail(`LONG4 integer of ${n} bytes is too large`, at);
        stack.push(decodeLong(take(n, 'LONG4')));
        break;
      }
      case 0x49: { // INT (text); "00" / "01" are protocol 0's False / True
        const s = line('INT');
        if (s === '00' || s === '01') stack.push(s === '01');
        else if (/^[-+]?\d+$/.test(s)) stack.push(normaliseInt(BigInt(s)));
        else fail(`INT with malformed text ${quote(s)}`, at);
        break;
      }
      case 0x4c: { // LONG (text)
        const s = line('LONG').replace(/L$/, '');
        if (!/^[-+]?\d+$/.test(s)) fail(`LONG with malformed text ${quote(s)}`, at);
        stack.push(normaliseInt(BigInt(s)));
        break;
      }
      case 0x46: { // FLOAT (text)
        const s = line('FLOAT');
        const special: Record<string, number> = { inf: Infinity, '-inf': -Infinity, nan: NaN };
        const v = s in special ? special[s] : /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : undefined;
        if (v === undefined) fail(`FLOAT with malformed text ${quote(s)}`, at);
        stack.push(v);
        break;
      }
      case 0x47: // BINFLOAT: big-endian double
        need(8, 'BINFLOAT');
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(take(u32('BINUNICODE'), 'BINUNICODE'), 'BINUNICODE'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(take(u8('SHORT_BINUNICODE'), 'SHORT_BINUNICODE'), 'SHORT_BINUNICODE'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(take(u64('BINUNICODE8'), 'BINUNICODE8'), 'BINUNICODE8'));
        break;
      case 0x54: { // BINSTRING (Python 2 str; torch.load decodes these as UTF-8 by default)
        const n = i32('BINSTRING');
        stack.push(text(take(n, 'BINSTRING'), 'BINSTRING'));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        stack.push(text(take(u8('SHORT_BINSTRING'), 'SHORT_BINSTRING'), 'SHORT_BINSTRING'));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32('BINBYTES'), 'BINBYTES').slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8('SHORT_BINBYTES'), 'SHORT_BINBYTES').slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64('BINBYTES8'), 'BINBYTES8').slice());
        break;
      case 0x96: // BYTEARRAY8
        stack.push(take(u64('BYTEARRAY8'), 'BYTEARRAY8').slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
        stack.push(sequence([pop('TUPLE1')], at));
        break;
      case 0x86: { // TUPLE2
        const b = pop('TUPLE2');
        const a = pop('TUPLE2');
        stack.push(sequence([a, b], at));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop('TUPLE3');
        const b = pop('TUPLE3');
        const a = pop('TUPLE3');
        stack.push(sequence([a, b, c], at));
        break;
      }
      case 0x74: // TUPLE
      case 0x6c: // LIST
      case 0x91: { // FROZENSET
        // popMark replaces `stack`: take the items before `stack.push` reads the variable.
        const items = sequence(popMark(opcodeName(op)), at);
        stack.push(items);
        break;
      }
      case 0x5d: // EMPTY_LIST
      case 0x8f: // EMPTY_SET
        stack.push([]);
        break;
      case 0x61: { // APPEND
        const v = pop('APPEND');
        appendItems(top('APPEND'), [v], 'APPEND', at);
        break;
      }
      case 0x65: // APPENDS
      case 0x90: { // ADDITEMS
        const items = popMark(opcodeName(op));
        appendItems(top(opcodeName(op)), items, opcodeName(op), at);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new PickleDict());
        break;
      case 0x64: { // DICT
        const dict = new PickleDict();
        setItems(dict, popMark('DICT'), 'DICT', at);
        stack.push(dict);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop('SETITEM');
        const k = pop('SETITEM');
        setItems(top('SETITEM'), [k, v], 'SETITEM', at);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark('SETITEMS');
        setItems(top('SETITEMS'), items, 'SETITEMS', at);
        break;
      }
      case 0x71: // BINPUT
        memoPut(u8('BINPUT'));
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32('LONG_BINPUT'));
        break;
      case 0x70: { // PUT (text)
        const s = line('PUT');
        if (!/^\d+$/.test(s)) fail(`PUT with malformed index ${quote(s)}`, at);
        memoPut(Number(s));
        break;
      }
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        stack.push(memoGet(u8('BINGET')));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(memoGet(u32('LONG_BINGET')));
        break;
      case 0x67: { // GET (text)
        const s = line('GET');
        if (!/^\d+$/.test(s)) fail(`GET with malformed index ${quote(s)}`, at);
        stack.push(memoGet(Number(s)));
        break;
      }
      case 0x63: { // GLOBAL: "module\nname\n"
        const module = line('GLOBAL');
        const name = line('GLOBAL');
        stack.push(resolve(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop('STACK_GLOBAL');
        const module = pop('STACK_GLOBAL');
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL with non-string names', at);
        stack.push(resolve(module as string, name as string));
        break;
      }
      case 0x69: { // INST: a class named inline, instantiated from the items above MARK
        const module = line('INST');
        const name = line('INST');
        const callable = resolve(module, name);
        const args = popMark('INST');
        stack.push(callGlobal(callable, args, 'INST', at));
        break;
      }
      case 0x6f: { // OBJ
        const items = popMark('OBJ');
        if (items.length === 0) fail('OBJ without a class', at);
        charge(items.length, at);
        stack.push(callGlobal(items[0], items.slice(1), 'OBJ', at));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop('REDUCE');
        const callable = pop('REDUCE');
        stack.push(callGlobal(callable, args, 'REDUCE', at));
        break;
      }
      case 0x81: { // NEWOBJ: cls.__new__(cls, *args)
        const args = pop('NEWOBJ');
        const cls = pop('NEWOBJ');
        stack.push(callGlobal(cls, args, 'NEWOBJ', at));
        break;
      }
      case 0x92: { // NEWOBJ_EX
        const kwargs = pop('NEWOBJ_EX');
        const args = pop('NEWOBJ_EX');
        const cls = pop('NEWOBJ_EX');
        if (!(kwargs instanceof PickleDict) || kwargs.entries.size > 0) fail('NEWOBJ_EX with keyword arguments', at);
        stack.push(callGlobal(cls, args, 'NEWOBJ_EX', at));
        break;
      }
      case 0x62: { // BUILD
        const state = pop('BUILD');
        const target = top('BUILD');
        chargeArgs([state], at);
        if (options.build === undefined || !options.build(target, state)) {
          fail('BUILD on an object that takes no state', at);
        }
        break;
      }
      case 0x51: { // BINPERSID
        const pid = pop('BINPERSID');
        if (options.persistentLoad === undefined) fail('persistent id where none is expected', at);
        chargeArgs(pid, at);
        if (typeof pid === 'object' && pid !== null) contained.add(pid);
        stack.push(options.persistentLoad!(pid));
        break;
      }
      case 0x50: // PERSID (text): torch never writes it
        fail('text persistent id (PERSID), which torch.save never writes', at);
        break;
      default:
        fail(`unsupported pickle opcode ${opcodeName(op)}`, at);
    }
  }
}
