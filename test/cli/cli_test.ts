// End-to-end tests of the `irn` command line: each test runs the CLI as a child process
// (from source through tsx; IRN_CLI=packages/cli/dist/cli.js tests the bundle) in a
// temporary directory, on small models saved there and on the real photos in
// packages/core/test-fixtures/images.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { encodePng } from '../../packages/core/src/image/png-write.js';
import { downscaleImage } from '../../packages/core/src/rescale/rescale.js';
import { failedCleanly, IMAGES, irn, psnr8, readPng, ROOT, saveOtherModel, saveSmallModel } from './helpers.js';

const ASTRONAUT = join(IMAGES, 'astronaut-48x40.png');
const COFFEE = join(IMAGES, 'coffee-33x27.png');
const CHELSEA = join(IMAGES, 'chelsea-rgba-40x32.png');

/** A fresh IRN is the Haar transform: z = 0 restores each 2x2 block's mean. The photo crop
 *  gives 28.5 dB that way (computed with numpy when the fixture was chosen); 25 dB leaves
 *  room and still fails if upscaling goes wrong (a misplaced block scores under 20 dB). */
const HAAR_PSNR_MIN_DB = 25;
/** Alpha is box-averaged, stored in 8 bits and upsampled bilinearly: on a linear ramp that
 *  is within a few levels of the original (the edges, where the bilinear clamps, are worst). */
const ALPHA_MEAN_ABS_MAX = 2 / 255;

let work: string;
let params: number;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-cli-test-'));
  const perturbed = await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 3 });
  params = perturbed.countParams();
  perturbed.dispose();
  (await saveSmallModel(join(work, 'haar'))).dispose();
  await saveOtherModel(join(work, 'bad/not-irn'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('irn info', () => {
  it('prints the configuration', async () => {
    const run = await irn(['info', '--model', 'model'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /^scale +x2 /m);
    assert.match(run.stdout, /^blocks +1 per level$/m);
    assert.match(run.stdout, /^growth +4$/m);
    assert.match(run.stdout, new RegExp(`^params +${params.toLocaleString('en-US')}$`, 'm'));
    assert.match(run.stdout, /^ +model\.json +[\d.]+ kB$/m);
    assert.match(run.stdout, /^ +group1-shard1of1\.bin +[\d.]+ kB$/m);
    assert.equal(run.stderr, '');
  });

  it('prints JSON with --json', async () => {
    const run = await irn(['info', '-m', 'model/model.json', '--json'], work);
    assert.equal(run.code, 0, run.stderr);
    const info = JSON.parse(run.stdout) as Record<string, unknown>;
    assert.equal(info.scale, 2);
    assert.equal(info.blocks, 1);
    assert.equal(info.growth, 4);
    assert.equal(info.params, params);
    assert.equal(info.source, null);
  });
});

describe('irn downscale / upscale', () => {
  it('round trips a photo: LR of half size with the original size recorded, restored at full size', async () => {
    const down = await irn(['downscale', '--model', 'model', ASTRONAUT, 'astro-lr.png'], work);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /^downscaled .*astronaut-48x40\.png -> astro-lr\.png: 48x40 -> 24x20 in [\d.]+ s\n$/);
    const lr = readPng(join(work, 'astro-lr.png'));
    assert.deepEqual([lr.width, lr.height, lr.channels, lr.bitDepth], [24, 20, 3, 8]);
    assert.deepEqual(JSON.parse(lr.text.irn), { scale: 2, width: 48, height: 40 });
    // The CLI used the perturbed weights: its LR is not the plain Haar (box) downscale.
    const haar = await saveSmallModel(join(work, 'haar-check'));
    const box = await downscaleImage(haar, readPng(ASTRONAUT));
    haar.dispose();
    assert.ok(lr.data.some((v, i) => Math.abs(v - box.data[i]) > 1.5 / 255), 'the LR equals the Haar downscale');

    const up = await irn(['upscale', '--model', 'model', 'astro-lr.png', 'astro-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const hr = readPng(join(work, 'astro-up.png'));
    assert.deepEqual([hr.width, hr.height, hr.channels, hr.bitDepth], [48, 40, 3, 8]);
  });

  it(`restores a photo above ${HAAR_PSNR_MIN_DB} dB with a fresh (Haar) model and z = 0`, async () => {
    assert.equal((await irn(['downscale', '-m', 'haar', ASTRONAUT, 'haar-lr.png'], work)).code, 0);
    const up = await irn(['upscale', '-m', 'haar', '--z', 'zeros', 'haar-lr.png', 'haar-up.png'], work);
    assert.equal(up.code, 0, up.stderr);
    const db = psnr8(readPng(ASTRONAUT), readPng(join(work, 'haar-up.png')));
    assert.ok(db > HAAR_PSNR_MIN_DB, `PSNR ${db.toFixed(2)} dB`);
  });

  it('crops an odd-size image back to its size using the text chunk, and gives LR x 2 without it', async () => {
    assert.equal((await irn(['-q', 'downscale', '-m', 'model', COFFEE, 'coffee-lr.png'], work)).code, 0);
    const lr = readPng(join(work, 'coffee-lr.png'));
    assert.deepEqual([lr.width, lr.height], [17, 14]);
    assert.deepEqual(JSON.parse(lr.text.irn), { scale: 2, width: 33, height: 27 });
    assert.equal((await irn(['-q', 'upscale', '-m', 'model', 'coffee-lr.png', 'coffee-up.png'], work)).code, 0);
    const hr = readPng(join(work, 'coffee-up.png'));
    assert.deepEqual([hr.width, hr.height], [33, 27]);

    writeFileSync(join(work, 'coffee-lr-bare.png'), encodePng(lr)); // same pixels, no text
    assert.equal((await irn(['-q', 'upscale', '-m', 'model', 'coffee-lr-bare.png', 'coffee-up-bare.png'], work)).code, 0);
    const bare = readPng(join(work, 'coffee-up-bare.png'));
    assert.deepEqual([bare.width, bare.height], [34, 28]);
  });

  it('repeats seeded gaussian draws byte for byte and differs between seeds', async () => {
    if (!existsSync(join(work, 'astro-lr.png'))) await irn(['-q', 'downscale', '-m', 'model', ASTRONAUT, 'astro-lr.png'], work);
    const draw = async (seed: string, out: string) => {
      const run = await irn(['upscale', '-m', 'model', '--z', 'gaussian', '--seed', seed, '--temperature', '0.8', 'astro-lr.png', out], work);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`gaussian z \\(seed ${seed}, temperature 0.8\\)`));
      return readFileSync(join(work, out));
    };
    const [a, b, c] = await Promise.all([draw('5', 'g5a.png'), draw('5', 'g5b.png'), draw('6', 'g6.png')]);
    assert.ok(a.equals(b), 'the same seed gave different files');
    assert.ok(!a.equals(c), 'different seeds gave the same file');
    const zeros = await irn(['-q', 'upscale', '-m', 'model', 'astro-lr.png', 'z0.png'], work);
    assert.equal(zeros.code, 0, zeros.stderr);
    assert.ok(!a.equals(readFileSync(join(work, 'z0.png'))), 'gaussian z gave the zeros result');
  });

  it('writes 16-bit output with --bit-depth 16, on the cpu backend too', async () => {
    if (!existsSync(join(work, 'coffee-lr.png'))) await irn(['-q', 'downscale', '-m', 'model', COFFEE, 'coffee-lr.png'], work);
    const [wasm, cpu] = await Promise.all([
      irn(['-q', 'upscale', '-m', 'model', '--bit-depth', '16', 'coffee-lr.png', 'c16-wasm.png'], work),
      irn(['-q', '--backend', 'cpu', 'upscale', '-m', 'model', '--bit-depth', '16', 'coffee-lr.png', 'c16-cpu.png'], work),
    ]);
    assert.equal(wasm.code, 0, wasm.stderr);
    assert.equal(cpu.code, 0, cpu.stderr);
    assert.equal(cpu.stderr, '', 'the cpu backend printed something');
    const a = readPng(join(work, 'c16-wasm.png'));
    const b = readPng(join(work, 'c16-cpu.png'));
    assert.deepEqual([a.width, a.height, a.bitDepth], [33, 27, 16]);
    // Backends differ by float32 rounding only.
    assert.ok(a.data.every((v, i) => Math.abs(v - b.data[i]) < 1e-3), 'cpu and wasm results differ');
  });
});

describe('irn tiling', () => {
  it('gives the same files tiled (--tile, --overlap >= receptive field) as untiled (--tile 0)', async () => {
    // The small model's receptive field is 10 LR pixels; the astronaut's LR is 24x20, so
    // --tile 4 makes 6x5 tiles, most of whose crops (4 + 2 x 10) end inside the image.
    const runs = await Promise.all([
      irn(['-q', 'downscale', '-m', 'model', '--tile', '0', ASTRONAUT, 'whole-lr.png'], work),
      irn(['-q', 'downscale', '-m', 'model', '--tile', '4', '--overlap', '10', ASTRONAUT, 'tiled-lr.png'], work),
    ]);
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    assert.ok(readFileSync(join(work, 'whole-lr.png')).equals(readFileSync(join(work, 'tiled-lr.png'))), 'tiled LR differs');
    const ups = await Promise.all([
      irn(['-q', 'upscale', '-m', 'model', '--z', 'gaussian', '--seed', '3', '--tile', '0', 'whole-lr.png', 'whole-up.png'], work),
      irn(['-q', 'upscale', '-m', 'model', '--z', 'gaussian', '--seed', '3', '--tile', '4', 'whole-lr.png', 'tiled-up.png'], work),
    ]);
    for (const run of ups) assert.equal(run.code, 0, run.stderr);
    assert.ok(readFileSync(join(work, 'whole-up.png')).equals(readFileSync(join(work, 'tiled-up.png'))), 'tiled HR differs');
  });

  it('prints the tiling and the peak tensor memory with --verbose', async () => {
    const [down, up] = await Promise.all([
      irn(['downscale', '-m', 'model', '--tile', '8', '--verbose', ASTRONAUT, 'verbose-lr.png'], work),
      irn(['upscale', '-m', 'model', '--tile', '0', '--verbose', COFFEE, 'verbose-up.png'], work),
    ]);
    assert.equal(down.code, 0, down.stderr);
    assert.match(down.stderr, /: 48x40 -> 24x20 in [\d.]+ s, 9 tiles of up to 8 px \(overlap 10 px\), peak tensor memory [\d.]+ [kM]B \([\d.]+ [kM]B above the model's weights\)\n$/);
    assert.equal(up.code, 0, up.stderr);
    assert.match(up.stderr, /: 33x27 -> 66x54 in [\d.]+ s, 1 tile, peak tensor memory [\d.]+ [kM]B/);
  });
});

describe('irn on directories', () => {
  it('processes every *.png, keeps names and alpha, one line per file when not a terminal', async () => {
    const src = join(work, 'photos');
    mkdirSync(src);
    for (const f of [ASTRONAUT, COFFEE, CHELSEA]) copyFileSync(f, join(src, f.split('/').pop()!));
    writeFileSync(join(src, 'notes.txt'), 'not an image');

    const down = await irn(['downscale', '-m', 'model', 'photos', 'lr'], work);
    assert.equal(down.code, 0, down.stderr);
    const lines = down.stderr.trim().split('\n');
    assert.equal(lines.length, 3, down.stderr);
    assert.ok(lines.every((l) => l.startsWith('downscaled photos/')), down.stderr);
    assert.deepEqual(readdirSync(join(work, 'lr')).sort(), ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-33x27.png']);

    const up = await irn(['upscale', '--quiet', '-m', 'model', 'lr', 'out/restored'], work);
    assert.equal(up.code, 0, up.stderr);
    assert.equal(up.stderr, '');
    for (const f of [ASTRONAUT, COFFEE, CHELSEA]) {
      const name = f.split('/').pop()!;
      const orig = readPng(f);
      const back = readPng(join(work, 'out/restored', name));
      assert.deepEqual([back.width, back.height], [orig.width, orig.height], name);
    }

    const lrCat = readPng(join(work, 'lr/chelsea-rgba-40x32.png'));
    assert.equal(lrCat.channels, 4);
    const orig = readPng(CHELSEA);
    const cat = readPng(join(work, 'out/restored/chelsea-rgba-40x32.png'));
    assert.equal(cat.channels, 4);
    let diff = 0;
    for (let i = 3; i < cat.data.length; i += 4) diff += Math.abs(cat.data[i] - orig.data[i]);
    const mean = diff / (cat.width * cat.height);
    assert.ok(mean < ALPHA_MEAN_ABS_MAX, `alpha differs by ${(mean * 255).toFixed(2)} levels on average`);
  });

  it('keeps going past a bad file, reports it, and fails at the end', async () => {
    const src = join(work, 'mixed');
    mkdirSync(src);
    copyFileSync(COFFEE, join(src, 'a.png'));
    writeFileSync(join(src, 'b.png'), 'not a png');
    const run = await irn(['-q', 'downscale', '-m', 'model', 'mixed', 'mixed-lr'], work);
    assert.equal(run.code, 1);
    assert.equal(run.stderr, 'irn: error: mixed/b.png: not a PNG, JPEG, WebP or AVIF file\nirn: error: 1 of 2 images failed\n');
    assert.deepEqual(readdirSync(join(work, 'mixed-lr')), ['a.png']);
  });
});

describe('irn on folders with subfolders', () => {
  it('skips a subfolder with a matching name, saying a folder run does not look into subfolders', async () => {
    mkdirSync(join(work, 'nested/sub.png'), { recursive: true });
    copyFileSync(COFFEE, join(work, 'nested/a.png'));
    const run = await irn(['downscale', '-m', 'model', 'nested', 'nested-lr'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^skipped nested\/sub\.png: a directory \(a folder run does not look into subfolders\)$/m);
    mkdirSync(join(work, 'only-sub/sub.png'), { recursive: true });
    const none = await irn(['downscale', '-m', 'model', 'only-sub', 'only-sub-lr'], work);
    assert.equal(failedCleanly(none, 1), null);
    assert.match(none.stderr, /no .* files in only-sub \(1 entry of that name skipped: a directory; a folder run does not look into subfolders\)\n$/);
  });
});

describe('irn convert', () => {
  it('converts a PyTorch checkpoint into a model directory that the other commands use', async () => {
    const pth = join(ROOT, 'packages/core/test-fixtures/torch/irn_x2.pth');
    const run = await irn(['convert', pth, 'converted'], work);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /-> converted: x2, \d+ blocks per level, growth \d+, [\d,]+ parameters, [\d.]+ kB\n$/);
    assert.deepEqual(readdirSync(join(work, 'converted')).sort(), ['group1-shard1of1.bin', 'model.json']);
    const info = await irn(['info', '-m', 'converted', '--json'], work);
    assert.equal((JSON.parse(info.stdout) as { source: string }).source, 'converted from irn_x2.pth');

    // --weights float16: half the weight bytes, and a model the other commands load.
    const half = await irn(['convert', '--weights', 'float16', pth, 'converted16'], work);
    assert.equal(half.code, 0, half.stderr);
    assert.match(half.stdout, /-> converted16: x2, .* \(float16 weights\)\n$/);
    const shard = (dir: string) => statSync(join(work, dir, 'group1-shard1of1.bin')).size;
    assert.equal(shard('converted16') * 2, shard('converted'));
    const specsOf = (dir: string) =>
      (JSON.parse(readFileSync(join(work, dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { quantization?: { dtype: string } }[] }[] }).weightsManifest[0].weights;
    assert.ok(specsOf('converted16').every((s) => s.quantization?.dtype === 'float16'));
    const info16 = await irn(['info', '-m', 'converted16', '--json'], work);
    assert.equal(info16.code, 0, info16.stderr);
    assert.equal((JSON.parse(info16.stdout) as { source: string }).source, 'converted from irn_x2.pth');

    // --weights uint8: kernels as 8 bits per channel, biases as halves; smaller again, and loadable.
    const u8 = await irn(['convert', '--weights', 'uint8', pth, 'converted8'], work);
    assert.equal(u8.code, 0, u8.stderr);
    assert.match(u8.stdout, /-> converted8: x2, .* \(uint8 weights\)\n$/);
    assert.ok(shard('converted8') < shard('converted16') * 0.6, `${shard('converted8')} bytes`);
    const kinds = new Set(specsOf('converted8').map((s) => s.quantization?.dtype));
    assert.deepEqual([...kinds].sort(), ['float16', 'uint8-per-channel']);
    const info8 = await irn(['info', '-m', 'converted8', '--json'], work);
    assert.equal(info8.code, 0, info8.stderr);
    const bad = await irn(['convert', '--weights', 'int8', pth, 'nope'], work);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--weights <form>' argument 'int8' is invalid\. Allowed choices are float32, float16, uint8/);
    assert.equal(existsSync(join(work, 'nope')), false);
  });
});

describe('irn usage', () => {
  it('prints its version and help', async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'packages/cli/package.json'), 'utf8')) as { version: string };
    const [version, help] = await Promise.all([irn(['--version'], work), irn(['--help'], work)]);
    assert.deepEqual([version.code, version.stdout], [0, `${pkg.version}\n`]);
    assert.equal(help.code, 0);
    for (const cmd of ['convert', 'downscale', 'upscale', 'info']) assert.match(help.stdout, new RegExp(`^  ${cmd} `, 'm'));
  });
});

describe('irn errors: one line, no stack, a telling exit code', { concurrency: 2 }, () => {
  const setup = () => {
    const dir = join(work, 'bad');
    if (existsSync(join(dir, 'text.png'))) return;
    writeFileSync(join(dir, 'text.png'), 'hello, I am not a PNG\n');
    writeFileSync(join(dir, 'truncated.png'), readFileSync(ASTRONAUT).subarray(0, 500));
    writeFileSync(join(dir, 'tiny.png'), encodePng({ width: 1, height: 1, channels: 3, data: Float32Array.of(1, 0, 0) }));
    const lr = { width: 4, height: 4, channels: 3 as const, data: new Float32Array(48).fill(0.5) };
    writeFileSync(join(dir, 'lr-x4.png'), encodePng(lr, { text: { irn: '{"scale":4,"width":16,"height":16}' } }));
    writeFileSync(join(dir, 'lr-resized.png'), encodePng(lr, { text: { irn: '{"scale":2,"width":33,"height":27}' } }));
    mkdirSync(join(dir, 'garbage-model'));
    writeFileSync(join(dir, 'garbage-model/model.json'), '{"not": "a model"}');
  };

  const cases: [string, string[], number, RegExp][] = [
    ['a file that is not a PNG', ['downscale', '-m', 'model', 'bad/text.png', 'o.png'], 1, /bad\/text\.png: not a PNG, JPEG, WebP or AVIF file$/],
    ['a truncated PNG', ['downscale', '-m', 'model', 'bad/truncated.png', 'o.png'], 1, /truncated PNG/],
    ['a missing image', ['upscale', '-m', 'model', 'bad/nothing.png', 'o.png'], 1, /bad\/nothing\.png does not exist/],
    ['an image smaller than the scale', ['downscale', '-m', 'model', 'bad/tiny.png', 'o.png'], 1, /1x1; IRN x2 needs at least 2x2/],
    ['a missing model directory', ['downscale', '-m', 'no-such-model', ASTRONAUT, 'o.png'], 1, /model directory no-such-model does not exist/],
    ['a directory without model.json', ['info', '-m', 'bad'], 1, /bad holds no model\.json/],
    ['a model.json of another model', ['info', '-m', 'bad/not-irn'], 1, /not an IRN model/],
    ['a model.json that is no model', ['downscale', '-m', 'bad/garbage-model', ASTRONAUT, 'o.png'], 1, /not a (tfjs|TensorFlow\.js layers) model\.json/],
    ['an LR made at another scale', ['upscale', '-m', 'model', 'bad/lr-x4.png', 'o.png'], 1, /downscaled at x4 but the model is x2/],
    ['an LR resized after downscaling', ['upscale', '-m', 'model', 'bad/lr-resized.png', 'o.png'], 1, /it is 4x4 but its metadata says .* 33x27/],
    ['a checkpoint that is not one', ['convert', 'bad/text.png', 'conv-out'], 1, /not a PyTorch checkpoint/],
    ['an unknown option', ['downscale', '--fast', '-m', 'model', ASTRONAUT, 'o.png'], 2, /unknown option '--fast'/],
    ['an unknown command', ['shrink', ASTRONAUT], 2, /unknown command 'shrink'/],
    ['a bad --z', ['upscale', '-m', 'model', '--z', 'uniform', 'a.png', 'b.png'], 2, /'uniform' is invalid. Allowed choices are zeros, gaussian/],
    ['a negative --temperature', ['upscale', '-m', 'model', '--z', 'gaussian', '--temperature', '-1', 'a.png', 'b.png'], 2, /temperature must be a number from 0 to 10/],
    ['a non-numeric --temperature', ['upscale', '-m', 'model', '--z', 'gaussian', '--temperature', 'hot', 'a.png', 'b.png'], 2, /temperature/],
    ['a fractional --seed', ['upscale', '-m', 'model', '--z', 'gaussian', '--seed', '1.5', 'a.png', 'b.png'], 2, /seed must be an integer/],
    ['--seed without gaussian z', ['upscale', '-m', 'model', '--seed', '3', 'a.png', 'b.png'], 2, /only apply with --z gaussian/],
    ['a bad --backend', ['--backend', 'webgpu', 'info', '-m', 'model'], 2, /'webgpu' is invalid. Allowed choices are wasm, cpu/],
    ['a bad --bit-depth', ['upscale', '-m', 'model', '--bit-depth', '12', 'a.png', 'b.png'], 2, /bit depth must be 8 or 16/],
    ['a negative --tile', ['downscale', '-m', 'model', '--tile', '-1', ASTRONAUT, 'o.png'], 2, /option '--tile <px>' argument '-1' is invalid. The tile size must be an integer >= 0/],
    ['a fractional --tile', ['upscale', '-m', 'model', '--tile', '2.5', 'a.png', 'o.png'], 2, /The tile size must be an integer >= 0 in LR pixels \(0: the whole image\)/],
    ['a negative --overlap', ['upscale', '-m', 'model', '--overlap', '-8', 'a.png', 'o.png'], 2, /The overlap must be an integer >= 0/],
    ['a non-numeric --overlap', ['downscale', '-m', 'model', '--overlap', 'wide', ASTRONAUT, 'o.png'], 2, /argument 'wide' is invalid. The overlap must be/],
  ];
  for (const [what, args, code, message] of cases) {
    it(what, async () => {
      setup();
      const run = await irn(args, work);
      const problem = failedCleanly(run, code);
      assert.equal(problem, null, problem ?? '');
      assert.match(run.stderr.trim(), message);
      assert.equal(existsSync(join(work, 'o.png')), false, 'a failed run left an output file');
    });
  }

  it('prints the stack with --debug or IRN_DEBUG=1', async () => {
    setup();
    const [flag, env] = await Promise.all([
      irn(['--debug', 'downscale', '-m', 'model', 'bad/text.png', 'o.png'], work),
      irn(['downscale', '-m', 'model', 'bad/text.png', 'o.png'], work, { IRN_DEBUG: '1' }),
    ]);
    for (const run of [flag, env]) {
      assert.equal(run.code, 1);
      assert.match(run.stderr, /^irn: error: bad\/text\.png: not a PNG, JPEG, WebP or AVIF file\n/);
      assert.match(run.stderr, /\n\s+at /);
    }
  });
});
