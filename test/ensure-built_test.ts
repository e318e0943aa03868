/**
 * scripts/ensure-built.mjs, which `pnpm start` and `pnpm test` run first (issue 14, item 6):
 * its decisions on a temporary tree of fake sources and outputs whose modification times are
 * set with utimes, and on this repository after `pnpm build` (nothing to do, quickly).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { buildPlan, installReason, needed, PACKAGES, type BuiltPackage } from '../scripts/ensure-built.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Two packages: `b` bundles `a`, as @irn/element bundles @irn/core. */
const FAKE: BuiltPackage[] = [
  { name: 'a', inputs: ['a/src', 'a/build.config', 'lock'], outputs: ['a/dist/a.js', 'a/dist/a.d.ts'], bundles: [] },
  { name: 'b', inputs: ['b/src', 'lock'], outputs: ['b/dist/b.js'], bundles: ['a'] },
];

let root: string;

/** Writes `path` (relative to the temporary root) with modification time `t` (seconds). */
function file(path: string, t: number, content = 'x'): void {
  const p = join(root, path);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, content);
  utimesSync(p, t, t);
}

/** A tree where every output (t = 200) is newer than every input (t = 100). */
function freshTree(): void {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root);
  for (const f of ['a/src/index.ts', 'a/src/deep/util.ts', 'a/build.config', 'lock', 'b/src/main.ts']) file(f, 100);
  for (const f of ['a/dist/a.js', 'a/dist/a.d.ts', 'b/dist/b.js']) file(f, 200);
}

before(() => {
  root = mkdtempSync(join(tmpdir(), 'irn-ensure-built-'));
});
after(() => rmSync(root, { recursive: true, force: true }));

describe('buildPlan', () => {
  it('builds nothing when every output is newer than its inputs', () => {
    freshTree();
    assert.deepEqual(buildPlan(root, FAKE), []);
  });

  it('builds everything on a fresh clone (no dist), dependents because their dependency is rebuilt', () => {
    freshTree();
    rmSync(join(root, 'a/dist'), { recursive: true });
    rmSync(join(root, 'b/dist'), { recursive: true });
    assert.deepEqual(buildPlan(root, FAKE), [
      { name: 'a', reason: 'a/dist/a.js is missing' },
      { name: 'b', reason: 'a is rebuilt' },
    ]);
  });

  it('rebuilds a package whose source, deep in src/, is newer than its oldest output, then what bundles it', () => {
    freshTree();
    file('a/dist/a.d.ts', 150); // the oldest output
    file('a/src/deep/util.ts', 160);
    assert.deepEqual(buildPlan(root, FAKE), [
      { name: 'a', reason: 'a/dist/a.d.ts is older than a/src/deep/util.ts' },
      { name: 'b', reason: 'a is rebuilt' },
    ]);
  });

  it('compares with the oldest output: one output newer than the source does not make it fresh', () => {
    freshTree();
    file('a/dist/a.js', 150);
    file('a/src/index.ts', 160); // newer than a.js, older than a.d.ts (200)
    assert.equal(buildPlan(root, FAKE)[0]?.reason, 'a/dist/a.js is older than a/src/index.ts');
  });

  it("counts config files and the installed dependencies (pnpm's copy of the lockfile) as inputs", () => {
    freshTree();
    file('a/build.config', 300);
    assert.equal(buildPlan(root, FAKE)[0]?.reason, 'a/dist/a.js is older than a/build.config');
    freshTree();
    file('lock', 300);
    assert.deepEqual(buildPlan(root, FAKE).map((p) => p.name), ['a', 'b']);
  });

  it('ignores tests, dotfiles, node_modules and dist folders inside src/', () => {
    freshTree();
    for (const f of ['a/src/index_test.ts', 'a/src/x.test.ts', 'a/src/.index.ts.swp', 'a/src/node_modules/m.js', 'a/src/dist/old.js']) file(f, 300);
    assert.deepEqual(buildPlan(root, FAKE), []);
  });

  it("rebuilds only the dependent when a dependency's output is newer than its own (dependency built alone)", () => {
    freshTree();
    file('a/dist/a.js', 250);
    file('a/dist/a.d.ts', 250);
    assert.deepEqual(buildPlan(root, FAKE), [{ name: 'b', reason: 'b/dist/b.js is older than a/dist/a.js' }]);
  });
});

describe('needed', () => {
  it('is every package by default, else the named ones and what they bundle', () => {
    assert.deepEqual([...needed([], FAKE)].sort(), ['a', 'b']);
    assert.deepEqual([...needed(['a'], FAKE)], ['a']);
    assert.deepEqual([...needed(['b'], FAKE)].sort(), ['a', 'b']);
    // `pnpm irn` builds the CLI and core only; `pnpm example` the element and core, not the playground.
    assert.deepEqual([...needed(['@irn/core'])], ['@irn/core']);
    assert.deepEqual([...needed(['@irn/cli'])].sort(), ['@irn/cli', '@irn/core']);
    assert.deepEqual([...needed(['@irn/element'])].sort(), ['@irn/core', '@irn/element', '@irn/weights']);
    assert.throws(() => needed(['@irn/nope'], FAKE), /no package @irn\/nope with a build \(known: a, b\)/);
  });
});

describe('installReason', () => {
  const lockText = 'lockfileVersion: 9\n';
  const stamp = (text: string) => JSON.stringify({ lock: createHash('sha256').update(text).digest('hex') });

  it('installs when node_modules is missing or was not made by pnpm', () => {
    freshTree();
    file('pnpm-lock.yaml', 100, lockText);
    assert.equal(installReason(root), 'node_modules is missing');
    mkdirSync(join(root, 'node_modules'));
    assert.match(installReason(root) ?? '', /node_modules\/\.pnpm\/lock\.yaml is missing/);
  });

  it('installs when pnpm-lock.yaml is newer than the installed one, unless it is what was last installed', () => {
    freshTree();
    file('pnpm-lock.yaml', 300, lockText);
    file('node_modules/.pnpm/lock.yaml', 200);
    assert.equal(installReason(root), 'pnpm-lock.yaml is newer than node_modules');
    // A checkout touched the lockfile but its content is what ensure-built installed last: a
    // no-op `pnpm install` leaves node_modules/.pnpm/lock.yaml as it was, so only this stops
    // it from installing on every run.
    file('node_modules/.irn-ensure-built.json', 250, stamp(lockText));
    assert.equal(installReason(root), null);
    file('node_modules/.irn-ensure-built.json', 250, stamp('lockfileVersion: 8\n'));
    assert.equal(installReason(root), 'pnpm-lock.yaml is newer than node_modules');
  });

  it('does nothing when node_modules was installed after the lockfile was written', () => {
    freshTree();
    file('pnpm-lock.yaml', 100, lockText);
    file('node_modules/.pnpm/lock.yaml', 200);
    assert.equal(installReason(root), null);
  });
});

describe('this repository', () => {
  it('names inputs that exist, so a renamed config cannot silently drop out of the check', () => {
    for (const pkg of PACKAGES) {
      for (const input of pkg.inputs) assert.ok(existsSync(join(ROOT, input)), `${pkg.name}: input ${input} does not exist`);
      for (const b of pkg.bundles) assert.ok(PACKAGES.indexOf(PACKAGES.find((p) => p.name === b)!) < PACKAGES.indexOf(pkg), `${pkg.name} bundles ${b}, which is not built before it`);
    }
  });

  it('has nothing to do after `pnpm build`, and says so quickly (no output, exit 0)', () => {
    const t0 = performance.now();
    const plan = buildPlan();
    const planMs = performance.now() - t0;
    const why = plan.map((p) => `${p.name}: ${p.reason}`).join('; ');
    assert.deepEqual(plan, [], `stale (${why}): run \`pnpm build\` (\`pnpm test\` builds first) before this test file alone`);
    assert.equal(installReason(), null);
    assert.ok(planMs < 300, `the staleness check took ${planMs.toFixed(0)} ms`);
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts/ensure-built.mjs'), '--check'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, IRN_ENSURE_BUILT: '' } });
    assert.equal(run.stderr + run.stdout, '');
    assert.equal(run.status, 0);
  });
});
