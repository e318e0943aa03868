/**
 * Ctrl-C, `kill` and failed writes, through the real CLI: irn stops with one line and 128 + the
 * signal's number, and leaves no temporary file and no empty folder it made; outputs it
 * finished are whole. `irn train` still stops gracefully, with a checkpoint.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../packages/core/src/image/png-write.js';
import { decodePng } from '../../packages/core/src/image/png.js';
import { cliCommand, failedCleanly, IMAGES, ROOT, type CliRun } from './helpers.js';

/** A photo-like 8-bit RGB PNG of `size` x `size` (smooth gradients and a texture). */
function photo(size: number, seed: number): Uint8Array {
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 3;
      data[i] = (x / size + 0.1 * Math.sin((x + seed) / 5)) / 1.2 + 0.05;
      data[i + 1] = (y / size + 0.1 * Math.cos((y * seed) / 7)) / 1.2 + 0.05;
      data[i + 2] = 0.5 + 0.4 * Math.sin((x + y + seed) / 11);
    }
  }
  return encodePng({ width: size, height: size, channels: 3, data });
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
}

/**
 * Starts `irn ...args` in `cwd`; once `ready(stderrSoFar)` holds (checked every 20 ms), sends
 * `signal`. Resolves when irn has ended.
 */
function interrupt(args: string[], cwd: string, signal: NodeJS.Signals, ready: (stderr: string) => boolean): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      cwd,
      env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), IRN_DEBUG: '' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let sent = false;
    const poll = setInterval(() => {
      if (!sent && ready(stderr)) {
        sent = true;
        child.kill(signal);
      }
    }, 20);
    const guard = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearInterval(poll);
      clearTimeout(guard);
      if (!sent) reject(new Error(`irn ended before the signal: code ${code}; ${stderr}`));
      else resolve({ code, signal: sig, stderr });
    });
  });
}

/** Every entry under `dir` (relative paths), hidden ones included. */
function tree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

describe('an interrupted irn', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'irn-interrupt-'));
    await mkdir(join(dir, 'photos'));
    for (let i = 0; i < 12; i++) await writeFile(join(dir, 'photos', `p${String(i).padStart(2, '0')}.png`), photo(320, i + 1));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal} in a folder run: one line, exit ${code}, no temporary file, and the finished LRs whole`, async () => {
      const out = join(dir, `out-${signal}`, 'lr');
      const run = await interrupt(['downscale', 'photos', out], dir, signal, (e) => /downscaled .*p0[01]\.png/.test(e));
      assert.equal(run.signal, null, `irn was killed by ${run.signal} instead of stopping: ${run.stderr}`);
      assert.equal(run.code, code, run.stderr);
      const lines = run.stderr.trim().split('\n');
      assert.equal(lines.at(-1), `irn: stopped by ${signal}; nothing half-written was left`);
      const left = tree(join(dir, `out-${signal}`));
      assert.ok(left.length >= 2 && left.length < 13, `some LRs, not all: ${left.join(', ')}`);
      for (const name of left) {
        if (name === 'lr') continue;
        assert.match(name, /^lr\/p\d\d\.png$/, 'no hidden temporary file');
        const lr = decodePng(readFileSync(join(dir, `out-${signal}`, name)));
        assert.deepEqual([lr.width, lr.height], [160, 160]);
      }
    });
  }

  it('irn train takes SIGINT over: it saves a checkpoint and says how to resume', async () => {
    await mkdir(join(dir, 'train'));
    for (const f of ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-33x27.png']) await copyFile(join(IMAGES, f), join(dir, 'train', f));
    const args = ['train', '--data', 'train', '--out', 'trained', '--steps', '100000', '--batch', '2', '--patch', '16', '--blocks', '1', '--growth', '4', '--log-every', '1', '--val-every', '100000', '--ckpt-every', '100000'];
    const run = await interrupt(args, dir, 'SIGINT', (e) => /^step 2 /m.test(e));
    assert.equal(run.signal, null, run.stderr);
    assert.equal(run.code, 130, run.stderr);
    assert.match(run.stderr, /SIGINT: saving a checkpoint and stopping/);
    assert.match(run.stderr, /irn: error: interrupted at step \d+; checkpoint saved in .*, add --resume to continue\n$/);
    assert.doesNotMatch(run.stderr, /stopped by SIGINT/);
    const step = Number(/interrupted at step (\d+)/.exec(run.stderr)![1]);
    const state = JSON.parse(readFileSync(join(dir, 'trained.ckpt', 'state.json'), 'utf8')) as { step: number };
    assert.equal(state.step, step);
    assert.deepEqual(tree(dir).filter((n) => n.startsWith('.')), [], 'no temporary folder beside the outputs');
  });

  /** `irn ...args` in `dir` with no file larger than 0 bytes allowed (`ulimit -f 0`). */
  function irnWithoutFileSpace(args: string[]): Promise<CliRun> {
    // Node ignores SIGXFSZ, so a write past `ulimit -f` fails with EFBIG instead of ending it.
    const command = [process.execPath, ...cliCommand(), ...args].map((a) => `'${a}'`).join(' ');
    return new Promise<CliRun>((resolve) =>
      execFile('bash', ['-c', `ulimit -f 0 && exec ${command}`], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), IRN_DEBUG: '' } }, (error, stdout, stderr) =>
        resolve({ code: error == null ? 0 : typeof error.code === 'number' ? error.code : null, stdout, stderr }),
      ),
    );
  }

  it('a write that fails (file size limit, EFBIG) takes back the folders it made', async () => {
    await copyFile(join(IMAGES, 'astronaut-48x40.png'), join(dir, 'small.png'));
    const run = await irnWithoutFileSpace(['downscale', 'small.png', 'new/deeper/lr.png']);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /cannot write new\/deeper\/lr\.png: EFBIG: file too large/);
    assert.equal(existsSync(join(dir, 'new')), false, tree(dir).join(', '));
  });

  it('irn convert that fails to write takes back its temporary folder and the folders it made', async () => {
    const run = await irnWithoutFileSpace(['convert', join(ROOT, 'packages/core/test-fixtures/torch/irn_x2.pth'), 'models/converted']);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /cannot write models\/converted\/model\.json: EFBIG: file too large/);
    assert.equal(existsSync(join(dir, 'models')), false, tree(dir).join(', '));
  });
});
