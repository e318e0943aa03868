import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkModelName, toModelName } from './engine.js';

test('checkModelName: only names that stay the same as an IndexedDB key and as downloaded file names', () => {
  for (const ok of ['irn-x2-tuned-1', 'a', 'A.b_c-9', 'x'.repeat(64), '  padded  ']) assert.equal(checkModelName(ok), ok.trim());
  // "a/b" downloads as a_b.json naming ./a/b.weights.bin; ".x" is a hidden file; ".." and "-" are not names.
  for (const bad of ['', ' ', 'a/b', '../x', '..', '.hidden', '-x', 'a b', 'x'.repeat(65), 'caf\u00e9', 'a\nb', 'javascript:alert(1)']) {
    assert.throws(() => checkModelName(bad), /^Error: a model name is 1 to 64 letters, digits/, JSON.stringify(bad));
  }
});

test('toModelName makes any menu name (from a stranger\'s file name) into one checkModelName accepts', () => {
  assert.equal(toModelName('irn-x2'), 'irn-x2');
  assert.equal(toModelName('my model (1)'), 'my-model-1-');
  for (const text of ['', '...', '../../etc/passwd', '\u00e9t\u00e9', 'a'.repeat(500), ' -x', '<img src=x>']) {
    const name = toModelName(text);
    assert.equal(checkModelName(`${name}-tuned-12`), `${name}-tuned-12`, JSON.stringify(text));
  }
});
