// Runs every Node unit test (`*_test.ts` under packages/*/src, playground/src and test/) with Node's own test
// runner through tsx. Node 20's `--test` does not expand globs, so the files are listed here.
//   node scripts/node-tests.mjs [extra node --test flags]
// The CLI tests run the built `irn` (packages/cli/dist/cli.js, rebuilt here when stale); with
// `IRN_CLI=` (empty) they run it from source.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const skip = new Set(['node_modules', 'dist', '.git', '.scratch', 'out']);

function find(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...find(path));
    else if (entry.name.endsWith('_test.ts')) found.push(relative(root, path));
  }
  return found;
}

const packages = join(root, 'packages');
const files = [
  ...readdirSync(packages).flatMap((p) => {
    try {
      return find(join(packages, p, 'src'));
    } catch {
      return [];
    }
  }),
  ...find(join(root, 'playground', 'src')),
  ...find(join(root, 'test')),
].sort();
if (files.length === 0) {
  console.error('no *_test.ts files found');
  process.exit(1);
}
// Two test files at a time (each its own process): the suite is mostly CLI tests that wait on
// child processes, and on a 2-core machine this takes about 9 minutes instead of 11-14.
// IRN_TEST_CONCURRENCY=1 runs one file at a time, as before.
const concurrency = Number(process.env.IRN_TEST_CONCURRENCY ?? 2);
if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
  console.error(`IRN_TEST_CONCURRENCY must be a whole number from 1, got ${process.env.IRN_TEST_CONCURRENCY}`);
  process.exit(1);
}
// The CLI tests start `irn` hundreds of times: from its bundle (what the `irn` bin runs) each
// start takes about half as long as from source through tsx, which saves minutes. So the
// bundle is brought up to date first (nothing to do after `pnpm build`) and named in IRN_CLI
// (test/cli/helpers.ts); `IRN_CLI= node scripts/node-tests.mjs` tests the source instead.
const env = { ...process.env };
if (env.IRN_CLI == null) {
  const built = spawnSync(process.execPath, [join(root, 'scripts/ensure-built.mjs'), '@irn/cli'], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
  env.IRN_CLI = 'packages/cli/dist/cli.js';
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, ...process.argv.slice(2), ...files],
  { cwd: root, stdio: 'inherit', env },
);
process.exit(result.status ?? 1);
