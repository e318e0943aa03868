import * as tf from '@tensorflow/tfjs-core';
import { checkRaster, type RasterImage } from '../image/raster.js';
import { IrnInference } from '../model/irn-inference.js';
import { checkedRestoredSize, downscaleImage, upscaleImage } from '../rescale/rescale.js';
import { isAbortError, linkSignals, throwIfAborted } from './abort.js';
import { activateBackend, autoBackendPlan, BACKEND_ORDER, type BackendChoice, type BackendName, type BackendSetup } from './backends.js';

/** A switch to another backend after the current one failed mid-run. */
export interface BackendFallback {
  from: BackendName;
  to: BackendName;
  /** What the failing backend threw. */
  error: Error;
}

/** Progress of one call: tiles done of total; never goes back, even across a fallback. */
export interface RescaleProgress {
  done: number;
  total: number;
  /** `done / total`, in [0, 1]; 1 when the call has finished computing. */
  fraction: number;
}

/** Options of {@link RescaleEngine.create}. */
export interface EngineOptions extends BackendSetup {
  /**
   * Default `'auto'`: the first that starts of hardware WebGPU, hardware WebGL, wasm, then
   * WebGL and WebGPU on a software renderer (SwiftShader...), then cpu (see `autoBackendPlan`).
   */
  backend?: BackendChoice;
  /** Move on to the next backend when one fails mid-run (default true). */
  fallback?: boolean;
  /** Called after each fallback. */
  onFallback?: (event: BackendFallback) => void;
}

/** Tiling, progress and cancellation of one call. */
export interface RunOptions {
  /** Tile side in LR pixels (see `downscaleImage`). */
  tileSize?: number;
  /** Context around each tile in LR pixels (see `downscaleImage`). */
  overlap?: number;
  onProgress?: (progress: RescaleProgress) => void;
  /** Stops the call at the next tile; it rejects with `signal.reason` (an `AbortError`). */
  signal?: AbortSignal;
}

/** How to draw z and what size to restore, for {@link RescaleEngine.upscale}. */
export interface UpscaleRunOptions extends RunOptions {
  /** `'zeros'` (default: the best single guess) or `'gaussian'`. */
  z?: 'zeros' | 'gaussian';
  /** Standard deviation of the Gaussian z (default 1). */
  temperature?: number;
  /** Seed of the Gaussian z; the same seed gives the same image on every backend and tiling. */
  seed?: number;
  /** Size of the original image, to crop to (default: LR size x scale). */
  width?: number;
  height?: number;
}

/** Tensors alive where the rescaler runs (the page or its worker), from `tf.memory()`. */
export interface RescalerMemory {
  numTensors: number;
  numBytes: number;
  backend: BackendName;
}

/** A raster result and the backend that computed it. */
export interface EngineResult {
  raster: RasterImage;
  backend: BackendName;
}

/**
 * One IRN model on one tfjs backend, with fallback: when a call fails on the active backend
 * (lost GPU device, out of memory, a missing kernel), the engine moves to the next backend
 * of {@link BACKEND_ORDER}, rebuilds the model there from the weights it keeps in memory,
 * and runs the call again. Calls run one at a time, in order. No DOM needed: the same class
 * runs in a page and in the rescaler's worker.
 *
 * tfjs's active backend is global; the engine sets it (in a worker, that global is the
 * worker's own).
 */
export class RescaleEngine {
  private tail: Promise<unknown> = Promise.resolve();
  private pending = 0;
  private disposed = false;
  private readonly lifetime = new AbortController();

  private constructor(
    private model: IrnInference,
    private active: BackendName,
    private why: string,
    /** The order a failing backend falls back along: `'auto'`'s plan, or BACKEND_ORDER for a named backend. */
    private readonly order: readonly BackendName[],
    private readonly artifacts: tf.io.ModelArtifacts,
    private readonly options: EngineOptions,
  ) {}

  /**
   * Starts the chosen backend (or the first that works, for `'auto'`) and builds the model
   * on it. A backend named explicitly must start: the call fails otherwise.
   */
  static async create(artifacts: tf.io.ModelArtifacts, options: EngineOptions = {}): Promise<RescaleEngine> {
    const meta = (artifacts.userDefinedMetadata as { irn?: unknown } | undefined)?.irn;
    if (meta == null) throw new Error('not an IRN model: model.json has no "irn" metadata');
    const choice = options.backend ?? 'auto';
    if (choice !== 'auto' && !BACKEND_ORDER.includes(choice)) {
      throw new Error(`unknown backend "${String(choice)}"; use "auto", ${BACKEND_ORDER.map((b) => `"${b}"`).join(', ')}`);
    }
    const plan = choice === 'auto' ? await autoBackendPlan() : null;
    const candidates = plan?.order ?? [choice as BackendName];
    const failures: string[] = [];
    for (const name of candidates) {
      const started = await startOn(name, artifacts, options);
      if ('model' in started) {
        const why = plan == null ? 'asked for' : autoReason(name, plan.demoted, failures);
        warnIfPastWasm(name, failures);
        return new RescaleEngine(started.model, name, why, plan?.order ?? BACKEND_ORDER, artifacts, options);
      }
      if (choice !== 'auto') throw new Error(`the ${name} backend cannot run here: ${started.reason}`);
      failures.push(`${name}: ${started.reason}`);
    }
    throw new Error(`no TensorFlow.js backend could run the model here: ${failures.join('; ')}`);
  }

  /** The backend the next call runs on. */
  get backend(): BackendName {
    return this.active;
  }

  /**
   * Why {@link backend} is the one: `'asked for'` (named in the options), the backends
   * `'auto'` passed over and why (`'WebGL is software: SwiftShader'`, `'webgpu: ...failed'`),
   * `'the fastest backend here'` when it was auto's first choice, or after a fallback
   * `'<from> failed: <error>'`.
   */
  get backendReason(): string {
    return this.why;
  }

  /** The model's rescaling factor. */
  get scale(): number {
    return this.model.scale;
  }

  /** The 8-bit LR image of `image` (see `downscaleImage`). */
  async downscale(image: RasterImage, options: RunOptions = {}): Promise<EngineResult> {
    checkRaster(image);
    const s = this.scale;
    if (image.width < s || image.height < s) {
      throw new Error(`image is ${image.width}x${image.height}; IRN x${s} needs at least ${s}x${s} pixels`);
    }
    const { tileSize, overlap } = checkTiling(options);
    return this.run(options, (model, onProgress, signal) => downscaleImage(model, image, { tileSize, overlap, onProgress, signal }));
  }

  /** The HR image restored from `lr` (see `upscaleImage`). */
  async upscale(lr: RasterImage, options: UpscaleRunOptions = {}): Promise<EngineResult> {
    checkRaster(lr, 'LR image');
    // Checked here, not only in upscaleImage: an error about the input must not look like a
    // failing backend and trigger a fallback.
    const { width, height } = checkedRestoredSize(lr, this.scale, options);
    const z = options.z ?? 'zeros';
    if (z !== 'zeros' && z !== 'gaussian') throw new Error(`z must be "zeros" or "gaussian", got ${JSON.stringify(z)}`);
    const t = options.temperature ?? 1;
    if (!(t >= 0 && Number.isFinite(t))) throw new Error(`temperature must be a finite number >= 0, got ${t}`);
    // One seed for every attempt, so a fallback restores the same image.
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const { tileSize, overlap } = checkTiling(options);
    return this.run(options, (model, onProgress, signal) =>
      upscaleImage(model, lr, { z, temperature: t, seed, width, height, tileSize, overlap, onProgress, signal }),
    );
  }

  /**
   * Runs a small downscale and upscale, so that the backend's start-up (shader compilation,
   * wasm instantiation, weight upload) is paid now rather than by the first real call.
   * `side` is in HR pixels (default 32, rounded up to a multiple of the scale).
   */
  async warmup(options: RunOptions & { side?: number } = {}): Promise<void> {
    const s = this.scale;
    const side = Math.max(s, Math.ceil((options.side ?? 32) / s) * s);
    const data = new Float32Array(side * side * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i % 7) / 6;
    const { raster: lr } = await this.downscale({ width: side, height: side, channels: 3, data }, { ...options, onProgress: undefined });
    await this.upscale(lr, { ...options, onProgress: undefined });
  }

  /** Live tensors and bytes on all backends of this realm (the model's weights included). */
  memory(): RescalerMemory {
    const { numTensors, numBytes } = tf.memory();
    return { numTensors, numBytes, backend: this.active };
  }

  /**
   * Frees the model once the running call (if any) has stopped; calls still queued reject
   * with an `AbortError`. Resolves when everything is freed.
   */
  dispose(): Promise<void> {
    if (!this.disposed) {
      this.disposed = true;
      this.lifetime.abort(new DOMException('the rescaler was disposed', 'AbortError'));
      if (this.pending === 0) this.model.dispose();
    }
    return this.tail.then(() => undefined);
  }

  private run(
    options: RunOptions,
    call: (model: IrnInference, onProgress: (p: RescaleProgress) => void, signal: AbortSignal) => Promise<RasterImage>,
  ): Promise<EngineResult> {
    if (this.disposed) return Promise.reject(new Error('this rescaler was disposed'));
    this.pending++;
    const job = this.tail.then(() => this.attempt(options, call));
    this.tail = job
      .catch(() => undefined)
      .finally(() => {
        this.pending--;
        if (this.disposed && this.pending === 0) this.model.dispose();
      });
    return job;
  }

  private async attempt(
    options: RunOptions,
    call: (model: IrnInference, onProgress: (p: RescaleProgress) => void, signal: AbortSignal) => Promise<RasterImage>,
  ): Promise<EngineResult> {
    const { signal, release } = linkSignals([options.signal, this.lifetime.signal]);
    let shown = 0;
    const onProgress = (p: RescaleProgress): void => {
      // A retry on another backend starts its tiles again; the caller's bar does not go back.
      if (p.fraction <= shown) return;
      shown = p.fraction;
      options.onProgress?.(p);
    };
    try {
      for (;;) {
        throwIfAborted(signal);
        try {
          // Another rescaler (or the page) may have switched tfjs's global backend since.
          if (tf.getBackend() !== this.active && !(await tf.setBackend(this.active))) {
            throw new Error(`the ${this.active} backend cannot be made active again`);
          }
          const raster = await call(this.model, onProgress, signal);
          return { raster, backend: this.active };
        } catch (e) {
          if (signal.aborted || isAbortError(e)) throw signal.aborted ? signal.reason : e;
          if (this.options.fallback === false || !(await this.fallBack(e as Error))) throw e;
        }
      }
    } finally {
      release();
    }
  }

  /** Moves to the next backend that starts and can build the model; false when none is left. */
  private async fallBack(error: Error): Promise<boolean> {
    const from = this.active;
    for (const to of this.order.slice(this.order.indexOf(from) + 1)) {
      const started = await startOn(to, this.artifacts, this.options);
      if (!('model' in started)) continue;
      const old = this.model;
      this.model = started.model;
      this.active = to;
      this.why = `${from} failed: ${error.message.slice(0, 200)}`;
      try {
        old.dispose();
      } catch {
        // A lost device may fail to free its tensors too; they are gone with it.
      }
      this.options.onFallback?.({ from, to, error });
      return true;
    }
    return false;
  }
}

/**
 * Checks `tileSize` and `overlap` before any backend work: an invalid option must not look
 * like a failing backend (`downscaleImage` would throw only once running).
 */
function checkTiling(options: RunOptions): Pick<RunOptions, 'tileSize' | 'overlap'> {
  for (const key of ['tileSize', 'overlap'] as const) {
    const v = options[key];
    if (v != null && !(Number.isSafeInteger(v) && v >= 0)) throw new RangeError(`${key} must be an integer >= 0, got ${String(v)}`);
  }
  return { tileSize: options.tileSize, overlap: options.overlap };
}

/**
 * Why auto settled on `chosen`: the backends it passed over (failed to start, or moved
 * behind wasm for running in software, when they would otherwise have come before `chosen`),
 * or that it was the first choice.
 */
function autoReason(chosen: BackendName, demoted: Partial<Record<BackendName, string>>, failures: string[]): string {
  // Only demotions that changed the outcome: a software backend that would otherwise have come first.
  const passedOver = BACKEND_ORDER.filter((b) => b !== chosen && demoted[b] != null && BACKEND_ORDER.indexOf(b) < BACKEND_ORDER.indexOf(chosen));
  const parts = [...failures.map((f) => f.slice(0, 200)), ...passedOver.map((b) => demoted[b]!)];
  if (demoted[chosen] != null) parts.push(`${demoted[chosen]}, but nothing faster started`);
  return parts.length > 0 ? parts.join('; ') : 'the fastest backend here';
}

let warnedPastWasm = false;

/**
 * Once per page (or worker): `'auto'` passed over a wasm backend that failed, for something
 * slower (everything after wasm in its plan is: a software GPU, or cpu, about 20 times slower).
 * The restore still works, so without this line a missing `.wasm` file went unnoticed.
 */
function warnIfPastWasm(chosen: BackendName, failures: string[]): void {
  const wasm = failures.find((f) => f.startsWith('wasm: '));
  if (wasm == null || warnedPastWasm) return;
  warnedPastWasm = true;
  console.warn(`@irn/core: running on ${chosen}, many times slower, because the wasm backend failed: ${wasm.slice('wasm: '.length)}`);
}

/** Activates `name` and builds the model there, or says why it could not. */
async function startOn(name: BackendName, artifacts: tf.io.ModelArtifacts, setup: BackendSetup): Promise<{ model: IrnInference } | { reason: string }> {
  const started = await activateBackend(name, setup);
  if (!started.ok) return { reason: started.reason };
  try {
    return { model: IrnInference.fromArtifacts(artifacts) };
  } catch (e) {
    return { reason: `the model could not be built: ${(e as Error).message}` };
  }
}
