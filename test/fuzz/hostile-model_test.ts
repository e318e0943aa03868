// Hostile model folders (issue 15, cases 12 and 14): shard paths that leave the folder, a
// FIFO or a symlink as a shard, a quantization entry, NaN weights, through the built CLI as a
// user runs it, bounded in time and memory. See test/fuzz/README.md.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { expectRefusal, makeModel, newCase, type Case } from './cases.js';
import { caseDir, editManifest, mkfifo, pointShardAt, requireBuiltCli, shardOf } from './node-fixtures.js';

let model: string;
const cases: Case[] = [];

before(async () => {
  requireBuiltCli();
  model = join(caseDir('model-model'), 'model');
  await makeModel(model);
});

after(() => {
  for (const c of cases) c.cleanup();
  if (model != null) rmSync(join(model, '..'), { recursive: true, force: true });
});

/**
 * A case whose folder also holds `secret.bin`: a user's file next to the model folder that is
 * exactly as large as the model's shard (a copy of it), so that a loader that follows a path
 * out of the folder would load it as weights and succeed.
 */
function withSecret(name: string): Case & { model: string; secret: string } {
  const c = newCase(name, model);
  cases.push(c);
  const m = join(c.dir, 'model');
  const secret = join(c.dir, 'secret.bin');
  copyFileSync(shardOf(m), secret);
  return { ...c, model: m, secret };
}

const DOWNSCALE = ['downscale', '-m', 'model', 'photos/astronaut-48x40.png', 'out.png'];

describe('hostile model folders', () => {
  it('refuses a shard path that climbs to /dev/zero (case 12)', async () => {
    const c = withSecret('model-devzero');
    pointShardAt(c.model, relative(c.model, '/dev/zero'));
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
  });

  it('refuses a shard path "../secret.bin" that leaves the folder, even when the size matches', async () => {
    const c = withSecret('model-escape');
    pointShardAt(c.model, '../secret.bin');
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
    assert.ok(!existsSync(join(c.dir, 'out.png')));
  });

  it('refuses an absolute shard path, without telling the size of the file it names', async () => {
    const c = withSecret('model-absolute');
    pointShardAt(c.model, c.secret);
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
    pointShardAt(c.model, '/etc/passwd');
    const run = await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
    if (existsSync('/etc/passwd')) {
      const size = statSync('/etc/passwd').size;
      assert.ok(!new RegExp(`\\b${size}\\b`).test(run.stderr), `the error tells the size of /etc/passwd (${size}): ${run.stderr}`);
    }
  });

  for (const command of ['downscale', 'info'] as const) {
    it(`refuses a FIFO as a shard without hanging (irn ${command})`, async () => {
      const c = withSecret(`model-fifo-${command}`);
      const shard = shardOf(c.model);
      rmSync(shard);
      mkfifo(shard);
      const args = command === 'info' ? ['info', '-m', 'model'] : DOWNSCALE;
      await expectRefusal(c, args, { outputs: ['out.png'], bounds: { ms: 10_000 } });
    });
  }

  it('refuses a shard that is a symlink out of the model folder', async () => {
    const c = withSecret('model-symlink');
    const shard = shardOf(c.model);
    rmSync(shard);
    symlinkSync('../secret.bin', shard);
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
  });

  it('refuses a weight spec with a quantization entry (case 14)', async () => {
    const c = withSecret('model-quantized');
    editManifest(c.model, (m) => void (m.weightsManifest[0].weights[0].quantization = { dtype: 'uint8', min: -1, scale: 0.01 }));
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
  });

  for (const [what, value] of [['NaN', Number.NaN], ['+Infinity', Infinity]] as const) {
    it(`refuses a model whose weights are ${what} instead of writing a black image (case 14)`, async () => {
      const c = withSecret(`model-${what}`);
      const shard = shardOf(c.model);
      const floats = new Float32Array(readFileSync(shard).length / 4).fill(value);
      writeFileSync(shard, new Uint8Array(floats.buffer));
      await expectRefusal(c, ['upscale', '-m', 'model', 'photos/coffee-33x27.png', 'out.png'], { outputs: ['out.png'] });
      assert.ok(!existsSync(join(c.dir, 'out.png')), 'no image is written');
    });
  }

  it('refuses a model.json that is not JSON, or whose manifest is not a list, naming the folder', async () => {
    const c = withSecret('model-json');
    writeFileSync(join(c.model, 'model.json'), '{"modelTopology": ');
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'], mentions: [basename(c.model)] });
    writeFileSync(join(c.model, 'model.json'), JSON.stringify({ modelTopology: {}, weightsManifest: 7 }));
    await expectRefusal(c, DOWNSCALE, { outputs: ['out.png'] });
  });
});
