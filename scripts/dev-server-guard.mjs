// What the repository's two dev servers (playground/dev-server.config.mjs for `pnpm start`,
// packages/element/example/dev-server.config.mjs for `pnpm example`) share: the address they
// listen on, a middleware that serves only what their page needs, and a way to start a config
// directly so that the banner tells the truth. Both serve the repository root (their pages
// need weights/ and samples/ beside them), so without the allow-list anyone who could reach
// the port could read the whole working tree: .git, keys in untracked files, and so on.
import { realpathSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The `hostname` to give @web/dev-server: the `HOST` environment variable when set (for
 * example `HOST=0.0.0.0` to reach the page from a phone), else the loopback address.
 *
 * Loopback is spelled `127.1`, on purpose: @web/dev-server-core's DevServer.start listens
 * with no host at all (every interface) when the hostname is exactly 'localhost' or
 * '127.0.0.1'. '127.1' is the same address to the resolver (inet_aton) and to browsers
 * (the WHATWG URL parser turns http://127.1/ into http://127.0.0.1/), but not one of those
 * two strings, so the server binds 127.0.0.1 only.
 */
export function listenHost(env = process.env) {
  const host = env.HOST?.trim() || '127.0.0.1';
  return host === '127.0.0.1' || host === 'localhost' ? '127.1' : host;
}

/** The URL to print for `path` on `host` (as {@link listenHost} gives it) and `port`. */
export function pageUrl(host, port, path) {
  return new URL(path, `http://${host.includes(':') ? `[${host}]` : host}:${port}`).href;
}

/**
 * A Koa middleware for @web/dev-server that answers 403 for every path but the exact `paths`
 * and those under `folders` (each ending in '/'). The path is decoded and must be normal
 * already (no '..', '.', '//', backslash or NUL) and may not name a dotfile or a
 * node_modules folder anywhere, so no spelling reaches past the lists.
 */
export function allowOnly({ paths = [], folders = [] }) {
  const served = [...paths, ...folders.map((f) => `${f}*`)].join(', ');
  const refuse = (context) => {
    context.status = 403;
    context.type = 'text/plain';
    context.body = `403: this dev server serves only ${served}\n`;
  };
  return function allowList(context, next) {
    let path;
    try {
      path = decodeURIComponent(context.path);
    } catch {
      return refuse(context);
    }
    const segments = path.split('/').slice(1);
    const clean =
      path.startsWith('/') &&
      !/[\\\0]/.test(path) &&
      posix.normalize(path) === path &&
      !segments.some((s) => s.startsWith('.') || s === 'node_modules');
    if (!clean || !(paths.includes(path) || folders.some((f) => path.startsWith(f)))) return refuse(context);
    return next();
  };
}

/**
 * Starts `config` with @web/dev-server when `moduleUrl` (the config's `import.meta.url`) is
 * the script Node was started with (`node dev-server.config.mjs`, which the package.json
 * scripts run): wds's own start message would print a "Network:" address that the loopback
 * server does not listen on, so `banner` is printed instead. Imported as a config (by `wds
 * --config` or a test), it does nothing.
 */
export async function startIfMain(moduleUrl, config, banner) {
  const script = process.argv[1];
  if (script == null || realpathSync(fileURLToPath(moduleUrl)) !== realpathSync(script)) return;
  const { startDevServer } = await import('@web/dev-server');
  const server = await startDevServer({ config, readCliArgs: true, readFileConfig: false, logStartMessage: false });
  console.log(banner(server.config ?? config));
}
