import type { IrnModel } from '../model/irn.js';
import { checkLimit, resolveLimits, type Limits } from '../limits.js';
import type { BackendChoice, BackendName, BackendSetup } from './backends.js';
import type { BackendFallback, RescaleEngine, RescalerMemory, RunOptions } from './engine.js';
import type { ImageInput } from './inputs.js';
import { loadModelArtifacts, lrPresetFor, UnknownPresetError, type LoadedArtifacts, type ModelLoadOptions, type PresetLrNotes } from './model-loader.js';
import type { OutputKind, OutputTypes } from './outputs.js';
import type { DownscaleCallOptions, DownscaleResult, PipelineExtras, RescaleResult, UpscaleCallOptions } from './pipeline.js';
import { DEFAULT_WORKER_UNLOADABLE, startDefaultWorker } from './locations.js';
import type { WorkerClient } from './worker-client.js';

/** Options of {@link Rescaler.create}. */
export interface RescalerOptions extends ModelLoadOptions, BackendSetup {
  /**
   * The model: a preset name (`'irn-x2'`, `'irn-x4'`: from `weightsUrl` when given, else
   * from `@irn/weights` or a CDN; checked against SHA-256 and cached), a `model.json` URL, or an {@link IrnModel}
   * (its weights are copied; the caller keeps and disposes the original).
   */
  model: string | URL | IrnModel;
  /**
   * Bounds on the model's weights (`tensorElements`, `totalElements`) and, unless a call
   * passes its own, on every input image (`pixels`, a PNG's `textBytes` and `inflatedBytes`);
   * default `DEFAULT_LIMITS`.
   */
  limits?: Partial<Limits>;
  /**
   * Folder of the presets: `manifest.json` and one folder per preset. Default: none, the
   * presets come from the `weights` package (`@irn/weights`), then from `cdn`.
   */
  weightsUrl?: string | URL;
  /**
   * Default `'auto'`: hardware WebGPU, hardware WebGL, wasm, then WebGL and WebGPU on a
   * software renderer (SwiftShader, llvmpipe), then cpu; {@link Rescaler.backendReason} says
   * why it chose what it did.
   */
  backend?: BackendChoice;
  /** When the backend fails mid-call, go on with the next one (default true). */
  fallback?: boolean;
  /** Run everything in a module Web Worker, leaving the page's thread free (default false). */
  worker?: boolean;
  /**
   * URL of the worker script. Default: `worker.js` next to the library's code
   * (`@irn/core/browser/worker.js`), which bundlers that understand
   * `new Worker(new URL(...), { type: 'module' })` pick up themselves.
   */
  workerUrl?: string | URL;
  /** Tile side in LR pixels for every call (default: `downscaleImage`'s). */
  tileSize?: number;
  /** Context around tiles in LR pixels for every call (default: the receptive field). */
  overlap?: number;
  /** Called after a fallback to another backend; the `irn-fallback` event says the same. */
  onFallback?: (event: BackendFallback) => void;
}

/** Options of {@link Rescaler.forLr}: those of {@link Rescaler.create}, the model optional. */
export type RescalerForLrOptions = Omit<RescalerOptions, 'model'> & Partial<Pick<RescalerOptions, 'model'>>;

/** Where the model came from. */
export interface RescalerModelInfo {
  /** Preset name and version (presets only). */
  name?: string;
  version?: string;
  /** The model.json URL (URL and preset models). */
  url?: string;
  /** `'memory'` for an {@link IrnModel} given directly. */
  from: LoadedArtifacts['from'] | 'memory';
}

/** The `irn-fallback` event: a backend failed and the rescaler moved to `detail.to`. */
export type RescalerFallbackEvent = CustomEvent<BackendFallback>;

/** The events a {@link Rescaler} dispatches. */
export interface RescalerEventMap {
  'irn-fallback': RescalerFallbackEvent;
}

// Typed listeners for the events above (declaration merging with the class).
export interface Rescaler {
  addEventListener<K extends keyof RescalerEventMap>(
    type: K,
    listener: (this: Rescaler, event: RescalerEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof RescalerEventMap>(
    type: K,
    listener: (this: Rescaler, event: RescalerEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | EventListenerOptions): void;
}

/**
 * Rescales images in a page with IRN: picks the best TensorFlow.js backend that works,
 * falls back when it fails, reads and writes the browser's image types, reports progress,
 * cancels through an `AbortSignal`, and can run everything in a Web Worker.
 *
 * Calls run one at a time, in order. In the page (not `worker`), the rescaler sets tfjs's
 * active backend for the whole page. No tensor outlives a call, whether it succeeds, fails
 * or is aborted, except a `'tensor'` output, which the caller disposes.
 *
 * @example
 * const rescaler = await Rescaler.create({ model: 'irn-x2', worker: true });
 * const { image: lrPng } = await rescaler.downscale(file, { output: 'blob' });
 * const { image, backend } = await rescaler.upscale(lrPng, {
 *   output: 'bitmap',
 *   onProgress: (p) => (bar.value = p.fraction),
 *   signal: controller.signal,
 * });
 * canvas.getContext('2d').drawImage(image, 0, 0);
 * await rescaler.dispose();
 */
export class Rescaler extends EventTarget {
  private disposed = false;

  private constructor(
    private readonly impl: LocalImpl | WorkerClient,
    /** The model's rescaling factor. */
    readonly scale: number,
    /** Where the model came from. */
    readonly modelInfo: RescalerModelInfo,
    /** Whether calls run in a Web Worker. */
    readonly worker: boolean,
    private readonly options: RescalerOptions,
    private readonly fallbacks: { listener: ((e: BackendFallback) => void) | null },
  ) {
    super();
    fallbacks.listener = (event) => {
      options.onFallback?.(event);
      this.dispatchEvent(new CustomEvent('irn-fallback', { detail: event }));
    };
  }

  /**
   * Loads the model and starts a backend (in a worker when `options.worker`).
   * `options.signal` stops the creation (the model's downloads, and whatever backend started
   * meanwhile), not the calls of the rescaler made.
   * @throws Error when the model cannot be loaded (download, SHA-256 mismatch: an
   *   `IntegrityError`, not an IRN model) or a backend named in `options.backend` cannot start;
   *   `options.signal`'s reason once it aborts.
   */
  static async create(options: RescalerOptions): Promise<Rescaler> {
    const { artifacts, info, presets } = await readArtifacts(options);
    const fallbacks: { listener: ((e: BackendFallback) => void) | null } = { listener: null };
    const onFallback = (event: BackendFallback): void => fallbacks.listener?.(event);
    const setup = { backend: options.backend, fallback: options.fallback, wasmPaths: absoluteWasmPaths(options.wasmPaths), startTimeoutMs: options.startTimeoutMs };
    let impl: LocalImpl | WorkerClient;
    let scale: number;
    if (options.worker) {
      const { WorkerClient } = await import('./worker-client.js');
      const worker = options.workerUrl != null ? new Worker(options.workerUrl, { type: 'module' }) : startDefaultWorker();
      const unloadable =
        options.workerUrl != null
          ? `its script could not be loaded from workerUrl ${absoluteForMessage(options.workerUrl)} (missing, or not served as JavaScript)`
          : DEFAULT_WORKER_UNLOADABLE;
      try {
        const client = await WorkerClient.start(worker, artifacts, setup, onFallback, unloadable);
        impl = client;
        scale = client.scale;
      } catch (e) {
        worker.terminate();
        throw e;
      }
    } else {
      // Two awaits, not Promise.all of two imports: rollup 4.68 drops modules behind the
      // destructured Promise.all form when it inlines dynamic imports (the element's bundle).
      const { RescaleEngine } = await import('./engine.js');
      const { runPipeline } = await import('./pipeline.js');
      const engine = await RescaleEngine.create(artifacts, { ...setup, onFallback });
      impl = new LocalImpl(engine, runPipeline, options.fetch);
      scale = engine.scale;
    }
    if (options.signal?.aborted === true) {
      // Stopped while the backend started: nothing of it is kept.
      await impl.dispose().catch(() => undefined);
      options.signal.throwIfAborted();
    }
    const rescaler = new Rescaler(impl, scale, info, options.worker === true, options, fallbacks);
    const encoder = (artifacts.userDefinedMetadata as { irn?: { encoder?: unknown } } | undefined)?.irn?.encoder;
    if (typeof encoder === 'string') rescaler.encoderName = encoder;
    rescaler.presetNotes = presets ?? {};
    return rescaler;
  }

  /**
   * The preset to name in an LR that this rescaler's {@link downscale} made, once the page has
   * coded it with `codec` at `quality` (0 to 100; omit it for a lossless file): a lossy decoder
   * of this preset's LRs for that codec and quality when the presets in use have one (for
   * `irn-x2`: `irn-x2-jpeg` up to JPEG quality 89, `irn-x2-jpeg-q90` from 90 to 97 and
   * `irn-x2-avif` for AVIF), else this
   * preset; `irn downscale` with its default presets names the same ({@link lrPresetFor}). Read from the
   * manifest or package the preset came from: nothing is downloaded. Undefined for a model
   * not loaded as a preset (a URL or an `IrnModel`), whose LRs name no model.
   * @throws Error for a lossy decoder's rescaler, which does not downscale; RangeError for a
   *   quality outside 0-100.
   * @example
   * const { image, lrMetadata } = await rescaler.downscale(file);
   * const jpeg = withLrMetadata(await encodeJpeg(image, 80), { ...lrMetadata, model: rescaler.lrPresetFor('jpeg', 80) });
   */
  lrPresetFor(codec: 'png' | 'webp' | 'jpeg' | 'avif', quality?: number): string | undefined {
    if (this.encoderPreset != null) {
      throw new Error(`${this.modelInfo.name ?? 'this model'} is a lossy decoder, which makes no LRs; ask a Rescaler of ${this.encoderPreset}`);
    }
    const name = this.modelInfo.name;
    return name == null ? undefined : lrPresetFor(this.presetNotes, name, codec, quality);
  }
  private presetNotes: Record<string, PresetLrNotes> = {};

  /**
   * For a lossy decoder preset (`irn-x2-jpeg`), the preset whose forward pass makes the LRs it
   * restores (`irn-x2`); undefined for a model that downscales too. A decoder's {@link downscale}
   * rejects: make the LR with a rescaler of this preset.
   */
  get encoderPreset(): string | undefined {
    return this.encoderName;
  }
  private encoderName: string | undefined = undefined;

  /**
   * A rescaler for restoring `lr` (the bytes of an LR file, or a Blob): with `options.model`,
   * that model; else the preset the file's metadata names (`irn downscale` writes the preset
   * it used: a lossy decoder such as `irn-x2-jpeg` for a JPEG LR when one is shipped), else
   * `irn-x<scale>` of its metadata, else `irn-x2`. Only the file's headers are read here.
   *
   * A file that names a preset the presets in use (`weightsUrl`, or `@irn/weights`) do not
   * have is refused with an {@link UnknownPresetError} that says so, rather than restored by
   * another model: a lossless preset restores a lossy decoder's LR visibly worse.
   * @throws UnknownPresetError as above; what {@link Rescaler.create} throws.
   * @example
   * const lr = await (await fetch('photo.lr.jpg')).blob();
   * const rescaler = await Rescaler.forLr(lr, { worker: true }); // irn-x2-jpeg, when the LR names it
   * const { image } = await rescaler.upscale(lr, { output: 'bitmap' });
   */
  static async forLr(lr: Blob | Uint8Array | ArrayBuffer, options: RescalerForLrOptions = {}): Promise<Rescaler> {
    if (options.model != null) return Rescaler.create(options as RescalerOptions);
    const { lrFileMetadata, presetForLr } = await import('./lr-preset.js');
    if (lr instanceof Blob) checkLimit(resolveLimits(options.limits), 'inflatedBytes', lr.size, 'the LR file', 'bytes');
    const bytes = lr instanceof Uint8Array ? lr : new Uint8Array(lr instanceof ArrayBuffer ? lr : await lr.arrayBuffer());
    const meta = lrFileMetadata(bytes, options.limits);
    const model = presetForLr(meta);
    try {
      return await Rescaler.create({ ...options, model });
    } catch (e) {
      if (meta?.model != null && e instanceof UnknownPresetError) {
        throw new UnknownPresetError(
          e.preset,
          e.known,
          `this LR image was made for the model ${e.preset}, which these presets do not have (they have ${e.known.join(', ') || 'none'}); pass model`,
        );
      }
      throw e;
    }
  }

  /** The backend the next call runs on (it changes after a fallback). */
  get backend(): BackendName {
    return this.impl.backend;
  }

  /**
   * Why {@link backend} is the one, in a few words for a badge or a log: `'asked for'`, the
   * backends `'auto'` passed over and why (`'WebGL is software: SwiftShader; WebGPU is
   * software: SwiftShader'`), `'the fastest backend here'`, or after a fallback
   * `'webgl failed: <error>'`.
   */
  get backendReason(): string {
    return this.impl.backendReason;
  }

  /**
   * Runs a small downscale and upscale so that backend start-up costs (shader compilation,
   * weight upload) are paid now, not by the first real call.
   */
  async warmup(options: Pick<RunOptions, 'signal'> = {}): Promise<void> {
    this.check();
    await this.impl.warmup({ tileSize: this.options.tileSize, overlap: this.options.overlap, signal: options.signal });
  }

  /**
   * Downscales an image: resolves to the 8-bit LR image, `ceil(size / scale)`, in the form
   * `options.output` names (default `'imagedata'`). A `'blob'` is a PNG carrying the `irn`
   * chunk with the original size, so `upscale` restores exactly that size, and, for a
   * rescaler of a preset, the preset's name (`lrMetadata.model`), so that `Rescaler.forLr`
   * and `<irn-image>` restore it with this model (an end-to-end lossy preset such as
   * `irn-x2-avif-v2` makes LRs that `irn-x2` restores worse). The same metadata is always in
   * the result's `lrMetadata`, to write into an LR coded another way (`withLrMetadata`).
   */
  downscale<K extends OutputKind = 'imagedata'>(input: ImageInput, options: DownscaleCallOptions<K> = {}): Promise<DownscaleResult<OutputTypes[K]>> {
    if (this.encoderPreset != null) {
      // Its forward pass was never trained to make LRs: the LR would restore badly.
      const name = this.modelInfo.name ?? 'this model';
      return Promise.reject(new Error(`${name} is a lossy decoder: it restores LRs made by the preset ${this.encoderPreset}; downscale with a Rescaler of ${this.encoderPreset}`));
    }
    return this.call('downscale', input, options) as Promise<DownscaleResult<OutputTypes[K]>>;
  }

  /**
   * Restores an image from its IRN LR: `scale` times larger, or the size in the input PNG's
   * `irn` chunk, or `options.width x height`. z is zeros unless `options.z` is
   * `'gaussian'` (with `temperature` and `seed`: the same seed gives the same pixels, in the
   * page or in a worker, whatever the tiling). A `'blob'` is a PNG written for speed
   * (`encodePngQuick`: one row filter, fflate's fast deflate), 4x faster than `encodePng` for
   * files about 5 % larger on photos; re-encode it with `encodePng` (`effort: 'max'`) to store it small.
   */
  upscale<K extends OutputKind = 'imagedata'>(input: ImageInput, options: UpscaleCallOptions<K> = {}): Promise<RescaleResult<OutputTypes[K]>> {
    return this.call('upscale', input, options) as Promise<RescaleResult<OutputTypes[K]>>;
  }

  /**
   * Live tensors and their bytes where the rescaler runs: this page's tfjs, or the worker's
   * (the model's weights included; a finished call leaves the count as it found it).
   */
  async memory(): Promise<RescalerMemory> {
    this.check();
    return this.impl.memory();
  }

  /**
   * Stops: the running call rejects with an `AbortError` at its next tile, the model's
   * tensors are freed (in worker mode the worker is terminated). Resolves when done; later
   * calls reject.
   */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    this.fallbacks.listener = null;
    await this.impl.dispose();
  }

  private async call(op: 'downscale' | 'upscale', input: ImageInput, options: DownscaleCallOptions | UpscaleCallOptions): Promise<RescaleResult<unknown>> {
    this.check();
    const withDefaults = { tileSize: this.options.tileSize, overlap: this.options.overlap, limits: this.options.limits, ...options };
    // The LR names the preset that made it, as `irn downscale` writes it (see PipelineExtras).
    const extras: PipelineExtras = op === 'downscale' && this.modelInfo.name != null ? { lrModel: this.modelInfo.name } : {};
    return this.impl.run(op, input, { ...withDefaults, ...extras }, this.options.fetch);
  }

  private check(): void {
    if (this.disposed) throw new Error('this Rescaler was disposed');
  }
}

type RunPipeline = typeof import('./pipeline.js').runPipeline;

/** Calls in the page: an engine plus the decode/encode pipeline around it. */
class LocalImpl {
  constructor(
    private readonly engine: RescaleEngine,
    private readonly pipeline: RunPipeline,
    private readonly fetchFn?: typeof fetch,
  ) {}

  get backend(): BackendName {
    return this.engine.backend;
  }

  get backendReason(): string {
    return this.engine.backendReason;
  }

  run(op: 'downscale' | 'upscale', input: ImageInput, options: (DownscaleCallOptions | UpscaleCallOptions) & PipelineExtras, fetchFn = this.fetchFn): Promise<RescaleResult<unknown>> {
    return this.pipeline(this.engine, op, input, options, fetchFn);
  }

  warmup(options: RunOptions): Promise<void> {
    return this.engine.warmup(options);
  }

  async memory(): Promise<RescalerMemory> {
    return this.engine.memory();
  }

  dispose(): Promise<void> {
    return this.engine.dispose();
  }
}

/** The model's files: loaded by name or URL, or copied out of an {@link IrnModel}. */
async function readArtifacts(
  options: RescalerOptions,
): Promise<{ artifacts: LoadedArtifacts['artifacts']; info: RescalerModelInfo; presets?: LoadedArtifacts['presets'] }> {
  const { model } = options;
  if (typeof model === 'string' || model instanceof URL) {
    const { artifacts, presets, ...info } = await loadModelArtifacts(model, options);
    return { artifacts, info, presets };
  }
  if (model == null || typeof (model as IrnModel).save !== 'function') {
    throw new TypeError('model must be a preset name, a model.json URL or an IrnModel');
  }
  return { artifacts: await model.toArtifacts(), info: { from: 'memory' } };
}

/** `url` resolved as the page resolves it, for a message; as given where it cannot be. */
function absoluteForMessage(url: string | URL): string {
  try {
    return new URL(url, globalThis.location?.href).href;
  } catch {
    return String(url);
  }
}

/** wasm paths as absolute URLs: a worker resolves relative ones against its own script. */
function absoluteWasmPaths(paths: BackendSetup['wasmPaths']): BackendSetup['wasmPaths'] {
  const base = globalThis.location?.href;
  if (paths == null || base == null) return paths;
  if (typeof paths === 'string') return new URL(paths, base).href;
  return Object.fromEntries(Object.entries(paths).map(([k, v]) => [k, new URL(v, base).href]));
}

/**
 * For `<irn-image>`, which loads this module lazily: a download of bounded size (read-body.ts),
 * and the check of an LR's claimed size that the restore makes (lr-metadata.ts), which the
 * element makes before it sizes its box from the claim.
 */
export { fetchBytesWithin, readResponseBytes } from './read-body.js';
export { restoredSize } from '../image/lr-metadata.js';
export { rewordLimitAdvice } from '../limits.js';
