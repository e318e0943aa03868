// Hostile PNGs (issue 15, cases 7 and 8, and seeded random damage of real photos) through the
// built CLI as a user runs it, with wall time and peak memory bounded, and through decodePng
// in this process. See test/fuzz/README.md.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { decodePng, PngFormatError } from '../../packages/core/src/image/png.js';
import { LimitError } from '../../packages/core/src/limits.js';
import { casesOnModel, expectBoundedRun, expectRefusal } from './cases.js';
import { hugeHeader, idatOverflow, itxtBomb, manyTextChunks, mutatePng, pixelBomb, ztxtBomb } from './generators.js';
import { IMAGES, RAW_JS } from './node-fixtures.js';

const { withCase } = casesOnModel('png-model');

describe('hostile PNGs through irn downscale', () => {
  // A text chunk is ancillary: a decoder may skip one that inflates past the limit (and read
  // the pixels) or refuse the file; either way quickly. The `irn` chunk carries the original
  // size, so a bomb there must be refused.
  const textBombs: Array<[string, () => Uint8Array]> = [
    ['a zTXt bomb (108 KB inflating to 111 MB of text; issue case 7)', () => ztxtBomb()],
    ['an iTXt bomb (108 KB inflating to 111 MB of text)', () => itxtBomb()],
    ['1000 zTXt chunks of 1 MiB each (1 GB of text in 1.1 MB)', () => manyTextChunks()],
  ];
  for (const [what, make] of textBombs) {
    it(`reads past or refuses ${what}, quickly and in bounded memory`, async () => {
      const c = withCase('png-text-bomb', { 'bomb.png': make() });
      const run = await expectBoundedRun(c, ['downscale', '-m', 'model', 'bomb.png', 'out.png'], { outputs: ['out.png'] });
      if (run.code !== 0) assert.match(run.stderr, /^irn: error: bomb\.png: /);
    });
  }
  for (const [what, make] of [
    ['a zTXt bomb in the irn chunk', () => ztxtBomb(111_000_000, 'irn')],
    ['an iTXt bomb in the irn chunk', () => itxtBomb(111_000_000, 'irn')],
  ] as const) {
    it(`refuses ${what} (the chunk upscale needs) quickly, naming the file`, async () => {
      const c = withCase('png-irn-bomb', { 'bomb.png': make() });
      await expectRefusal(c, ['upscale', '-m', 'model', 'bomb.png', 'out.png'], { outputs: ['out.png'], mentions: ['bomb.png'] });
      assert.ok(!existsSync(join(c.dir, 'out.png')), 'no output is written for a refused input');
    });
  }

  const bombs: Array<[string, () => Uint8Array]> = [
    ['a 20000 x 20000 1-bit PNG of 48 KB (400 megapixels; case 8)', () => pixelBomb()],
    ['a header claiming 2^31 - 1 pixels square', () => hugeHeader()],
    ['a 16 x 16 header whose IDAT inflates to 400 MB', () => idatOverflow()],
  ];
  for (const [what, make] of bombs) {
    it(`refuses ${what} quickly, in bounded memory, naming the file`, async () => {
      const c = withCase('png-bomb', { 'bomb.png': make() });
      await expectRefusal(c, ['downscale', '-m', 'model', 'bomb.png', 'out.png'], { outputs: ['out.png'], mentions: ['bomb.png'] });
      assert.ok(!existsSync(join(c.dir, 'out.png')), 'no output is written for a refused input');
    });
  }

  it('refuses a pixel bomb in a folder run and still processes the good photos', async () => {
    const c = withCase('png-bomb-folder', { 'photos/zz-bomb.png': pixelBomb() });
    await expectRefusal(c, ['downscale', '-m', 'model', 'photos', 'lr'], { outputs: ['lr'], lines: 'all-errors', mentions: ['zz-bomb.png'] });
    assert.ok(existsSync(join(c.dir, 'lr', 'astronaut-48x40.png')), 'the good photos are downscaled');
  });

  it('lets --limit lower the pixel limit (a normal photo refused) and refuses a bad --limit as a usage error', async () => {
    const c = withCase('png-limit');
    await expectRefusal(c, ['--limit', 'pixels=1000', 'downscale', '-m', 'model', 'photos/astronaut-48x40.png', 'out.png'], {
      outputs: ['out.png'],
      mentions: ['astronaut-48x40.png'],
    });
    await expectRefusal(c, ['--limit', 'pixels=-3', 'downscale', '-m', 'model', 'photos/astronaut-48x40.png', 'out.png'], { codes: [2], outputs: ['out.png'] });
  });

  it('survives 24 seeded random mutations of real photos in one folder run: every failure one clean line', async () => {
    const c = withCase('png-mutants');
    mkdirSync(join(c.dir, 'mutants'));
    const sources = ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-palette-24x20.png', 'camera-grey16-32x24.png'];
    const log: string[] = [];
    for (let i = 0; i < 24; i++) {
      const source = sources[i % sources.length];
      const m = mutatePng(new Uint8Array(readFileSync(join(IMAGES, source))), 1000 + i);
      const name = `m${String(i).padStart(2, '0')}.png`;
      writeFileSync(join(c.dir, 'mutants', name), m.bytes);
      log.push(`${name}: ${source} ${m.what}`);
    }
    const run = await expectBoundedRun(c, ['downscale', '-m', 'model', 'mutants', 'lr'], { outputs: ['lr'], bounds: { ms: 40_000 } });
    // Every stderr line names a file: a failure the user can act on.
    for (const line of run.stderr.split('\n').filter((l) => l.startsWith('irn: error: m'))) {
      assert.match(line, /^irn: error: mutants\/m\d\d\.png: \S/, `${line}\n${log.join('\n')}`);
    }
  });
});

describe('decodePng on seeded random mutations, in this process', () => {
  it('throws only PngFormatError or LimitError with a clear message, each within 1 s, in bounded memory', () => {
    const sources = ['astronaut-48x40.png', 'chelsea-rgba-40x32.png', 'coffee-palette-24x20.png', 'camera-grey16-32x24.png', 'camera-1bit-21x13.png', 'coffee-33x27.png'];
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const problems: string[] = [];
    let refused = 0;
    for (const source of sources) {
      const png = new Uint8Array(readFileSync(join(IMAGES, source)));
      for (let seed = 1; seed <= 300; seed++) {
        const m = mutatePng(png, seed);
        const start = performance.now();
        try {
          decodePng(m.bytes);
        } catch (e) {
          refused++;
          const message = e instanceof Error ? e.message : String(e);
          if (!(e instanceof PngFormatError || e instanceof LimitError)) problems.push(`${source} ${m.what}: threw ${e instanceof Error ? e.name : typeof e}: ${message}`);
          else if (RAW_JS.some((re) => re.test(message))) problems.push(`${source} ${m.what}: raw JavaScript message: ${message}`);
          else if (message.includes('\n')) problems.push(`${source} ${m.what}: message of several lines`);
        }
        const ms = performance.now() - start;
        if (ms > 1000) problems.push(`${source} ${m.what}: took ${ms.toFixed(0)} ms`);
        if (problems.length >= 10) break;
      }
    }
    const grew = process.resourceUsage().maxRSS * 1024 - rssBefore;
    if (grew > 500 * 1024 * 1024) problems.push(`peak memory grew by ${(grew / 2 ** 20).toFixed(0)} MB`);
    assert.deepEqual(problems, [], problems.join('\n'));
    assert.ok(refused > 600, `only ${refused} of 1800 mutants were refused: the mutations are too weak to test anything`);
  });
});
