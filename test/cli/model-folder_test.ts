/**
 * The CLI's model loading (cli/model-dir.ts `loadModel`) against hostile model folders
 * (issue 15, items 12 and 14): `irn info`, `downscale` and `upscale` end with one
 * `irn: error:` line, quickly, for a weight path out of the folder, a FIFO shard or NaN
 * weights, write no output, and take `--limit` into account. The handler's own checks are
 * tested case by case in packages/core/src/io/fs-handler-hostile_test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '@tensorflow/tfjs-backend-cpu';
import { IMAGES, failedCleanly, irn, saveSmallModel } from './helpers.js';

let work: string;
const SHARD = 'group1-shard1of1.bin';

before(async () => {
  work = await mkdtemp(join(tmpdir(), 'irn-cli-model-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.05 })).dispose();
  await copyFile(join(IMAGES, 'coffee-33x27.png'), join(work, 'photo.png'));
  const down = await irn(['-q', 'downscale', '-m', 'model', 'photo.png', 'lr.png'], work);
  assert.equal(down.code, 0, down.stderr);
});

after(async () => {
  await rm(work, { recursive: true, force: true });
});

/** A copy of the small model in `name`, model.json edited by `edit`. */
async function variant(name: string, edit: (json: { weightsManifest: { paths: string[] }[] }) => void = () => {}): Promise<string> {
  await cp(join(work, 'model'), join(work, name), { recursive: true });
  const path = join(work, name, 'model.json');
  const json = JSON.parse(await readFile(path, 'utf8'));
  edit(json);
  await writeFile(path, JSON.stringify(json));
  return name;
}

describe('irn and hostile model folders', () => {
  it('refuses a size-matched ../secret.bin in info and downscale, without a trace of its size', async () => {
    await copyFile(join(work, 'model', SHARD), join(work, 'secret.bin'));
    const model = await variant('dotdot', (json) => (json.weightsManifest[0].paths = ['../secret.bin']));
    for (const args of [['info', '-m', model], ['downscale', '-m', model, 'photo.png', 'out-dotdot.png']]) {
      const run = await irn(args, work);
      assert.equal(failedCleanly(run, 1), null);
      assert.match(run.stderr, /^irn: error: cannot load the model in dotdot: .*names the weight file "\.\.\/secret\.bin", which leads out of it with "\.\."/);
    }
    assert.ok(!existsSync(join(work, 'out-dotdot.png')));
  });

  it('refuses a FIFO shard at once in info and downscale (it hung before)', { timeout: 60_000 }, async () => {
    const model = await variant('fifo');
    await rm(join(work, model, SHARD));
    execFileSync('mkfifo', [join(work, model, SHARD)]);
    for (const args of [['info', '-m', model], ['downscale', '-m', model, 'photo.png', 'out-fifo.png']]) {
      const run = await irn(args, work);
      assert.equal(failedCleanly(run, 1), null);
      assert.match(run.stderr, /group1-shard1of1\.bin is a FIFO, not a regular file/);
    }
  });

  it('refuses NaN weights in upscale, naming the weight, and writes no (black) PNG', async () => {
    const model = await variant('nan');
    const shard = await readFile(join(work, model, SHARD));
    shard.writeFloatLE(NaN, 4 * 3);
    await writeFile(join(work, model, SHARD), shard);
    const run = await irn(['upscale', '-m', model, 'lr.png', 'up-nan.png'], work);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /weight affine_coupling_AffineCoupling\d+\/F\/conv1\/kernel holds NaN/);
    assert.ok(!existsSync(join(work, 'up-nan.png')));
  });

  it('passes --limit through to the loader', async () => {
    const ok = await irn(['info', '-m', 'model'], work);
    assert.equal(ok.code, 0, ok.stderr);
    const run = await irn(['--limit', 'totalElements=1000', 'info', '-m', 'model'], work);
    assert.equal(failedCleanly(run, 1), null);
    assert.match(run.stderr, /above the limit of 1,000 elements \(raise it with --limit totalElements=N\)/);
  });
});
