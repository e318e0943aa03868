// What the hostile-*_test.ts files share: a tiny model made once per file, a case folder with
// the user's files in it, and the assertions every case makes (issue 15: one `irn: error:`
// line, the expected exit status, bounded time and memory, nothing the user did not name as
// output touched).
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { saveSmallModel } from '../cli/helpers.js';
import {
  caseDir,
  changesOutside,
  cleanFailureProblems,
  copyModel,
  DEFAULT_BOUNDS,
  describeRun,
  IMAGES,
  requireBuiltCli,
  runCli,
  snapshot,
  type Bounds,
  type Measured,
} from './node-fixtures.js';

/** A small x2 model (1 block, growth 4, perturbed weights), saved once and copied per case. */
export async function makeModel(dir: string): Promise<void> {
  await useNodeBackend('wasm');
  (await saveSmallModel(dir, { perturbStd: 0.02, seed: 3 })).dispose();
}

/** The photos a case starts with: real crops from packages/core/test-fixtures/images. */
export const PHOTOS = ['astronaut-48x40.png', 'coffee-33x27.png', 'chelsea-rgba-40x32.png'];

/** One case's folder: `model/` (a copy of `model`), `photos/` and anything `files` adds. */
export interface Case {
  dir: string;
  cleanup(): void;
}

export function newCase(name: string, model: string | null, files: Record<string, Uint8Array> = {}): Case {
  const dir = caseDir(name);
  if (model != null) copyModel(model, join(dir, 'model'));
  mkdirSync(join(dir, 'photos'));
  for (const p of PHOTOS) copyFileSync(join(IMAGES, p), join(dir, 'photos', p));
  for (const [rel, bytes] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), bytes);
  }
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The cases of one test file on one tiny model: registers a `before` hook that checks the CLI
 * is built and makes the model in `caseDir(modelDir)`, and an `after` hook that removes every
 * case folder and the model. `withCase(name, files)` makes a case folder with a copy of it
 * ({@link newCase}).
 */
export function casesOnModel(modelDir: string): { withCase(name: string, files?: Record<string, Uint8Array>): Case } {
  let model: string | undefined;
  const cases: Case[] = [];
  before(async () => {
    requireBuiltCli();
    model = join(caseDir(modelDir), 'model');
    await makeModel(model);
  });
  after(() => {
    for (const c of cases) c.cleanup();
    if (model != null) rmSync(join(model, '..'), { recursive: true, force: true });
  });
  return {
    withCase(name, files = {}) {
      if (model == null) throw new Error(`case ${name}: the model is made in a before hook; make cases inside tests`);
      const c = newCase(name, model, files);
      cases.push(c);
      return c;
    },
  };
}

/** What a case expects of a run. */
export interface Expect {
  /** Allowed exit statuses (default [1]). */
  codes?: number[];
  bounds?: Partial<Bounds>;
  /** Paths (relative to the case folder) the command may write; everything else must stay as it was. */
  outputs?: string[];
  /** Paths the test itself changes during the run (planted links). */
  ignore?: string[];
  /** 'all-errors' for folder runs, which print one line per failed file. */
  lines?: 'one' | 'all-errors';
  /** Text the error must mention (the file at fault). */
  mentions?: string[];
  onSpawn?: (pid: number) => void;
}

/**
 * Runs `irn -q ...args` in the case folder and asserts a clean, bounded failure that touched
 * nothing but `outputs`. Returns the run for further checks.
 */
export async function expectRefusal(c: Case, args: string[], expect: Expect = {}): Promise<Measured> {
  const bounds = { ...DEFAULT_BOUNDS, ...expect.bounds };
  const before = snapshot(c.dir);
  const run = await runCli(['-q', ...args], c.dir, { bounds, onSpawn: expect.onSpawn });
  const problems = cleanFailureProblems(run, expect.codes ?? [1], bounds, { lines: expect.lines });
  if (!run.killed) {
    for (const m of expect.mentions ?? []) if (!run.stderr.includes(m)) problems.push(`the error does not name ${m}`);
  }
  problems.push(...changesOutside(c.dir, before, expect.outputs ?? [], expect.ignore).map((ch) => `user file touched: ${ch}`));
  assert.deepEqual(problems, [], `${problems.join('; ')}\n${describeRun(run)}`);
  return run;
}

/** Runs `irn -q ...args` and asserts only the bounds and that files outside `outputs` are untouched. */
export async function expectBoundedRun(c: Case, args: string[], expect: Expect = {}): Promise<Measured> {
  const bounds = { ...DEFAULT_BOUNDS, ...expect.bounds };
  const before = snapshot(c.dir);
  const run = await runCli(['-q', ...args], c.dir, { bounds, onSpawn: expect.onSpawn });
  const problems = cleanFailureProblems(run, expect.codes ?? [0, 1], bounds, { lines: 'all-errors' });
  problems.push(...changesOutside(c.dir, before, expect.outputs ?? [], expect.ignore).map((ch) => `user file touched: ${ch}`));
  assert.deepEqual(problems, [], `${problems.join('; ')}\n${describeRun(run)}`);
  return run;
}
