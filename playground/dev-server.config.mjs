// `pnpm start` (root) / `pnpm --filter @irn/playground start`: serves the playground
// (playground/, built by `pnpm build`) on 127.0.0.1:8020 with the shipped presets in weights/
// and the sample photos in samples/, which is why its root is the repository's. Only those are
// served (allowOnly): the rest of the working tree (.git, sources, node_modules) is refused.
// It listens on loopback only unless HOST says otherwise (HOST=0.0.0.0 pnpm start); PORT
// changes the port. `/` redirects to the playground. localhost counts as a secure context,
// which the SHA-256 check of the weights needs.
//
// `node dev-server.config.mjs` (the package's start script) starts it; `wds --config` and the
// end-to-end tests (test/playground/) import it as a config.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { allowOnly, listenHost, pageUrl, startIfMain } from '../scripts/dev-server-guard.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('./dist/main.js', import.meta.url))) {
  console.error('playground/dist/main.js is missing: run `pnpm build` first');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8020);
const hostname = listenHost();
// Open the page in the default browser where there is a desktop to show it (not on a headless
// Linux machine, nor with IRN_NO_OPEN=1).
const desktop = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const open = desktop && !process.env.IRN_NO_OPEN ? '/playground/' : false;

/** What the playground page loads (its HTML, styles and bundle), and the photos and weights it fetches. */
export const ALLOWED = {
  paths: ['/playground/', '/playground/index.html', '/playground/styles.css'],
  folders: ['/playground/dist/', '/samples/', '/weights/'],
};

const config = {
  rootDir: root,
  hostname,
  port,
  open,
  middleware: [
    function playgroundRoot(context, next) {
      if (context.url === '/' || context.url === '/index.html') {
        context.redirect('/playground/');
        return undefined;
      }
      return next();
    },
    allowOnly(ALLOWED),
  ],
};
export default config;

await startIfMain(import.meta.url, config, (c) => `IRN playground: ${pageUrl(c.hostname, c.port, '/playground/')}  (Ctrl+C stops it)`);
