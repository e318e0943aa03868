import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLimit, DEFAULT_LIMITS, isOutOfMemory, LimitError, LIMIT_NAMES, limitPassed, parseLimitArgument, raiseAdvice, resolveLimits, rewordLimitAdvice } from './limits.js';

describe('limits', () => {
  it('resolveLimits applies overrides over the defaults and leaves the defaults alone', () => {
    const l = resolveLimits({ pixels: 5, textBytes: undefined });
    assert.equal(l.pixels, 5);
    assert.equal(l.textBytes, DEFAULT_LIMITS.textBytes);
    assert.equal(DEFAULT_LIMITS.pixels, 100_000_000);
    assert.ok(Object.isFrozen(DEFAULT_LIMITS));
  });

  it('resolveLimits refuses unknown names and values that are not whole numbers >= 1', () => {
    assert.throws(() => resolveLimits({ pixles: 5 } as never), /unknown limit "pixles" \(known: pixels, /);
    // Names every object inherits are not limits either.
    for (const inherited of ['constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.throws(() => resolveLimits({ [inherited]: 5 } as never), new RegExp(`unknown limit "${inherited}"`));
    }
    for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 60]) {
      assert.throws(() => resolveLimits({ pixels: bad }), /the limit pixels must be a whole number >= 1/, String(bad));
    }
  });

  it('checkLimit passes at the limit and throws a LimitError naming the limit above it', () => {
    const l = resolveLimits({ pixels: 1000 });
    checkLimit(l, 'pixels', 1000, 'the image');
    assert.throws(
      () => checkLimit(l, 'pixels', 1001, 'the image (1001x1)', 'pixels'),
      (e: unknown) =>
        e instanceof LimitError &&
        e.limit === 'pixels' &&
        e.message === 'the image (1001x1) is 1,001 pixels, above the limit of 1,000 pixels (raise it with limits: { pixels: N })',
    );
  });

  it('checkLimit words an amount past 2^53 in three digits, not as a long number whose last digits are wrong', () => {
    const side = 2 ** 31 - 1;
    assert.throws(
      () => checkLimit(DEFAULT_LIMITS, 'pixels', side * side, `the image (${side}x${side})`, 'pixels'),
      (e: unknown) =>
        e instanceof LimitError &&
        e.message === 'the image (2147483647x2147483647) is about 4.61e18 pixels, above the limit of 100,000,000 pixels (raise it with limits: { pixels: N })',
    );
  });

  it("a limit's message advises the API's option, which rewordLimitAdvice words as another setting", () => {
    assert.equal(raiseAdvice('textBytes'), 'raise it with limits: { textBytes: N }');
    const passed = limitPassed(resolveLimits({ inflatedBytes: 10 }), 'inflatedBytes', 'the image a.png', 'bytes');
    assert.equal(passed.message, 'the image a.png is more than 10 bytes, the limit (raise it with limits: { inflatedBytes: N })');
    const cli = (name: string) => `raise it with --limit ${name}=N`;
    // Wherever the advice sits (a message with context before and after it), and for each name.
    assert.equal(
      rewordLimitAdvice(`photos/a.png: ${passed.message}; and (raise it with limits: { pixels: N })`, cli),
      'photos/a.png: the image a.png is more than 10 bytes, the limit (raise it with --limit inflatedBytes=N); and (raise it with --limit pixels=N)',
    );
    // Words that name no limit, or no advice at all, are left as they are.
    for (const other of ['raise it with limits: { constructor: N }', 'raise it with limits: { pixles: N }', 'the file is empty', '']) {
      assert.equal(rewordLimitAdvice(other, cli), other);
    }
  });

  it('parseLimitArgument reads plain, e-notation and suffixed values', () => {
    assert.deepEqual(parseLimitArgument('pixels=200e6'), ['pixels', 200_000_000]);
    assert.deepEqual(parseLimitArgument(' textBytes = 4Mi '), ['textBytes', 4 * 1024 * 1024]);
    assert.deepEqual(parseLimitArgument('inflatedBytes=2G'), ['inflatedBytes', 2e9]);
    assert.deepEqual(parseLimitArgument('pickleDepth=10'), ['pickleDepth', 10]);
    assert.throws(() => parseLimitArgument('pixels'), /a limit is name=value/);
    assert.throws(() => parseLimitArgument('nope=3'), /unknown limit "nope"/);
    assert.throws(() => parseLimitArgument('constructor=5'), /unknown limit "constructor"/);
    assert.throws(() => parseLimitArgument('toString=1'), /unknown limit "toString"/);
    assert.throws(() => parseLimitArgument('pixels=0.5'), /whole number >= 1/);
    assert.throws(() => parseLimitArgument('pixels=1e300'), /whole number >= 1/);
  });

  it("isOutOfMemory knows the engine's failed allocations, real ones included, and nothing else", () => {
    let real: unknown;
    try {
      new Uint8Array(2 ** 53);
    } catch (e) {
      real = e;
    }
    assert.equal(isOutOfMemory(real), true, String(real));
    for (const m of ['Array buffer allocation failed', 'Invalid typed array length: 30000000000', 'WebAssembly.Memory.grow(): Maximum memory size exceeded', 'Invalid string length']) {
      assert.equal(isOutOfMemory(new RangeError(m)), true, m);
    }
    // A RangeError of irn's own words, and the same words in another kind of error, are not.
    assert.equal(isOutOfMemory(new RangeError('scale must be 2 or 4')), false);
    assert.equal(isOutOfMemory(new TypeError('Invalid typed array length: 3')), false);
    assert.equal(isOutOfMemory('Array buffer allocation failed'), false);
  });

  it('names every limit once', () => {
    assert.deepEqual([...new Set(LIMIT_NAMES)], Object.keys(DEFAULT_LIMITS));
  });
});
