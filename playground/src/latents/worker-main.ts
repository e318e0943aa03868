// The latents worker's logic (worker.ts is the entry): the Latents tab's forward pass on the
// page's backend, and the scores of its restores, off the page's thread. One request at a
// time, in order; the page stops the worker to drop a request that is no longer wanted (a
// forward pass cannot be interrupted).
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, type RasterImage } from '@irn/core';
import { activateBackend, type BackendName } from '@irn/core/browser';
import { scores } from '../engine.js';
import { computeLatents, resultBuffers } from './forward.js';
import { serializeError, type FromLatentsWorker, type ToLatentsWorker } from './protocol.js';

/** The part of a worker's global scope this module uses. */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

/** Serves the page's {@link ToLatentsWorker} requests from inside a module worker. */
export function serveLatents(scope: WorkerScope): void {
  let backend: BackendName | null = null;
  let held: { key: number; model: IrnModel } | null = null;
  /** The photo of the last latents: what restores are scored against. */
  let photo: RasterImage | null = null;
  let tail: Promise<void> = Promise.resolve();
  const post = (message: FromLatentsWorker, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

  /** The model `msg` names, on its backend: what the worker holds, else built from `msg.artifacts`. */
  async function modelFor(msg: Extract<ToLatentsWorker, { type: 'latents' }>): Promise<IrnModel> {
    if (backend !== msg.backend) {
      held?.model.dispose();
      held = null;
      backend = null;
      const started = await activateBackend(msg.backend, { wasmPaths: msg.wasmPaths });
      if (!started.ok) throw new Error(`the ${msg.backend} backend could not start in the latents worker: ${started.reason}`);
      backend = msg.backend;
    }
    if (held?.key !== msg.modelKey) {
      if (msg.artifacts == null) throw new Error('the latents worker was not sent the model');
      held?.model.dispose();
      held = null;
      held = { key: msg.modelKey, model: await IrnModel.load(tf.io.fromMemory(msg.artifacts)) };
    }
    return held.model;
  }

  async function handle(msg: ToLatentsWorker): Promise<void> {
    try {
      if (msg.type === 'scores') {
        photo = msg.reference ?? photo;
        if (photo == null) throw new Error('the latents worker has no photo to score against');
        post({ type: 'scores', id: msg.id, scores: scores(msg.image, photo, msg.scale), image: msg.image }, [msg.image.data.buffer as ArrayBuffer]);
        return;
      }
      photo = msg.photo ?? photo;
      if (photo == null) throw new Error('the latents worker was not sent the photo');
      const result = await computeLatents(await modelFor(msg), photo);
      post({ type: 'latents', id: msg.id, result }, resultBuffers(result));
    } catch (e) {
      post({ type: 'error', id: msg.id, error: serializeError(e) });
    }
  }

  scope.addEventListener('message', (event) => {
    const msg = event.data as ToLatentsWorker;
    tail = tail.then(() => handle(msg));
  });
}
