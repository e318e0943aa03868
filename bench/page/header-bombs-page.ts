// The page bench/header-bombs.ts drives (bundled by it with esbuild): one route per fresh
// page, in a browser context of its own, so that the renderer's peak memory is that route's
// alone. Each route reads a file whose header claims far more pixels than it holds, the way a
// page would meet it: the browser's own decoders (createImageBitmap, an <img> shown in the
// page) against @irn/core's decodeInput, a Rescaler call and <irn-image>, which read the size
// from the headers first.
import { decodeInput, Rescaler } from '../../packages/core/src/browser.js';
import { IrnImage } from '../../packages/element/src/index.js';

/** The ways of reading a file that the bench compares. */
export type Route = 'createImageBitmap' | 'img' | 'decodeInput' | 'rescaler' | 'irn-image';

/** What one route did with one file: how long it took, and what it said. */
export interface RouteResult {
  ms: number;
  /** `decoded WxH` (`painted` for the <img>), or the one line of its error or irn-error. */
  outcome: string;
}

/** Settings of a run, from the bench. */
export interface PageSetup {
  /** model.json of a small model, for the Rescaler (its decode is what is measured). */
  modelUrl: string;
  /** Folder of the element's presets: never reached for a refused file, but it needs one. */
  weightsBase: string;
}

let rescaler: Rescaler | null = null;
let setup: PageSetup | null = null;

/** Done before the idle level is read: what a page holds before the file comes (the model of a Rescaler). */
async function prepare(route: Route, options: PageSetup): Promise<void> {
  setup = options;
  if (route === 'rescaler') rescaler = await Rescaler.create({ model: options.modelUrl, backend: 'cpu' });
}

const line = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)).split('\n')[0];

const nextFrame = (): Promise<void> => new Promise((r) => requestAnimationFrame(() => r()));

/** Reads `url` by `route`; resolves with its time (from the bytes in memory, or the URL set) and outcome. */
async function run(route: Route, url: string): Promise<RouteResult> {
  const blob = route === 'img' || route === 'irn-image' ? null : await (await fetch(url)).blob();
  const start = performance.now();
  try {
    switch (route) {
      case 'createImageBitmap': {
        const bitmap = await createImageBitmap(blob!);
        const ms = performance.now() - start;
        const outcome = `decoded ${bitmap.width}x${bitmap.height}`;
        bitmap.close();
        return { ms, outcome };
      }
      case 'img': {
        // Shown in the page, as a plain <img src> shows a file once it has downloaded, in a
        // responsive layout (max-width: 100%, so 800 px wide). decode() resolves at once for
        // so large an image; the decode runs when the compositor rasters it, before the frames
        // after it.
        const img = document.createElement('img');
        img.src = url;
        img.style.maxWidth = '100%';
        document.body.append(img);
        await img.decode();
        const decodedMs = performance.now() - start;
        for (let i = 0; i < 2; i++) await nextFrame();
        const ms = performance.now() - start;
        return { ms, outcome: `painted ${img.naturalWidth}x${img.naturalHeight} (its decode() resolved after ${decodedMs.toFixed(0)} ms)` };
      }
      case 'decodeInput':
      case 'rescaler': {
        const out = route === 'rescaler' ? await rescaler!.downscale(blob!) : (await decodeInput(blob!)).raster;
        return { ms: performance.now() - start, outcome: `decoded ${out.width}x${out.height}` };
      }
      case 'irn-image': {
        const el = document.createElement('irn-image') as IrnImage;
        let error: string | null = null;
        el.addEventListener('irn-error', (e) => (error = e.detail.error.message));
        for (const [k, v] of Object.entries({ src: url, 'weights-base': setup!.weightsBase, backend: 'cpu', loading: 'eager' })) el.setAttribute(k, v);
        document.body.append(el);
        while (el.status !== 'error' && el.status !== 'restored') await new Promise((r) => setTimeout(r, 5));
        const ms = performance.now() - start;
        for (let i = 0; i < 3; i++) await nextFrame();
        const img = el.shadowRoot?.querySelector('img');
        const shown = img?.hasAttribute('src') === true ? `, the LR shown (${img.naturalWidth}x${img.naturalHeight})` : ', nothing shown';
        return error != null ? { ms, outcome: `irn-error: ${error}${shown}` } : { ms, outcome: `restored${shown}` };
      }
    }
  } catch (e) {
    return { ms: performance.now() - start, outcome: line(e) };
  }
}

declare global {
  interface Window {
    headerBombs: typeof api;
  }
}

const api = { prepare, run };
window.headerBombs = api;
document.title = 'ready';
