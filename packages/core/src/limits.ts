/**
 * Resource limits for input that comes from strangers: image files, model folders and
 * PyTorch checkpoints. Every decoder and loader checks what a file *claims* (a size in a
 * header, a tensor's shape, a zip entry's length) against these before it allocates, and
 * stops inflating or unpickling as soon as a limit is passed, so memory and time follow the
 * job rather than the file. Browser-safe.
 *
 * The defaults fit every real use we know of (a 100-megapixel photo, the published models,
 * their checkpoints) with room to spare; raise one with the CLI's `--limit name=value`, or
 * pass `{ limits: { pixels: 4e8 } }` to the API that reads the file.
 *
 * A {@link LimitError}'s message ends with how to raise the limit, worded for the API
 * ({@link raiseAdvice}: "raise it with limits: { pixels: N }"); the CLI and `<irn-image>` word
 * it as their own setting with {@link rewordLimitAdvice}.
 */

/** The limits; see {@link DEFAULT_LIMITS} for what each one bounds. */
export interface Limits {
  /** Pixels (width x height) of one decoded image. */
  pixels: number;
  /**
   * Bytes one compressed text chunk (zTXt, iTXt) of a PNG may inflate to; all of a file's
   * together may inflate to 8 times this.
   */
  textBytes: number;
  /** Bytes a whole file (a checkpoint zip's entries together, a PNG's text) may inflate to. */
  inflatedBytes: number;
  /** Elements of one tensor (a checkpoint tensor, a model weight). */
  tensorElements: number;
  /** Elements of all the tensors of one checkpoint or model together. */
  totalElements: number;
  /** Nesting depth of a pickle (lists in lists, ...). */
  pickleDepth: number;
  /** Objects a pickle may build (what a "billion laughs" pickle multiplies). */
  pickleObjects: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  // 100 MP: a 12000 x 8000 photo; 400 MB as 8-bit RGBA, 1.2 GB as float RGB.
  pixels: 100_000_000,
  // The `irn` chunk is under 100 bytes; camera metadata in text chunks stays far below 1 MiB.
  textBytes: 1 << 20,
  // The IRN_x8 checkpoint (the largest published) inflates to about 45 MB; 1 GiB bounds a zip
  // bomb, and the element limits below bound what a checkpoint may hold.
  inflatedBytes: 1 << 30,
  // The published models have 1.67 M (x2), 4.36 M (x4) and 11.1 M (x8) weights, the largest
  // tensor 223 k elements. 32 Mi elements (128 MB as float32) leaves room for bigger models,
  // while a small deflated checkpoint of zeros can no longer become a model of gigabytes.
  tensorElements: 16 * 1024 * 1024,
  totalElements: 32 * 1024 * 1024,
  pickleDepth: 256,
  // A state dict has a few thousand objects (the published x8: under 5,000).
  pickleObjects: 1_000_000,
});

/** The names of the limits, in the order help lists them. */
export const LIMIT_NAMES = Object.keys(DEFAULT_LIMITS) as (keyof Limits)[];

/** Thrown when an input passes a limit. The message names the limit and how to raise it. */
export class LimitError extends Error {
  override name = 'LimitError';
  constructor(
    message: string,
    /** The limit that was passed. */
    readonly limit: keyof Limits,
  ) {
    super(message);
  }
}

/** `DEFAULT_LIMITS` with `overrides` applied; throws a RangeError for a bad name or value. */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const out: Limits = { ...DEFAULT_LIMITS };
  for (const [name, value] of Object.entries(overrides)) {
    if (!Object.hasOwn(DEFAULT_LIMITS, name)) throw new RangeError(`unknown limit "${name}" (known: ${LIMIT_NAMES.join(', ')})`);
    if (value === undefined) continue;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
      throw new RangeError(`the limit ${name} must be a whole number >= 1, got ${String(value)}`);
    }
    out[name as keyof Limits] = value;
  }
  return out;
}

/**
 * How a {@link LimitError}'s message says to raise limit `name`, for a caller of the API:
 * "raise it with limits: { pixels: N }".
 */
export function raiseAdvice(name: keyof Limits): string {
  return `raise it with limits: { ${name}: N }`;
}

/** {@link raiseAdvice}'s words, wherever they are in a message (the name is captured). */
const RAISE_ADVICE = /raise it with limits: \{ ([A-Za-z]+): N \}/g;

/**
 * `message` with each {@link raiseAdvice} in it worded as `how(name)` says: the CLI's
 * `raise it with --limit pixels=N`, `<irn-image>`'s `IrnImage.defaults.limits`. Words that
 * name no limit are left as they are.
 */
export function rewordLimitAdvice(message: string, how: (name: keyof Limits) => string): string {
  return message.replace(RAISE_ADVICE, (advice, name: string) => (Object.hasOwn(DEFAULT_LIMITS, name) ? how(name as keyof Limits) : advice));
}

/**
 * Throws a {@link LimitError} when `amount` is above limit `name`: "`what` is <amount>
 * <unit>, above the limit of <limit> (raise it with limits: { name: N })".
 */
export function checkLimit(limits: Limits, name: keyof Limits, amount: number, what: string, unit = ''): void {
  const limit = limits[name];
  if (amount <= limit) return;
  const u = unit === '' ? '' : ` ${unit}`;
  throw new LimitError(
    `${what} is ${formatCount(amount)}${u}, above the limit of ${formatCount(limit)}${u} (${raiseAdvice(name)})`,
    name,
  );
}

/**
 * The {@link LimitError} for an amount known only to be above limit `name` (a download cut
 * off there): "`what` is more than N `unit`, the limit (raise it with limits: { name: N })".
 */
export function limitPassed(limits: Limits, name: keyof Limits, what: string, unit = ''): LimitError {
  const u = unit === '' ? '' : ` ${unit}`;
  return new LimitError(`${what} is more than ${formatCount(limits[name])}${u}, the limit (${raiseAdvice(name)})`, name);
}

/** 123456789 -> "123,456,789"; non-integers and huge values as they print. */
function formatCount(n: number): string {
  if (Number.isSafeInteger(n)) return n.toLocaleString('en-US');
  // Past 2^53 the digits of a product of two sizes are not exact: "about 4.61e18", never
  // "4611686014132420600" (a header that claims 2^31 - 1 pixels square).
  return Number.isFinite(n) && n > Number.MAX_SAFE_INTEGER ? `about ${n.toPrecision(3).replace('e+', 'e')}` : String(n);
}

/**
 * Parses one `--limit name=value` argument; the value may use `e` notation or `k`, `M`, `G`
 * (powers of 1000) and `Ki`, `Mi`, `Gi` (powers of 1024) suffixes.
 */
export function parseLimitArgument(arg: string): [keyof Limits, number] {
  const m = /^\s*([A-Za-z]+)\s*=\s*([0-9.eE+]+)\s*(k|M|G|Ki|Mi|Gi)?\s*$/.exec(arg);
  if (m == null) throw new RangeError(`a limit is name=value, e.g. pixels=200e6; got "${arg}"`);
  const name = m[1] as keyof Limits;
  if (!Object.hasOwn(DEFAULT_LIMITS, name)) throw new RangeError(`unknown limit "${m[1]}" (known: ${LIMIT_NAMES.join(', ')})`);
  const factor = { k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 }[m[3] ?? ''] ?? 1;
  const value = Number(m[2]) * factor;
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`the limit ${name} must be a whole number >= 1, got "${m[2]}${m[3] ?? ''}"`);
  return [name, value];
}

/** The JavaScript engine's messages for a failed allocation (V8's, and WebAssembly's memory growth). */
const OUT_OF_MEMORY = /^(Invalid typed array length|Array buffer allocation failed|Invalid array buffer length|Invalid array length|Invalid string length|Cannot create a string longer than|WebAssembly\.Memory\.grow\(\)|Out of memory)/i;

/**
 * Whether `e` is the engine's RangeError for an allocation that failed ("Array buffer allocation
 * failed", "Invalid typed array length: 30000000000"), which no file's or user's words explain:
 * callers say "out of memory" in their own terms instead.
 */
export function isOutOfMemory(e: unknown): boolean {
  return e instanceof RangeError && OUT_OF_MEMORY.test(e.message);
}
