import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { JobQueue, type QueuedJob } from './job-queue.js';

/** A promise and its resolve/reject, for holding a job's prepare or run. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void; reject(e: unknown): void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('JobQueue', () => {
  it('runs one job at a time, first in first out, and goes on after a failure', async () => {
    const queue = new JobQueue();
    const log: string[] = [];
    const held = deferred();
    queue.add({ run: () => (log.push('a'), held.promise) });
    queue.add({ run: () => (log.push('b'), Promise.reject(new Error('b failed'))) });
    queue.add({ run: async () => void log.push('c') });
    await tick();
    assert.deepEqual(log, ['a']);
    assert.equal(queue.size, 2);
    held.resolve();
    await tick();
    assert.deepEqual(log, ['a', 'b', 'c']);
    assert.equal(queue.running, null);
  });

  it("runs no job before its prepare settles, and the ready ones behind it meanwhile; prepare is called again on re-adding", async () => {
    const queue = new JobQueue();
    const log: string[] = [];
    const download = deferred<Uint8Array>();
    let prepares = 0;
    const slow: QueuedJob = { run: async () => void log.push('slow'), prepare: () => (prepares++, download.promise) };
    const fast = (name: string): QueuedJob => ({ run: async () => void log.push(name), prepare: () => Promise.resolve(new Uint8Array(1)) });
    queue.add(slow);
    queue.add(fast('f1'));
    queue.add(fast('f2'));
    await tick();
    assert.deepEqual(log, ['f1', 'f2']);
    assert.ok(queue.has(slow));
    // Out and back in (a lazy element scrolled away and back): still waits, prepare asked again.
    assert.equal(queue.remove(slow), true);
    queue.add(slow);
    assert.equal(prepares, 2);
    await tick();
    assert.deepEqual(log, ['f1', 'f2']);
    download.reject(new Error('stalled, then failed'));
    await tick();
    // A failed prepare makes the job ready too: reporting it is run's business.
    assert.deepEqual(log, ['f1', 'f2', 'slow']);
    assert.equal(queue.size, 0);
  });

  it('keeps first in, first out among ready jobs: a job whose prepare settles later waits behind an earlier one', async () => {
    const queue = new JobQueue();
    const log: string[] = [];
    const held = deferred();
    const first = deferred<void>();
    const second = deferred<void>();
    queue.add({ run: () => (log.push('blocker'), held.promise) });
    queue.add({ run: async () => void log.push('one'), prepare: () => first.promise });
    queue.add({ run: async () => void log.push('two'), prepare: () => second.promise });
    second.resolve();
    first.resolve();
    await tick();
    held.resolve();
    await tick();
    assert.deepEqual(log, ['blocker', 'one', 'two']);
  });
});
