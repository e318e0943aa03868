/**
 * scripts/weights-store.ts, what turns a preset that training wrote (float32) into the stored
 * form of the shipped ones: in place, a quarter of the bytes as uint8 (half as float16), other
 * files of the folder left alone, a second run leaving the folder as it is, a folder already
 * in another compact form refused (no rounding of rounded weights), and `--check` failing on
 * any folder not stored as asked.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../packages/core/src/index.js';
import { fileSystem } from '../packages/core/src/node.js';
import { perturbWeights } from '../packages/core/src/testing/perturb.js';
import { store, storedAs } from '../scripts/weights-store.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'weights-store.ts');
let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'irn-wstore-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const script = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: ROOT, encoding: 'utf8' });
const files = async (folder: string) => [await readFile(join(folder, 'model.json')), await readFile(join(folder, 'group1-shard1of1.bin'))];

describe('scripts/weights-store.ts', () => {
  it('rewrites a float32 model folder in place as uint8 (or float16), once', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 8, seed: 2 });
    perturbWeights(model.flow.weights, 8);
    const folder = join(dir, 'preset');
    await model.save(fileSystem(folder));
    await writeFile(join(folder, 'PROVENANCE.md'), '# how it was trained\n');
    const f32 = join(dir, 'f32');
    await cp(folder, f32, { recursive: true });
    assert.equal(await storedAs(folder), 'float32');
    const stale = script('--check', folder);
    assert.equal(stale.status, 1, stale.stderr);
    assert.match(stale.stdout, /preset: float32 \(run pnpm weights:store --as uint8 on its float32 weights\)/);

    const run = script(folder);
    assert.equal(run.status, 0, run.stderr);
    const [before, after] = /weights ([\d,]+) -> ([\d,]+) bytes \(uint8\)/.exec(run.stdout)!.slice(1).map((n) => Number(n.replaceAll(',', '')));
    assert.ok(after < before / 3.2 && after > before / 4, `${before} -> ${after}`);
    assert.equal(await storedAs(folder), 'uint8');
    const fresh = script('--check', folder);
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.match(fresh.stdout, /preset: uint8\n/);
    assert.equal(await readFile(join(folder, 'PROVENANCE.md'), 'utf8'), '# how it was trained\n');

    // The weights are the model's, rounded; a second run leaves the files as they are.
    const loaded = await IrnModel.load(fileSystem(folder));
    model.flow.weights.forEach((w, i) => {
      const a = w.read().dataSync();
      const b = loaded.flow.weights[i].read().dataSync();
      const range = Math.max(...Array.from(a)) - Math.min(...Array.from(a));
      a.forEach((v, j) => assert.ok(Math.abs(v - b[j]) <= (range / 255) * 1.001 + Math.abs(v) * 2 ** -10, `${w.name}[${j}]`));
    });
    loaded.dispose();
    model.dispose();
    const stored = await files(folder);
    assert.deepEqual(await store(folder, 'uint8'), { before: after, after });
    assert.deepEqual(await files(folder), stored);

    // Rounded weights are not rounded again in another form.
    await assert.rejects(store(folder, 'float16'), /preset is stored as uint8; store its float32 weights \(from training, or from git\) as float16, not rounded ones again/);
    assert.deepEqual(await files(folder), stored);
    const asHalves = script('--as', 'float16', f32);
    assert.equal(asHalves.status, 0, asHalves.stderr);
    assert.equal(await storedAs(f32), 'float16');
    assert.equal(script('--check', f32).status, 1);
    assert.equal(script('--check', '--as', 'float16', f32).status, 0);
    assert.match(script('--as', 'int8', f32).stderr, /^weights-store: --as must be uint8 or float16, got int8\n$/);
  });

  it('--check passes on the shipped presets', () => {
    const presets = ['irn-x2', 'irn-x4'].map((p) => join(ROOT, 'weights', p));
    const r = script('--check', ...presets);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
