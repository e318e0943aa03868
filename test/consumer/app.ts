/**
 * The consumer app of test/consumer/: the photo it restores, the LR the repository's CLI makes
 * of it and the PSNR that CLI's own restore reaches, and the pages a web developer writes (the
 * element with one import, `Rescaler` in a worker, the one-file bundle with a script tag).
 */
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import type { Page } from 'playwright-core';
import { decodePng, encodePng, psnrY, type RasterImage } from '@irn/core';
import { ROOT, runStep, tail, workspacePackages } from './harness.js';

/** Size of the restored photo: 400x600, 0.24 MP (the "0.25 MP photo"). */
export const PHOTO = { width: 400, height: 600 };

/**
 * The test photo: the 400x300 `samples/coffee.png` under the middle 400 columns of
 * `samples/chelsea.png` (451x300), two real photos (public domain, samples/README.md) stacked,
 * since no sample is 0.25 MP on its own.
 */
export function makePhoto(): RasterImage {
  const top = decodePng(readFileSync(join(ROOT, 'samples/chelsea.png')));
  const bottom = decodePng(readFileSync(join(ROOT, 'samples/coffee.png')));
  const { width, height } = PHOTO;
  const data = new Float32Array(width * height * 3);
  const left = Math.floor((top.width - width) / 2);
  for (let y = 0; y < height; y++) {
    const [src, sy, sx] = y < 300 ? [top, y, left] : [bottom, y - 300, 0];
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) data[(y * width + x) * 3 + c] = src.data[(sy * src.width + sx + x) * src.channels + c];
    }
  }
  return { width, height, channels: 3, data };
}

/**
 * The entry of the repository's built `irn` command: `IRN_CLI` (relative to the repository
 * root, as in test/cli/), else the `bin` of whichever workspace package has `irn`.
 */
export function cliEntry(): string {
  if (process.env.IRN_CLI) return isAbsolute(process.env.IRN_CLI) ? process.env.IRN_CLI : join(ROOT, process.env.IRN_CLI);
  const pkg = workspacePackages().find((p) => p.bin.irn != null);
  if (pkg == null) throw new Error('no workspace package has an `irn` bin');
  const entry = join(pkg.dir, pkg.bin.irn);
  if (!existsSync(entry)) throw new Error(`${pkg.name}'s CLI ${entry} is not built: run \`pnpm build\` first`);
  return entry;
}

/** What the repository's own CLI does with the photo. */
export interface Reference {
  /** The original photo (what PSNRs are measured against). */
  photo: RasterImage;
  /** `photo.png`, `photo.lr.png` (the x2 LR, made by `irn downscale`) in `dir`. */
  dir: string;
  /** Y-PSNR of `irn upscale`'s restore of the LR, in dB. */
  psnr: number;
}

/**
 * Writes the photo, downscales it with the repository's built CLI (the shipped x2, its
 * default) and restores it with `irn upscale`, recording the PSNR the browser must match.
 */
export async function makeReference(dir: string): Promise<Reference> {
  const photo = makePhoto();
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'photo.png'), encodePng(photo));
  const entry = cliEntry();
  await runStep('irn downscale (repository CLI)', process.execPath, [entry, '-q', 'downscale', 'photo.png', 'photo.lr.png'], { cwd: dir, timeoutMs: 120_000 });
  await runStep('irn upscale (repository CLI)', process.execPath, [entry, '-q', 'upscale', 'photo.lr.png', 'photo.cli.png'], { cwd: dir, timeoutMs: 120_000 });
  const restored = decodePng(readFileSync(join(dir, 'photo.cli.png')));
  return { photo, dir, psnr: psnrY(restored, photo) };
}

/**
 * Where the installed app finds the presets. With a weights package installed, nowhere to say
 * (the element and `Rescaler` find it); without one (before `@irn/weights` existed), the
 * repository's `weights/` copied to `public/weights/` and named by `weights-base`.
 */
export interface WeightsSetup {
  /** Extra attribute on `<irn-image>` ('' when none is needed). */
  attribute: string;
  /** Extra `Rescaler.create` option, as JavaScript source after a comma (`, weightsUrl: ...`; '' when none is needed). */
  option: string;
  /** A folder to copy as `weights/` next to the pages, if any. */
  copyFrom?: string;
}

export function weightsSetup(packaged: boolean): WeightsSetup {
  if (packaged) return { attribute: '', option: '' };
  return { attribute: ' weights-base="/weights/"', option: ", weightsUrl: '/weights/'" };
}

/** In the page: records the element's events in `window.irnEvents` (they bubble and are composed). */
export function recordIrnEvents(): void {
  const events: { type: string; t: number; detail: unknown }[] = [];
  (window as unknown as { irnEvents: typeof events }).irnEvents = events;
  for (const type of ['irn-load-start', 'irn-load', 'irn-error']) {
    document.addEventListener(type, (e) => {
      const d = (e as CustomEvent).detail ?? {};
      const detail = type === 'irn-error' ? { ...d, error: String(d.error?.stack ?? d.error) } : d;
      events.push({ type, t: performance.now(), detail: JSON.parse(JSON.stringify(detail)) });
    });
  }
}

/** The folder, in the app, of webpack's output (webpack.config.js). */
export const WEBPACK_OUT = 'webpack-dist';

/** The folder, in {@link WEBPACK_OUT}, of the ES module build that imports the one-file bundle. */
export const WEBPACK_ESM_DIR = 'esm';

/** The app's second Vite config: the first plus `worker: { format: 'es' }`, building into {@link VITE_WORKER_ES_OUT}. */
export const VITE_WORKER_ES_CONFIG = 'vite.worker-es.config.js';

/** The folder, in the app, of the Vite build with `worker: { format: 'es' }`. */
export const VITE_WORKER_ES_OUT = 'dist-worker-es';

/**
 * The `Rescaler` page's script: restores `lrUrl` in a worker with the irn-x2 preset (and
 * `extraOptions`, text such as `, weightsUrl: '...'`), and leaves the result (or the error) in
 * `window.rescalerResult` for {@link rescalerOutcome}.
 */
export function rescalerScript(importFrom: string, lrUrl: string, extraOptions = ''): string {
  return `import { Rescaler } from '${importFrom}';

async function base64(blob) {
  const url = await new Promise((resolve) => {
    const reader = new FileReader();
    reader.onload = () => resolve(reader.result);
    reader.readAsDataURL(blob);
  });
  return url.slice(url.indexOf(',') + 1);
}

try {
  const started = performance.now();
  const rescaler = await Rescaler.create({ model: 'irn-x2', worker: true${extraOptions} });
  const lr = await (await fetch('${lrUrl}')).blob();
  const result = await rescaler.upscale(lr, { output: 'blob' });
  const ms = performance.now() - started;
  window.rescalerResult = { backend: rescaler.backend, reason: rescaler.backendReason, width: result.width, height: result.height, ms, png: await base64(result.image) };
  await rescaler.dispose();
} catch (error) {
  window.rescalerResult = { error: String(error?.stack ?? error) };
}
`;
}

/** The app's sources: the element page, the `Rescaler` page, and Vite's and webpack's settings. */
export function writeAppSources(appDir: string, lrFile: string, weights: WeightsSetup): void {
  mkdirSync(join(appDir, 'public'), { recursive: true });
  cpSync(lrFile, join(appDir, 'public/photo.lr.png'));
  if (weights.copyFrom != null) cpSync(weights.copyFrom, join(appDir, 'public/weights'), { recursive: true });
  writeFileSync(
    join(appDir, 'index.html'),
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>irn-image</title></head>
  <body>
    <irn-image src="/photo.lr.png" alt="A cat above a cup of coffee"${weights.attribute}></irn-image>
    <script type="module" src="/main.js"></script>
  </body>
</html>
`,
  );
  // What the element's README asks of a bundler user: one import.
  writeFileSync(join(appDir, 'main.js'), "import '@irn/element';\n");
  writeFileSync(
    join(appDir, 'rescaler.html'),
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Rescaler</title></head>
  <body>
    <script type="module" src="/rescaler.js"></script>
  </body>
</html>
`,
  );
  writeFileSync(join(appDir, 'rescaler.js'), rescalerScript('@irn/core/browser', '/photo.lr.png', weights.option));
  // Vite builds index.html alone unless told about the other pages (Vite's own multi-page
  // setting; nothing our packages need).
  const input = "rolldownOptions: { input: { main: 'index.html', rescaler: 'rescaler.html' } }";
  writeFileSync(join(appDir, 'vite.config.js'), `export default { build: { ${input} } };\n`);
  // The same with the one line the READMEs recommend (core's src/browser/README.md,
  // "Bundlers"), built in the same run into its own folder.
  writeFileSync(join(appDir, VITE_WORKER_ES_CONFIG), `export default { worker: { format: 'es' }, build: { outDir: '${VITE_WORKER_ES_OUT}', ${input} } };\n`);
  // The element's one-file bundle imported through a bundler, as its exports map allows.
  writeFileSync(join(appDir, 'bundle-import.js'), "import '@irn/element/irn-image.bundle.js';\n");
  // What a webpack 5 user writes: the two entries and where the output goes, nothing for our
  // packages (webpack 5 has no zero-config multi-entry; its default entry is src/index.js).
  // A second build, in the same run, imports the one-file bundle with webpack's ES module
  // output (`<script type="module">`, where the page has no `document.currentScript`; see
  // web.e2e.ts), into its own folder so that the two builds' chunk names cannot meet.
  writeFileSync(
    join(appDir, 'webpack.config.js'),
    `import { fileURLToPath } from 'node:url';

export default [
  {
    mode: 'production',
    entry: { main: './main.js', rescaler: './rescaler.js' },
    output: { path: fileURLToPath(new URL('./${WEBPACK_OUT}/', import.meta.url)) },
  },
  {
    mode: 'production',
    entry: { bundle: './bundle-import.js' },
    experiments: { outputModule: true },
    output: { module: true, filename: '[name].js', path: fileURLToPath(new URL('./${WEBPACK_OUT}/${WEBPACK_ESM_DIR}/', import.meta.url)) },
  },
];
`,
  );
}

/**
 * The pages of the webpack route, in webpack's output folder: webpack bundles JavaScript only,
 * so the HTML is the developer's (the same pages as Vite's, loading webpack's `main.js` and
 * `rescaler.js` with plain script tags), next to the LR; plus `page.html`, the element with
 * `worker="false"`, whose restore runs webpack's own bundle of TensorFlow.js in the page, and
 * `bundle.html`, the same with the one-file bundle as webpack's ES module build made it.
 */
export function writeWebpackPages(outDir: string, lrFile: string, weights: WeightsSetup): void {
  cpSync(lrFile, join(outDir, 'photo.lr.png'));
  if (weights.copyFrom != null) cpSync(weights.copyFrom, join(outDir, 'weights'), { recursive: true });
  const html = (title: string, body: string, script: string) => `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>${title}</title><script defer src="/${script}"></script></head>
  <body>${body}</body>
</html>
`;
  const element = (extra: string) => `<irn-image${extra} src="/photo.lr.png" alt="A cat above a cup of coffee"${weights.attribute}></irn-image>`;
  writeFileSync(join(outDir, 'index.html'), html('irn-image', element(''), 'main.js'));
  writeFileSync(join(outDir, 'page.html'), html('irn-image, page thread', element(' worker="false"'), 'main.js'));
  writeFileSync(join(outDir, 'rescaler.html'), html('Rescaler', '', 'rescaler.js'));
  writeFileSync(
    join(outDir, 'bundle.html'),
    html('irn-image, one-file bundle through webpack', element(' worker="false"'), `${WEBPACK_ESM_DIR}/bundle.js`).replace('<script defer ', '<script type="module" '),
  );
}

/**
 * The one-file bundle route, as the element's README says: the installed package's `dist/`
 * served as it is (the bundle, its `.wasm` binaries and `weights/` beside it) under `assets/`,
 * an HTML page with a script tag, and the LR. Without `dist/weights/` (before the weights
 * package), the repository's presets are copied to `weights/` and named by `weights-base`.
 */
export function writeBundleSite(siteDir: string, appDir: string, lrFile: string): void {
  const dist = join(appDir, 'node_modules/@irn/element/dist');
  cpSync(dist, join(siteDir, 'assets'), { recursive: true });
  cpSync(lrFile, join(siteDir, 'photo.lr.png'));
  let attribute = '';
  if (!existsSync(join(dist, 'weights'))) {
    cpSync(join(ROOT, 'weights'), join(siteDir, 'weights'), { recursive: true });
    attribute = ' weights-base="weights/"';
  }
  writeFileSync(
    join(siteDir, 'index.html'),
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>irn-image bundle</title></head>
  <body>
    <script type="module" src="assets/irn-image.bundle.js"></script>
    <irn-image src="photo.lr.png" alt="A cat above a cup of coffee"${attribute}></irn-image>
  </body>
</html>
`,
  );
  // The same with the model in a worker: the worker script beside the bundle, nothing else.
  writeFileSync(
    join(siteDir, 'worker.html'),
    `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>irn-image bundle, worker</title></head>
  <body>
    <script type="module" src="assets/irn-image.bundle.js"></script>
    <irn-image worker src="photo.lr.png" alt="A cat above a cup of coffee"${attribute}></irn-image>
  </body>
</html>
`,
  );
}

/** What a page reported, with what went wrong around it. */
export interface PageOutcome {
  backend: string;
  reason: string;
  width: number;
  height: number;
  /** From the start of the restore (element: its `irn-load-start`; Rescaler: `create`) to the image. */
  restoreMs: number;
  /** From navigation start to the restored image. */
  pageMs: number;
  png: Uint8Array;
  timings?: unknown;
}

/** Console errors and uncaught exceptions of a page, kept for failure messages. */
export async function watchPage(page: Page): Promise<string[]> {
  const problems: string[] = [];
  // Nothing but the test's own server may be asked for anything (CI reaches no CDN either):
  // such a request fails at once and is reported.
  await page.route(/^(?!http:\/\/127\.0\.0\.1:\d+\/)/, (route) => {
    problems.push(`external request refused: ${route.request().url()}`);
    return route.abort('blockedbyclient');
  });
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console.${m.type()}: ${m.text()}`);
  });
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  return problems;
}

/** Waits for `<irn-image>`'s `irn-load` (or `irn-error`) and fetches the restored PNG. */
export async function elementOutcome(page: Page, timeoutMs: number): Promise<PageOutcome> {
  try {
    await page.waitForFunction(() => (window as unknown as { irnEvents?: { type: string }[] }).irnEvents?.some((e) => e.type === 'irn-load' || e.type === 'irn-error'), undefined, {
      timeout: timeoutMs,
      polling: 100,
    });
  } catch (error) {
    const state = await page
      .evaluate(() => {
        const el = document.querySelector('irn-image') as unknown as { status?: string; progress?: number } | null;
        return JSON.stringify({ defined: customElements.get('irn-image') != null, status: el?.status, progress: el?.progress, events: (window as unknown as { irnEvents?: unknown }).irnEvents });
      })
      .catch((e: Error) => `(page state unreadable: ${e.message})`);
    throw new Error(`no irn-load or irn-error within ${timeoutMs / 1000} s; the element: ${state}`, { cause: error });
  }
  const events = await page.evaluate(() => (window as unknown as { irnEvents: { type: string; t: number; detail: Record<string, unknown> }[] }).irnEvents);
  const error = events.find((e) => e.type === 'irn-error');
  if (error != null) throw new Error(`irn-error: ${JSON.stringify(error.detail)}`);
  const load = events.find((e) => e.type === 'irn-load')!;
  const start = events.find((e) => e.type === 'irn-load-start');
  const png = await page.evaluate(async () => {
    const blob = await (document.querySelector('irn-image') as unknown as { toBlob(): Promise<Blob> }).toBlob();
    const url = await new Promise<string>((resolve) => {
      const reader = new FileReader();
      reader.onload = () => resolve(reader.result as string);
      reader.readAsDataURL(blob);
    });
    return url.slice(url.indexOf(',') + 1);
  });
  const d = load.detail as { backend: string; backendReason: string; width: number; height: number; timings: unknown };
  return {
    backend: d.backend,
    reason: d.backendReason,
    width: d.width,
    height: d.height,
    restoreMs: load.t - (start?.t ?? 0),
    pageMs: load.t,
    png: Buffer.from(png, 'base64'),
    timings: d.timings,
  };
}

/** Waits for the Rescaler page's result. */
export async function rescalerOutcome(page: Page, timeoutMs: number): Promise<PageOutcome> {
  await page.waitForFunction(() => (window as unknown as { rescalerResult?: unknown }).rescalerResult != null, undefined, { timeout: timeoutMs, polling: 100 });
  const r = await page.evaluate(() => (window as unknown as { rescalerResult: Record<string, unknown> }).rescalerResult);
  if (r.error != null) throw new Error(`Rescaler failed: ${String(r.error)}`);
  const pageMs = await page.evaluate(() => performance.now());
  return {
    backend: String(r.backend),
    reason: String(r.reason),
    width: Number(r.width),
    height: Number(r.height),
    restoreMs: Number(r.ms),
    pageMs,
    png: Buffer.from(String(r.png), 'base64'),
  };
}

/**
 * Checks a page's restore against the repository CLI's: the right size, on wasm, the same
 * Y-PSNR within 0.1 dB. Returns the page's PSNR.
 */
export function checkOutcome(outcome: PageOutcome, reference: Reference): number {
  const restored = decodePng(outcome.png);
  const { width, height } = reference.photo;
  if (outcome.width !== width || outcome.height !== height || restored.width !== width || restored.height !== height) {
    throw new Error(`restored ${outcome.width}x${outcome.height} (PNG ${restored.width}x${restored.height}), expected ${width}x${height}`);
  }
  if (outcome.backend !== 'wasm') throw new Error(`ran on ${outcome.backend} (${outcome.reason}), expected wasm`);
  const psnr = psnrY(restored, reference.photo);
  if (!(Math.abs(psnr - reference.psnr) < 0.1)) throw new Error(`Y-PSNR ${psnr.toFixed(3)} dB, the CLI's restore ${reference.psnr.toFixed(3)} dB`);
  return psnr;
}

/** A failure message with everything that helps: the step, the page's problems, the server's log. */
export function explain(step: string, error: unknown, problems: string[], serverLog: string): Error {
  const message = error instanceof Error ? error.message : String(error);
  return new Error(`${step}: ${message}\n--- page ---\n${tail(problems.join('\n')) || '(nothing)'}\n--- server log ---\n${tail(serverLog) || '(nothing)'}`);
}
