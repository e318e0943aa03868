/**
 * scripts/weights-float16.ts, what turns a preset that training wrote (float32) into the
 * stored form of the shipped ones: in place, half the bytes, other files of the folder left
 * alone, a second run byte for byte the same, and `--check` failing on a float32 folder.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../packages/core/src/index.js';
import { fileSystem } from '../packages/core/src/node.js';
import { perturbWeights } from '../packages/core/src/testing/perturb.js';
import { storedAsFloat16, toFloat16 } from '../scripts/weights-float16.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts', 'weights-float16.ts');
let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'irn-wf16-'));
});
after(() => rm(dir, { recursive: true, force: true }));

const check = (...dirs: string[]) => spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, '--check', ...dirs], { cwd: ROOT, encoding: 'utf8' });

describe('scripts/weights-float16.ts', () => {
  it('rewrites a float32 model folder in place as float16, once', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 3, seed: 2 });
    perturbWeights(model.flow.weights, 8);
    const folder = join(dir, 'preset');
    await model.save(fileSystem(folder));
    await writeFile(join(folder, 'PROVENANCE.md'), '# how it was trained\n');
    assert.equal(await storedAsFloat16(folder), false);
    const stale = check(folder);
    assert.equal(stale.status, 1, stale.stderr);
    assert.match(stale.stdout, /preset: float32 \(run pnpm weights:float16 on it\)/);

    const { before: b, after: a } = await toFloat16(folder);
    assert.equal(a * 2, b);
    assert.equal(await storedAsFloat16(folder), true);
    const fresh = check(folder);
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.match(fresh.stdout, /preset: float16/);
    assert.equal(await readFile(join(folder, 'PROVENANCE.md'), 'utf8'), '# how it was trained\n');

    // The weights are the model's, rounded to halves; a second run changes nothing.
    const loaded = await IrnModel.load(fileSystem(folder));
    const w0 = model.flow.weights[0].read().dataSync();
    const l0 = loaded.flow.weights[0].read().dataSync();
    assert.ok(w0.some((v, i) => v !== l0[i]), 'rounded');
    assert.ok(w0.every((v, i) => Math.abs(v - l0[i]) <= Math.abs(v) * 2 ** -11 + 2 ** -25));
    loaded.dispose();
    model.dispose();
    const json = await readFile(join(folder, 'model.json'));
    const shard = await readFile(join(folder, 'group1-shard1of1.bin'));
    await toFloat16(folder);
    assert.deepEqual(await readFile(join(folder, 'model.json')), json);
    assert.deepEqual(await readFile(join(folder, 'group1-shard1of1.bin')), shard);
  });

  it('--check passes on the shipped presets', () => {
    const presets = ['irn-x2', 'irn-x4'].map((p) => join(ROOT, 'weights', p));
    const r = check(...presets);
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});
