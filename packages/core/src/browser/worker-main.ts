import type { RasterImage } from '../image/raster.js';
import { RescaleEngine } from './engine.js';
import type { ImageInput } from './inputs.js';
import { runPipeline } from './pipeline.js';
import { serializeError, type FromWorker, type ToWorker, type WorkerImage, type WorkerInput } from './protocol.js';

/** The part of a worker's global scope this module uses. */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/**
 * Serves a `Rescaler` from inside a module worker: builds a {@link RescaleEngine} on `init`,
 * runs `run` and `warmup` calls one at a time, aborts a call at its next tile on `abort`.
 * Only worker-safe APIs are used (`OffscreenCanvas`, `createImageBitmap`, `fetch`).
 */
export function serveRescaler(scope: WorkerScope): void {
  let engine: Promise<RescaleEngine> | null = null;
  const calls = new Map<number, AbortController>();
  const post = (message: FromWorker, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

  scope.addEventListener('message', (event) => {
    const msg = event.data as ToWorker;
    if (msg.type === 'abort') {
      calls.get(msg.id)?.abort();
      return;
    }
    if (msg.type === 'memory') {
      void engine?.then(
        (e) => post({ type: 'memory', id: msg.id, memory: e.memory() }),
        (e) => post({ type: 'error', id: msg.id, error: serializeError(e) }),
      );
      return;
    }
    if (msg.type === 'init') {
      engine = RescaleEngine.create(msg.artifacts, {
        ...msg.options,
        onFallback: ({ from, to, error }) => post({ type: 'fallback', from, to, error: serializeError(error) }),
      });
      engine.then(
        (e) => post({ type: 'ready', id: msg.id, backend: e.backend, backendReason: e.backendReason, scale: e.scale }),
        (e) => post({ type: 'error', id: msg.id, error: serializeError(e) }),
      );
      return;
    }
    const controller = new AbortController();
    calls.set(msg.id, controller);
    void (async () => {
      try {
        if (engine == null) throw new Error('the rescaler worker got a call before init');
        const ready = await engine;
        if (msg.type === 'warmup') {
          await ready.warmup({ ...msg.options, signal: controller.signal });
          post({ type: 'done', id: msg.id, result: { image: null, width: 0, height: 0, channels: 0, backend: ready.backend, ms: 0 } });
          return;
        }
        const output = msg.output === 'tensor' ? 'raster' : msg.output;
        const result = await runPipeline(ready, msg.op, readInput(msg.input), {
          ...msg.options,
          output,
          signal: controller.signal,
          onProgress: (progress) => post({ type: 'progress', id: msg.id, progress }),
        });
        const [image, transfer] = packImage(result.image, output);
        post({ type: 'done', id: msg.id, result: { ...result, image } }, transfer);
      } catch (e) {
        post({ type: 'error', id: msg.id, error: serializeError(e) });
      } finally {
        calls.delete(msg.id);
        // The bitmap was transferred here for this call: nobody else can close it.
        if (msg.type === 'run' && msg.input.kind === 'bitmap') msg.input.bitmap.close();
      }
    })();
  });
}

/** The input as `runPipeline` reads it. */
function readInput(input: WorkerInput): ImageInput {
  switch (input.kind) {
    case 'bitmap':
      return input.bitmap;
    case 'imagedata':
      return input.image;
    case 'blob':
      return input.blob;
    case 'url':
      return input.url;
    case 'raster':
      return input.raster;
  }
}

function packImage(image: unknown, kind: string): [WorkerImage, Transferable[]] {
  switch (kind) {
    case 'raster': {
      const raster = image as RasterImage;
      return [{ kind: 'raster', raster }, [raster.data.buffer]];
    }
    case 'imagedata': {
      const { width, height, data } = image as ImageData;
      return [{ kind: 'imagedata', width, height, data }, [data.buffer]];
    }
    case 'bitmap':
      return [{ kind: 'bitmap', bitmap: image as ImageBitmap }, [image as ImageBitmap]];
    default:
      return [{ kind: 'blob', blob: image as Blob }, []];
  }
}
