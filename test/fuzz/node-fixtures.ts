// The Node half of the fuzz suite's machinery: running the built CLI as a user does, with its
// wall time and peak memory measured and bounded; snapshots of a folder to prove that nothing
// the user did not name as output changed; and hostile model folders (shard paths that leave
// the folder, FIFOs, symlinks, quantized or NaN weights), which need the file system.
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The bundled CLI, as `pnpm irn` and the published `irn` run it. */
export const CLI = join(ROOT, 'packages/cli/dist/cli.js');
/** The real photos and checkpoints the suite mutates. */
export const IMAGES = join(ROOT, 'packages/core/test-fixtures/images');
export const TORCH = join(ROOT, 'packages/core/test-fixtures/torch');
const MAXRSS_HOOK = pathToFileURL(fileURLToPath(new URL('./maxrss.mjs', import.meta.url))).href;

/** Throws a clear message when the bundle is missing: the suite tests what users run. */
export function requireBuiltCli(): void {
  if (!existsSync(CLI)) {
    throw new Error(`${relative(ROOT, CLI)} is missing: the fuzz suite runs the built CLI; run "pnpm build" first`);
  }
}

const MB = 1024 * 1024;

/** Bounds one run must stay within. */
export interface Bounds {
  /** Wall time in ms; the run is killed past it. */
  ms: number;
  /** Peak resident memory in bytes; the run is killed past it. */
  rss: number;
}

/**
 * The default bounds of one CLI run on the suite's tiny models and photos. A normal run costs
 * 0.6-1 s and 95-110 MB (measured on the 2-core CI machine with `/usr/bin/time`); the attacks
 * cost tens of seconds and several GB before the fix. 15 s and 700 MB leave room for a slow CI
 * machine and still catch a bomb that inflates even a tenth of what it claims.
 */
export const DEFAULT_BOUNDS: Bounds = { ms: 15_000, rss: 700 * MB };

/** What one measured run did. */
export interface Measured {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  wallMs: number;
  /** Peak resident memory in bytes: the larger of the polled VmHWM and the child's own maxRSS. */
  peakRss: number;
  /** Why the suite killed it, if it did. */
  killed: 'time' | 'memory' | null;
  args: string[];
}

/** Keeps at most `max` characters of a stream (a runaway error must not fill the test's memory). */
function collector(max = 1 << 20): { push(chunk: Buffer): void; text(): string } {
  let text = '';
  return {
    push(chunk) {
      if (text.length < max) text += chunk.toString('utf8');
    },
    text: () => text,
  };
}

function readStatus(pid: number): { rss: number; hwm: number } | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return null;
  }
}

/**
 * Runs `node packages/cli/dist/cli.js ...args` in `cwd`, polling its resident memory every
 * 20 ms (Linux /proc) and killing it when it passes `bounds.rss` or runs past `bounds.ms`.
 * `onSpawn` runs right after the child starts, before it has loaded anything (used to plant
 * files at names derived from its pid). Never rejects.
 */
export function runCli(
  args: string[],
  cwd: string,
  options: { bounds?: Partial<Bounds>; env?: Record<string, string>; onSpawn?: (pid: number) => void } = {},
): Promise<Measured> {
  const bounds = { ...DEFAULT_BOUNDS, ...options.bounds };
  const rssFile = join(mkdtempSync(join(tmpdir(), 'irn-fuzz-rss-')), 'maxrss');
  return new Promise((resolve) => {
    const start = performance.now();
    const child = spawn(process.execPath, ['--import', MAXRSS_HOOK, CLI, ...args], {
      cwd,
      env: { ...process.env, IRN_DEBUG: '', IRN_FUZZ_MAXRSS_FILE: rssFile, ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid != null) options.onSpawn?.(child.pid);
    const out = collector();
    const err = collector();
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    let peak = 0;
    let killed: Measured['killed'] = null;
    const kill = (why: 'time' | 'memory') => {
      if (killed != null) return;
      killed = why;
      child.kill('SIGKILL');
    };
    const poll = setInterval(() => {
      if (child.pid == null) return;
      const s = readStatus(child.pid);
      if (s == null) return;
      peak = Math.max(peak, s.hwm, s.rss);
      if (s.rss > bounds.rss) kill('memory');
    }, 20);
    const timer = setTimeout(() => kill('time'), bounds.ms);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      clearTimeout(timer);
      const wallMs = performance.now() - start;
      try {
        peak = Math.max(peak, Number(readFileSync(rssFile, 'utf8')));
      } catch {
        // killed, or no /proc and no figure: peak stays what polling saw
      }
      rmSync(join(rssFile, '..'), { recursive: true, force: true });
      // One line per run in the test log, so CI shows what each case costs (and how far from its bounds).
      console.log(`irn ${args.join(' ')}: exit ${code ?? signal}${killed ? ` (killed: ${killed})` : ''}, ${(wallMs / 1000).toFixed(2)} s, ${(peak / MB).toFixed(0)} MB`);
      resolve({ code, signal, stdout: out.text(), stderr: err.text(), wallMs, peakRss: peak, killed, args });
    });
  });
}

/** Raw JavaScript messages that must never reach a user (issue 15, case 15). */
export const RAW_JS = [
  /Cannot read propert/i,
  /Cannot set propert/i,
  /Invalid typed array length/i,
  /Invalid array length/i,
  /Invalid string length/i,
  /Maximum call stack/i,
  /is not a function/i,
  /is not iterable/i,
  /is not defined/i,
  /\bundefined\b/,
  /\bof null\b/,
  /Array buffer allocation failed/i,
  /out of memory/i,
  /RangeError|TypeError|ReferenceError|SyntaxError/,
  /\[object Object\]/,
];

/** A run as the issue describes its failure, for assertion messages. */
export function describeRun(run: Measured): string {
  return (
    `irn ${run.args.join(' ')}\n  exit ${run.code}${run.signal ? ` (${run.signal})` : ''}` +
    `${run.killed ? `, KILLED for ${run.killed}` : ''}, ${(run.wallMs / 1000).toFixed(1)} s, peak ${(run.peakRss / MB).toFixed(0)} MB\n` +
    `  stderr: ${run.stderr.trim().slice(0, 1500) || '(empty)'}`
  );
}

/**
 * Problems with a run that should have failed cleanly: exit `codes`, one stderr line
 * `irn: error: ...` (or, for a folder run, only such lines), no stack trace, no raw JS
 * message, within bounds. Returns the problems found (none: an empty list).
 */
export function cleanFailureProblems(run: Measured, codes: number[], bounds: Bounds = DEFAULT_BOUNDS, options: { lines?: 'one' | 'all-errors' } = {}): string[] {
  const problems: string[] = [];
  if (run.killed) problems.push(`killed for ${run.killed === 'time' ? `running past ${bounds.ms / 1000} s` : `passing ${bounds.rss / MB} MB`}`);
  else {
    if (run.wallMs > bounds.ms) problems.push(`took ${(run.wallMs / 1000).toFixed(1)} s, over ${bounds.ms / 1000} s`);
    if (run.peakRss > bounds.rss) problems.push(`peak memory ${(run.peakRss / MB).toFixed(0)} MB, over ${bounds.rss / MB} MB`);
    if (!codes.includes(run.code ?? -1)) problems.push(`exit code ${run.code}, expected ${codes.join(' or ')}`);
  }
  const lines = run.stderr.split('\n').filter((l) => l.trim() !== '');
  if (!run.killed) {
    if ((options.lines ?? 'one') === 'one' && lines.length !== 1) problems.push(`${lines.length} stderr lines, expected exactly one`);
    const bad = lines.find((l) => !l.startsWith('irn: error: '));
    if (bad !== undefined) problems.push(`a stderr line does not start with "irn: error: ": ${bad.slice(0, 200)}`);
  }
  if (/^\s+at .+[:(]/m.test(run.stderr)) problems.push('stderr holds a stack trace');
  for (const re of RAW_JS) {
    const m = re.exec(run.stderr);
    if (m) problems.push(`stderr holds a raw JavaScript message (${re}): "${m[0]}"`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// Folder snapshots

/** Every entry under `dir` (relative path -> what it is: a file's SHA-256, a link's target, ...). */
export function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      const rel = relative(dir, path);
      const st = lstatSync(path);
      if (st.isSymbolicLink()) out.set(rel, `symlink -> ${readlinkSync(path)}`);
      else if (st.isDirectory()) {
        out.set(rel, 'directory');
        walk(path);
      } else if (st.isFile()) out.set(rel, `file ${createHash('sha256').update(readFileSync(path)).digest('hex')}`);
      else if (st.isFIFO()) out.set(rel, 'fifo');
      else if (st.isCharacterDevice()) out.set(rel, `character device ${st.rdev}`);
      else out.set(rel, 'other');
    }
  };
  walk(dir);
  return out;
}

/**
 * What changed in `dir` since `before`, outside `outputs` (relative paths; an output folder
 * covers everything under it) and `ignore`: files changed, deleted or added (a leftover
 * temporary file counts).
 */
export function changesOutside(dir: string, before: Map<string, string>, outputs: string[], ignore: string[] = []): string[] {
  const after = snapshot(dir);
  const covered = (rel: string) => [...outputs, ...ignore].some((o) => rel === o || rel.startsWith(o + sep));
  const changes: string[] = [];
  for (const [rel, was] of before) {
    if (covered(rel)) continue;
    const now = after.get(rel);
    if (now === undefined) changes.push(`${rel} was deleted (was ${was.slice(0, 40)})`);
    else if (now !== was) changes.push(`${rel} changed: ${was.slice(0, 40)} -> ${now.slice(0, 40)}`);
  }
  for (const rel of after.keys()) if (!before.has(rel) && !covered(rel)) changes.push(`${rel} was created`);
  return changes;
}

// ---------------------------------------------------------------------------------------------
// Hostile model folders

/** A fresh temporary folder for one case. */
export function caseDir(name: string): string {
  return mkdtempSync(join(tmpdir(), `irn-fuzz-${name}-`));
}

/** Copies a model folder (model.json and its shards). */
export function copyModel(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) copyFileSync(join(from, name), join(to, name));
}

interface Manifest {
  weightsManifest: Array<{ paths: string[]; weights: Array<Record<string, unknown>> }>;
}

/** Rewrites a model folder's model.json through `edit`. */
export function editManifest(dir: string, edit: (m: Manifest) => void): void {
  const path = join(dir, 'model.json');
  const model = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  edit(model);
  writeFileSync(path, JSON.stringify(model));
}

/** The single shard of a model folder saved by saveSmallModel. */
export function shardOf(dir: string): string {
  let path = '';
  editManifest(dir, (m) => void (path = m.weightsManifest[0].paths[0]));
  return join(dir, path);
}

/** Points the model's shard path at `target` (any string: relative, absolute, a device). */
export function pointShardAt(dir: string, target: string): void {
  editManifest(dir, (m) => void (m.weightsManifest[0].paths = [target]));
}

/** Makes a FIFO (named pipe) at `path`: a shard or an output that blocks whoever opens it. */
export function mkfifo(path: string): void {
  execFileSync('mkfifo', [path]);
}

/** Makes a character device like /dev/null at `path`, if this process may (root); false if not. */
export function mknodNull(path: string): boolean {
  try {
    execFileSync('mknod', [path, 'c', '1', '3'], { stdio: 'ignore' });
    return lstatSync(path).isCharacterDevice();
  } catch {
    return false;
  }
}
