import type * as tf from '@tensorflow/tfjs-core';
import type { RasterImage } from '../image/raster.js';
import type { Limits } from '../limits.js';
import type { BackendName, BackendSetup, BackendChoice } from './backends.js';
import type { RescaleProgress, RescalerMemory, RunOptions, UpscaleRunOptions } from './engine.js';
import type { PipelineExtras, RescaleResult } from './pipeline.js';
import type { OutputKind } from './outputs.js';

// Messages between the Rescaler (page) and its worker (worker-main.ts). Pixels travel as
// transferables (ImageBitmap, ArrayBuffer) or as Blobs, never as base64.

/** An input as sent to the worker: already a bitmap, or something the worker reads itself. */
export type WorkerInput =
  | { kind: 'bitmap'; bitmap: ImageBitmap }
  | { kind: 'imagedata'; image: ImageData }
  | { kind: 'blob'; blob: Blob }
  | { kind: 'url'; url: string }
  | { kind: 'raster'; raster: RasterImage };

/** Call options without the parts that cannot cross (callbacks, the signal). */
export type WorkerRunOptions = Omit<UpscaleRunOptions, 'onProgress' | 'signal'> & { limits?: Partial<Limits> } & PipelineExtras;

/** What the worker sends back as the image: `'tensor'` travels as a raster. */
export type WorkerImage =
  | { kind: 'raster'; raster: RasterImage }
  | { kind: 'imagedata'; width: number; height: number; data: Uint8ClampedArray }
  | { kind: 'bitmap'; bitmap: ImageBitmap }
  | { kind: 'blob'; blob: Blob };

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
}

export type ToWorker =
  | {
      type: 'init';
      id: number;
      artifacts: tf.io.ModelArtifacts;
      options: BackendSetup & { backend?: BackendChoice; fallback?: boolean };
    }
  | { type: 'run'; id: number; op: 'downscale' | 'upscale'; input: WorkerInput; options: WorkerRunOptions; output: OutputKind }
  | { type: 'warmup'; id: number; options: Omit<RunOptions, 'onProgress' | 'signal'> }
  | { type: 'abort'; id: number }
  | { type: 'memory'; id: number };

export type FromWorker =
  | { type: 'ready'; id: number; backend: BackendName; backendReason: string; scale: number }
  | { type: 'progress'; id: number; progress: RescaleProgress }
  | { type: 'fallback'; from: BackendName; to: BackendName; error: SerializedError }
  | { type: 'done'; id: number; result: Omit<RescaleResult<unknown>, 'image'> & { image: WorkerImage | null } }
  | { type: 'memory'; id: number; memory: RescalerMemory }
  | { type: 'error'; id: number; error: SerializedError };

export function serializeError(e: unknown): SerializedError {
  if (e instanceof Error || (typeof DOMException !== 'undefined' && e instanceof DOMException)) return { name: e.name, message: e.message, stack: e.stack };
  return { name: 'Error', message: String(e) };
}

/** An Error (or a DOMException for `AbortError`) like the serialized one. */
export function deserializeError(e: SerializedError): Error {
  if (e.name === 'AbortError') return new DOMException(e.message, 'AbortError') as unknown as Error;
  const error = new Error(e.message);
  error.name = e.name;
  if (e.stack != null) error.stack = e.stack;
  return error;
}
