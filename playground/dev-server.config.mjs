// `pnpm start` (root) / `pnpm --filter @irn/playground start`: serves the repository root on
// 127.0.0.1:8020 so that the playground (playground/, built by `pnpm build`) finds the shipped
// presets in weights/ and the sample photos in samples/. `/` redirects to the playground.
// localhost counts as a secure context, which the SHA-256 check of the weights needs.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
if (!existsSync(new URL('./dist/main.js', import.meta.url))) {
  console.error('playground/dist/main.js is missing: run `pnpm build` first');
  process.exit(1);
}
const port = Number(process.env.PORT ?? 8020);
// Open the page in the default browser where there is a desktop to show it (not on a headless
// Linux machine, nor with IRN_NO_OPEN=1).
const desktop = process.platform !== 'linux' || Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
const open = desktop && !process.env.IRN_NO_OPEN ? '/playground/' : false;

export default {
  rootDir: root,
  hostname: '127.0.0.1',
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
  ],
  plugins: [
    {
      name: 'irn-playground-banner',
      serverStart() {
        console.log(`IRN playground: http://127.0.0.1:${port}/playground/  (Ctrl+C stops it)`);
      },
    },
  ],
};
