/**
 * The `<irn-image>` example page (packages/element/example) shows LRs that `irn prepare` makes
 * from `samples/` with the shipped `weights/irn-x2`, as its README says. An LR made by older
 * weights restores worse (the photos committed with the step-1900 irn-x2 lost 2.6 to 4.4 dB
 * against today's weights), so the committed LRs must be what today's weights make: after
 * retraining, run `pnpm irn prepare --force samples/ packages/element/example/photos/`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, irn, readPng } from './cli/helpers.js';

const PHOTOS = join(ROOT, 'packages/element/example/photos');

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'irn-example-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the <irn-image> example photos', () => {
  it('are the LRs `irn prepare` makes from samples/ with the shipped irn-x2', { timeout: 120_000 }, async () => {
    const run = await irn(['prepare', join(ROOT, 'samples'), dir], ROOT);
    assert.equal(run.code, 0, run.stderr);
    const made = (await readdir(dir)).sort();
    assert.deepEqual((await readdir(PHOTOS)).sort(), made);
    assert.deepEqual(made, ['astronaut.lr.png', 'chelsea.lr.png', 'coffee.lr.png']);
    for (const name of made) {
      const fresh = readPng(join(dir, name));
      const committed = readPng(join(PHOTOS, name));
      assert.deepEqual([committed.width, committed.height, committed.channels], [fresh.width, fresh.height, fresh.channels], name);
      // Another machine's float arithmetic may round a value the other way: a level apart, rarely.
      let off = 0;
      let worst = 0;
      for (let i = 0; i < fresh.data.length; i++) {
        const d = Math.abs(Math.round(fresh.data[i] * 255) - Math.round(committed.data[i] * 255));
        if (d > 0) off++;
        worst = Math.max(worst, d);
      }
      assert.ok(worst <= 1 && off <= fresh.data.length / 1000, `${name}: ${off} of ${fresh.data.length} values differ from a fresh \`irn prepare\` (up to ${worst} levels); regenerate with pnpm irn prepare --force samples/ packages/element/example/photos/`);
    }
  });
});
