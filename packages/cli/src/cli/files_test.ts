import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { modelInputs, planJobs } from './files.js';

let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'irn-files-test-'));
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('planJobs: refused before any work', () => {
  it('refuses a file of the model as an output, even with force', async () => {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'model.json'), JSON.stringify({ weightsManifest: [{ paths: ['w.png'], weights: [] }] }));
    writeFileSync(join(model, 'w.png'), 'weights');
    writeFileSync(join(model, 'best.json'), '{}');
    writeFileSync(join(model, 'notes.txt'), 'not the model');
    writeFileSync(join(dir, 'b.png'), 'x');
    const files = await modelInputs([model]);
    for (const name of ['model.json', 'w.png', 'best.json']) assert.ok(files.includes(join(model, name)), `${name} is not among ${files.join(', ')}`);
    assert.ok(!files.includes(join(model, 'notes.txt')));
    await assert.rejects(
      planJobs(join(dir, 'b.png'), join(model, 'w.png'), { force: true, modelFiles: files }),
      /^UsageError: the output .*model\/w\.png would overwrite the model file .*model\/w\.png$/,
    );
    await assert.rejects(
      planJobs(join(dir, 'b.png'), join(model, 'best.json'), { force: true, modelFiles: files }),
      /would overwrite the model file .*model\/best\.json$/,
    );
  });
});
