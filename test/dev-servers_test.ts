/**
 * The two dev servers (`pnpm start`: playground/dev-server.config.mjs; `pnpm example`:
 * packages/element/example/dev-server.config.mjs), started as their package scripts start
 * them: they listen on loopback only unless HOST asks otherwise, and serve only what their
 * page needs (issue 15, "Also"). The pages themselves are tested by test/playground/ and by
 * opening them; here, only what a stranger on the network or a hostile path could reach.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createConnection, createServer } from 'node:net';
import { networkInterfaces } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts `node <config>` in `cwd` as its package script does; resolves once its banner is printed. */
async function start(cwd: string, config: string, env: Record<string, string> = {}): Promise<{ child: ChildProcess; port: number; banner: string }> {
  const port = await freePort();
  const { HOST: _host, ...rest } = process.env;
  const child = spawn(process.execPath, [config], { cwd, env: { ...rest, PORT: String(port), IRN_NO_OPEN: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no banner after 20 s: ${out}`)), 20_000);
    const onData = (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('(Ctrl+C stops it)'));
      if (line != null) {
        clearTimeout(timer);
        resolve(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${out}`)));
  });
  return { child, port, banner };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode != null) return resolve();
    child.on('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Status of GET `path` as written (no client-side normalisation of ".." or "%2e"). */
function status(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Local addresses listening on `port` per /proc/net/tcp{,6} (hex as the kernel writes them), or null off Linux. */
function listeners(port: number): string[] | null {
  if (!existsSync('/proc/net/tcp')) return null;
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) found.push(local.slice(0, -5));
    }
  }
  return found;
}

/** Whether a TCP connection to `host`:`port` is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port, timeout: 2000 });
    socket.on('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
    socket.on('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

const outsideAddresses = () =>
  Object.values(networkInterfaces())
    .flat()
    .filter((a) => a != null && a.family === 'IPv4' && !a.internal)
    .map((a) => a!.address);

/** Paths no dev server may serve, however spelled. */
const REFUSED = [
  '/.git/config',
  '/package.json',
  '/pnpm-lock.yaml',
  '/packages/core/src/limits.ts',
  '/weights/../package.json',
  '/weights/%2e%2e/package.json',
  '/weights/..%2fpackage.json',
  '/weights//..//package.json',
  '/weights/%5c..%5cpackage.json',
  '/weights/.hidden',
  '/__wds-outside-root__/1/etc/passwd',
  '/node_modules/.pnpm/lock.yaml',
];

for (const server of [
  {
    name: 'pnpm start (playground)',
    cwd: `${ROOT}playground`,
    config: 'dev-server.config.mjs',
    served: ['/playground/', '/playground/index.html', '/playground/dist/main.js', '/weights/manifest.json', '/weights/irn-x2/model.json', '/samples/coffee.png'],
    refused: ['/playground/src/main.ts', '/playground/package.json', '/playground/node_modules/@web/dev-server/package.json', '/samples/../README.md'],
  },
  {
    name: 'pnpm example (<irn-image>)',
    cwd: `${ROOT}packages/element`,
    config: 'example/dev-server.config.mjs',
    // The presets come from beside the one-file bundle (dist/weights/, from @irn/weights), not weights/.
    served: ['/packages/element/example/index.html', '/packages/element/example/photos/coffee.lr.png', '/packages/element/dist/weights/irn-x2/model.json'],
    refused: ['/packages/element/src/irn-image.ts', '/packages/element/package.json', '/playground/index.html', '/samples/coffee.png', '/weights/manifest.json'],
  },
]) {
  describe(server.name, () => {
    it('listens on 127.0.0.1 only, and serves only what the page needs', { timeout: 60_000 }, async () => {
      const { child, port, banner } = await start(server.cwd, server.config);
      try {
        assert.match(banner, new RegExp(`http://127\\.0\\.0\\.1:${port}/`));
        const local = listeners(port);
        if (local != null) assert.deepEqual(local, ['0100007F'], `listening on ${local.join(', ')} (0100007F is 127.0.0.1)`);
        assert.ok(await connects('127.0.0.1', port));
        for (const address of outsideAddresses()) assert.equal(await connects(address, port), false, `reachable on ${address}`);
        for (const path of server.served) assert.equal(await status(port, path), 200, path);
        for (const path of [...REFUSED, ...server.refused]) assert.equal(await status(port, path), 403, path);
      } finally {
        await stop(child);
      }
    });
  });
}

describe('HOST', () => {
  it('HOST=0.0.0.0 asks for every interface, and gets it', { timeout: 60_000 }, async () => {
    const { child, port } = await start(`${ROOT}packages/element`, 'example/dev-server.config.mjs', { HOST: '0.0.0.0' });
    try {
      const local = listeners(port);
      if (local != null) assert.deepEqual(local, ['00000000']);
      assert.equal(await status(port, '/.git/config'), 403, 'the allow-list holds on every interface');
    } finally {
      await stop(child);
    }
  });
});
