import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { printable } from './output.js';

describe('printable', () => {
  it('writes a newline and every other control character as \\xNN, so a file name cannot split its line', () => {
    assert.equal(printable('p/bad\nfile.png'), 'p/bad\\x0afile.png');
    assert.equal(printable('cr\r\x1b]0;t\x07\x7f\u0085'), 'cr\\x0d\\x1b]0;t\\x07\\x7f\\x85');
    assert.equal(printable('x\n'.repeat(3)).includes('\n'), false);
  });

  it('keeps tab and printable text, other scripts included', () => {
    assert.equal(printable('a\tb café 写真 \u00a0.png'), 'a\tb café 写真 \u00a0.png');
  });
});
