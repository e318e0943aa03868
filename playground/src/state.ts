/**
 * The playground's shared state: the backend, the model in use, the photo, and the models
 * saved in this browser. Views listen for `change` and re-render.
 */
import type * as tf from '@tensorflow/tfjs-core';
import { IrnModel, rewordLimitAdvice } from '@irn/core';
import { Rescaler, autoBackendOrder, type BackendChoice, type BackendName } from '@irn/core/browser';
import { SAVED_PREFIX, checkModelName, loadFromFiles, loadPreset, refuseUnlisted, savedModels, startBackend } from './engine.js';
import type { Photo } from './images.js';
import { trainedZ, type TrainedZ } from './trained-z.js';

/** The presets shipped in `weights/`. */
export const PRESETS = ['irn-x2', 'irn-x4'] as const;

/** An entry of the model menu: `preset:irn-x2`, `saved:<name>` or `memory:<name>`. */
export type ModelId = string;

export interface PlaygroundOptions {
  /** Folder of the presets and their manifest.json (default `../weights/` from the page). */
  weightsUrl: string;
  /** Folder of the tfjs-backend-wasm .wasm files (default `dist/wasm/` next to the page). */
  wasmPaths: string;
  /** The fine-tune worker script (default `dist/train-worker.js` next to the page). */
  workerUrl: string;
  /** @irn/core's Rescaler worker script, for round trips off the page's thread (default `dist/rescaler-worker.js`). */
  rescalerWorkerUrl: string;
  /** The Latents tab's worker script (default `dist/latents-worker.js`). */
  latentsWorkerUrl: string;
}

/** A model's name as a status or error line shows it: as it is when plain, else quoted (one line) and cut to about 60 characters. */
function shownName(name: string): string {
  if (/^[\w.-]{1,64}$/.test(name)) return name;
  const q = JSON.stringify(name).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return q.length > 62 ? `${q.slice(0, 60)}…"` : q;
}

export class PlaygroundState extends EventTarget {
  backendChoice: BackendChoice = 'auto';
  backend: BackendName | null = null;
  /** Why other backends were skipped, for the badge's tooltip. */
  backendNote = '';
  model: IrnModel | null = null;
  modelId: ModelId = 'preset:irn-x2';
  /** Models that live only in this page (uploaded files, a fine-tune not yet saved). */
  memoryModels = new Map<string, IrnModel>();
  saved: string[] = [];
  photo: Photo | null = null;
  /** The z the current model was trained with: the Latents tab's default temperature. */
  trainedZ: TrainedZ = trainedZ({ preset: 'irn-x2' });
  /** What runs now (each task's line, in the order they started), shown in the status line. */
  private readonly tasks = new Map<number, string>();
  private taskCount = 0;
  /** What model files said about their z (IrnModel keeps only its own metadata fields). */
  private readonly memoryZ = new WeakMap<IrnModel, TrainedZ>();
  /** What the last task with a summary reported when it ended ("round trip … done in 12.3 s"). */
  done: string | null = null;
  error: string | null = null;
  private loading: Promise<void> = Promise.resolve();
  /** The Rescaler (in a worker) for the current model and backend, made on first use. */
  private rescaler: { model: IrnModel; backend: BackendName; rescaler: Promise<Rescaler> } | null = null;

  constructor(readonly options: PlaygroundOptions) {
    super();
  }

  changed(): void {
    this.dispatchEvent(new Event('change'));
  }

  /** What is running, for the status line ("; " between tasks); null when idle. */
  get busy(): string | null {
    return this.tasks.size ? [...this.tasks.values()].join('; ') : null;
  }

  /**
   * Runs `task` with a status line; errors land in `error` (and are rethrown), except an
   * `AbortError`: work given up for newer work is no failure. The task may
   * say what it does now with `step` (shown as "what: step"); `summary`, given the result
   * and the seconds it took, becomes the {@link PlaygroundState.done} line.
   */
  async run<T>(what: string, task: (step: (now: string) => void) => Promise<T>, summary?: (result: T, seconds: number) => string): Promise<T> {
    const id = ++this.taskCount;
    const t0 = performance.now();
    this.tasks.set(id, what);
    this.error = null;
    this.changed();
    try {
      const result = await task((now) => {
        if (!this.tasks.has(id)) return;
        this.tasks.set(id, `${what}: ${now}`);
        this.changed();
      });
      if (summary) this.done = summary(result, (performance.now() - t0) / 1000);
      return result;
    } catch (e) {
      if ((e as Error)?.name === 'AbortError') throw e;
      // Core advises raising a limit through the API (`limits: { pixels: N }`), which this page
      // does not offer: the line says whose limit it is instead.
      this.error = `${what} failed: ${rewordLimitAdvice(String((e as Error)?.message ?? e), () => "the playground's limit")}`;
      throw e;
    } finally {
      this.tasks.delete(id);
      this.changed();
    }
  }

  async setBackend(choice: BackendChoice): Promise<void> {
    this.backendChoice = choice;
    const what = choice === 'auto' ? `choosing a backend (trying ${(await autoBackendOrder().catch(() => [])).join(', ') || 'each'} in turn)` : `starting the ${choice} backend`;
    await this.run(what, async () => {
      const { backend, skipped } = await startBackend(choice, this.options.wasmPaths);
      this.backend = backend;
      this.backendNote = skipped.length ? `skipped ${skipped.join('; ')}` : '';
    });
  }

  /** Loads the model `id` and makes it current (models are loaded one at a time). */
  async selectModel(id: ModelId): Promise<void> {
    // The id may come from a shared link (?model=): only a shipped preset, a model saved here
    // or one in this page; never a URL (core's loader would fetch a model.json URL given as a
    // preset's name, and the menu would still show irn-x2).
    const [kind, name] = [id.slice(0, id.indexOf(':')), id.slice(id.indexOf(':') + 1)];
    const shown = shownName(name);
    const next = this.loading.then(() =>
      this.run(`loading the model ${shown}`, async (step) => {
        let model: IrnModel;
        let metadata: unknown;
        if (kind === 'preset') {
          if (!(PRESETS as readonly string[]).includes(name)) throw new Error(`no shipped model ${shown} (there are ${PRESETS.join(' and ')})`);
          step('downloading its weights and checking their SHA-256');
          ({ model, metadata } = await loadPreset(name, this.options.weightsUrl));
        } else if (kind === 'saved') {
          if (!(await savedModels()).includes(name)) throw new Error(`no model ${shown} is saved in this browser`);
          model = await IrnModel.load(`${SAVED_PREFIX}${name}`);
        } else if (kind === 'memory' && this.memoryModels.has(name)) model = this.memoryModels.get(name)!;
        else throw new Error(`no model ${shownName(id)}`);
        if (this.model != null && !this.isMemoryModel(this.model)) this.model.dispose();
        this.model = model;
        this.modelId = id;
        this.trainedZ = this.memoryZ.get(model) ?? trainedZ({ metadata, source: model.source, preset: kind === 'preset' ? name : undefined });
      }),
    );
    this.loading = next.catch(() => undefined);
    return next;
  }

  private isMemoryModel(m: IrnModel): boolean {
    return [...this.memoryModels.values()].includes(m);
  }

  /** Adds a model that lives in this page (from files or a fine-tune) and selects it. */
  async addMemoryModel(name: string, model: IrnModel): Promise<void> {
    const old = this.memoryModels.get(name);
    this.memoryModels.set(name, model);
    await this.selectModel(`memory:${name}`);
    if (old != null && old !== model) old.dispose();
  }

  async addModelFiles(files: File[]): Promise<void> {
    // IrnModel keeps only its own metadata fields; the z scale, if any, is read from the file.
    const { model, name, metadata } = await this.run('reading the model files', () => loadFromFiles(files));
    this.memoryZ.set(model, trainedZ({ metadata, source: model.source }));
    // Never in place of a model of this page with that name (another model.json, or a
    // fine-tune used here and not saved): "uploaded", then "uploaded-2", ...
    let free = name;
    for (let i = 2; this.memoryModels.has(free); i++) free = `${name}-${i}`;
    await this.addMemoryModel(free, model);
  }

  /**
   * Saves `model` in this browser's IndexedDB as `name`. A model saved under that name already
   * is replaced only with `replace` (ask the user first): otherwise this throws and keeps it.
   */
  async saveModel(name: string, model: IrnModel, { replace = false } = {}): Promise<string> {
    const n = checkModelName(name);
    await this.run(`saving ${n}`, async () => {
      // Listed afresh: another tab of this page may have saved one since. A listing that
      // fails saves nothing: the name may be taken.
      if (!replace && (await savedModels().catch(refuseUnlisted(n))).includes(n)) throw new Error(`a model named "${n}" is saved in this browser already; pick another name or replace it`);
      await model.save(`${SAVED_PREFIX}${n}`);
    });
    await this.refreshSaved();
    return n;
  }

  /** Lists the saved models afresh for the Model menu; when the listing fails, the menu shows none and `error` says why. */
  async refreshSaved(): Promise<void> {
    try {
      this.saved = await savedModels();
    } catch (e) {
      this.saved = [];
      this.error = `${(e as Error).message}; the Model menu shows none of them`;
    }
    this.changed();
  }

  setPhoto(photo: Photo): void {
    this.photo = photo;
    this.error = null;
    this.changed();
  }

  /** The current model's artifacts (to start a fine-tune from it). */
  async currentArtifacts(): Promise<tf.io.ModelArtifacts & { weightData: ArrayBuffer }> {
    if (this.model == null) throw new Error('no model loaded');
    return this.model.toArtifacts();
  }

  /**
   * A Rescaler running the current model in a module worker on the page's backend, so that
   * round trips leave the page responsive. Made on first use, replaced when the model or the
   * backend changes.
   */
  async workerRescaler(): Promise<Rescaler> {
    const { model, backend } = this;
    if (model == null || backend == null) throw new Error('no model or backend yet');
    if (this.rescaler?.model !== model || this.rescaler.backend !== backend) {
      void this.rescaler?.rescaler.then((r) => r.dispose()).catch(() => undefined);
      const rescaler = Rescaler.create({ model, backend, fallback: true, worker: true, workerUrl: this.options.rescalerWorkerUrl, wasmPaths: this.options.wasmPaths });
      this.rescaler = { model, backend, rescaler };
      rescaler.catch(() => {
        if (this.rescaler?.rescaler === rescaler) this.rescaler = null;
      });
    }
    return this.rescaler.rescaler;
  }

  /** Whether {@link PlaygroundState.workerRescaler} has one made (or being made) for the current model and backend. */
  hasWorkerRescaler(): boolean {
    return this.rescaler != null && this.rescaler.model === this.model && this.rescaler.backend === this.backend;
  }

  /** A short name of the current model for file names and labels. */
  get modelName(): string {
    return this.modelId.slice(this.modelId.indexOf(':') + 1);
  }
}
