import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkLimit, resolveLimits } from '@irn/core';
import { CliError, internalMessage, oneLine, withContext } from './errors.js';

/** Makes the engine throw its own error. */
function engineError(f: () => unknown): Error {
  try {
    f();
  } catch (e) {
    return e as Error;
  }
  throw new Error('no error');
}

describe('internalMessage / oneLine', () => {
  it('replaces the engine messages of failed allocations, program errors and stack overflows', () => {
    const recurse = (n: number): number => recurse(n + 1) + 1;
    const cases: [Error, RegExp][] = [
      [engineError(() => new Float32Array(new ArrayBuffer(8), 0, 342000000)), /^out of memory: a buffer could not be allocated/],
      [engineError(() => (null as unknown as { x: number }).x), /^internal error \(TypeError\); please report it with the output of --debug$/],
      [engineError(() => (undefined as unknown as () => void)()), /^internal error \(TypeError\)/],
      [engineError(() => recurse(0)), /^internal error: the call stack overflowed/],
    ];
    for (const [e, expected] of cases) {
      assert.match(oneLine(e), expected, e.message);
      assert.doesNotMatch(oneLine(withContext('photo.png', e)), /Invalid typed array|Cannot read|Maximum call stack|is not a function/);
      assert.match(oneLine(withContext('photo.png', e)), /^photo\.png: /);
    }
  });

  it("keeps the messages of errors thrown on purpose, RangeErrors and TypeErrors included", () => {
    for (const e of [
      new RangeError('tileSize must be an integer >= 0 (0: the whole image), got -1'),
      new TypeError('8-bit samples must be a Uint8Array'),
      new Error('not a PNG file'),
      new CliError('Cannot read properties of the moon'),
    ]) {
      assert.equal(internalMessage(e), null);
      assert.equal(oneLine(e), e.message);
    }
  });

  it("words core's advice for a limit as the CLI's --limit, in the error and in the context around it", () => {
    let limit: unknown;
    try {
      checkLimit(resolveLimits({ pixels: 10 }), 'pixels', 20, 'the image (5x4)', 'pixels');
    } catch (e) {
      limit = e;
    }
    assert.equal(oneLine(limit), 'the image (5x4) is 20 pixels, above the limit of 10 pixels (raise it with --limit pixels=N)');
    assert.equal(oneLine(withContext('a.png', limit)), 'a.png: the image (5x4) is 20 pixels, above the limit of 10 pixels (raise it with --limit pixels=N)');
  });

  it('shortens a line longer than 500 characters in the middle, keeping the reason at its end', () => {
    const path = Array.from({ length: 120 }, () => 'abcdefgh').join('/');
    const line = oneLine(new CliError(`cannot write ${path}/o.png: the name is too long for the file system`));
    assert.equal(line.length, 500);
    assert.match(line, /^cannot write abcdefgh\/abcdefgh\/.* \.\.\. .*\/o\.png: the name is too long for the file system$/);
    assert.equal(oneLine(new CliError('x'.repeat(500))), 'x'.repeat(500));
  });
});
