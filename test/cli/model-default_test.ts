/**
 * `--model` defaults to the shipped x2 preset (issue 14, item 6): `irn downscale in.png
 * out.png` with no --model writes what `--model weights/irn-x2` writes, `upscale` and `info`
 * use it too, and where the preset cannot be found the error says where it looked.
 */
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { CliError } from '../../packages/cli/src/cli/errors.js';
import { defaultModelCandidates, defaultModelDirectory, modelDirectory } from '../../packages/cli/src/cli/model-path.js';
import { IMAGES, irn, readPng, ROOT } from './helpers.js';

const X2 = join(ROOT, 'weights/irn-x2');
const X4 = join(ROOT, 'weights/irn-x4');

let work: string;

before(() => {
  work = mkdtempSync(join(tmpdir(), 'irn-model-default-'));
  copyFileSync(join(IMAGES, 'astronaut-48x40.png'), join(work, 'in.png'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('irn without --model', () => {
  it('downscale uses weights/irn-x2: the same LR as --model weights/irn-x2, not the x4 one', async () => {
    const plain = await irn(['downscale', 'in.png', 'out.png'], work);
    assert.equal(plain.code, 0, plain.stderr);
    const explicit = await irn(['downscale', '-m', X2, 'in.png', 'x2.png'], work);
    assert.equal(explicit.code, 0, explicit.stderr);
    const lr = readPng(join(work, 'out.png'));
    assert.deepEqual([lr.width, lr.height], [24, 20]);
    assert.deepEqual(readFileSync(join(work, 'out.png')), readFileSync(join(work, 'x2.png')));
  });

  it('downscale --scale 4 uses weights/irn-x4 (the same LR as --model weights/irn-x4), and checks a --model against it', async () => {
    const byScale = await irn(['downscale', '--scale', '4', 'in.png', 'out4.png'], work);
    assert.equal(byScale.code, 0, byScale.stderr);
    const explicit = await irn(['downscale', '-m', X4, 'in.png', 'x4.png'], work);
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.deepEqual([readPng(join(work, 'out4.png')).width, readPng(join(work, 'out4.png')).height], [12, 10]);
    assert.deepEqual(readFileSync(join(work, 'out4.png')), readFileSync(join(work, 'x4.png')));
    const same = await irn(['downscale', '--scale', '2', '-m', X2, 'in.png', 'x2-checked.png'], work);
    assert.equal(same.code, 0, same.stderr);
    const clash = await irn(['downscale', '--scale', '4', '-m', X2, 'in.png', 'clash.png'], work);
    assert.equal(clash.code, 1);
    assert.match(clash.stderr, /^irn: error: .*--scale 4, but the model in .*irn-x2 is x2\n?$/);
    const bad = await irn(['downscale', '--scale', '3', 'in.png', 'bad.png'], work);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--scale.*3.*(choices|Allowed).*2, 4/s);
  });

  it('upscale restores the default LR at full size with the default model', async () => {
    const run = await irn(['upscale', 'out.png', 'restored.png'], work);
    assert.equal(run.code, 0, run.stderr);
    const hr = readPng(join(work, 'restored.png'));
    assert.deepEqual([hr.width, hr.height], [48, 40]);
  });

  it('info describes weights/irn-x2', async () => {
    const run = await irn(['info', '--json'], work);
    assert.equal(run.code, 0, run.stderr);
    const info = JSON.parse(run.stdout) as { model: string; scale: number };
    assert.equal(info.model, X2);
    assert.equal(info.scale, 2);
    const x4 = await irn(['info', '--json', '--model', X4], work);
    assert.equal((JSON.parse(x4.stdout) as { scale: number }).scale, 4, 'an explicit --model still wins');
  });

  it('shows the default in each command help', async () => {
    for (const command of ['downscale', 'upscale', 'info', 'eval', 'prepare']) {
      const run = await irn([command, '--help'], work);
      assert.equal(run.code, 0, run.stderr);
      // commander wraps long descriptions: compare with the line breaks and indents folded.
      const help = run.stdout.replace(/\s+/g, ' ');
      assert.match(help, /-m, --model <dir> [^-]*\(default: weights\/irn-x2, the shipped x2 preset\)/, `irn ${command} --help`);
    }
  });
});

describe('the default model location', () => {
  it('is the repository weights/irn-x2 from the source and from the bundle alike', () => {
    const fromSource = defaultModelCandidates(pathToFileURL(join(ROOT, 'packages/cli/src/cli/model-path.ts')).href);
    const fromBundle = defaultModelCandidates(pathToFileURL(join(ROOT, 'packages/cli/dist/chunks/x.js')).href);
    const weightsPackage = join(ROOT, 'packages/weights/dist/irn-x2');
    for (const c of [fromSource, fromBundle]) assert.deepEqual(c, [join(ROOT, 'packages/cli/weights/irn-x2'), X2, weightsPackage]);
    // packages/cli/weights/ does not exist, so the repository's preset is the one found.
    assert.equal(resolve(defaultModelDirectory(fromSource)), X2);
  });

  it('in an installed package is the weights the package ships, and there is no repository fallback', () => {
    const pkg = join(work, 'app/node_modules/@irn/cli');
    mkdirSync(join(pkg, 'dist'), { recursive: true });
    writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@irn/cli' }));
    writeFileSync(join(work, 'app/package.json'), JSON.stringify({ name: 'app' }));
    const candidates = defaultModelCandidates(pathToFileURL(join(pkg, 'dist/cli.js')).href);
    assert.deepEqual(candidates, [join(pkg, 'weights/irn-x2')]);
    // Without the weights: one clear error that says where it looked and what to do.
    assert.throws(
      () => defaultModelDirectory(candidates),
      (e: unknown) =>
        e instanceof CliError &&
        e.message === `no --model given and the default model weights/irn-x2 was not found (looked in ${join(pkg, 'weights/irn-x2')}); give --model <dir>`,
    );
    mkdirSync(join(pkg, 'weights/irn-x2'), { recursive: true });
    writeFileSync(join(pkg, 'weights/irn-x2/model.json'), '{}');
    assert.equal(defaultModelDirectory(candidates), join(pkg, 'weights/irn-x2'));
  });

  it('in an npm install is the preset of the @irn/weights package installed beside it', () => {
    const app = join(work, 'npm-app');
    const cli = join(app, 'node_modules/@irn/cli');
    const weights = join(app, 'node_modules/@irn/weights');
    mkdirSync(join(cli, 'dist'), { recursive: true });
    writeFileSync(join(cli, 'package.json'), JSON.stringify({ name: '@irn/cli' }));
    mkdirSync(join(weights, 'dist/irn-x2'), { recursive: true });
    writeFileSync(join(weights, 'package.json'), JSON.stringify({ name: '@irn/weights', exports: { './package.json': './package.json' } }));
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'npm-app' }));
    const candidates = defaultModelCandidates(pathToFileURL(join(cli, 'dist/cli.js')).href);
    assert.deepEqual(candidates, [join(cli, 'weights/irn-x2'), join(weights, 'dist/irn-x2')]);
    // Found once it holds a model.json.
    assert.throws(() => defaultModelDirectory(candidates), /was not found \(looked in .*node_modules\/@irn\/weights\/dist\/irn-x2\)/);
    writeFileSync(join(weights, 'dist/irn-x2/model.json'), '{}');
    assert.equal(defaultModelDirectory(candidates), join(weights, 'dist/irn-x2'));
  });

  it('is none outside an @irn/cli package', () => {
    assert.deepEqual(defaultModelCandidates(pathToFileURL(join(work, 'nowhere/cli.js')).href), []);
    assert.throws(
      () => defaultModelDirectory([]),
      (e: unknown) => e instanceof CliError && e.message === 'no --model given and the default model weights/irn-x2 was not found; give --model <dir>',
    );
  });

  it('keeps what the user typed when --model is given', async () => {
    assert.equal(await modelDirectory(X4), X4);
    await assert.rejects(modelDirectory(join(work, 'missing')), /does not exist/);
  });
});
