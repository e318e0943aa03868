// Messages between the page's LatentsClient (client.ts) and the latents worker
// (worker-main.ts). Pixels travel in transferred buffers: the photo and the weights as copies
// (the page keeps using them), a restore to score there and back. Style as the fine-tune
// worker's (../train/protocol.ts).
import type * as tf from '@tensorflow/tfjs-core';
import type { RasterImage } from '@irn/core';
import type { BackendName, SerializedError } from '@irn/core/browser';
import type { Scores } from '../engine.js';
import type { LatentsResult } from './forward.js';

export { deserializeError, serializeError, type SerializedError } from '@irn/core/browser';

export type ToLatentsWorker =
  /**
   * The latents of the photo through the model `modelKey` on `backend` (started, with
   * `wasmPaths`, when the worker is not on it yet). `artifacts` come when the worker does not
   * hold that model on that backend, `photo` when it does not hold the photo: it keeps the
   * last of each (the photo to score restores against).
   */
  | { type: 'latents'; id: number; backend: BackendName; wasmPaths: string; modelKey: number; artifacts?: tf.io.ModelArtifacts; photo?: RasterImage }
  /**
   * Y-channel PSNR and SSIM of `image` against the photo the worker holds (or `reference`,
   * which it then holds), with the paper's protocol (`scale` px shaved). `image` comes back.
   */
  | { type: 'scores'; id: number; image: RasterImage; reference?: RasterImage; scale: number };

export type FromLatentsWorker =
  | { type: 'latents'; id: number; result: LatentsResult }
  | { type: 'scores'; id: number; scores: Scores; image: RasterImage }
  | { type: 'error'; id: number; error: SerializedError };
