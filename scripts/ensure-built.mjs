// `pnpm start`, `pnpm test`, `pnpm example`, `pnpm irn` and `pnpm demo` run this first, so that
// on a fresh clone (or after a `git pull`) the README's commands need nothing before them:
//   node scripts/ensure-built.mjs [package...]  installs and builds what is missing or stale:
//                                               every package, or only those named and what
//                                               they bundle (`pnpm irn`: @irn/cli and @irn/core)
//   node scripts/ensure-built.mjs --check ...   only prints what it would do (exit 1 if anything)
// It prints one line per step it takes, on stderr (so that `pnpm irn info --json` keeps a
// clean stdout), and nothing when everything is fresh; it then costs a few stat calls (~20 ms).
//
// Staleness is decided by modification times, per package: a package is rebuilt when one of
// its build outputs is missing or older than the newest of its inputs (its src/ tree without
// the tests, its build configs, the installed dependencies, and the outputs of the workspace
// packages it bundles). A package whose dependency is rebuilt is rebuilt after it. node_modules is
// (re)installed with `pnpm install --frozen-lockfile` when it is missing or pnpm-lock.yaml is
// newer than pnpm's own copy (node_modules/.pnpm/lock.yaml) and differs from the lockfile
// this script last installed (a no-op `pnpm install` leaves pnpm's copy untouched, so the
// content is what settles it after a checkout that only touched the file).
//
// CI runs `pnpm install --frozen-lockfile && pnpm build && pnpm test`: after those, every
// output is newer than every input and this script does nothing.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = fileURLToPath(new URL('..', import.meta.url));

/**
 * pnpm's copy of the lockfile it installed: rewritten only when an install changes
 * node_modules (a no-op install leaves it alone), so it is the build input that stands for
 * the dependencies; pnpm-lock.yaml itself would rebuild everything after a checkout that
 * merely touched it.
 */
const INSTALLED = 'node_modules/.pnpm/lock.yaml';

/**
 * The workspace packages that have a build, in build order. `inputs` are files or folders
 * (walked, without tests) relative to the repository root; `outputs` are files every build
 * rewrites (entry points, not hashed chunks, which a rebuild may leave behind); `bundles`
 * names the packages whose outputs are inputs too.
 */
export const PACKAGES = [
  {
    // Copies weights/ into dist/ and generates dist/index.js (checked against weights/manifest.json).
    name: '@irn/weights',
    inputs: ['weights', 'packages/weights/src', 'packages/weights/package.json', 'scripts/make-weights-manifest.mjs'],
    outputs: ['index.js', 'manifest.json'].map((f) => `packages/weights/dist/${f}`),
    bundles: [],
  },
  {
    name: '@irn/core',
    inputs: ['packages/core/src', 'packages/core/package.json', 'packages/core/tsconfig.build.json', 'rollup.config.mjs', 'tsconfig.json', INSTALLED],
    outputs: ['index.js', 'node.js', 'browser.js', 'browser/worker.js', 'index.d.ts', 'browser.d.ts', 'node.d.ts'].map((f) => `packages/core/dist/${f}`),
    bundles: [],
  },
  {
    // The `irn` command: imports @irn/core's dist (types included), so it is rebuilt after it.
    name: '@irn/cli',
    inputs: ['packages/cli/src', 'packages/cli/package.json', 'packages/cli/tsconfig.build.json', 'rollup.config.mjs', 'tsconfig.json', INSTALLED],
    outputs: ['index.js', 'cli.js', 'training/parallel-worker.js', 'index.d.ts'].map((f) => `packages/cli/dist/${f}`),
    bundles: ['@irn/core'],
  },
  {
    name: '@irn/element',
    inputs: [
      'packages/element/src',
      'packages/element/package.json',
      'packages/element/rollup.config.mjs',
      'packages/element/tsconfig.build.json',
      'packages/element/custom-elements-manifest.config.mjs',
      'tsconfig.json',
      INSTALLED,
    ],
    outputs: ['index.js', 'irn-image.bundle.js', 'index.d.ts'].map((f) => `packages/element/dist/${f}`),
    // The one-file bundle carries the presets beside it.
    bundles: ['@irn/core', '@irn/weights'],
  },
  {
    name: '@irn/playground',
    inputs: ['playground/src', 'playground/package.json', 'playground/rollup.config.mjs', 'tsconfig.json', INSTALLED],
    outputs: ['main.js', 'train-worker.js', 'latents-worker.js', 'rescaler-worker.js'].map((f) => `playground/dist/${f}`),
    bundles: ['@irn/core', '@irn/element', '@irn/weights'],
  },
];

/** Files that are not build inputs: tests, and what a build or an editor leaves in src/. */
const NOT_INPUT = /(_test\.ts|\.test\.ts|\.e2e\.ts)$|^\.|^node_modules$|^dist$/;

/** The newest file under `path` (a file or a folder, relative to `root`), or null if there is none. */
function newestFile(root, path) {
  let best = null;
  const visit = (rel) => {
    let s;
    try {
      s = statSync(join(root, rel));
    } catch {
      return;
    }
    if (s.isDirectory()) {
      for (const name of readdirSync(join(root, rel))) if (!NOT_INPUT.test(name)) visit(`${rel}/${name}`);
    } else if (best == null || s.mtimeMs > best.mtimeMs) {
      best = { path: rel, mtimeMs: s.mtimeMs };
    }
  };
  visit(path);
  return best;
}

/** Why node_modules needs `pnpm install`, or null when it is up to date. */
export function installReason(root = REPO) {
  if (!existsSync(join(root, 'node_modules'))) return 'node_modules is missing';
  let installed;
  try {
    installed = statSync(join(root, INSTALLED)).mtimeMs;
  } catch {
    return 'node_modules/.pnpm/lock.yaml is missing (not installed by pnpm?)';
  }
  let lock;
  try {
    lock = statSync(join(root, 'pnpm-lock.yaml')).mtimeMs;
  } catch {
    return null; // no lockfile: nothing to compare with
  }
  if (lock <= installed) return null;
  if (readStamp(root) === lockHash(root)) return null;
  return 'pnpm-lock.yaml is newer than node_modules';
}

const STAMP = 'node_modules/.irn-ensure-built.json';

function lockHash(root) {
  return createHash('sha256').update(readFileSync(join(root, 'pnpm-lock.yaml'))).digest('hex');
}

function readStamp(root) {
  try {
    return JSON.parse(readFileSync(join(root, STAMP), 'utf8')).lock;
  } catch {
    return null;
  }
}

/**
 * What to build, in order: `{ name, reason }` for each package of `packages` that is stale
 * (see the file comment) under `root`. Pure apart from reading the file system, so tests run
 * it on a temporary tree.
 */
export function buildPlan(root = REPO, packages = PACKAGES) {
  const plan = [];
  for (const pkg of packages) {
    const rebuilt = pkg.bundles.find((b) => plan.some((p) => p.name === b));
    if (rebuilt) {
      plan.push({ name: pkg.name, reason: `${rebuilt} is rebuilt` });
      continue;
    }
    let oldest = null;
    let missing = null;
    for (const out of pkg.outputs) {
      try {
        const t = statSync(join(root, out)).mtimeMs;
        if (oldest == null || t < oldest.mtimeMs) oldest = { path: out, mtimeMs: t };
      } catch {
        missing = out;
        break;
      }
    }
    if (missing != null) {
      plan.push({ name: pkg.name, reason: `${missing} is missing` });
      continue;
    }
    const inputs = [
      ...pkg.inputs,
      ...pkg.bundles.flatMap((b) => packages.find((p) => p.name === b)?.outputs ?? []),
    ];
    let newest = null;
    for (const input of inputs) {
      const f = newestFile(root, input);
      if (f != null && (newest == null || f.mtimeMs > newest.mtimeMs)) newest = f;
    }
    if (newest != null && oldest != null && newest.mtimeMs > oldest.mtimeMs) {
      plan.push({ name: pkg.name, reason: `${oldest.path} is older than ${newest.path}` });
    }
  }
  return plan;
}

/**
 * The packages of `packages` that building `names` needs: each named one and, recursively,
 * what it bundles. Every package when `names` is empty. Throws on a name that has no build.
 */
export function needed(names, packages = PACKAGES) {
  if (names.length === 0) return new Set(packages.map((p) => p.name));
  const found = new Set();
  const add = (name) => {
    const pkg = packages.find((p) => p.name === name);
    if (pkg == null) throw new Error(`ensure-built: no package ${name} with a build (known: ${packages.map((p) => p.name).join(', ')})`);
    if (found.has(name)) return;
    found.add(name);
    pkg.bundles.forEach(add);
  };
  names.forEach(add);
  return found;
}

/** pnpm as the running script was started with it (`npm_execpath`), else `pnpm` from PATH. */
function pnpmCommand(args) {
  const exec = process.env.npm_execpath;
  if (exec && /\.[cm]?js$/.test(exec)) return [process.execPath, [exec, ...args]];
  return ['pnpm', args];
}

/** Runs pnpm with `args`, its output on stderr; exits with its status if it fails. */
function pnpm(args, what) {
  const [cmd, argv] = pnpmCommand(args);
  const result = spawnSync(cmd, argv, {
    cwd: REPO,
    stdio: ['inherit', process.stderr, process.stderr],
    // The guard below: a lifecycle script that ran this script again would do nothing.
    env: { ...process.env, IRN_ENSURE_BUILT: '1' },
  });
  if (result.status !== 0) {
    const why = result.error ? result.error.message : `exit status ${result.status ?? result.signal}`;
    console.error(`ensure-built: ${what} failed (${why}); run \`pnpm ${args.join(' ')}\` to see why`);
    process.exit(result.status || 1);
  }
}

function main() {
  // Started by a pnpm that this script started (recursion guard): the outer run does the work.
  if (process.env.IRN_ENSURE_BUILT) return;
  const check = process.argv.includes('--check');
  let wanted;
  try {
    wanted = needed(process.argv.slice(2).filter((a) => !a.startsWith('--')));
  } catch (e) {
    console.error(e.message);
    process.exit(2);
  }
  let todo = 0;
  const install = installReason();
  if (install != null) {
    todo++;
    console.error(`ensure-built: installing dependencies (${install})`);
    if (!check) {
      pnpm(['install', '--frozen-lockfile'], 'pnpm install');
      writeFileSync(join(REPO, STAMP), `${JSON.stringify({ lock: lockHash(REPO) })}\n`);
    }
  }
  for (const { name, reason } of buildPlan().filter((p) => wanted.has(p.name))) {
    todo++;
    console.error(`ensure-built: building ${name} (${reason})`);
    if (!check) pnpm(['--filter', name, 'run', 'build'], `building ${name}`);
  }
  if (check && todo > 0) process.exitCode = 1;
}

if (process.argv[1] != null && pathToFileURL(process.argv[1]).href === import.meta.url) main();
