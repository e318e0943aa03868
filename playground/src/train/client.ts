/**
 * In-browser fine-tuning of IRN models, in a module Web Worker (the page stays responsive).
 *
 * The worker script is `worker.ts` here, bundled to `playground/dist/train-worker.js`; its
 * URL is a parameter, because only the page knows where it is served (from the sources in the
 * test runner's dev server, bundled in the app).
 *
 * @example
 * const session = await FineTuneSession.start(new URL('./train-worker.js', import.meta.url), {
 *   init: { kind: 'fresh', scale: 2, blocks: 4, growth: 16 },
 *   images,                                   // TrainImage[]: 8-bit RGB, transferred
 *   steps: 500, batch: 4, patch: 64, lr: 2e-4,
 * });
 * session.addEventListener('step', (e) => chart.add(e.detail.step, e.detail.total));
 * session.addEventListener('validation', (e) => log(`${e.detail.psnr.toFixed(2)} dB`));
 * session.addEventListener('state', (e) => { if (e.detail.state === 'done') save(); });
 * session.setLearningRate(1e-4);              // from the next step on
 * const artifacts = await session.exportModel();
 * const model = await IrnModel.load(tf.io.fromMemory(artifacts));
 * session.dispose();
 *
 * API:
 * - `FineTuneSession.start(workerUrl, config)` checks `config` (throwing a TypeError or
 *   RangeError that names the problem), starts the worker, which picks a backend (`'auto'`:
 *   webgpu, webgl, wasm, cpu, the first that starts, a software WebGPU adapter after webgl),
 *   builds the model and validation crops there, and resolves once it runs. Training then
 *   starts by itself.
 * - `backend`: the backend in use; `skippedBackends`: those `'auto'` tried before it, and why
 *   they did not start. A step that fails on the backend (a lost GPU device, a missing
 *   kernel) moves training to the next backend that starts, from the weights and Adam state
 *   of the last validation, and dispatches `fallback`.
 * - Events (`CustomEvent`s, typed in {@link FineTuneEventMap}):
 *   `step` ({@link FineTuneStep}: step, lr, total, fit, rec, dist, gradNorm, stepsPerSecond,
 *   elapsedMs) every `reportEvery` steps and after the last; `validation` ({ step, psnr },
 *   mean round-trip PSNR-Y over the validation crops) before the first step, every
 *   `validateEvery` steps and after the last; `state` ({ state, step, error? }: `running`,
 *   `paused`, `done`, `stopped`, `error`); `fallback` ({ from, to, step, error });
 *   `diverged` ({ step, loss, restoredStep }): a non-finite loss sent the weights back to the
 *   last validation and paused training (lower the learning rate, then `resume()`).
 * - `pause()` / `resume()`: the loop stops after the running step (a `state` event says
 *   `paused`), and continues.
 * - `setLearningRate(lr)`: constant `lr` from the next step on (a `step` event shows it).
 * - `stop()`: ends training after the running step; resolves once it has (state `stopped`).
 *   The weights stay for `exportModel`.
 * - `exportModel()`: the current weights as `tf.io.ModelArtifacts` (one `weightData`
 *   buffer, `irn` metadata with a `source` note), loadable with
 *   `IrnModel.load(tf.io.fromMemory(artifacts))` or storable with `tf.io` handlers. Taken
 *   between steps, so it works at any time: running, paused, done, stopped.
 * - `validate()`: the validation score of the current weights now; `memory()`: the worker's
 *   live tensors.
 * - `dispose()`: terminates the worker (its tensors and GPU device go with it); pending calls
 *   reject with an `AbortError`.
 *
 * Validation: by default, with several images the last is held out (not trained on) and
 * validated on; with one image, a centre crop of it is validated on (it is trained on too,
 * so the score measures fit, not generalisation). `validation` names other images.
 * Crops are the centre `validationSize` (default 128) pixels, as the Node training loop does.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { BackendName, TrainImage } from '@irn/core/browser';
import {
  checkConfig,
  deserializeError,
  type FineTuneConfig,
  type FineTuneMemory,
  type FineTuneReady,
  type FineTuneState,
  type FineTuneStep,
  type FineTuneValidation,
  type FromTrainWorker,
  type ToTrainWorker,
  type WorkerConfig,
} from './protocol.js';

export {
  FINE_TUNE_LOCK_PREFIX,
  validationCrop,
  type FineTuneConfig,
  type FineTuneInit,
  type FineTuneMemory,
  type FineTuneReady,
  type FineTuneState,
  type FineTuneStep,
  type FineTuneValidation,
} from './protocol.js';

/** `state` event detail. */
export interface FineTuneStateDetail {
  state: FineTuneState;
  /** Steps done when the state changed. */
  step: number;
  /** Why, for `error`. */
  error?: Error;
}

/** `fallback` event detail: training moved from `from` to `to`, resuming at `step`. */
export interface FineTuneFallbackDetail {
  from: BackendName;
  to: BackendName;
  step: number;
  error: Error;
}

/**
 * `diverged` event detail: the loss was not finite (`loss`) at `step`; the weights and the
 * optimizer went back to the last validation (`restoredStep`) and training paused. Lower the
 * learning rate and `resume()`.
 */
export interface FineTuneDivergedDetail {
  step: number;
  loss: number;
  restoredStep: number;
}

/** The events a {@link FineTuneSession} dispatches. */
export interface FineTuneEventMap {
  step: CustomEvent<FineTuneStep>;
  validation: CustomEvent<FineTuneValidation>;
  state: CustomEvent<FineTuneStateDetail>;
  fallback: CustomEvent<FineTuneFallbackDetail>;
  diverged: CustomEvent<FineTuneDivergedDetail>;
}

// Typed listeners for the events above (declaration merging with the class).
export interface FineTuneSession {
  addEventListener<K extends keyof FineTuneEventMap>(
    type: K,
    listener: (this: FineTuneSession, event: FineTuneEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof FineTuneEventMap>(
    type: K,
    listener: (this: FineTuneSession, event: FineTuneEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

interface Call {
  resolve(value: FromTrainWorker): void;
  reject(error: Error): void;
}

/** A fine-tune running in its own module worker; see the module comment for the API. */
export class FineTuneSession extends EventTarget {
  private nextId = 1;
  private readonly calls = new Map<number, Call>();
  private failure: Error | null = null;
  private ready: FineTuneReady | null = null;
  private currentState: FineTuneState = 'running';
  private lastStep = 0;
  private disposed = false;

  private constructor(private readonly worker: Worker) {
    super();
    worker.addEventListener('message', (event) => this.receive(event.data as FromTrainWorker));
    worker.addEventListener('error', (event) => {
      event.preventDefault();
      this.fail(new Error(`the fine-tuning worker failed: ${event.message || 'it could not be loaded (check the worker URL)'}`));
    });
    worker.addEventListener('messageerror', () => this.fail(new Error('the fine-tuning worker sent a message that could not be read')));
  }

  /**
   * Checks `config`, starts the worker at `workerUrl` (a module worker) and resolves once it
   * trains on a backend. The images' buffers are transferred to the worker (they are empty
   * here afterwards) unless `config.keepImages`; the same goes for `init.artifacts.weightData`.
   *
   * @throws TypeError or RangeError for a bad config (no images, an image smaller than the
   *   patch, steps < 1...), before any worker starts; Error when the worker cannot load, no
   *   backend starts (or the one named cannot), or the model cannot be built.
   */
  static async start(workerUrl: string | URL, config: FineTuneConfig): Promise<FineTuneSession> {
    checkConfig(config);
    const [workerConfig, transfer] = pack(config);
    const worker = new Worker(workerUrl, { type: 'module', name: 'irn-fine-tune' });
    const session = new FineTuneSession(worker);
    try {
      const lockId = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
      const msg = (await session.call({ type: 'start', id: 0, config: workerConfig, lockId }, transfer)) as Extract<FromTrainWorker, { type: 'ready' }>;
      session.ready = msg.ready;
      return session;
    } catch (e) {
      session.dispose();
      throw e;
    }
  }

  /** The backend training runs on (changes after a `fallback` event). */
  get backend(): BackendName {
    return this.ready!.backend;
  }

  /** Backends tried before {@link FineTuneSession.backend} at start, and why they did not start. */
  get skippedBackends(): readonly { backend: BackendName; reason: string }[] {
    return this.ready!.skipped;
  }

  /** The model's scale. */
  get scale(): number {
    return this.ready!.scale;
  }

  /** The model's number of trainable weights. */
  get params(): number {
    return this.ready!.params;
  }

  /** The validation crops: their sizes and where they came from. */
  get validationCrops(): readonly { width: number; height: number; source: string }[] {
    return this.ready!.validation;
  }

  /** The state of the last `state` event. */
  get state(): FineTuneState {
    return this.currentState;
  }

  /** Steps done, as of the last `step` or `state` event. */
  get step(): number {
    return this.lastStep;
  }

  /** Stops training after the running step; `resume` continues. */
  pause(): void {
    this.send({ type: 'pause' });
  }

  /** Continues after `pause`. */
  resume(): void {
    this.send({ type: 'resume' });
  }

  /**
   * A constant learning rate from the next step on.
   * @throws RangeError when `lr` is not a finite number > 0.
   */
  setLearningRate(lr: number): void {
    if (!(typeof lr === 'number' && Number.isFinite(lr) && lr > 0)) throw new RangeError(`setLearningRate: lr must be a finite number > 0, got ${String(lr)}`);
    this.send({ type: 'set-lr', lr });
  }

  /** Ends training after the running step; resolves with the steps done once it has. */
  async stop(): Promise<number> {
    return ((await this.call({ type: 'stop', id: 0 })) as Extract<FromTrainWorker, { type: 'stopped' }>).step;
  }

  /** The current weights, loadable with `IrnModel.load(tf.io.fromMemory(artifacts))`. */
  async exportModel(): Promise<tf.io.ModelArtifacts> {
    return ((await this.call({ type: 'export', id: 0 })) as Extract<FromTrainWorker, { type: 'exported' }>).artifacts;
  }

  /** The validation score of the current weights (between steps). */
  async validate(): Promise<FineTuneValidation> {
    return ((await this.call({ type: 'validate', id: 0 })) as Extract<FromTrainWorker, { type: 'validated' }>).validation;
  }

  /** The worker's live tensors. */
  async memory(): Promise<FineTuneMemory> {
    return ((await this.call({ type: 'memory', id: 0 })) as Extract<FromTrainWorker, { type: 'memory' }>).memory;
  }

  /** Terminates the worker; pending calls reject with an `AbortError`. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.worker.terminate();
    this.fail(new DOMException('the fine-tuning session was disposed', 'AbortError') as unknown as Error);
  }

  private send(message: ToTrainWorker): void {
    if (this.failure != null) throw this.failure;
    this.worker.postMessage(message);
  }

  private call(message: ToTrainWorker & { id: number }, transfer: Transferable[] = []): Promise<FromTrainWorker> {
    if (this.failure != null) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }

  private receive(msg: FromTrainWorker): void {
    switch (msg.type) {
      case 'step':
        this.lastStep = msg.step.step;
        this.emit('step', msg.step);
        return;
      case 'validation':
        this.emit('validation', msg.validation);
        return;
      case 'state': {
        this.currentState = msg.state;
        this.lastStep = msg.step;
        const detail: FineTuneStateDetail = { state: msg.state, step: msg.step };
        if (msg.error != null) detail.error = deserializeError(msg.error);
        this.emit('state', detail);
        return;
      }
      case 'diverged':
        this.lastStep = msg.restoredStep;
        this.emit('diverged', { step: msg.step, loss: msg.loss, restoredStep: msg.restoredStep });
        return;
      case 'fallback':
        this.ready = { ...this.ready!, backend: msg.to };
        this.lastStep = msg.step;
        this.emit('fallback', { from: msg.from, to: msg.to, step: msg.step, error: deserializeError(msg.error) });
        return;
    }
    const call = this.calls.get(msg.id);
    if (call == null) return;
    this.calls.delete(msg.id);
    if (msg.type === 'error') call.reject(deserializeError(msg.error));
    else call.resolve(msg);
  }

  private emit<K extends keyof FineTuneEventMap>(type: K, detail: FineTuneEventMap[K]['detail']): void {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    const calls = [...this.calls.values()];
    this.calls.clear();
    for (const call of calls) call.reject(error);
  }
}

/**
 * The config as sent: images as plain `{ width, height, data, name }` whose buffers are
 * transferred (copied first when `keepImages`, or when a view covers part of its buffer or
 * shares it with another image), `wasmPaths` made absolute against the page.
 */
function pack(config: FineTuneConfig): [WorkerConfig, Transferable[]] {
  const { keepImages = false, ...rest } = config;
  const transfer = new Set<ArrayBuffer>();
  const packImage = (img: TrainImage): TrainImage => {
    let data = img.data;
    const whole = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
    if (keepImages || !whole || transfer.has(data.buffer as ArrayBuffer)) data = data.slice();
    transfer.add(data.buffer as ArrayBuffer);
    return { width: img.width, height: img.height, data, ...(img.name == null ? {} : { name: img.name }) };
  };
  const packed: WorkerConfig = { ...rest, images: config.images.map(packImage) };
  if (config.validation != null) packed.validation = config.validation.map(packImage);
  if (config.init.kind === 'artifacts') {
    const { artifacts } = config.init;
    const weights = artifacts.weightData;
    const buffers = weights == null ? [] : Array.isArray(weights) ? weights : [weights];
    // Weights are small next to photos: copy them, the caller's artifacts stay usable.
    packed.init = { kind: 'artifacts', artifacts: { ...artifacts, weightData: buffers.map((b) => b.slice(0)) } };
    for (const b of packed.init.artifacts.weightData as ArrayBuffer[]) transfer.add(b);
  }
  const base = globalThis.location?.href;
  if (config.wasmPaths != null && base != null) packed.wasmPaths = new URL(config.wasmPaths, base).href;
  return [packed, [...transfer]];
}
