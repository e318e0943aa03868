/**
 * `irn train` refuses, before reading any photo, what would only exhaust the machine: more
 * worker threads than CPU cores (`--workers 60` took 64 s and 2.8 GB for one step on 2 cores),
 * and a step whose patches do not fit the memory of the threads sharing it; each line says
 * which option to lower.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { failedCleanly, irn } from './helpers.js';

let dir = '';
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'irn-train-bounds-'));
  await mkdir(join(dir, 'photos'));
});
after(() => rm(dir, { recursive: true, force: true }));

const base = ['train', '--data', 'photos', '--out', 'out', '--steps', '1', '--blocks', '1', '--growth', '4'];

describe('irn train bounds', () => {
  it('refuses more --workers than CPU cores in one line, naming the default', async () => {
    const cores = availableParallelism();
    const run = await irn([...base, '--batch', String(cores + 8), '--patch', '16', '--workers', String(cores + 1)], dir);
    assert.equal(failedCleanly(run, 2), null, run.stderr);
    assert.equal(run.stderr, `irn: error: --workers ${cores + 1} is more than this machine's ${cores} CPU cores; use --workers ${Math.max(0, cores - 1)} (the default) or fewer\n`);
  });

  it('refuses a step too big for memory, saying how many patches fit or to lower --patch', async () => {
    const many = await irn([...base, '--batch', '100000', '--patch', '64', '--workers', '0'], dir);
    assert.equal(failedCleanly(many, 2), null, many.stderr);
    assert.match(many.stderr, /^irn: error: a training step of --batch 100000 patches of 64x64 needs about [\d.]+ GB of tensor memory per thread \(100000 patches in each of 1\), more than the [\d.]+ GB available; at most \d+ such patches fit: lower --batch or --patch\n$/);
    const huge = await irn([...base, '--batch', '1', '--patch', '60000', '--workers', '0'], dir);
    assert.equal(failedCleanly(huge, 2), null, huge.stderr);
    assert.match(huge.stderr, /; not one such patch fits: lower --patch\n$/);
  });
});
