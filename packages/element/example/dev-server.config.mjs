// `pnpm example` (root) / `pnpm --filter @irn/element example`: serves the example page with
// the bundle it loads (packages/element/dist/, `pnpm build` first), which has the presets of
// @irn/weights beside it (dist/weights/); its root is the repository's. Only those are served
// (allowOnly): the rest of the working tree (.git, sources, node_modules) is refused.
// It listens on 127.0.0.1:8010 only, unless HOST (HOST=0.0.0.0) or PORT say otherwise.
// localhost counts as a secure context, which the SHA-256 check of the weights needs.
//
// `node example/dev-server.config.mjs` (the package's example script) starts it; `wds
// --config` and tests import it as a config.
import { fileURLToPath } from 'node:url';
import { allowOnly, listenHost, pageUrl, startIfMain } from '../../../scripts/dev-server-guard.mjs';

/** What the example page loads: itself and its photos, and the element's bundle with its .wasm files and presets. */
export const ALLOWED = { folders: ['/packages/element/example/', '/packages/element/dist/'] };

// Open the page in the default browser where there is a desktop to show it (not on a headless
// Linux machine, nor with IRN_NO_OPEN=1).
const desktop = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);

const config = {
  rootDir: fileURLToPath(new URL('../../..', import.meta.url)),
  open: desktop && !process.env.IRN_NO_OPEN ? '/packages/element/example/index.html' : false,
  hostname: listenHost(),
  port: Number(process.env.PORT ?? 8010),
  middleware: [allowOnly(ALLOWED)],
};
export default config;

await startIfMain(import.meta.url, config, (c) => `<irn-image> example: ${pageUrl(c.hostname, c.port, '/packages/element/example/index.html')}  (Ctrl+C stops it)`);
