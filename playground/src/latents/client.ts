/**
 * The page's side of the latents worker (worker.ts, bundled to playground/dist/latents-worker.js):
 * the Latents tab's forward pass and the scores of its restores run there, so the page stays
 * responsive. The worker starts on first use and keeps the last model and photo it was sent;
 * a call whose `signal` aborts stops it (what runs there cannot be interrupted), and the next
 * call starts a fresh one.
 *
 * @example
 * const client = new LatentsClient('dist/latents-worker.js', wasmPaths);
 * const { z, stats } = await client.latents(model, 'wasm', photo.image, controller.signal);
 * const { scores, image } = await client.scores(restored, photo.image, model.scale);
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { IrnModel, RasterImage } from '@irn/core';
import type { BackendName } from '@irn/core/browser';
import type { Scores } from '../engine.js';
import type { LatentsResult } from './forward.js';
import { deserializeError, type FromLatentsWorker, type ToLatentsWorker } from './protocol.js';

export type { LatentsResult } from './forward.js';

interface Call {
  resolve(msg: FromLatentsWorker): void;
  reject(error: Error): void;
}

/** Requests without their id, which the client adds. */
type Request = ToLatentsWorker extends infer M ? (M extends { id: number } ? Omit<M, 'id'> : never) : never;

/** What the running worker holds (or was sent last): its model, the backend that model is on, and its photo. */
interface Held {
  model: IrnModel | null;
  backend: BackendName | null;
  photo: RasterImage | null;
}

const nothingHeld = (): Held => ({ model: null, backend: null, photo: null });

export class LatentsClient {
  private worker: Worker | null = null;
  private held = nothingHeld();
  /** The last model's weights, copied out once: a fresh worker gets them again. */
  private artifacts: { model: IrnModel; key: number; artifacts: tf.io.ModelArtifacts } | null = null;
  private readonly calls = new Map<number, Call>();
  private nextId = 1;
  private nextKey = 1;

  /** `workerUrl` and `wasmPaths` (the folder of the tfjs-backend-wasm `.wasm` files) as absolute URLs. */
  constructor(
    private readonly workerUrl: string,
    private readonly wasmPaths: string,
  ) {}

  /** Whether a call for `model` on `backend` would find them in a running worker (no worker start, no weights to send). */
  holds(model: IrnModel, backend: BackendName): boolean {
    return this.worker != null && this.held.model === model && this.held.backend === backend;
  }

  /**
   * The forward pass of `photo` (RGB, sides multiples of the scale) through `model` on
   * `backend`, in the worker. Rejects with `signal`'s reason once it aborts.
   */
  async latents(model: IrnModel, backend: BackendName, photo: RasterImage, signal?: AbortSignal): Promise<LatentsResult> {
    signal?.throwIfAborted();
    if (this.artifacts?.model !== model) this.artifacts = { model, key: this.nextKey++, artifacts: await model.toArtifacts() };
    const sentPhoto = await this.copyUnlessHeld(photo, signal);
    signal?.throwIfAborted();
    const { key, artifacts } = this.artifacts;
    this.start();
    const transfer: ArrayBuffer[] = [];
    const request: Request = { type: 'latents', backend, wasmPaths: this.wasmPaths, modelKey: key };
    // The worker drops its model when it moves to another backend.
    if (!this.holds(model, backend)) {
      // One buffer (IrnModel.toArtifacts): copied, so that the next fresh worker can have it too.
      const weightData = (artifacts.weightData as ArrayBuffer).slice(0);
      request.artifacts = { ...artifacts, weightData };
      transfer.push(weightData);
    }
    if (sentPhoto != null) transfer.push((request.photo = sentPhoto).data.buffer as ArrayBuffer);
    const call = this.call(request, transfer, signal);
    const held = (this.held = { model, backend, photo });
    try {
      return ((await call) as Extract<FromLatentsWorker, { type: 'latents' }>).result;
    } catch (e) {
      // The worker may hold no model, or half of one: send everything again next time.
      if (this.held === held) this.held = nothingHeld();
      throw e;
    }
  }

  /**
   * Y-channel PSNR and SSIM of `image` against `reference` (the photo of the last
   * {@link LatentsClient.latents}, which the worker keeps) with the paper's protocol (`scale`
   * px shaved), in the worker. `image`'s buffer goes there and back: use the `image` returned,
   * not the one given, which is empty while the call runs and afterwards.
   */
  async scores(image: RasterImage, reference: RasterImage, scale: number): Promise<{ scores: Scores; image: RasterImage }> {
    const sentReference = await this.copyUnlessHeld(reference);
    this.start();
    const sent = { width: image.width, height: image.height, channels: image.channels, data: image.data };
    const transfer = [sent.data.buffer as ArrayBuffer];
    const request: Request = { type: 'scores', image: sent, scale };
    if (sentReference != null) transfer.push((request.reference = sentReference).data.buffer as ArrayBuffer);
    this.held.photo = reference;
    const reply = (await this.call(request, transfer)) as Extract<FromLatentsWorker, { type: 'scores' }>;
    return { scores: reply.scores, image: reply.image };
  }

  /**
   * A copy of `photo` to send, or null when the running worker holds it: checked again after
   * each copy, since a call aborted meanwhile stops the worker. Nothing is awaited between
   * the last check and the caller's use of the answer.
   */
  private async copyUnlessHeld(photo: RasterImage, signal?: AbortSignal): Promise<RasterImage | null> {
    let copy: RasterImage | null = null;
    while (copy == null && (this.worker == null || this.held.photo !== photo)) copy = await copyInTurns(photo, signal);
    return copy;
  }

  /** Stops the worker; pending calls reject with an `AbortError`. */
  dispose(): void {
    this.stop(new DOMException('the latents worker was stopped', 'AbortError') as unknown as Error);
  }

  private call(request: Request, transfer: ArrayBuffer[], signal?: AbortSignal): Promise<FromLatentsWorker> {
    const worker = this.start();
    const id = this.nextId++;
    // Work in flight in the worker cannot be interrupted: an abort stops the worker (every
    // call pending there rejects with the signal's reason).
    const onAbort = (): void => this.stop(signal!.reason as Error);
    signal?.addEventListener('abort', onAbort, { once: true });
    const reply = new Promise<FromLatentsWorker>((resolve, reject) => this.calls.set(id, { resolve, reject }));
    worker.postMessage({ ...request, id } as ToLatentsWorker, transfer);
    return reply.finally(() => signal?.removeEventListener('abort', onAbort));
  }

  private start(): Worker {
    if (this.worker != null) return this.worker;
    const worker = new Worker(this.workerUrl, { type: 'module', name: 'irn-latents' });
    worker.addEventListener('message', (event) => this.receive(event.data as FromLatentsWorker));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      // No message: the script itself did not load (missing, or not JavaScript).
      this.stop(new Error(`the latents worker failed: ${event.message || `its script could not be loaded from ${this.workerUrl}`}`));
    });
    worker.addEventListener('messageerror', () => this.stop(new Error('the latents worker sent a message that could not be read')));
    this.worker = worker;
    this.held = nothingHeld();
    return worker;
  }

  /** Terminates the worker and rejects every pending call with `error`; the next call starts a new worker. */
  private stop(error: Error): void {
    this.worker?.terminate();
    this.worker = null;
    this.held = nothingHeld();
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(error);
  }

  private receive(msg: FromLatentsWorker): void {
    const call = this.calls.get(msg.id);
    if (call == null) return;
    this.calls.delete(msg.id);
    if (msg.type === 'error') call.reject(deserializeError(msg.error));
    else call.resolve(msg);
  }
}

/** Floats copied per turn by {@link copyInTurns}: 1 MiB. */
const COPY_TURN = 1 << 18;

/**
 * A copy of `img` in a buffer of its own, to transfer (the page keeps the original), made
 * 1 MiB at a time with the page's other work in between: a 1024 x 1024 photo (12 MiB of
 * floats) copied at once held a 2-core machine's page for 0.1 to 0.2 s, structured cloning it
 * as long.
 */
async function copyInTurns(img: RasterImage, signal?: AbortSignal): Promise<RasterImage> {
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i += COPY_TURN) {
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 0));
    signal?.throwIfAborted();
    data.set(img.data.subarray(i, i + COPY_TURN), i);
  }
  return { width: img.width, height: img.height, channels: img.channels, data };
}
