import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeFileAtomic } from './files.js';
import { onInterrupt, removeEmptyFoldersSync, runInterruptCleanups, takeOverSignal } from './interrupt.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'irn-interrupt-test-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Waits, a turn of the event loop at a time, until `ready()`; fails after `turns`. */
async function turnsUntil(ready: () => boolean, turns = 200_000): Promise<void> {
  for (let i = 0; i < turns; i++) {
    if (ready()) return;
    await new Promise((r) => setImmediate(r));
  }
  assert.fail('the condition never held');
}

describe('interrupt cleanups', () => {
  it('an interrupt in the middle of writeFileAtomic takes back its temporary file and the folders it made', async () => {
    const top = join(dir, 'made');
    const folder = join(top, 'deeper');
    const path = join(folder, 'out.bin');
    // 64 MiB: Node writes it 512 KiB a turn, so the temporary file lives for many turns.
    const writing = writeFileAtomic(path, new Uint8Array(64 << 20));
    const temporary = () => (existsSync(folder) ? readdirSync(folder).filter((n) => n.endsWith('.tmp')) : []);
    await turnsUntil(() => temporary().length === 1);
    assert.match(temporary()[0], /^\.out\.bin\.[0-9a-f]{16}\.tmp$/);
    runInterruptCleanups();
    // Synchronously: the process exits right after the cleanups.
    assert.equal(existsSync(top), false, 'the temporary file and both folders mkdir -p made are gone');
    // The write itself then fails (its folder went away); it leaves nothing either.
    await assert.rejects(writing, /cannot write .*out\.bin/);
    assert.equal(existsSync(top), false);
  });

  it('a finished write registers nothing: an interrupt after it removes neither the file nor its folder', async () => {
    const path = join(dir, 'kept', 'out.bin');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    runInterruptCleanups();
    assert.deepEqual([...readFileSync(path)], [1, 2, 3]);
  });

  it('a folder that was there before the write is never removed, even empty', async () => {
    const there = join(dir, 'there');
    mkdirSync(there);
    const writing = writeFileAtomic(join(there, 'out.bin'), new Uint8Array(64 << 20));
    await turnsUntil(() => readdirSync(there).length === 1);
    runInterruptCleanups();
    assert.deepEqual(readdirSync(there), []);
    assert.equal(existsSync(there), true);
    await writing.catch(() => {});
  });

  it('removeEmptyFoldersSync stops at the first folder that is not empty and at the top', () => {
    const top = join(dir, 'walk');
    mkdirSync(join(top, 'a', 'b', 'c'), { recursive: true });
    writeFileSync(join(top, 'a', 'keep.txt'), 'x');
    removeEmptyFoldersSync(join(top, 'a', 'b', 'c'), join(top, 'a'));
    assert.deepEqual(readdirSync(join(top, 'a')), ['keep.txt']);
    mkdirSync(join(top, 'x', 'y'), { recursive: true });
    removeEmptyFoldersSync(join(top, 'x', 'y'), join(top, 'x'));
    assert.deepEqual(readdirSync(top).sort(), ['a'], 'x went, the top of the walk; walk itself stays');
  });

  it('runs the cleanups newest first, once each, and a failing one does not stop the others', () => {
    const order: string[] = [];
    onInterrupt(() => order.push('old'));
    onInterrupt(() => {
      throw new Error('boom');
    });
    const released = onInterrupt(() => order.push('released'));
    onInterrupt(() => order.push('new'));
    released();
    runInterruptCleanups();
    runInterruptCleanups();
    assert.deepEqual(order, ['new', 'old']);
  });

  it('in a process: a signal taken over is left alone until every taker releases it, then ends irn with 128 + its number', async () => {
    const script = `
      import { exitOnInterrupt, onInterrupt, takeOverSignal } from ${JSON.stringify(new URL('./interrupt.ts', import.meta.url).href)};
      exitOnInterrupt((line) => process.stderr.write(line + '\\n'));
      onInterrupt(() => process.stderr.write('cleaned\\n'));
      const a = takeOverSignal('SIGTERM');
      const b = takeOverSignal('SIGTERM');
      const ignored = () => process.stderr.write('taken over\\n');
      process.on('SIGTERM', ignored);
      process.kill(process.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      a();
      a();
      process.kill(process.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 200));
      b();
      process.kill(process.pid, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 5000));
      process.stderr.write('not stopped\\n');
    `;
    const run = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 30_000 }, (error, _out, stderr) =>
        resolve({ code: error == null ? 0 : typeof error.code === 'number' ? error.code : null, stderr }),
      );
    });
    // The third: irn's handler (installed first) runs before the other listener and exits.
    assert.equal(run.stderr, 'taken over\ntaken over\ncleaned\nirn: stopped by SIGTERM; nothing half-written was left\n');
    assert.equal(run.code, 143);
  });
});

