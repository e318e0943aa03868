/**
 * The `irn` command as npm installs it (issue 14, items 3 and 5): the workspace package whose
 * `bin` is `irn`, packed, installed with npm into an empty folder outside the repository with
 * nothing else (its workspace dependencies come as tarballs, since they are not published;
 * everything else from the registry). `npx irn --help` prints the usage, and `irn downscale` then
 * `irn upscale` of a 0.24 MP photo, with no `--model` (the shipped x2) and no other set-up,
 * restore it as the repository's own CLI does (within 0.01 dB Y-PSNR).
 *
 *   pnpm test:consumer        (part of `pnpm test`; needs `pnpm build` and the npm registry)
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodePng, psnrY } from '@irn/core';
import { makeReference, type Reference } from './app.js';
import { makeTemp, npmInstall, packAll, removeTemp, runStep, workspacePackages } from './harness.js';

let work: string | undefined;
let appDir = '';
let reference: Reference;
let cliName = '';
const timings: string[] = [];

before(async () => {
  const packages = new Map(workspacePackages().map((p) => [p.name, p]));
  const cli = [...packages.values()].find((p) => p.bin.irn != null);
  assert.ok(cli != null, 'no workspace package has an `irn` bin');
  cliName = cli.name;
  const deps: Record<string, string> = {};
  const wanted = [cli.name];
  work = makeTemp('cli');
  const tarballs = await packAll(join(work, 'tarballs'));
  while (wanted.length > 0) {
    const name = wanted.pop()!;
    if (deps[name] != null) continue;
    assert.ok(existsSync(join(packages.get(name)!.dir, 'dist')), `${name} has no dist/: run \`pnpm build\` first`);
    deps[name] = `file:${tarballs.get(name)}`;
    wanted.push(...Object.keys(packages.get(name)!.dependencies).filter((d) => packages.has(d)));
  }
  reference = await makeReference(join(work, 'reference'));
  appDir = join(work, 'app');
  const install = await npmInstall(appDir, deps);
  timings.push(`npm install of ${Object.keys(deps).join(', ')}: ${(install.ms / 1000).toFixed(1)} s`);
});

after(() => {
  for (const line of timings) console.log(line);
  removeTemp(work);
});

/** `npx --no -- irn ...args` in the app: the installed bin, never a download. */
const npxIrn = (step: string, args: string[]) => runStep(step, 'npx', ['--no', '--', 'irn', ...args], { cwd: appDir, timeoutMs: 120_000, env: { NODE_OPTIONS: undefined } });

test('npx irn --help prints the usage', async () => {
  const { stdout } = await npxIrn('npx irn --help', ['--help']);
  assert.match(stdout, /^Usage: irn /m);
  for (const command of ['downscale', 'upscale']) assert.match(stdout, new RegExp(`^  ${command} `, 'm'), `no ${command} in:\n${stdout}`);
});

test('irn downscale and irn upscale from the installed package restore the photo as the repository CLI does', { timeout: 300_000 }, async (t) => {
  const photo = join(reference.dir, 'photo.png');
  const down = await npxIrn('irn downscale (installed)', ['-q', 'downscale', photo, join(appDir, 'photo.lr.png')]);
  const up = await npxIrn('irn upscale (installed)', ['-q', 'upscale', join(appDir, 'photo.lr.png'), join(appDir, 'photo.restored.png')]);
  const restored = decodePng(readFileSync(join(appDir, 'photo.restored.png')));
  assert.deepEqual([restored.width, restored.height], [reference.photo.width, reference.photo.height]);
  const psnr = psnrY(restored, reference.photo);
  const line = `${cliName} installed: downscale ${(down.ms / 1000).toFixed(1)} s, upscale ${(up.ms / 1000).toFixed(1)} s, Y-PSNR ${psnr.toFixed(3)} dB (repository CLI ${reference.psnr.toFixed(3)})`;
  t.diagnostic(line);
  assert.ok(Math.abs(psnr - reference.psnr) < 0.01, line);
});
