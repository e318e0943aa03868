// `irn info` on model folders from strangers: names that would split a line, a model.json that is no model.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { failedCleanly, IMAGES, irn, saveSmallModel } from './helpers.js';

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

  it(
    'does not quote a model.json that is not JSON (a link to another file, an image) in its error',
    async () => {
      writeFileSync(join(work, 'secret.txt'), 'root:x:0:0:SECRET\n');
      mkdirSync(join(work, 'linked'));
      symlinkSync(join(work, 'secret.txt'), join(work, 'linked/model.json'));
      mkdirSync(join(work, 'png'));
      copyFileSync(join(IMAGES, 'coffee-33x27.png'), join(work, 'png/model.json'));
      for (const dir of ['linked', 'png']) {
        const run = await irn(['info', '-m', dir], work);
        assert.equal(failedCleanly(run, 1), null, run.stderr);
        assert.match(run.stderr, new RegExp(`${dir}/model\\.json`));
        assert.doesNotMatch(run.stderr, /root:x|SECRET|PNG|\\x1a/, run.stderr);
      }
    },
  );
});
