import type { BackendChoice, Limits, Rescaler } from '@irn/core/browser';
import type { LrHeader } from '@irn/core/lr-formats';
import { html, LitElement, nothing, type PropertyValues } from 'lit';
import { styleMap } from 'lit/directives/style-map.js';
import type { IrnErrorDetail, IrnLoadDetail, IrnLoadStartDetail, IrnProgressDetail } from './events.js';
import { sharedQueue, type QueuedJob } from './job-queue.js';
import { loadCore, loadedCore, sharedRescaler } from './shared-models.js';
import { irnImageStyles } from './irn-image.styles.js';
import { watchNearViewport } from './viewport.js';

/** Where an element is with its current `src`. */
export type IrnImageStatus = 'idle' | 'waiting' | 'queued' | 'running' | 'restored' | 'error';

/** Page-wide defaults for every `<irn-image>` (attributes win). Set them before elements connect. */
export interface IrnImageDefaults {
  /**
   * Folder of the presets (`manifest.json`, `irn-x2/`, ...). Default: none; presets come from
   * the `@irn/weights` package (a dependency of `@irn/core`, or the copies beside the
   * one-file bundle), then from {@link IrnImageDefaults.weightsCdn}.
   */
  weightsBase?: string;
  /**
   * A CDN that serves npm packages by name and version (`<cdn>@irn/weights@<version>/...`),
   * where presets are fetched when the package's own files fail; `false`: never. Default
   * `@irn/core`'s `DEFAULT_WEIGHTS_CDN` (jsDelivr). SHA-256 checks apply alike.
   */
  weightsCdn?: string | false;
  /** Run the model in a Web Worker (default true in `@irn/element`, false in the `<script>` bundle). */
  worker: boolean;
  /**
   * Folder of the tfjs wasm files, for the wasm backend; default: the copies next to the code
   * (`@irn/core`'s `dist/browser/`, or beside `irn-image.bundle.js`).
   */
  wasmPaths?: string;
  /** How near the viewport a lazy element starts (IntersectionObserver `rootMargin`). */
  rootMargin: string;
  /**
   * The most bytes one LR download may have (default {@link MAX_LR_BYTES}, 128 MiB): a larger
   * file, or a server that sends without end, is cut off there and fires `irn-error`.
   */
  maxBytes?: number;
  /**
   * Resource limits for each LR and its restore (default: `@irn/core`'s `DEFAULT_LIMITS`, e.g.
   * `pixels`: 100 million pixels of restored image). A file past one fires `irn-error`, whose
   * message names the limit to raise here: `IrnImage.defaults.limits = { pixels: 2e8 }`.
   */
  limits?: Partial<Limits>;
}

const RESTART_KEYS = ['src', 'model', 'weightsBase', 'weightsCdn', 'backend', 'worker', 'z', 'temperature', 'seed', 'scale'] as const;

/** `worker` attribute: present, `""`, `"true"` or `"on"` -> true; `"false"` or `"off"` -> false. */
const workerConverter = {
  fromAttribute: (v: string | null): boolean | undefined => (v == null ? undefined : !['false', 'off', '0'].includes(v.toLowerCase())),
  toAttribute: (v: boolean | undefined): string | null => (v == null ? null : String(v)),
};

/** A job of the page queue, with its own cancellation. */
interface ElementJob extends QueuedJob {
  readonly controller: AbortController;
  readonly src: string;
  enqueuedAt: number;
  started: boolean;
  /**
   * The LR file's download, the check of its headers and the load of its model, started when
   * the job is first queued and run outside the queue's one-at-a-time turn (see
   * {@link QueuedJob.prepare}), so a server that stalls (the LR's, or a model's) holds up no
   * other element; dropped once the job runs.
   */
  download: Promise<PreparedJob> | null;
  /** Starts the download once (`download`), or returns it. */
  prepare(): Promise<PreparedJob>;
  /** The model, once the LR has been read (for `irn-error`'s detail). */
  model: string;
  /** Milliseconds `prepare` waited for the model (0 when it was loaded). */
  modelMs: number;
}

/** What a job needs for its turn: the LR file, what its headers say, and the model to restore it with. */
interface PreparedJob {
  bytes: Uint8Array;
  info: LrHeader;
  rescaler: Rescaler;
}

/** The LR's size and `irn` metadata: its headers' ({@link LrHeader}), or the shown `<img>`'s size until they are read. */
type LrSize = Pick<LrHeader, 'width' | 'height' | 'lrMetadata'>;

/**
 * `<irn-image>`: shows an IRN-downscaled PNG at once, scaled by the browser to the final size,
 * and swaps in the full-resolution image restored in the visitor's browser with IRN
 * (`@irn/core`). The final size comes from the `width`/`height` attributes, else the LR PNG's
 * `irn` chunk (written by `irn downscale`), else the LR size times the scale, so nothing moves
 * when the restored image arrives. On any failure the LR stays and `irn-error` fires.
 *
 * Elements share one loaded model per model, backend and weights folder, and restore one at a
 * time, first come first served. Lazy elements (the default) join the queue only near the
 * viewport and leave it when they scroll away before their turn; a removed element cancels
 * its job.
 *
 * @example
 * <script type="module" src="https://example.com/irn-image.bundle.js"></script>
 * <irn-image src="photo.lr.png" scale="2" alt="Harbour at dusk"></irn-image>
 *
 * @tag irn-image
 * @fires {IrnLoadStartEvent} irn-load-start - The element's turn came: the model loads (if needed) and the image restores.
 * @fires {IrnProgressEvent} irn-progress - Part of the restoring is done: `detail.fraction` in [0, 1].
 * @fires {IrnLoadEvent} irn-load - The restored image is shown: `detail` has the backend used and timings.
 * @fires {IrnErrorEvent} irn-error - Restoring failed (no backend, bad model, network); the LR image stays.
 * @csspart image - The `<img>`: the LR image first, then the restored one.
 * @csspart lr - The `<img>` while it shows the LR image.
 * @csspart restored - The `<img>` once it shows the restored image.
 * @cssprop [--irn-image-fit=fill] - `object-fit` of the image in its box.
 * @cssprop [--irn-image-position=50% 50%] - `object-position` of the image.
 * @cssprop [--irn-image-background=transparent] - Background behind the image (seen through transparent pixels).
 * @cssprop [--irn-image-lr-rendering=auto] - `image-rendering` while the LR image is shown.
 * @cssprop [--irn-image-lr-filter=none] - `filter` while the LR image is shown (e.g. `blur(1px)`).
 * @cssprop [--irn-image-fade-duration=0s] - Fade-in of the restored image.
 * @cssprop [--irn-image-fade-from=0.6] - Opacity the fade-in starts from.
 * @cssstate busy - Queued or restoring (also `aria-busy="true"`).
 * @cssstate restored - The restored image is shown.
 * @cssstate error - Restoring failed; the LR image is shown.
 */
export class IrnImage extends LitElement {
  static override styles = irnImageStyles;

  static override properties = {
    src: { type: String },
    scale: { type: Number },
    model: { type: String },
    loading: { type: String },
    z: { type: String },
    temperature: { type: Number },
    seed: { type: Number },
    backend: { type: String },
    alt: { type: String },
    width: { type: Number },
    height: { type: Number },
    weightsBase: { type: String, attribute: 'weights-base' },
    weightsCdn: { type: String, attribute: 'weights-cdn' },
    worker: { attribute: 'worker', converter: workerConverter },
  };

  /** Page-wide defaults (attributes win). */
  static defaults: IrnImageDefaults = { worker: true, rootMargin: '200px' };

  /** URL of the IRN-downscaled PNG (from `irn downscale` or `irn prepare`). */
  declare src: string | undefined;
  /** The model's scale; default: the PNG's `irn` chunk, else the model's. */
  declare scale: number | undefined;
  /**
   * A preset name (`irn-x2`, `irn-x4`, `irn-x2-jpeg`: from `@irn/weights`, or `weights-base`)
   * or a model.json URL. Default: the preset the LR file's metadata names (`irn downscale`
   * records the preset it used, e.g. the lossy decoder `irn-x2-jpeg` for a JPEG LR), else
   * `irn-x<scale>`. An LR that names a preset the presets in use do not have fails with
   * `irn-error` (the LR stays): a lossless preset would restore it visibly worse.
   */
  declare model: string | undefined;
  /** `lazy` (default): restore only near the viewport; `eager`: at once. */
  declare loading: 'lazy' | 'eager';
  /** The latent z: `zeros` (default, the best single guess) or `gaussian`. */
  declare z: 'zeros' | 'gaussian';
  /** Standard deviation of a Gaussian z (default 1). */
  declare temperature: number | undefined;
  /** Seed of a Gaussian z: the same seed gives the same pixels. */
  declare seed: number | undefined;
  /** TensorFlow.js backend: `auto` (default), `webgpu`, `webgl`, `wasm` or `cpu`. */
  declare backend: BackendChoice;
  /** Text alternative, exposed as the element's `aria-label`. */
  declare alt: string | undefined;
  /** Display width in CSS pixels (default: the restored width). */
  declare width: number | undefined;
  /** Display height in CSS pixels (default: the restored height). */
  declare height: number | undefined;
  /** Folder of the presets (`manifest.json`, `irn-x2/`, ...); default {@link IrnImage.defaults}: none, `@irn/weights`. */
  declare weightsBase: string | undefined;
  /**
   * The CDN presets fall back to (a URL serving npm packages, such as `https://unpkg.com/`),
   * or `off` for none; default {@link IrnImage.defaults}. Not used with `weights-base`.
   */
  declare weightsCdn: string | undefined;
  /** Restore in a Web Worker; default {@link IrnImage.defaults}. */
  declare worker: boolean | undefined;

  // Rendered state, not attributes: changes go through requestUpdate().
  private lrInfo: LrSize | null = null;
  private restoredUrl: string | null = null;
  /**
   * The LR the element shows until the restored image is there: a blob: URL of the bytes of its
   * own bounded download (see {@link fetchBytes}), and the `src` they came from. Never `src`
   * itself: an `<img>` downloads without a bound, and a server that sends without end fills
   * the page's memory until the tab crashes (Chromium, seen in irn-image-hostile.test.ts).
   */
  private lr: { url: string; src: string } | null = null;
  private job: ElementJob | null = null;
  private restoredBlob: Blob | null = null;
  private stopWatching: (() => void) | null = null;
  private waiters: { resolve(blob: Blob): void; reject(error: unknown): void }[] = [];
  private readonly internals: ElementInternals | null;
  private currentStatus: IrnImageStatus = 'idle';
  private currentError: Error | null = null;
  private currentProgress = 0;
  private hasUpdatedOnce = false;

  constructor() {
    super();
    this.loading = 'lazy';
    this.z = 'zeros';
    this.backend = 'auto';
    this.internals = typeof this.attachInternals === 'function' ? this.attachInternals() : null;
  }

  /** Where the element is with its current `src`. */
  get status(): IrnImageStatus {
    return this.currentStatus;
  }

  /** Why the last restoring failed (status `error`), else null. */
  get error(): Error | null {
    return this.currentError;
  }

  /** Progress of the current restoring, in [0, 1]. */
  get progress(): number {
    return this.currentProgress;
  }

  /** Whether the restored image is shown. */
  get restored(): boolean {
    return this.restoredBlob != null;
  }

  /**
   * The restored image as a PNG Blob (what "save image" gives): at once when shown, else when
   * restoring finishes (a lazy element far from the viewport is restored now).
   * @throws the restoring's error, or an `AbortError` when `src` changes or the element is removed first.
   */
  toBlob(): Promise<Blob> {
    if (this.restoredBlob != null) return Promise.resolve(this.restoredBlob);
    if (this.currentStatus === 'error') return Promise.reject(this.currentError);
    if (!this.src) return Promise.reject(new Error('<irn-image> has no src'));
    if (this.job == null && this.hasUpdated) {
      return Promise.reject(new DOMException('the <irn-image> is not in the page, so it restores nothing', 'AbortError'));
    }
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      if (this.job != null && !this.job.started && !sharedQueue.has(this.job)) this.enqueue(this.job);
    });
  }

  override connectedCallback(): void {
    super.connectedCallback();
    if (!this.hasAttribute('role')) this.setAttribute('role', 'img');
    if (this.hasUpdated) this.restart();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.cancel(new DOMException('the <irn-image> was removed from the page', 'AbortError'));
    this.setStatus('idle');
    // A blob: URL keeps its image for as long as the page lives, not the element: an app that
    // removes elements (a single-page app, an endless list) would keep every LR and restored
    // image it ever showed. Released unless the element is back by then (moved, not removed);
    // `toBlob()` still has the restored Blob.
    setTimeout(() => {
      if (this.isConnected) return;
      this.clearLr();
      this.revokeRestoredUrl();
    });
  }

  protected override willUpdate(changed: PropertyValues<this>): void {
    // The size read from the old PNG stays until the new one's is known only if src is the same.
    if (changed.has('src')) this.lrInfo = null;
    if (changed.has('alt')) {
      if (this.alt != null) this.setAttribute('aria-label', this.alt);
      else this.removeAttribute('aria-label');
    }
  }

  protected override updated(changed: PropertyValues<this>): void {
    const restart = !this.hasUpdatedOnce || RESTART_KEYS.some((k) => changed.has(k));
    this.hasUpdatedOnce = true;
    if (restart) this.restart();
    else if (changed.has('loading') && this.job != null && !this.job.started) this.schedule(this.job);
  }

  protected override render(): unknown {
    const size = this.displaySize();
    // `height: auto` would follow the loaded image's own ratio: the LR's (12x10 for a 23x19
    // original) differs from the final one by a fraction of a pixel, so the box would move when
    // the restored image arrives. The final ratio, set explicitly, keeps it still. (A style
    // property, not a style attribute, so a strict CSP allows it.)
    const restored = this.restoredUrl != null;
    const src = this.restoredUrl ?? this.lr?.url;
    return html`<img
      part=${restored ? 'image restored' : 'image lr'}
      class=${restored ? 'restored' : 'lr'}
      src=${src ?? nothing}
      width=${size?.width ?? nothing}
      height=${size?.height ?? nothing}
      style=${styleMap(size != null ? { aspectRatio: `${size.width} / ${size.height}` } : {})}
      alt=""
      loading=${this.loading === 'eager' ? 'eager' : 'lazy'}
      decoding="async"
      @load=${this.onImageLoad}
    />`;
  }

  /** The size the element shows the image at: attributes, else the `irn` chunk, else LR x scale. */
  private displaySize(): { width: number; height: number } | null {
    const full = this.fullSize();
    if (this.width != null && this.height != null) return { width: this.width, height: this.height };
    if (full == null) return null;
    if (this.width != null) return { width: this.width, height: Math.round((this.width * full.height) / full.width) };
    if (this.height != null) return { width: Math.round((this.height * full.width) / full.height), height: this.height };
    return full;
  }

  /** The restored image's size, when known before restoring. */
  private fullSize(): { width: number; height: number } | null {
    const info = this.lrInfo;
    if (info == null) return null;
    const meta = info.lrMetadata;
    const scale = this.scale ?? meta?.scale ?? scaleOfModel(this.model);
    if (meta != null && meta.scale === scale) return { width: meta.width, height: meta.height };
    return { width: info.width * scale, height: info.height * scale };
  }

  private onImageLoad(event: Event): void {
    // An LR shown whose metadata then failed its check: its pixel size (x scale) sizes the element.
    const img = event.target as HTMLImageElement;
    if (this.restoredUrl == null && this.lrInfo == null && img.naturalWidth > 0) {
      this.lrInfo = { width: img.naturalWidth, height: img.naturalHeight, lrMetadata: null };
      this.requestUpdate();
    }
  }

  /** Cancels the current job and plans one for the current attributes. */
  private restart(): void {
    this.cancel(new DOMException('the <irn-image> source or model changed', 'AbortError'));
    this.clearRestored();
    // The LR shown stays while src is the same (a new model, backend, ...): no blink.
    if (this.lr != null && this.lr.src !== this.src) this.clearLr();
    if (!this.isConnected || !this.src) {
      this.setStatus('idle');
      return;
    }
    const controller = new AbortController();
    const job: ElementJob = {
      controller,
      src: this.src,
      enqueuedAt: 0,
      started: false,
      download: null,
      model: '',
      modelMs: 0,
      run: () => this.runJob(job),
      prepare: () => (job.download ??= this.prepareJob(job)),
    };
    this.job = job;
    this.schedule(job);
  }

  /** Queues `job` now (eager) or when near the viewport (lazy). */
  private schedule(job: ElementJob): void {
    this.stopWatching?.();
    this.stopWatching = null;
    if (this.loading !== 'eager' && this.waiters.length === 0 && typeof IntersectionObserver !== 'undefined') {
      this.setStatus('waiting');
      this.stopWatching = watchNearViewport(this, IrnImage.defaults.rootMargin, (near) => {
        if (this.job !== job || job.started) return;
        if (near) this.enqueue(job);
        else if (sharedQueue.remove(job)) this.setStatus('waiting');
      });
    } else {
      this.enqueue(job);
    }
  }

  private enqueue(job: ElementJob): void {
    job.enqueuedAt = performance.now();
    this.setStatus('queued');
    sharedQueue.add(job);
  }

  private cancel(reason: unknown): void {
    this.stopWatching?.();
    this.stopWatching = null;
    const job = this.job;
    this.job = null;
    if (job != null) {
      sharedQueue.remove(job);
      job.controller.abort(reason);
    }
    for (const w of this.waiters.splice(0)) w.reject(reason);
  }

  private async runJob(job: ElementJob): Promise<void> {
    const { signal } = job.controller;
    if (signal.aborted || this.job !== job) return;
    job.started = true;
    this.stopWatching?.();
    this.stopWatching = null;
    const start = performance.now();
    const queueMs = start - job.enqueuedAt;
    this.currentProgress = 0;
    this.setStatus('running');
    // Without a model attribute the LR names its preset, known only once it is read.
    this.emit<IrnLoadStartDetail>('irn-load-start', { src: job.src, model: this.model ?? null });
    try {
      // Done (or failed) while the job waited for its turn; the bytes are held no longer than this run.
      const prepared = job.prepare();
      job.download = null;
      const { bytes, info, rescaler } = await prepared;
      const model = job.model;
      signal.throwIfAborted();
      if (this.scale != null && rescaler.scale !== this.scale) {
        throw new Error(`the model ${model} rescales x${rescaler.scale}, but scale is ${this.scale}`);
      }
      const restoreStart = performance.now();
      const result = await rescaler.upscale(new Blob([bytes as BlobPart], { type: `image/${info.format}` }), {
        output: 'blob',
        ...(IrnImage.defaults.limits != null ? { limits: IrnImage.defaults.limits } : {}),
        z: this.z === 'gaussian' ? 'gaussian' : 'zeros',
        ...(this.temperature != null ? { temperature: this.temperature } : {}),
        ...(this.seed != null ? { seed: this.seed } : {}),
        signal,
        onProgress: ({ fraction, done, total }) => {
          if (this.job !== job) return;
          this.currentProgress = fraction;
          this.emit<IrnProgressDetail>('irn-progress', { fraction, done, total });
        },
      });
      const url = URL.createObjectURL(result.image);
      // Decoded before the swap, so the LR never blinks out.
      const preload = new Image();
      preload.src = url;
      await preload.decode().catch(() => undefined);
      if (signal.aborted || this.job !== job) {
        URL.revokeObjectURL(url);
        return;
      }
      const end = performance.now();
      this.restoredBlob = result.image;
      this.restoredUrl = url;
      // The box takes the restored image's own size where the element guessed another (an LR
      // without metadata, restored by a model given by URL whose scale the name does not say).
      const full = this.fullSize();
      if (full == null || full.width !== result.width || full.height !== result.height) {
        this.lrInfo = { ...info, lrMetadata: { scale: rescaler.scale, width: result.width, height: result.height } };
      }
      this.requestUpdate();
      this.currentProgress = 1;
      this.setStatus('restored');
      for (const w of this.waiters.splice(0)) w.resolve(result.image);
      this.emit<IrnLoadDetail>('irn-load', {
        src: job.src,
        model,
        backend: result.backend,
        backendReason: rescaler.backendReason,
        width: result.width,
        height: result.height,
        timings: { queueMs, modelMs: job.modelMs, restoreMs: end - restoreStart, totalMs: end - job.enqueuedAt },
      });
    } catch (e) {
      if (signal.aborted || this.job !== job) return;
      const error = e instanceof Error ? e : new Error(String(e));
      // A limit's message says how to raise it through the API (`limits: { pixels: N }`); here
      // that is the page-wide default. Only core's errors carry those words, so core is loaded.
      const core = loadedCore();
      if (core != null) error.message = core.rewordLimitAdvice(error.message, (name) => `raise it with IrnImage.defaults.limits = { ${name}: N }`);
      this.currentError = error;
      this.setStatus('error');
      for (const w of this.waiters.splice(0)) w.reject(error);
      this.emit<IrnErrorDetail>('irn-error', { src: job.src, model: job.model || (this.model ?? ''), error });
      // One line per failure, so a developer sees it without listening for irn-error.
      console.error(`<irn-image> could not restore ${job.src}: ${error.message}`);
    }
  }

  private rescalerFor(model: string): Promise<Rescaler> {
    const base = document.baseURI;
    const isUrl = !/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(model);
    const weightsBase = this.weightsBase ?? IrnImage.defaults.weightsBase;
    const cdn = this.weightsCdn != null ? (['off', 'false', 'none'].includes(this.weightsCdn.toLowerCase()) ? false : this.weightsCdn) : IrnImage.defaults.weightsCdn;
    const { wasmPaths } = IrnImage.defaults;
    return sharedRescaler({
      model: isUrl ? new URL(model, base).href : model,
      backend: this.backend || 'auto',
      worker: this.worker ?? IrnImage.defaults.worker,
      ...(weightsBase != null ? { weightsUrl: new URL(weightsBase.replace(/\/?$/, '/'), base).href } : {}),
      ...(cdn != null ? { cdn: cdn === false ? false : new URL(cdn.replace(/\/?$/, '/'), base).href } : {}),
      ...(wasmPaths != null ? { wasmPaths: new URL(wasmPaths, base).href } : {}),
    });
  }

  /**
   * What `job` needs for its turn, done before it (see {@link ElementJob.download}): its LR
   * file, downloaded within the bound (shared with other elements that want it now); the LR's
   * headers read; the LR shown as soon as it is here, unless it has more pixels than any model
   * may restore from within the pixel limit (the x2 LR of an image at the limit: a small file
   * can claim 20000 x 20000 pixels, which the browser's own decoder would allocate for the
   * `<img>`); the size it claims checked before the box is sized from it; its model loaded.
   */
  private async prepareJob(job: ElementJob): Promise<PreparedJob> {
    const { signal } = job.controller;
    const bytes = await fetchBytes(job.src, signal, IrnImage.defaults.maxBytes ?? MAX_LR_BYTES);
    const limits = IrnImage.defaults.limits;
    const info = await readLrInfo(job.src, bytes, limits);
    const { restoredSize } = await loadCore();
    let showable = true;
    try {
      restoredSize(null, 2, info.width, info.height, limits);
    } catch {
      showable = false;
    }
    if (showable && this.job === job && this.lr?.src !== job.src) {
      this.clearLr();
      this.lr = { url: URL.createObjectURL(new Blob([bytes as BlobPart])), src: job.src };
      this.requestUpdate();
    }
    const meta = info.lrMetadata;
    if (this.scale != null && meta != null && meta.scale !== this.scale) {
      throw new Error(`${job.src} was downscaled at x${meta.scale}, but scale is ${this.scale}`);
    }
    // The box is sized from what the file claims, so the claim is checked as the restore
    // would check it (a scale no model has, an original the LR cannot come from, more pixels
    // than the limit): a stranger's file must not stretch the page before it fails.
    try {
      restoredSize(meta, this.scale ?? meta?.scale ?? scaleOfModel(this.model), info.width, info.height, limits);
    } catch (e) {
      (e as Error).message = `${job.src} cannot be restored: ${(e as Error).message}`;
      throw e;
    }
    if (this.job === job) {
      this.lrInfo = info;
      this.requestUpdate();
    }
    // The preset the LR names (a lossy decoder restores its codec's LRs best), else the lossless one.
    const named = this.model == null ? meta?.model : undefined;
    const model = this.model ?? named ?? `irn-x${this.scale ?? meta?.scale ?? 2}`;
    job.model = model;
    const modelStart = performance.now();
    // A model whose server stalls holds up only the elements that need it, and one that is
    // removed stops waiting for it.
    const rescaler = await untilAborted(this.rescalerFor(model), signal).catch((e: unknown) => {
      const known = (e as { known?: unknown }).known;
      if (named == null || (e as Error)?.name !== 'UnknownPresetError' || !Array.isArray(known)) throw e;
      throw new Error(`${job.src} was made for the model ${named}, which these presets do not have (they have ${known.join(', ') || 'none'}); set the model attribute`, { cause: e });
    });
    job.modelMs = performance.now() - modelStart;
    return { bytes, info, rescaler };
  }

  private clearLr(): void {
    if (this.lr != null) URL.revokeObjectURL(this.lr.url);
    this.lr = null;
    this.requestUpdate();
  }

  /** Releases the restored image's blob: URL; the Blob stays for `toBlob()`. */
  private revokeRestoredUrl(): void {
    if (this.restoredUrl != null) URL.revokeObjectURL(this.restoredUrl);
    this.restoredUrl = null;
  }

  private clearRestored(): void {
    this.revokeRestoredUrl();
    this.restoredBlob = null;
    this.currentError = null;
    this.currentProgress = 0;
    this.requestUpdate();
  }

  private setStatus(status: IrnImageStatus): void {
    this.currentStatus = status;
    const busy = status === 'queued' || status === 'running';
    this.setAttribute('aria-busy', String(busy));
    setState(this.internals, 'busy', busy);
    setState(this.internals, 'restored', status === 'restored');
    setState(this.internals, 'error', status === 'error');
  }

  private emit<T>(type: string, detail: T): void {
    this.dispatchEvent(irnEvent(type, detail));
  }
}

/** An event of the element: it bubbles and crosses shadow roots, so a page can listen once on a container. */
function irnEvent<T>(type: string, detail: T): CustomEvent<T> {
  return new CustomEvent(type, { detail, bubbles: true, composed: true });
}

/** Adds or removes a custom state (`:state(name)`); browsers without `states` just skip it. */
function setState(internals: ElementInternals | null, name: string, on: boolean): void {
  const states = (internals as (ElementInternals & { states?: Set<string> }) | null)?.states;
  if (states == null) return;
  try {
    if (on) states.add(name);
    else states.delete(name);
  } catch {
    // Chromium before 125 accepted only `--name` (and `:--name`); styling then uses aria-busy.
  }
}

/** `promise`, or `signal`'s reason as soon as it aborts (the promise itself goes on). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** `irn-x4`, `irn-x4-jpeg` -> 4; 2 for anything else (URLs: the model says once loaded). */
function scaleOfModel(model: string | undefined): number {
  const m = /^irn-x(\d+)(?:-|$)/.exec(model ?? '');
  return m ? Number(m[1]) : 2;
}

/**
 * The most bytes an LR file may have unless `IrnImage.defaults.maxBytes` says otherwise: an
 * uncompressed RGBA PNG of the x2 LR of a 100-megapixel photo (core's default pixel limit) is
 * 100 MB. A server that sends more, or without end, is cut off there instead of filling the
 * page's memory.
 */
export const MAX_LR_BYTES = 128 * 1024 * 1024;

/** A download that elements share: its bytes, and how many elements still wait for them. */
interface SharedDownload {
  readonly bytes: Promise<Uint8Array>;
  readonly controller: AbortController;
  users: number;
}

/**
 * The downloads in flight, by bound and URL. Elements whose LR is the same URL share one: a
 * page that shows one LR twice downloads it once, and a stranger's URL that sends without end,
 * put on many elements, costs one download up to the bound instead of one per element (each
 * element starts its download as soon as it is queued, all at once). A download leaves the
 * map when it settles, so a later element downloads afresh (from the HTTP cache where it may).
 */
const downloads = new Map<string, SharedDownload>();

/**
 * The LR file at `src` through core's bounded download (the module the restore loads next
 * anyway, see shared-models.ts), shared with the other elements that want that URL now:
 * `could not download <url>: ...` when it fails, `<url> is larger than the <maxBytes> bytes
 * allowed (raise it with IrnImage.defaults.maxBytes)` past the bound, `signal`'s reason when it aborts. The download itself stops when
 * every element that waits for it has aborted.
 */
function fetchBytes(src: string, signal: AbortSignal, maxBytes: number): Promise<Uint8Array> {
  if (signal.aborted) return Promise.reject(signal.reason);
  const url = new URL(src, document.baseURI).href;
  const key = `${maxBytes} ${url}`;
  let shared = downloads.get(key);
  if (shared == null) {
    const controller = new AbortController();
    // Past the bound, the line names the setting that raises it.
    const tooBig = () => new Error(`${url} is larger than the ${maxBytes.toLocaleString('en-US')} bytes allowed (raise it with IrnImage.defaults.maxBytes)`);
    const bytes = loadCore().then(async ({ fetchBytesWithin }) => (await fetchBytesWithin(url, fetch, maxBytes, { signal: controller.signal, tooBig })).bytes);
    const entry: SharedDownload = { bytes, controller, users: 0 };
    const forget = () => {
      if (downloads.get(key) === entry) downloads.delete(key);
    };
    bytes.then(forget, forget);
    downloads.set(key, entry);
    shared = entry;
  }
  const download = shared;
  download.users++;
  return new Promise<Uint8Array>((resolve, reject) => {
    let waiting = true;
    const leave = (): boolean => {
      if (!waiting) return false;
      waiting = false;
      download.users--;
      signal.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      reject(signal.reason);
      // The last element waiting for it: the download stops, and a later element starts anew.
      if (download.users === 0 && downloads.get(key) === download) {
        downloads.delete(key);
        download.controller.abort(signal.reason);
      }
    };
    signal.addEventListener('abort', onAbort);
    download.bytes.then(
      (bytes) => void (leave() && resolve(bytes)),
      // Each element its own error (an element rewrites its message), of the same kind.
      (e: unknown) => void (leave() && reject(e instanceof Error ? Object.assign(new Error(e.message, { cause: e }), { name: e.name }) : e)),
    );
  });
}

declare global {
  interface HTMLElementTagNameMap {
    'irn-image': IrnImage;
  }
}

/**
 * The format, size and `irn` metadata of an LR file, read by `@irn/core`'s `readLrHeader`, the
 * reader the restore itself uses (so the box and the model chosen are what the restore finds),
 * through `@irn/core/lr-formats`: loaded here without the Rescaler, and together with it, which
 * words a limit's message (see `runJob`). The LR's own pixels are not checked here: the
 * restored size is, next, with the words that name it.
 * @throws Error naming `src` for an empty file or one in none of the LR formats; the format's
 *   one line for bad headers (`truncated PNG: ...`), or for bad metadata; LimitError past
 *   `limits`.
 */
async function readLrInfo(src: string, bytes: Uint8Array, limits: Partial<Limits> | undefined): Promise<LrHeader> {
  const core = loadCore();
  // Destructured where it is imported, so that rollup (the one-file bundle) keeps only these two.
  const { readLrHeader, sniffLrFormat } = await import('@irn/core/lr-formats');
  await core;
  if (bytes.length === 0) throw new Error(`${src} is empty (IRN needs the LR image that irn downscale writes)`);
  if (sniffLrFormat(bytes) == null) throw new Error(`${src} is not a PNG, WebP, JPEG or AVIF file (IRN needs the LR image that irn downscale writes)`);
  return readLrHeader(bytes, { ...limits, pixels: Number.MAX_SAFE_INTEGER });
}
