// Hostile PyTorch checkpoints (issue 15, cases 9, 10, 11 and 14's NaN weights, and seeded
// random damage of real checkpoints) through `irn convert` as a user runs it, bounded in time
// and memory, and through readTorchStateDict in this process. See test/fuzz/README.md.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { LimitError } from '../../packages/core/src/limits.js';
import { TorchFormatError } from '../../packages/core/src/weights/pytorch/errors.js';
import { readTorchStateDict } from '../../packages/core/src/weights/pytorch/read-state-dict.js';
import { expectRefusal, newCase, type Case } from './cases.js';
import {
  billionLaughsPth,
  billionLaughsUnusedPth,
  deepNestingPth,
  fillTorchStorages,
  manyStrideZeroPth,
  mutateTorchZip,
  strideZeroPth,
  zipBombUnusedPth,
  zipBombUsedPth,
} from './generators.js';
import { RAW_JS, requireBuiltCli, TORCH } from './node-fixtures.js';

const cases: Case[] = [];
after(() => {
  for (const c of cases) c.cleanup();
});

function withCase(name: string, files: Record<string, Uint8Array>): Case {
  requireBuiltCli();
  const c = newCase(name, null, files);
  cases.push(c);
  return c;
}

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(TORCH, name)));
}

describe('hostile checkpoints through irn convert', () => {
  const attacks: Array<[string, () => Uint8Array]> = [
    ['a stride-0 tensor: a few hundred bytes claiming 10^9 elements (case 9)', () => strideZeroPth()],
    ['64 stride-0 tensors of 40 M elements each (2.56 G in all)', () => manyStrideZeroPth()],
    ['a zip bomb: an unused 1 GB entry in 1 MB (case 10)', () => zipBombUnusedPth()],
    ['a zip bomb: the used storage entry says 24 bytes and inflates to 1 GB (case 10)', () => zipBombUsedPth()],
    ['a billion-laughs pickle of 1 KB (case 11)', () => billionLaughsPth()],
    ['a billion-laughs pickle left in the memo, never used', () => billionLaughsUnusedPth()],
    ['a pickle nested 100,000 lists deep', () => deepNestingPth()],
    ['the real x2 checkpoint with one conv kernel all NaN (case 14)', () => fillTorchStorages(fixture('irn_x2.pth'), Number.NaN, true)],
    ['the real x2 checkpoint with one conv kernel all +Infinity', () => fillTorchStorages(fixture('irn_x2.pth'), Infinity, true)],
  ];
  for (const [what, make] of attacks) {
    it(`refuses ${what} quickly, in bounded memory, writing no model`, async () => {
      const c = withCase('torch', { 'evil.pth': make() });
      await expectRefusal(c, ['convert', 'evil.pth', 'converted'], { outputs: ['converted'], mentions: ['evil.pth'] });
      assert.ok(!existsSync(join(c.dir, 'converted', 'model.json')), 'no model.json is written for a refused checkpoint');
    });
  }

  it('converts the real checkpoint it was given (the suite can tell success from refusal)', async () => {
    const c = withCase('torch-ok', { 'irn_x2.pth': fixture('irn_x2.pth') });
    const { runCli, describeRun } = await import('./node-fixtures.js');
    const run = await runCli(['-q', 'convert', 'irn_x2.pth', 'converted'], c.dir);
    assert.equal(run.code, 0, describeRun(run));
    assert.ok(existsSync(join(c.dir, 'converted', 'model.json')));
  });

  it('refuses 6 seeded random mutations of the real checkpoint cleanly, or converts them', async () => {
    const { runCli, describeRun, cleanFailureProblems } = await import('./node-fixtures.js');
    const real = fixture('irn_x2.pth');
    for (let seed = 1; seed <= 6; seed++) {
      const m = mutateTorchZip(real, 500 + seed);
      const c = withCase('torch-mutant', { 'mutant.pth': m.bytes });
      const run = await runCli(['-q', 'convert', 'mutant.pth', 'converted'], c.dir);
      const problems = cleanFailureProblems(run, [0, 1], undefined, { lines: run.code === 0 ? 'all-errors' : 'one' });
      assert.deepEqual(problems, [], `${m.what}: ${problems.join('; ')}\n${describeRun(run)}`);
    }
  });
});

describe('readTorchStateDict on seeded random mutations, in this process', () => {
  it('throws only TorchFormatError or LimitError with a clear message, each within 1 s, in bounded memory', () => {
    const rssBefore = process.resourceUsage().maxRSS * 1024;
    const problems: string[] = [];
    let refused = 0;
    let total = 0;
    for (const [file, count] of [['strided.pth', 400], ['irn_x2.pth', 150], ['irn_x2_half.pth', 100]] as const) {
      const real = fixture(file);
      for (let seed = 1; seed <= count; seed++) {
        const m = mutateTorchZip(real, seed);
        total++;
        const start = performance.now();
        try {
          readTorchStateDict(m.bytes);
        } catch (e) {
          refused++;
          const message = e instanceof Error ? e.message : String(e);
          if (!(e instanceof TorchFormatError || e instanceof LimitError)) problems.push(`${file} ${m.what}: threw ${e instanceof Error ? e.name : typeof e}: ${message}`);
          else if (RAW_JS.some((re) => re.test(message))) problems.push(`${file} ${m.what}: raw JavaScript message: ${message}`);
        }
        const ms = performance.now() - start;
        if (ms > 1000) problems.push(`${file} ${m.what}: took ${ms.toFixed(0)} ms`);
        if (problems.length >= 10) break;
      }
    }
    const grew = process.resourceUsage().maxRSS * 1024 - rssBefore;
    if (grew > 500 * 1024 * 1024) problems.push(`peak memory grew by ${(grew / 2 ** 20).toFixed(0)} MB`);
    assert.deepEqual(problems, [], problems.join('\n'));
    assert.ok(refused > total / 3, `only ${refused} of ${total} mutants were refused: the mutations are too weak to test anything`);
  });
});
