// Checks that every publishable workspace package (one whose package.json is not `private`)
// packs into a tarball that works once installed from the registry, and that
// `pnpm publish --dry-run` accepts it. `pnpm test` runs it after the build; alone:
//   node scripts/check-publish.mjs [package-dir...]     (default: every packages/* dir)
// For each package it runs `pnpm pack --ignore-scripts` into a temporary folder (pnpm, unlike
// npm, replaces `workspace:*` with the real versions) and reads the tarball:
//   - README.md, LICENSE and package.json are there, and package.json names no `workspace:`
//     version (npm refuses to install such a package);
//   - every file that `main`, `types`, `bin`, `exports` (and `customElements`) points at is in it;
//   - no test files (`*_test.*`, `*.test.*`, `*.e2e.*`);
//   - every script (.js, .mjs, .cjs) is reached from an entry point (`main`, `module`, `bin`,
//     `exports`) through relative imports or `new URL(..., import.meta.url)`: one that is not is
//     a stale output of an earlier build (a bundler's hashed chunk that dist/ kept) or dead code;
//   - every source map is usable where the package is installed: each of its sources lies inside
//     the package (not in the build machine's node_modules) and is shipped or embedded
//     (`sourcesContent`), and each `sourceMappingURL` comment names a shipped map;
// then prints one line per package with its file count and sizes. Exits 1 on any failure,
// each named on one line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** pnpm as the running script was started with it (`npm_execpath`), else `pnpm` from PATH. */
function pnpmCommand(args) {
  const exec = process.env.npm_execpath;
  if (exec && /\.[cm]?js$/.test(exec)) return [process.execPath, [exec, ...args]];
  return ['pnpm', args];
}

/** Runs pnpm in `cwd`; returns its status and output. */
function pnpm(args, cwd) {
  const [cmd, argv] = pnpmCommand(args);
  const r = spawnSync(cmd, argv, { cwd, encoding: 'utf8' });
  return { status: r.status, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/**
 * The files of a .tgz as a Map from path (without the leading `package/`) to contents.
 * Reads ustar and GNU/pax long names, which is all `pnpm pack` writes.
 */
export function readTarball(gz) {
  const tar = gunzipSync(gz);
  const files = new Map();
  let longName = null;
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start, len) => {
      const raw = header.subarray(start, start + len);
      const end = raw.indexOf(0);
      return raw.subarray(0, end < 0 ? len : end).toString('utf8');
    };
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || '0';
    const prefix = field(345, 155);
    let name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = null;
    const body = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = body.toString('utf8').replace(/\0+$/, '');
      continue;
    }
    if (type === 'x') {
      const path = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (path) longName = path[1];
      continue;
    }
    if (type !== '0' && type !== '\0') continue;
    files.set(name.replace(/^package\//, ''), Buffer.from(body));
  }
  return files;
}

/** Every string target in an `exports` (or `bin`) value, with the condition path that leads to it. */
function targets(value, where) {
  if (typeof value === 'string') return [[where, value]];
  if (value == null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => targets(v, `${where}[${JSON.stringify(k)}]`));
}

/** The paths of `files` that `target` (`./dist/x.js`, possibly with one `*`) names. */
function matching(files, target) {
  const path = posix.normalize(target.replace(/^\.\//, ''));
  if (!path.includes('*')) return files.has(path) ? [path] : [];
  const [head, tail] = path.split('*');
  return [...files.keys()].filter((f) => f.startsWith(head) && f.endsWith(tail));
}

/** Whether `target` names a file of `files`. */
const present = (files, target) => matching(files, target).length > 0;

const SCRIPT = /\.[cm]?js$/;

/**
 * The scripts of `files` that no entry point reaches. From the entry points' targets, follows
 * every string literal in a reached script that is a relative path (`'./x.js'`, `"../a/b"`,
 * as static and dynamic imports and `new URL('./worker.js', import.meta.url)` write them,
 * minified or not) or is the first argument of `new URL(..., import.meta.url)` (`'worker.js'`,
 * as rollup writes an asset's URL); a path resolves as written, with `.js`, or to its
 * `index.js`. A literal that only looks like a path costs nothing: it can only reach more.
 */
export function unreachedScripts(files, entryTargets) {
  const reached = new Set();
  const queue = entryTargets.flatMap((t) => matching(files, t)).filter((f) => SCRIPT.test(f));
  const reach = (path) => {
    for (const p of [path, `${path}.js`, `${path}/index.js`]) {
      if (files.has(p)) {
        if (SCRIPT.test(p) && !reached.has(p)) queue.push(p);
        return;
      }
    }
  };
  while (queue.length) {
    const f = queue.pop();
    if (reached.has(f)) continue;
    reached.add(f);
    const text = files.get(f).toString('utf8');
    const dir = posix.dirname(f);
    const specs = [
      ...[...text.matchAll(/["'`](\.{1,2}\/[^"'`\s]*)["'`]/g)].map((m) => m[1]),
      ...[...text.matchAll(/new URL\(\s*["'`]([^"'`\s]+)["'`]\s*,\s*import\.meta\.url/g)].map((m) => m[1]),
    ];
    for (const s of specs) reach(posix.normalize(posix.join(dir, s.replace(/[?#].*$/, ''))));
  }
  return [...files.keys()].filter((f) => SCRIPT.test(f) && !reached.has(f)).sort();
}

/** What is wrong with the packed files of one package (empty when nothing is). */
export function problems(files) {
  const found = [];
  for (const need of ['package.json', 'README.md', 'LICENSE']) if (!files.has(need)) found.push(`no ${need} in the tarball`);
  if (!files.has('package.json')) return found;
  const text = files.get('package.json').toString('utf8');
  const pkg = JSON.parse(text);
  const ws = /"([^"]+)":\s*"workspace:[^"]*"/.exec(text);
  if (ws) found.push(`package.json still names ${ws[1]} as "workspace:..." (npm cannot install that)`);
  const wanted = [
    ...['main', 'module', 'types', 'typings', 'customElements'].filter((k) => typeof pkg[k] === 'string').map((k) => [k, pkg[k]]),
    ...targets(typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : pkg.bin, 'bin'),
    ...targets(pkg.exports, 'exports'),
  ];
  for (const [where, target] of wanted) if (!present(files, target)) found.push(`${where} points at ${target}, which is not in the tarball`);
  const testFiles = [...files.keys()].filter((f) => /(_test|\.test|\.e2e)\.[cm]?[jt]sx?$/.test(f) || /(_test|\.test|\.e2e)\.d\.ts$/.test(f));
  for (const f of testFiles) found.push(`test file ${f} is in the tarball`);
  for (const f of unreachedScripts(files, wanted.map(([, target]) => target))) {
    if (testFiles.includes(f)) continue; // named once, as a test file
    found.push(`${f} is reached from no entry point (main, bin, exports): a stale build output or dead code`);
  }
  for (const [f, body] of files) {
    if (f.endsWith('.map')) {
      let map;
      try {
        map = JSON.parse(body.toString('utf8'));
      } catch {
        found.push(`${f} is not valid JSON`);
        continue;
      }
      const dir = posix.dirname(f);
      (map.sources ?? []).forEach((s, i) => {
        if (/^[a-z][a-z0-9+.-]*:/i.test(s)) return; // webpack://, data: ... : not a path
        const path = posix.normalize(posix.join(dir, map.sourceRoot ?? '', s));
        if (path.startsWith('../') || path === '..') {
          found.push(`${f}: source ${s} lies outside the package`);
        } else if (!files.has(path) && map.sourcesContent?.[i] == null) {
          found.push(`${f}: source ${s} is neither shipped nor embedded (sourcesContent)`);
        }
      });
    } else if (/\.[cm]?js$/.test(f)) {
      const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(body.toString('utf8').slice(-300))?.[1];
      if (url != null && !url.startsWith('data:') && !files.has(posix.normalize(posix.join(posix.dirname(f), url)))) {
        found.push(`${f} names the source map ${url}, which is not in the tarball`);
      }
    }
  }
  return found;
}

/** KiB with one decimal. */
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;

function main() {
  const dirs =
    process.argv.length > 2
      ? process.argv.slice(2).map((d) => join(process.cwd(), d))
      : readdirSync(join(ROOT, 'packages')).map((d) => join(ROOT, 'packages', d)).sort();
  let failed = 0;
  let checked = 0;
  for (const dir of dirs) {
    let pkg;
    try {
      pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    } catch {
      continue; // not a package
    }
    if (pkg.private) continue;
    checked++;
    const name = `${pkg.name}@${pkg.version}`;
    const out = mkdtempSync(join(tmpdir(), 'irn-pack-'));
    try {
      // --ignore-scripts: check what the build made; a `prepack` that rebuilds (@irn/weights)
      // would rewrite dist/ and make ensure-built rebuild everything that bundles it.
      const packed = pnpm(['pack', '--ignore-scripts', '--pack-destination', out], dir);
      const tgz = readdirSync(out).find((f) => f.endsWith('.tgz'));
      if (packed.status !== 0 || tgz == null) {
        console.error(`check-publish: ${name}: pnpm pack failed: ${packed.output.trim().split('\n').slice(-3).join(' / ')}`);
        failed++;
        continue;
      }
      const gz = readFileSync(join(out, tgz));
      const files = readTarball(gz);
      const found = problems(files);
      const dry = pnpm(['publish', '--dry-run', '--no-git-checks', '--ignore-scripts'], dir);
      if (dry.status !== 0) found.push(`pnpm publish --dry-run failed: ${dry.output.trim().split('\n').slice(-3).join(' / ')}`);
      const unpacked = [...files.values()].reduce((n, b) => n + b.length, 0);
      console.log(`check-publish: ${name} (${relative(ROOT, dir)}): ${files.size} files, ${kib(gz.length)} packed, ${kib(unpacked)} unpacked${found.length ? '' : ', ok'}`);
      for (const p of found) console.error(`check-publish: ${name}: ${p}`);
      if (found.length) failed++;
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  if (checked === 0) {
    console.error('check-publish: no publishable package found');
    process.exit(1);
  }
  if (failed) {
    console.error(`check-publish: ${failed} of ${checked} packages would not install as published; see above`);
    process.exit(1);
  }
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) main();
