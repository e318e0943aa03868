// How long `irn` takes to stop on Ctrl-C (SIGINT): the CLI's handler (packages/cli/src/cli/
// interrupt.ts) runs between steps of the work, so a signal waits for the synchronous step in
// flight (bench/README.md, "Interrupts").
//
//   pnpm bench:interrupt [--size 3000] [--at 1,3,6]
//
// Writes a photo-like PNG of size x size and a folder of 12 photos of 320 x 320 in
// .scratch/bench-interrupt/, then runs the built CLI (packages/cli/dist/cli.js; `pnpm build`
// first): `irn downscale` of the large photo, sent SIGINT at each of --at seconds, and of the
// folder, sent SIGINT once its first LR is written. Prints, per run, the milliseconds from the
// signal to the end of the process, and its exit status (130 expected).
import { spawn } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { encodePng } from '@irn/core';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const dir = join(root, '.scratch', 'bench-interrupt');
const cli = join(root, 'packages/cli/dist/cli.js');
const { values: args } = parseArgs({ options: { size: { type: 'string', default: '3000' }, at: { type: 'string', default: '1,3,6' } } });
const size = Number(args.size);
const at = args.at.split(',').map(Number);

/** A photo-like RGB PNG of `side` x `side`. */
function photo(side: number, seed: number): Uint8Array {
  const data = new Float32Array(side * side * 3);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const i = (y * side + x) * 3;
      data[i] = (((x * 7 + y * 3 + seed) & 255) / 255) * 0.9 + 0.05;
      data[i + 1] = (((x ^ y) & 255) / 255) * 0.9 + 0.05;
      data[i + 2] = 0.5 + 0.4 * Math.sin((x + y + seed) / 11);
    }
  }
  return encodePng({ width: side, height: side, channels: 3, data });
}

/** Runs `irn ...cliArgs`, sends SIGINT when `ready(stderr, ms)` first holds; resolves with the wait and the status. */
function run(cliArgs: string[], ready: (stderr: string, ms: number) => boolean): Promise<{ waitMs: number; code: string }> {
  return new Promise((done) => {
    const start = performance.now();
    const child = spawn(process.execPath, [cli, ...cliArgs], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = -1;
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const poll = setInterval(() => {
      if (sent < 0 && ready(stderr, performance.now() - start)) {
        sent = performance.now();
        child.kill('SIGINT');
      }
    }, 5);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      // Killed by the signal itself: it came before the CLI had installed its handler (start-up).
      done({ waitMs: sent < 0 ? Number.NaN : performance.now() - sent, code: code == null ? `killed by ${signal} (still starting)` : String(code) });
    });
  });
}

rmSync(dir, { recursive: true, force: true });
mkdirSync(join(dir, 'photos'), { recursive: true });
writeFileSync(join(dir, 'big.png'), photo(size, 0));
for (let i = 0; i < 12; i++) writeFileSync(join(dir, 'photos', `p${String(i).padStart(2, '0')}.png`), photo(320, i + 1));

console.log(`irn downscale of a ${size} x ${size} photo, SIGINT after:`);
for (const seconds of at) {
  rmSync(join(dir, 'out'), { recursive: true, force: true });
  const { waitMs, code } = await run(['downscale', 'big.png', 'out/a/lr.png'], (_, ms) => ms >= seconds * 1000);
  console.log(`  ${seconds} s: stopped ${waitMs.toFixed(0)} ms after the signal, exit ${code}`);
}
rmSync(join(dir, 'out'), { recursive: true, force: true });
const folder = await run(['downscale', 'photos', 'out/lr'], (stderr) => /downscaled /.test(stderr));
console.log(`irn downscale of a folder of 12 photos of 320 x 320, SIGINT after the first LR: stopped ${folder.waitMs.toFixed(0)} ms after the signal, exit ${folder.code}`);
rmSync(dir, { recursive: true, force: true });
