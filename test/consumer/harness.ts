/**
 * Plumbing of the consumer tests (test/consumer/*.e2e.ts): pack the workspace's packages as npm
 * would publish them, install them with npm into an app outside the repository, serve it and
 * run Chromium, with every step bounded in time and every failure naming its step and the log
 * of whatever it started. Only processes started here are ever stopped, by their own id.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../chromium.mjs';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * npm's cache, kept between runs (and between CI jobs that keep the temp folder) so that a
 * rerun installs from disk. `IRN_CONSUMER_NPM_CACHE` moves it.
 */
export const NPM_CACHE = process.env.IRN_CONSUMER_NPM_CACHE || join(tmpdir(), 'irn-consumer-npm-cache');

/** Vite as a web developer installs it today: pinned, so that a new release cannot move the test. */
export const VITE_VERSION = '8.4.0';

/** webpack 5 and its CLI as a web developer installs them today (`npm i -D webpack webpack-cli`), pinned likewise. */
export const WEBPACK_VERSION = '5.113.0';
export const WEBPACK_CLI_VERSION = '7.3.1';

/** Set `IRN_CONSUMER_KEEP=1` to keep the temp folders of a run (their paths are logged). */
const keep = process.env.IRN_CONSUMER_KEEP === '1';

/** A workspace package, as its package.json describes it. */
export interface WorkspacePackage {
  name: string;
  version: string;
  dir: string;
  private: boolean;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
}

/** Every package of the workspace (`packages/*`; the playground is private and not published). */
export function workspacePackages(): WorkspacePackage[] {
  const dir = join(ROOT, 'packages');
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'package.json')))
    .map((e) => {
      const json = JSON.parse(readFileSync(join(dir, e.name, 'package.json'), 'utf8'));
      const bin = typeof json.bin === 'string' ? { [json.name.split('/').pop()]: json.bin } : (json.bin ?? {});
      return {
        name: json.name,
        version: json.version,
        dir: join(dir, e.name),
        private: json.private === true,
        bin,
        dependencies: json.dependencies ?? {},
        peerDependencies: json.peerDependencies ?? {},
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A temp folder outside the repository, removed by {@link removeTemp} unless `IRN_CONSUMER_KEEP=1`. */
export function makeTemp(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `irn-consumer-${prefix}-`));
  if (resolve(dir).startsWith(resolve(ROOT))) throw new Error(`the temp folder ${dir} is inside the repository`);
  return dir;
}

export function removeTemp(dir: string | undefined): void {
  if (dir == null) return;
  if (keep) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

/** What a finished command printed. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  ms: number;
}

/** The last `n` characters of a log, for failure messages. */
export const tail = (text: string, n = 4000) => (text.length > n ? `…${text.slice(-n)}` : text);

/**
 * Runs a command to its end, within `timeoutMs`; rejects with the step, the command, its exit
 * status and the tail of its output. The process runs in a group of its own, so that a timeout
 * stops it and its children (npm's, vite's) and nothing else.
 */
export function runStep(
  step: string,
  command: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env?: Record<string, string | undefined> },
): Promise<CommandResult> {
  const started = performance.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, ...options.env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${step}: could not start ${command}: ${error.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - started;
      if (code === 0 && !timedOut) {
        resolvePromise({ stdout, stderr, ms });
        return;
      }
      const why = timedOut ? `timed out after ${options.timeoutMs / 1000} s` : `exited with ${code ?? signal}`;
      reject(new Error(`${step}: \`${command} ${args.join(' ')}\` in ${options.cwd} ${why}\n--- stdout ---\n${tail(stdout)}\n--- stderr ---\n${tail(stderr)}`));
    });
  });
}

function killGroup(child: ChildProcess): void {
  if (child.pid == null || child.exitCode != null || child.signalCode != null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
}

/**
 * Packs every non-private workspace package with `pnpm pack` (which rewrites `workspace:*` to
 * the version, as `pnpm publish` does) into `dest`. Needs each package built (`dist/`).
 * Resolves to the tarball of each package name.
 */
export async function packAll(dest: string): Promise<Map<string, string>> {
  const tarballs = new Map<string, string>();
  mkdirSync(dest, { recursive: true });
  for (const pkg of workspacePackages().filter((p) => !p.private)) {
    const before = new Set(readdirSync(dest));
    await runStep(`pnpm pack of ${pkg.name}`, 'pnpm', ['pack', '--pack-destination', dest], { cwd: pkg.dir, timeoutMs: 60_000 });
    const made = readdirSync(dest).filter((f) => f.endsWith('.tgz') && !before.has(f));
    if (made.length !== 1) throw new Error(`pnpm pack of ${pkg.name} made ${made.length} tarballs in ${dest}: ${made.join(', ')}`);
    tarballs.set(pkg.name, join(dest, made[0]));
  }
  return tarballs;
}

/**
 * Writes `package.json` in `dir` and runs `npm install` there, as a web developer would (npm,
 * not pnpm; the registry for everything but our tarballs). `dependencies` values are versions or
 * `file:` tarballs.
 */
export async function npmInstall(
  dir: string,
  dependencies: Record<string, string>,
  devDependencies: Record<string, string> = {},
  timeoutMs = 240_000,
): Promise<CommandResult> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'irn-consumer-app', private: true, type: 'module', dependencies, devDependencies }, null, 2)}\n`);
  return runStep(`npm install in ${dir}`, 'npm', ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--cache', NPM_CACHE], {
    cwd: dir,
    timeoutMs,
    // Never take settings from the repository's .npmrc or pnpm's environment.
    env: { npm_config_userconfig: join(dir, '.npmrc-none'), npm_config_user_agent: undefined, NODE_OPTIONS: undefined },
  });
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const s = createNetServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolvePromise(port));
    });
    s.on('error', reject);
  });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.png': 'image/png',
  '.webp': 'image/webp',
  '.jpg': 'image/jpeg',
  '.bin': 'application/octet-stream',
};

/** A server started by a test: its base URL, what it logged, and how to stop it. */
export interface RunningServer {
  url: string;
  log(): string;
  stop(): Promise<void>;
}

/**
 * A plain static file server (what any web host does: files as they are, a MIME type by
 * extension, `index.html` for folders, 404 otherwise). Logs every request with its status.
 */
export async function staticServer(root: string): Promise<RunningServer> {
  const lines: string[] = [];
  const base = resolve(root);
  const server: Server = createHttpServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    let file = normalize(join(base, path));
    if (file !== base && !file.startsWith(base + sep)) file = '';
    else if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (file === '' || !existsSync(file) || !statSync(file).isFile()) {
      lines.push(`404 ${req.method} ${path}`);
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    lines.push(`200 ${req.method} ${path}`);
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${port}/`,
    log: () => lines.join('\n'),
    stop: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Starts a long-running command (a dev server) in a process group of its own and resolves once
 * `ready` matches its output, within `timeoutMs`; rejects with its log otherwise.
 */
export function startProcess(
  step: string,
  command: string,
  args: string[],
  options: { cwd: string; ready: RegExp; url: string; timeoutMs: number },
): Promise<RunningServer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(command, args, { cwd: options.cwd, env: { ...process.env, NODE_OPTIONS: undefined, FORCE_COLOR: '0', NO_COLOR: '1' }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    let settled = false;
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    const server: RunningServer = {
      url: options.url,
      log: () => log,
      stop: async () => {
        killGroup(child);
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      },
    };
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      killGroup(child);
      reject(new Error(`${step}: not ready after ${options.timeoutMs / 1000} s\n--- log ---\n${tail(log)}`));
    }, options.timeoutMs);
    const onData = (d: string) => {
      log += d;
      if (!settled && options.ready.test(log)) {
        settled = true;
        clearTimeout(timer);
        resolvePromise(server);
      }
    };
    child.stdout!.setEncoding('utf8').on('data', onData);
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.on('close', (code, signal) => {
      log += `\n[exited with ${code ?? signal}]`;
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`${step}: \`${command} ${args.join(' ')}\` exited with ${code ?? signal} before it was ready\n--- log ---\n${tail(log)}`));
    });
  });
}

/** Debian's Chromium, launched as every browser test here launches it (test/chromium.mjs). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs });
}
