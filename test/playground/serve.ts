// What the playground's browser runs outside playground.e2e.ts share (test/playground/latents.e2e.ts,
// bench/playground-latents.ts): the built playground served by its own dev-server config on a
// free loopback port, and headless Debian Chromium.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startDevServer } from '@web/dev-server';
import { chromium, type Browser } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../chromium.mjs';
import serverConfig from '../../playground/dev-server.config.mjs';

/** The repository's root, ending in `/`. */
export const root = fileURLToPath(new URL('../..', import.meta.url));

/** A served playground and a browser: `base` is the page's URL (add `?query`); `close` stops both. */
export interface ServedPlayground {
  base: string;
  browser: Browser;
  close(): Promise<void>;
}

/**
 * Serves `playground/dist` (built by `pnpm build`) on a free port (the dev server's own search
 * from 8000) and launches Chromium.
 */
export async function servePlayground(): Promise<ServedPlayground> {
  if (!existsSync(`${root}playground/dist/main.js`)) throw new Error('playground/dist is missing: run `pnpm build` first');
  const server = await startDevServer({
    config: { ...serverConfig, port: undefined, open: false, plugins: [] },
    readCliArgs: false,
    readFileConfig: false,
    logStartMessage: false,
  });
  const base = `http://127.0.0.1:${server.config.port}/playground/`;
  const browser = await chromium.launch({ executablePath: chromiumPath, headless: true, args: chromiumArgs }).catch(async (e: unknown) => {
    await server.stop();
    throw e;
  });
  return {
    base,
    browser,
    async close() {
      await browser.close();
      await server.stop();
    },
  };
}

/**
 * For `page.addInitScript`: keeps every main-thread long task the page sees (over 50 ms,
 * PerformanceObserver 'longtask') in `window.longTasks` as `{ start, duration }` (ms, page
 * time). No named inner functions: tsx would wrap them in a helper the page does not have.
 */
export function recordLongTasks(): void {
  const w = window as unknown as { longTasks: { start: number; duration: number }[] };
  w.longTasks = [];
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) w.longTasks.push({ start: e.startTime, duration: e.duration });
  }).observe({ type: 'longtask', buffered: true });
}
