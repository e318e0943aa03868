import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLimit, DEFAULT_LIMITS, LimitError, LIMIT_NAMES, parseLimitArgument, resolveLimits } from './limits.js';

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
        e.message === 'the image (1001x1) is 1,001 pixels, above the limit of 1,000 pixels (raise it with --limit pixels=N)',
    );
  });

  it('checkLimit words an amount past 2^53 in three digits, not as a long number whose last digits are wrong', () => {
    const side = 2 ** 31 - 1;
    assert.throws(
      () => checkLimit(DEFAULT_LIMITS, 'pixels', side * side, `the image (${side}x${side})`, 'pixels'),
      (e: unknown) =>
        e instanceof LimitError &&
        e.message === 'the image (2147483647x2147483647) is about 4.61e18 pixels, above the limit of 100,000,000 pixels (raise it with --limit pixels=N)',
    );
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

  it('names every limit once', () => {
    assert.deepEqual([...new Set(LIMIT_NAMES)], Object.keys(DEFAULT_LIMITS));
  });
});
