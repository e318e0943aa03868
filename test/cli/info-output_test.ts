// `irn info` on model folders from strangers: names that would split a line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { irn, saveSmallModel } from './helpers.js';

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-info-output-'));
  (await saveSmallModel(join(work, 'bad\nname'))).dispose();
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('irn info', () => {
  it("keeps a folder name's newline inside its line, in the text and in --json", async () => {
    const text = await irn(['info', '-m', 'bad\nname'], work);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^model +\/.*\/bad\\x0aname$/m);
    assert.match(text.stdout, /^scale +x2 /m);
    const json = await irn(['info', '-m', 'bad\nname', '--json'], work);
    assert.equal(json.code, 0, json.stderr);
    // Printed a line at a time: JSON.stringify's own newlines stay, the name's is \n in a string.
    assert.ok(json.stdout.split('\n').length > 10);
    assert.equal(JSON.parse(json.stdout).model, join(work, 'bad\nname'));
  });

});
