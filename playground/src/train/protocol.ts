// Messages between a FineTuneSession (client.ts, in the page) and the fine-tuning worker
// (worker-main.ts), and the config checks both sides share. Pixels and weights travel as
// transferred ArrayBuffers. Style as @irn/core's Rescaler worker (src/browser/protocol.ts).
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendChoice, BackendName, IrnScale, SerializedError, StepReport, TrainImage } from '@irn/core/browser';

export { deserializeError, serializeError, type SerializedError } from '@irn/core/browser';

/** How the model to fine-tune is made. */
export type FineTuneInit =
  /** A fresh model: exactly the Haar transform until trained. */
  | { kind: 'fresh'; scale: IrnScale; blocks: number; growth: number; seed?: number }
  /** A saved IRN model (a shipped preset, an IndexedDB model...), loaded by the page. */
  | { kind: 'artifacts'; artifacts: tf.io.ModelArtifacts };

/** What a fine-tune runs on and how; see `FineTuneSession.start` in client.ts. */
export interface FineTuneConfig {
  init: FineTuneInit;
  /** Training photos, 8-bit RGB. Their buffers are transferred to the worker (see `keepImages`). */
  images: TrainImage[];
  /**
   * Validation photos. Default: with several `images`, the last one is held out (not trained
   * on) and validated on; with one image, a centre crop of it is validated on (it is also
   * trained on, so the score measures fit, not generalisation).
   */
  validation?: TrainImage[];
  /** Side (px) of the centre crop of each validation image, rounded down to the scale. Default 128. */
  validationSize?: number;
  /** Optimisation steps (>= 1). */
  steps: number;
  /** Patches per step (>= 1). */
  batch: number;
  /** Patch side in HR pixels: a multiple of the model's scale, at most the smallest training image side. */
  patch: number;
  /** Learning rate (Adam), constant unless changed with `setLearningRate`. */
  lr: number;
  /** Standard deviation of the z of the reconstruction term (see `IrnLossOptions.zScale`). Default 0. */
  zScale?: number;
  /** Seed of patch sampling, augmentation and z. Default 0. */
  seed?: number;
  /** Default `'auto'`: webgpu, webgl, wasm, cpu, the first that starts (a software WebGPU adapter after webgl). */
  backend?: BackendChoice;
  /** Folder (URL ending in `/`) of the tfjs-backend-wasm `.wasm` files, for the wasm backend. */
  wasmPaths?: string;
  /** A `step` event every this many steps (and after the last). Default 1. */
  reportEvery?: number;
  /** A `validation` event every this many steps, before the first and after the last; 0: only before the first and after the last. Default 50. */
  validateEvery?: number;
  /** Copy the images' pixels to the worker instead of transferring (detaching) their buffers. Default false. */
  keepImages?: boolean;
}

/** A training step as the session reports it. */
export interface FineTuneStep extends StepReport {
  /**
   * Steps per second over the steps since the previous report (all of them, not only the
   * reported one), in training time: pauses, validation and exports excluded. The first
   * report includes the backend's start-up (shader compilation).
   */
  stepsPerSecond: number;
  /** Training time so far (ms): the time spent in steps, pauses, validation and exports excluded. */
  elapsedMs: number;
}

/** A validation score: mean round-trip PSNR-Y (dB, z = 0, 8-bit LR, `scale` px shaved) over the validation crops. */
export interface FineTuneValidation {
  /** Steps done when measured. */
  step: number;
  psnr: number;
}

export type FineTuneState = 'running' | 'paused' | 'done' | 'stopped' | 'error';

/** What `ready` tells the page. */
export interface FineTuneReady {
  backend: BackendName;
  /** Backends tried before `backend`, and why they did not start (`'auto'` only). */
  skipped: { backend: BackendName; reason: string }[];
  scale: number;
  params: number;
  /** The validation crops, `[h, w]` each, and where they came from. */
  validation: { width: number; height: number; source: string }[];
}

/** Live tensors in the worker. */
export interface FineTuneMemory {
  numTensors: number;
  numBytes: number;
  backend: BackendName;
}

/** The worker's copy of the config: images as plain objects whose buffers were transferred. */
export type WorkerConfig = Omit<FineTuneConfig, 'keepImages'>;


export type ToTrainWorker =
  /** `lockId`: the worker holds the Web Lock `FINE_TUNE_LOCK_PREFIX + lockId` while it lives. */
  | { type: 'start'; id: number; config: WorkerConfig; lockId: string }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'set-lr'; lr: number }
  | { type: 'stop'; id: number }
  | { type: 'export'; id: number }
  | { type: 'validate'; id: number }
  | { type: 'memory'; id: number };

export type FromTrainWorker =
  | { type: 'ready'; id: number; ready: FineTuneReady }
  | { type: 'step'; step: FineTuneStep }
  | { type: 'validation'; validation: FineTuneValidation }
  | { type: 'state'; state: FineTuneState; step: number; error?: SerializedError }
  | { type: 'fallback'; from: BackendName; to: BackendName; step: number; error: SerializedError }
  /** The loss became `loss` (not finite) at `step`; the weights went back to `restoredStep` and training paused. */
  | { type: 'diverged'; step: number; loss: number; restoredStep: number }
  | { type: 'stopped'; id: number; step: number }
  | { type: 'exported'; id: number; artifacts: tf.io.ModelArtifacts; step: number }
  | { type: 'validated'; id: number; validation: FineTuneValidation }
  | { type: 'memory'; id: number; memory: FineTuneMemory }
  | { type: 'error'; id: number; error: SerializedError };


/**
 * Each fine-tuning worker holds a Web Lock named this prefix and a random id for as long as
 * it lives, so a page can list the live ones: `(await navigator.locks.query()).held`.
 */
export const FINE_TUNE_LOCK_PREFIX = 'irn-fine-tune:';

/**
 * The validation crop of one image: the centre `size` x `size` (at most) pixels, sides
 * rounded down to multiples of max(2, scale), as `[h, w, 3]` floats in [0, 1]; the same
 * crop as `validationCrops` in @irn/cli's Node training loop, without converting the whole
 * image first.
 */
export function validationCrop(img: TrainImage, size: number, scale: number): { width: number; height: number; data: Float32Array } {
  const h = img.height - (img.height % 2);
  const w = img.width - (img.width % 2);
  const m = Math.max(2, scale);
  const ch = Math.min(h, size) - (Math.min(h, size) % m);
  const cw = Math.min(w, size) - (Math.min(w, size) % m);
  if (ch < 1 || cw < 1) throw new RangeError(`validation image ${img.name ?? ''} (${img.width}x${img.height}) is smaller than the scale ${scale}`);
  const top = ((h - ch) >> 2) * 2;
  const left = ((w - cw) >> 2) * 2;
  const data = new Float32Array(ch * cw * 3);
  for (let y = 0; y < ch; y++) {
    const row = ((top + y) * img.width + left) * 3;
    for (let x = 0; x < cw * 3; x++) data[y * cw * 3 + x] = img.data[row + x] / 255;
  }
  return { width: cw, height: ch, data };
}

const BACKENDS: readonly string[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];
const SCALES: readonly number[] = [2, 4, 8];

const isInt = (v: unknown, min: number): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;

/** The model's scale from `init` (read from the artifacts' `irn` metadata). */
export function scaleOf(init: FineTuneInit): number {
  if (init.kind === 'fresh') return init.scale;
  const meta = (init.artifacts?.userDefinedMetadata as { irn?: { scale?: unknown } } | undefined)?.irn;
  const s = meta?.scale;
  if (typeof s !== 'number' || !SCALES.includes(s)) throw new Error('fine-tune: init.artifacts is not an IRN model: model.json has no "irn" metadata with a scale of 2, 4 or 8');
  return s;
}

/**
 * The training and validation images a config resolves to: with no `validation`, several
 * images hold out the last, one image validates on itself.
 */
export function splitImages(config: Pick<FineTuneConfig, 'images' | 'validation'>): { train: TrainImage[]; validation: TrainImage[]; heldOut: boolean } {
  if (config.validation != null && config.validation.length > 0) return { train: config.images, validation: config.validation, heldOut: false };
  if (config.images.length >= 2) return { train: config.images.slice(0, -1), validation: config.images.slice(-1), heldOut: true };
  return { train: config.images, validation: config.images, heldOut: false };
}

function checkImage(img: TrainImage, what: string): void {
  if (img == null || typeof img !== 'object') throw new TypeError(`fine-tune: ${what} is not an image ({ width, height, data: Uint8Array })`);
  if (!isInt(img.width, 1) || !isInt(img.height, 1)) throw new RangeError(`fine-tune: ${what} has size ${String(img.width)}x${String(img.height)}; width and height must be integers >= 1`);
  if (!(img.data instanceof Uint8Array)) throw new TypeError(`fine-tune: ${what}.data must be a Uint8Array of 8-bit RGB (3 bytes a pixel)`);
  const expected = img.width * img.height * 3;
  if (img.data.length !== expected) {
    throw new RangeError(`fine-tune: ${what} is ${img.width}x${img.height} but has ${img.data.length} bytes; 8-bit RGB needs ${expected} (RGBA must be converted to RGB)`);
  }
}

/**
 * Checks a config before any worker starts (the worker checks it again), so that the page
 * gets a clear message at once.
 *
 * @throws TypeError or RangeError naming the first problem found.
 */
export function checkConfig(config: FineTuneConfig): void {
  if (config == null || typeof config !== 'object') throw new TypeError('fine-tune: the config must be an object');
  const { init } = config;
  if (init == null || (init.kind !== 'fresh' && init.kind !== 'artifacts')) throw new TypeError('fine-tune: init must be { kind: "fresh", ... } or { kind: "artifacts", artifacts }');
  if (init.kind === 'fresh') {
    if (!SCALES.includes(init.scale)) throw new RangeError(`fine-tune: init.scale must be 2, 4 or 8, got ${String(init.scale)}`);
    if (!isInt(init.blocks, 1)) throw new RangeError(`fine-tune: init.blocks must be an integer >= 1, got ${String(init.blocks)}`);
    if (!isInt(init.growth, 1)) throw new RangeError(`fine-tune: init.growth must be an integer >= 1, got ${String(init.growth)}`);
    if (init.seed != null && !Number.isSafeInteger(init.seed)) throw new RangeError(`fine-tune: init.seed must be an integer, got ${String(init.seed)}`);
  } else if (init.artifacts == null || init.artifacts.modelTopology == null || init.artifacts.weightData == null) {
    throw new TypeError('fine-tune: init.artifacts must be model artifacts with modelTopology and weightData (e.g. from loadModelArtifacts or tf.io.withSaveHandler)');
  }
  const scale = scaleOf(init);
  if (!Array.isArray(config.images) || config.images.length === 0) throw new RangeError('fine-tune: no training images (config.images is empty)');
  config.images.forEach((img, i) => checkImage(img, `image ${i}${img?.name ? ` (${img.name})` : ''}`));
  if (config.validation != null) {
    if (!Array.isArray(config.validation)) throw new TypeError('fine-tune: validation must be an array of images');
    config.validation.forEach((img, i) => checkImage(img, `validation image ${i}${img?.name ? ` (${img.name})` : ''}`));
  }
  if (!isInt(config.steps, 1)) throw new RangeError(`fine-tune: steps must be an integer >= 1, got ${String(config.steps)}`);
  if (!isInt(config.batch, 1)) throw new RangeError(`fine-tune: batch must be an integer >= 1, got ${String(config.batch)}`);
  if (!isInt(config.patch, scale) || config.patch % scale !== 0) {
    throw new RangeError(`fine-tune: patch must be a positive multiple of the model's scale ${scale}, got ${String(config.patch)}`);
  }
  if (!(typeof config.lr === 'number' && Number.isFinite(config.lr) && config.lr > 0)) throw new RangeError(`fine-tune: lr must be a finite number > 0, got ${String(config.lr)}`);
  if (config.zScale != null && !(Number.isFinite(config.zScale) && config.zScale >= 0)) throw new RangeError(`fine-tune: zScale must be a finite number >= 0, got ${String(config.zScale)}`);
  if (config.seed != null && !Number.isSafeInteger(config.seed)) throw new RangeError(`fine-tune: seed must be an integer, got ${String(config.seed)}`);
  if (config.backend != null && !BACKENDS.includes(config.backend)) throw new RangeError(`fine-tune: backend must be one of ${BACKENDS.map((b) => `"${b}"`).join(', ')}, got ${JSON.stringify(config.backend)}`);
  if (config.wasmPaths != null && typeof config.wasmPaths !== 'string') throw new TypeError('fine-tune: wasmPaths must be a URL string (a folder ending in /)');
  if (config.reportEvery != null && !isInt(config.reportEvery, 1)) throw new RangeError(`fine-tune: reportEvery must be an integer >= 1, got ${String(config.reportEvery)}`);
  if (config.validateEvery != null && !isInt(config.validateEvery, 0)) throw new RangeError(`fine-tune: validateEvery must be an integer >= 0, got ${String(config.validateEvery)}`);
  if (config.validationSize != null && !isInt(config.validationSize, scale)) {
    throw new RangeError(`fine-tune: validationSize must be an integer >= the scale ${scale}, got ${String(config.validationSize)}`);
  }
  const { train, validation } = splitImages(config);
  for (const img of train) {
    if (img.width < config.patch || img.height < config.patch) {
      throw new RangeError(
        `fine-tune: image ${img.name ?? config.images.indexOf(img)} is ${img.width}x${img.height}, smaller than the ${config.patch} px patch; use a smaller patch or a larger image`,
      );
    }
  }
  const minSide = Math.max(2, scale);
  for (const img of validation) {
    if (img.width < minSide || img.height < minSide) throw new RangeError(`fine-tune: validation image ${img.name ?? ''} is ${img.width}x${img.height}; it needs at least ${minSide}x${minSide} pixels`);
  }
}
