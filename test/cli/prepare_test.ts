// `irn prepare`: LR PNGs for <irn-image> and one tag per photo, run as a child process on a
// small perturbed model and the CLI's photo fixtures (see cli_test.ts).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readLrMetadata } from '../../packages/core/src/image/lr-metadata.js';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { failedCleanly, IMAGES, irn, readPng, saveSmallModel } from './helpers.js';

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-prepare-test-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 3 })).dispose();
  mkdirSync(join(work, 'photos'));
  copyFileSync(join(IMAGES, 'coffee-33x27.png'), join(work, 'photos/morning_coffee.png'));
  copyFileSync(join(IMAGES, 'astronaut-48x40.png'), join(work, 'photos/astronaut.png'));
  writeFileSync(join(work, 'photos/astronaut.alt.txt'), 'Eileen Collins, "STS-63" <pilot>\nsecond line ignored\n');
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('irn prepare', () => {
  it('writes <name>.lr.png with the irn chunk and prints an <irn-image> tag per photo, in order', async () => {
    const run = await irn(['--quiet', 'prepare', '--model', 'model', '--src-prefix', '/img', 'photos', 'site/img'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(
      run.stdout,
      '<irn-image src="/img/astronaut.lr.png" width="48" height="40" alt="Eileen Collins, &quot;STS-63&quot; &lt;pilot&gt;"></irn-image>\n' +
        '<irn-image src="/img/morning_coffee.lr.png" width="33" height="27" alt="Morning coffee"></irn-image>\n',
    );
    const lr = readPng(join(work, 'site/img/morning_coffee.lr.png'));
    assert.deepEqual([lr.width, lr.height], [17, 14]);
    assert.deepEqual(readLrMetadata(lr.text), { scale: 2, width: 33, height: 27 });
    assert.ok(existsSync(join(work, 'site/img/astronaut.lr.png')));
  });

  it('takes one file, and writes the same LR as irn downscale', async () => {
    const run = await irn(['--quiet', 'prepare', '-m', 'model', 'photos/morning_coffee.png', 'one'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, '<irn-image src="morning_coffee.lr.png" width="33" height="27" alt="Morning coffee"></irn-image>\n');
    const down = await irn(['--quiet', 'downscale', '-m', 'model', 'photos/morning_coffee.png', 'down.png'], work);
    assert.equal(down.code, 0, down.stderr);
    assert.deepEqual(readPng(join(work, 'one/morning_coffee.lr.png')).data, readPng(join(work, 'down.png')).data);
  });

  it('fails cleanly with a missing model, missing photos or no output folder', async () => {
    assert.equal(failedCleanly(await irn(['prepare', '-m', 'nope', 'photos', 'out'], work), 1), null);
    assert.equal(failedCleanly(await irn(['prepare', '-m', 'model', 'missing', 'out'], work), 1), null);
    // Without --model, prepare uses the shipped weights/irn-x2 (test/cli/model-default_test.ts).
    assert.equal(failedCleanly(await irn(['prepare', '-m', 'model', 'photos'], work), 2), null);
  });
});
