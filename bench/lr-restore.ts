// Restore time in the browser by LR format (issue 13: "restoring a lossy LR in the browser is
// no slower than restoring today's PNG"): one photo's LR written by the built CLI as PNG,
// lossless WebP, JPEG (quality 90) and AVIF (quality 60), each restored by <irn-image> from the element's
// one-file bundle (wasm, page thread) in headless Debian Chromium, a fresh page per run;
// prints the element's own timings (model load, restore) per format, median of --reps.
//   node --import tsx bench/lr-restore.ts [--photo samples/astronaut.png] [--reps 3]
// Needs `pnpm build`. Serves a temporary folder on 127.0.0.1 (the bundle's dist/ and the LRs).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath } from '../test/chromium.mjs';
import { median } from './stats.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values: args } = parseArgs({ options: { photo: { type: 'string', default: 'samples/astronaut.png' }, reps: { type: 'string', default: '3' } } });
const reps = Number(args.reps);
const site = mkdtempSync(join(tmpdir(), 'irn-lr-restore-'));
const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.html': 'text/html', '.png': 'image/png', '.webp': 'image/webp', '.jpg': 'image/jpeg', '.avif': 'image/avif', '.bin': 'application/octet-stream' };
const server = createServer((req, res) => {
  const path = join(site, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  if (!path.startsWith(site)) return void res.writeHead(403).end();
  try {
    if (!statSync(path).isFile()) throw new Error('not a file');
    res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path));
  } catch {
    res.writeHead(404).end();
  }
});
const browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
try {
  cpSync(join(root, 'packages/element/dist'), join(site, 'assets'), { recursive: true });
  const cli = join(root, 'packages/cli/dist/cli.js');
  const formats = [
    { name: 'PNG (lossless)', file: 'lr.png', flags: [] as string[] },
    { name: 'WebP (lossless)', file: 'lr.webp', flags: ['--effort', 'fast'] },
    { name: 'JPEG q90', file: 'lr.jpg', flags: ['--quality', '90'] },
    { name: 'AVIF q60', file: 'lr.avif', flags: ['--quality', '60'] },
  ];
  for (const f of formats) execFileSync(process.execPath, [cli, '-q', 'downscale', ...f.flags, join(root, args.photo), join(site, f.file)]);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  console.log(`${args.photo}, <irn-image> one-file bundle, backend wasm, page thread, median of ${reps}\n`);
  console.log('| LR format | LR bytes | model ms | restore ms | total ms |');
  console.log('|---|---|---|---|---|');
  for (const f of formats) {
    writeFileSync(
      join(site, `${f.file}.html`),
      `<!doctype html><script type="module" src="assets/irn-image.bundle.js"></script><irn-image backend="wasm" src="${f.file}"></irn-image>`,
    );
    const runs: { modelMs: number; restoreMs: number; totalMs: number }[] = [];
    for (let r = 0; r < reps; r++) {
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${port}/${f.file}.html`);
      const detail = await page.evaluate(
        () =>
          new Promise<Record<string, unknown>>((ok, fail) => {
            const el = document.querySelector('irn-image')!;
            el.addEventListener('irn-load', (e) => ok(JSON.parse(JSON.stringify((e as CustomEvent).detail))));
            el.addEventListener('irn-error', (e) => fail(new Error(String((e as CustomEvent).detail?.error))));
          }),
      );
      await page.close();
      runs.push(detail.timings as { modelMs: number; restoreMs: number; totalMs: number });
    }
    const of = (k: 'modelMs' | 'restoreMs' | 'totalMs') => median(runs.map((x) => x[k])).toFixed(0);
    console.log(`| ${f.name} | ${statSync(join(site, f.file)).size} | ${of('modelMs')} | ${of('restoreMs')} | ${of('totalMs')} |`);
  }
} finally {
  await browser.close();
  server.close();
  rmSync(site, { recursive: true, force: true });
}
