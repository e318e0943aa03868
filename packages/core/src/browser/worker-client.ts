// Types only: a page whose rescaler computes in the worker loads no TensorFlow.js (a
// `'tensor'` output imports it, through rasterToTensor).
import type * as tf from '@tensorflow/tfjs-core';
import { checkRaster } from '../image/raster.js';
import { resolveLimits, type Limits } from '../limits.js';
import { fetchImageBytes } from './read-body.js';
import { abortReason, throwIfAborted } from './abort.js';
import type { BackendChoice, BackendName, BackendSetup } from './backends.js';
import type { BackendFallback, RescaleProgress, RescalerMemory, RunOptions } from './engine.js';
// kinds.js, not inputs.js and outputs.js: those bring the PNG codecs, which only the worker uses.
import { checkOutputKind, describe, drawableToBitmap, isDrawable, isRaster, isTensor, rasterToTensor, tensorToRaster, type ImageInput, type OutputKind } from './kinds.js';
import type { DownscaleCallOptions, PipelineExtras, RescaleResult, UpscaleCallOptions } from './pipeline.js';
import { deserializeError, type FromWorker, type ToWorker, type WorkerImage, type WorkerInput } from './protocol.js';

interface Call {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  onProgress?: (progress: RescaleProgress) => void;
  signal?: AbortSignal;
}

/**
 * The page's side of a rescaler worker: the same calls as a {@link RescaleEngine} plus the
 * pipeline, sent as messages. Inputs are turned into transferables here (an `ImageBitmap`
 * of an element or canvas, a copy of a tensor's values); everything else happens in the worker.
 */
export class WorkerClient {
  private nextId = 1;
  private readonly calls = new Map<number, Call>();
  private failure: Error | null = null;
  backend: BackendName = 'cpu';
  /** The worker engine's `backendReason`, kept up to date across fallbacks. */
  backendReason = '';
  scale = 0;

  private constructor(
    private readonly worker: Worker,
    private readonly onFallback: (event: BackendFallback) => void,
    unloadable: string,
  ) {
    worker.addEventListener('message', (event) => this.receive(event.data as FromWorker));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      // No message: the script itself did not load (missing, or not JavaScript).
      this.fail(new Error(`the rescaler worker failed: ${event.message || unloadable}`));
    });
    worker.addEventListener('messageerror', () => this.fail(new Error('the rescaler worker sent a message that could not be read')));
  }

  /**
   * Sends the model to `worker` (transferring `artifacts.weightData`) and waits until it runs
   * on a backend. `unloadable` says what to do when the worker's script does not load.
   */
  static async start(
    worker: Worker,
    artifacts: tf.io.ModelArtifacts & { weightData: ArrayBuffer },
    options: BackendSetup & { backend?: BackendChoice; fallback?: boolean },
    onFallback: (event: BackendFallback) => void,
    unloadable = 'its script could not be loaded',
  ): Promise<WorkerClient> {
    const client = new WorkerClient(worker, onFallback, unloadable);
    // The weights move to the worker (it keeps them to rebuild the model after a fallback).
    const ready = (await client.call({ type: 'init', id: 0, artifacts, options }, [artifacts.weightData])) as { backend: BackendName; backendReason: string; scale: number };
    client.backend = ready.backend;
    client.backendReason = ready.backendReason;
    client.scale = ready.scale;
    return client;
  }

  /** Decodes, rescales and encodes in the worker. */
  async run(
    op: 'downscale' | 'upscale',
    input: ImageInput,
    options: (DownscaleCallOptions | UpscaleCallOptions) & PipelineExtras,
    fetchFn?: typeof fetch,
  ): Promise<RescaleResult<unknown>> {
    const { onProgress, signal, output = 'imagedata', ...rest } = options;
    checkOutputKind(output);
    throwIfAborted(signal);
    const [packed, transfer] = await packInput(input, fetchFn, resolveLimits(rest.limits), signal);
    throwIfAborted(signal);
    const result = (await this.call({ type: 'run', id: 0, op, input: packed, options: rest, output }, transfer, onProgress, signal)) as RescaleResult<
      WorkerImage | null
    >;
    return { ...result, image: await unpackImage(result.image!, output) };
  }

  /** Runs the worker's warmup. */
  async warmup(options: RunOptions = {}): Promise<void> {
    const { onProgress: _, signal, ...rest } = options;
    await this.call({ type: 'warmup', id: 0, options: rest }, [], undefined, signal);
  }

  /** The worker's live tensors. */
  async memory(): Promise<RescalerMemory> {
    return ((await this.call({ type: 'memory', id: 0 }, [])) as { memory: RescalerMemory }).memory;
  }

  /** Stops the worker at once (its tensors and GPU context go with it); pending calls reject with an `AbortError`. */
  async dispose(): Promise<void> {
    this.worker.terminate();
    this.fail(new DOMException('the rescaler was disposed', 'AbortError') as unknown as Error);
  }

  private call(message: ToWorker, transfer: Transferable[], onProgress?: (p: RescaleProgress) => void, signal?: AbortSignal): Promise<unknown> {
    if (this.failure != null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const onAbort = (): void => this.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
      signal?.addEventListener('abort', onAbort, { once: true });
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.calls.delete(id);
      };
      this.calls.set(id, {
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          // The worker stopped because of this signal: reject with its reason, as fetch does.
          reject(signal?.aborted && (e as Error).name === 'AbortError' ? abortReason(signal) : e);
        },
        onProgress,
        signal,
      });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private receive(msg: FromWorker): void {
    if (msg.type === 'fallback') {
      this.backend = msg.to;
      this.backendReason = `${msg.from} failed: ${msg.error.message.slice(0, 200)}`;
      this.onFallback({ from: msg.from, to: msg.to, error: deserializeError(msg.error) });
      return;
    }
    const call = this.calls.get(msg.id);
    if (call == null) return;
    switch (msg.type) {
      case 'progress':
        call.onProgress?.(msg.progress);
        return;
      case 'ready':
      case 'memory':
        call.resolve(msg);
        return;
      case 'done':
        this.backend = msg.result.backend;
        call.resolve(msg.result);
        return;
      case 'error':
        call.reject(deserializeError(msg.error));
        return;
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const call of [...this.calls.values()]) call.reject(error);
  }
}

/** The input as a message part, with what to transfer. The caller's objects stay usable. */
async function packInput(input: ImageInput, fetchFn: typeof fetch | undefined, limits: Limits, signal?: AbortSignal): Promise<[WorkerInput, Transferable[]]> {
  if (typeof input === 'string' || input instanceof URL) {
    const base = globalThis.location?.href;
    const url = base == null ? new URL(input) : new URL(input, base);
    // A custom fetch cannot cross into the worker: use it here and send what it got.
    if (fetchFn == null) return [{ kind: 'url', url: url.href }, []];
    const { bytes, type } = await fetchImageBytes(url.href, fetchFn, limits, signal);
    return [{ kind: 'blob', blob: new Blob([bytes as BlobPart], { type }) }, []];
  }
  if (input instanceof Blob) return [{ kind: 'blob', blob: input }, []];
  if (isTensor(input)) {
    const raster = await tensorToRaster(input);
    return [{ kind: 'raster', raster }, [raster.data.buffer]];
  }
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return [{ kind: 'imagedata', image: input }, []];
  if (isRaster(input)) {
    checkRaster(input);
    const raster = { ...input, data: input.data.slice() };
    return [{ kind: 'raster', raster }, [raster.data.buffer]];
  }
  if ((typeof ImageBitmap !== 'undefined' && input instanceof ImageBitmap) || isDrawable(input)) {
    const bitmap = await drawableToBitmap(input as ImageBitmapSource);
    return [{ kind: 'bitmap', bitmap }, [bitmap]];
  }
  throw new TypeError(`cannot read an image from ${describe(input)}; see ImageInput for what is accepted`);
}

async function unpackImage(image: WorkerImage, output: OutputKind): Promise<unknown> {
  switch (image.kind) {
    case 'raster':
      return output === 'tensor' ? rasterToTensor(image.raster) : image.raster;
    case 'imagedata':
      return new ImageData(image.data as Uint8ClampedArray<ArrayBuffer>, image.width, image.height);
    case 'bitmap':
      return image.bitmap;
    case 'blob':
      return image.blob;
  }
}
