// Runs that used to end badly on hostile or careless input (issue 15, items 13 to 15): a
// whole large photo at once, absurd temperatures, weights that overflow, lying LR metadata,
// a stray error after TensorFlow.js loaded. Each must end in one `irn: error:` line with
// exit status 1 (2 for a bad command line), quickly, and write nothing.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { encodePng } from '../../packages/core/src/image/png-write.js';
import { lrMetadataXmp } from '../../packages/core/src/image/lr-formats.js';
import { withWebpXmp } from '../../packages/core/src/image/webp-container.js';
import { riff, vp8lHeader } from '../../packages/core/src/testing/fixtures.js';
import { printable } from '../../packages/cli/src/cli/output.js';
import { failedCleanly, IMAGES, irn, saveSmallModel } from './helpers.js';

/** The memory refusal comes before any tensor: decoding the 24 MP photo is all the time it takes. */
const REFUSAL_MAX_SECONDS = 30;

let work: string;

before(async () => {
  await useNodeBackend('wasm');
  work = mkdtempSync(join(tmpdir(), 'irn-hostile-run-'));
  (await saveSmallModel(join(work, 'model'), { perturbStd: 0.02, seed: 3 })).dispose();
  // Finite weights (so the model loads) large enough to overflow float32 inside the network.
  (await saveSmallModel(join(work, 'overflowing'), { perturbStd: 1e30, seed: 5 })).dispose();
  copyFileSync(join(IMAGES, 'astronaut-48x40.png'), join(work, 'a.png'));
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a whole large photo at once (item 13)', () => {
  it('refuses --tile 0 on a 6000x4000 photo with a tile size that fits, with and without --verbose', async () => {
    const [w, h] = [6000, 4000];
    writeFileSync(join(work, 'big.png'), encodePng({ width: w, height: h, channels: 1, data: new Float32Array(w * h).fill(0.25) }));
    for (const verbose of [[], ['--verbose']]) {
      const started = performance.now();
      const run = await irn(['downscale', '-m', 'model', '--tile', '0', ...verbose, 'big.png', 'big-lr.png'], work);
      const seconds = (performance.now() - started) / 1000;
      assert.equal(failedCleanly(run, 1), null, run.stderr);
      assert.match(
        run.stderr,
        /^irn: error: big\.png: processing the whole 6000x4000 image at once needs about [\d.]+ GB of tensor memory, more than the [\d.]+ GB available; use --tile 256 or less\n$/,
      );
      assert.ok(seconds < REFUSAL_MAX_SECONDS, `took ${seconds.toFixed(1)} s`);
      assert.equal(existsSync(join(work, 'big-lr.png')), false);
    }
  });
});

describe("commander's own errors", () => {
  it('write a terminal escape in an unknown option (a file name a glob picked up) as \\x1b', async () => {
    const run = await irn(['downscale', '--x\x1b[31m', 'a.png'], work);
    assert.equal(failedCleanly(run, 2), null, run.stderr);
    assert.equal(run.stderr, "irn: error: unknown option '--x\\x1b[31m'\n");
  });
});

describe('a newline in a file name', () => {
  it('is written \\x0a in the error of a one-file run, as in a folder run, so the line stays one', async () => {
    writeFileSync(join(work, 'bad\nfile.png'), 'not a png');
    const run = await irn(['downscale', '-m', 'model', 'bad\nfile.png', 'bad-out.png'], work);
    assert.equal(failedCleanly(run, 1), null, run.stderr);
    assert.match(run.stderr, /^irn: error: bad\\x0afile\.png: [^\n]+\n$/);
  });
});

describe('tiles far smaller than their overlap', () => {
  // --tile 1 on a 128x128 photo ran past 2 minutes without a word: every LR pixel computed
  // 81 x 81 times (the small model's overlap is 10 LR pixels each side, here 40 given).
  for (const [op, input, args, size] of [
    ['downscale', 'b128.png', ['--tile', '1', '--overlap', '40'], '64x64'],
    ['upscale', 'a.png', ['--tile', '2', '--overlap', '99999'], '48x40'],
  ] as const) {
    it(`${op} ${args.join(' ')} is refused in one line naming both options, before any pass`, async () => {
      writeFileSync(join(work, 'b128.png'), encodePng({ width: 128, height: 128, channels: 3, data: new Float32Array(128 * 128 * 3).fill(0.5) }));
      const started = performance.now();
      const run = await irn([op, '-m', 'model', ...args, input, `tiny-tiles-${op}.png`], work);
      assert.equal(failedCleanly(run, 1), null, run.stderr);
      assert.match(
        run.stderr,
        new RegExp(`^irn: error: ${input.replace('.', '\\.')}: tiles of \\d+ LR pixels with an overlap of \\d+ would compute the ${size} LR image's pixels \\d+ times over \\(at most 64\\); use a larger --tile or a smaller --overlap\n$`),
      );
      assert.ok(performance.now() - started < REFUSAL_MAX_SECONDS * 1000);
      assert.equal(existsSync(join(work, `tiny-tiles-${op}.png`)), false);
    });
  }
  // --tile 1 --overlap 0 computes each pixel once, but in 4,096 tiles of a fixed cost each: 34 s
  // for a 256x256 photo that takes half a second.
  it('downscale --tile 1 --overlap 0 is refused in one line naming --tile, before any pass', async () => {
    writeFileSync(join(work, 'b128.png'), encodePng({ width: 128, height: 128, channels: 3, data: new Float32Array(128 * 128 * 3).fill(0.5) }));
    const started = performance.now();
    const run = await irn(['downscale', '-m', 'model', '--tile', '1', '--overlap', '0', 'b128.png', 'tile-1-no-overlap.png'], work);
    assert.equal(failedCleanly(run, 1), null, run.stderr);
    assert.equal(
      run.stderr,
      "irn: error: b128.png: tiles of 1 LR pixels would cut the 64x64 LR image into 4,096 tiles (at most 1,024 or one per 16 of its pixels, whichever is more); use a larger --tile\n",
    );
    assert.ok(performance.now() - started < REFUSAL_MAX_SECONDS * 1000);
    assert.equal(existsSync(join(work, 'tile-1-no-overlap.png')), false);
  });
});

describe('silently wrong output (item 14)', { concurrency: 2 }, () => {
  for (const t of ['1e308', '10.5', 'Infinity']) {
    it(`refuses --temperature ${t}`, async () => {
      const run = await irn(['upscale', '-m', 'model', '--z', 'gaussian', '--temperature', t, 'a.png', 'o.png'], work);
      assert.equal(failedCleanly(run, 2), null, run.stderr);
      assert.match(run.stderr, /The temperature must be a number from 0 to 10/);
    });
  }

  it('refuses to write what a model with overflowing weights produces, upscaling and downscaling', async () => {
    const [down, up] = await Promise.all([
      irn(['downscale', '-m', 'overflowing', 'a.png', 'o-down.png'], work),
      irn(['upscale', '-m', 'overflowing', 'a.png', 'o-up.png'], work),
    ]);
    for (const run of [down, up]) {
      assert.equal(failedCleanly(run, 1), null, run.stderr);
      assert.match(run.stderr, /^irn: error: a\.png: the model produced (NaN|infinite) values \(the (LR|restored) image, first at pixel \d+, \d+\); its weights may be damaged\n$/);
    }
    assert.equal(existsSync(join(work, 'o-down.png')), false);
    assert.equal(existsSync(join(work, 'o-up.png')), false);
  });
});

describe('lying LR metadata (item 15)', { concurrency: 2 }, () => {
  const lr = (meta: string) => encodePng({ width: 4, height: 4, channels: 3, data: new Float32Array(48).fill(0.5) }, { text: { irn: meta } });

  it('says a scale no IRN model has is wrong metadata, not "use an x3 model"', async () => {
    writeFileSync(join(work, 'lr-x3.png'), lr('{"scale":3,"width":12,"height":12}'));
    const run = await irn(['upscale', '-m', 'model', 'lr-x3.png', 'o.png'], work);
    assert.equal(failedCleanly(run, 1), null, run.stderr);
    assert.match(run.stderr, /lr-x3\.png: its "irn" text chunk claims scale 3, which no IRN model has \(x2, x4, x8\); the metadata is wrong\n$/);
    assert.doesNotMatch(run.stderr, /use an x3 model/);
  });

  it('bounds the restored size by the pixel limit, and escapes control characters from the chunk', async () => {
    const run = await irn(['--limit', 'pixels=5000', 'upscale', '-m', 'model', 'a.png', 'o.png'], work);
    assert.equal(failedCleanly(run, 1), null, run.stderr);
    assert.match(run.stderr, /a\.png: the restored image \(96x80\) is 7,680 pixels, above the limit of 5,000 pixels \(raise it with --limit pixels=N\)\n$/);
    writeFileSync(join(work, 'lr-esc.png'), lr('\u001b[2J{"scale":2}'));
    const esc = await irn(['upscale', '-m', 'model', 'lr-esc.png', 'o.png'], work);
    assert.equal(failedCleanly(esc, 1), null, esc.stderr);
    assert.ok(!esc.stderr.includes('\u001b'), 'an escape character reached the terminal');
    assert.match(esc.stderr, /text chunk is not JSON: "\\u001b\[2J\{\\"scale\\":2\}"/);
  });

  it('checks the restored size from the headers, before decoding the LR', async () => {
    // A WebP that is all header (no bitstream): decoding it fails, so the size refusal can only
    // come first. 60x60 at x2 restores to 120x120 = 14,400 pixels, over a limit of 5,000.
    writeFileSync(join(work, 'header-only.webp'), withWebpXmp(riff([['VP8L', vp8lHeader(60, 60)]]), lrMetadataXmp({ scale: 2, width: 120, height: 120 })));
    const run = await irn(['--limit', 'pixels=5000', 'upscale', '-m', 'model', 'header-only.webp', 'o.png'], work);
    assert.equal(failedCleanly(run, 1), null, run.stderr);
    assert.match(run.stderr, /header-only\.webp: the restored image \(120x120\) is 14,400 pixels, above the limit of 5,000 pixels/);
    // Within the limit the same file gets as far as the decoder, which refuses it.
    const decoded = await irn(['upscale', '-m', 'model', 'header-only.webp', 'o.png'], work);
    assert.equal(failedCleanly(decoded, 1), null, decoded.stderr);
    assert.match(decoded.stderr, /cannot be decoded/);
  });
});

describe('raw JavaScript errors (item 15)', () => {
  it('writes control characters of a file name as \\xNN, so a name cannot drive the terminal', async () => {
    const dir = join(work, 'esc');
    const name = 'x\x1b]0;PWNED\x07\x1b[2Jy.png';
    mkdirSync(dir);
    writeFileSync(join(dir, name), 'not a PNG');
    copyFileSync(join(IMAGES, 'coffee-33x27.png'), join(dir, 'ok.png'));
    const run = await irn(['downscale', '-m', 'model', 'esc', 'esc-out'], work);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(run.stderr), `raw control characters on stderr: ${JSON.stringify(run.stderr)}`);
    assert.match(run.stderr, /^irn: error: esc\/x\\x1b\]0;PWNED\\x07\\x1b\[2Jy\.png: not a PNG, JPEG, WebP or AVIF file$/m);
    assert.equal(printable('tab\tok\u0085\u009b\u007f'), 'tab\tok\\x85\\x9b\\x7f');
  });

  it('a stray rejection after the wasm backend loaded ends in one line and exit status 1, not 7', async () => {
    // Rejects a promise nobody awaits once Emscripten has added its rethrowing handlers.
    const preload = join(work, 'stray.mjs');
    writeFileSync(
      preload,
      `const timer = setInterval(() => {
        if (process.listenerCount('unhandledRejection') < 2) return;
        clearInterval(timer);
        Promise.reject(new TypeError("Cannot read properties of null (reading 'x')"));
      }, 2);
      timer.unref();\n`,
    );
    const env = { NODE_OPTIONS: `--import ${preload}` };
    const [plain, debug] = await Promise.all([
      irn(['downscale', '-m', 'model', 'a.png', 'o-stray.png'], work, env),
      irn(['--debug', 'downscale', '-m', 'model', 'a.png', 'o-stray2.png'], work, env),
    ]);
    assert.equal(failedCleanly(plain, 1), null, plain.stderr);
    assert.equal(plain.stderr, 'irn: error: internal error (TypeError); please report it with the output of --debug\n');
    assert.equal(debug.code, 1, debug.stderr);
    assert.match(debug.stderr, /^irn: error: internal error \(TypeError\)[^\n]*\nTypeError: Cannot read properties of null \(reading 'x'\)\n\s+at /);
  });
});
