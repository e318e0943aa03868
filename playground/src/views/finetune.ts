/**
 * `<irn-finetune>`: fine-tunes the selected model (or a fresh small one) on the user's photos
 * in a worker (train/client.ts), with live charts, pause, resume, stop and a learning-rate
 * control; then keeps, saves, downloads or previews the result in an `<irn-image>`.
 *
 * Nothing of the user's goes unasked: Start asks before it discards a finished model that was
 * neither used on the page, saved nor downloaded, and "Use it on this page" asks before it
 * replaces a model of the page with the same name (as saving over a saved name does). Each
 * run has an AbortSignal, aborted when the next starts: what an older run's awaits bring back
 * (its model, preview or messages) is dropped.
 */
import { html, nothing, type PropertyValues } from 'lit';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, downscaleImage, encodePng, lrMetadataText, LR_TEXT_KEY, type TrainImage } from '@irn/core';
import type { BackendChoice } from '@irn/core/browser';
import '@irn/element';
import { LiveChart } from '../charts.js';
import { blobModelUrl, checkModelName, refuseUnlisted, savedModels, toModelName } from '../engine.js';
import { MAX_TRAIN_PHOTOS, openTrainingPhotos, toTrainImage, type Photo } from '../images.js';
import { PlaygroundView } from './view.js';
import { FineTuneSession, type FineTuneState, type FineTuneStep } from '../train/client.js';

interface Settings {
  from: 'current' | 'fresh';
  scale: 2 | 4;
  blocks: number;
  growth: number;
  steps: number;
  batch: number;
  patch: number;
  lr: number;
  zScale: number;
  backend: BackendChoice;
}

const LR_MIN = 1e-6;
const LR_MAX = 1e-3;
/** Slider position (0..100) to learning rate, log scale. */
const lrOf = (pos: number) => LR_MIN * (LR_MAX / LR_MIN) ** (pos / 100);
const posOf = (lr: number) => (100 * Math.log(lr / LR_MIN)) / Math.log(LR_MAX / LR_MIN);

export class IrnFinetune extends PlaygroundView {
  static override properties = {
    ...PlaygroundView.properties,
    settings: { state: true },
    extra: { state: true },
    useCurrent: { state: true },
    session: { state: true },
    runState: { state: true },
    last: { state: true },
    lastPsnr: { state: true },
    message: { state: true },
    preview: { state: true },
    trained: { state: true },
    saveName: { state: true },
  };

  declare settings: Settings;
  /** Photos added for training, besides the current one. */
  declare extra: Photo[];
  declare useCurrent: boolean;
  declare session: FineTuneSession | null;
  declare runState: FineTuneState | 'starting' | 'idle';
  declare last: FineTuneStep | null;
  declare lastPsnr: { first: number; last: number; step: number } | null;
  declare message: string;
  declare preview: { src: string; model: string; revoke(): void } | null;
  /** The fine-tuned model, once exported. */
  declare trained: IrnModel | null;
  /** The name the fine-tuned model is used, saved and downloaded under (editable). */
  declare saveName: string;
  /** Whether this run's model was used on the page, saved or downloaded: Start may then drop it without asking. */
  private kept = false;
  /** The copy of this run's model that "Use it on this page" gave the page, if any. */
  private usedModel: IrnModel | null = null;
  /** Aborted when the next run starts or the panel goes: an older run's results never reach a newer one. */
  private runAbort = new AbortController();
  private lossChart: LiveChart | null = null;
  private psnrChart: LiveChart | null = null;
  private runCount = 0;
  /** Total losses of this run, for the first-vs-recent summary. */
  private losses: number[] = [];

  constructor() {
    super();
    this.settings = { from: 'current', scale: 2, blocks: 2, growth: 8, steps: 200, batch: 4, patch: 64, lr: 1e-4, zScale: 0, backend: 'auto' };
    this.extra = [];
    this.useCurrent = true;
    this.session = null;
    this.runState = 'idle';
    this.last = null;
    this.lastPsnr = null;
    this.message = '';
    this.preview = null;
    this.trained = null;
    this.saveName = '';
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.runAbort.abort();
    this.session?.dispose();
    this.preview?.revoke();
  }

  private set<K extends keyof Settings>(key: K, value: Settings[K]): void {
    this.settings = { ...this.settings, [key]: value };
  }

  private trainingPhotos(): Photo[] {
    return [...(this.useCurrent && this.state.photo ? [this.state.photo] : []), ...this.extra];
  }

  private async addPhotos(files: FileList): Promise<void> {
    // The current photo counts even when unticked (it may be ticked again).
    const current = this.state.photo == null ? 0 : 1;
    const { photos, refused } = await openTrainingPhotos([...files], this.extra.length + current);
    // Another pick may have finished meanwhile.
    this.extra = [...this.extra, ...photos].slice(0, MAX_TRAIN_PHOTOS - current);
    if (refused != null) this.message = refused;
  }

  async start(): Promise<void> {
    const photos = this.trainingPhotos();
    const s = this.settings;
    this.message = '';
    if (photos.length === 0) {
      this.message = 'Pick at least one photo to train on.';
      return;
    }
    // A finished model is the user's work: the native dialog, as saving over a saved name asks.
    const ended = this.session != null && (this.runState === 'done' || this.runState === 'stopped');
    if (ended && !this.kept) {
      const name = this.nameInput();
      if (!confirm(`The fine-tuned model "${name}" is not saved, downloaded or used on this page. Discard it and start a new run?`)) {
        this.message = `Not started: the fine-tuned model "${name}" is kept.`;
        return;
      }
    }
    this.runAbort.abort();
    this.runAbort = new AbortController();
    const { signal } = this.runAbort;
    this.session?.dispose();
    this.session = null;
    this.trained?.dispose();
    this.trained = null;
    this.kept = false;
    this.usedModel = null;
    this.preview?.revoke();
    this.preview = null;
    this.last = null;
    this.lastPsnr = null;
    this.losses = [];
    this.lossChart?.clear(s.steps);
    this.psnrChart?.clear(s.steps);
    this.runState = 'starting';
    this.saveName = this.defaultName(this.runCount + 1);
    try {
      const init =
        s.from === 'fresh'
          ? ({ kind: 'fresh', scale: s.scale, blocks: s.blocks, growth: s.growth } as const)
          : ({ kind: 'artifacts', artifacts: await this.state.currentArtifacts() } as const);
      if (signal.aborted) return;
      const images: TrainImage[] = photos.map(toTrainImage);
      const session = await FineTuneSession.start(this.state.options.workerUrl, {
        init,
        images,
        steps: s.steps,
        batch: s.batch,
        patch: s.patch,
        lr: s.lr,
        zScale: s.zScale,
        backend: s.backend,
        wasmPaths: this.state.options.wasmPaths,
        reportEvery: 1,
        validateEvery: Math.max(10, Math.round(s.steps / 20)),
      });
      if (signal.aborted) {
        session.dispose();
        return;
      }
      this.session = session;
      this.runCount++;
      session.addEventListener('step', (e) => {
        if (signal.aborted) return;
        this.last = e.detail;
        this.losses.push(e.detail.total);
        this.lossChart?.push(e.detail.step, [e.detail.total, e.detail.fit, e.detail.rec, e.detail.dist]);
      });
      session.addEventListener('validation', (e) => {
        if (signal.aborted) return;
        const v = e.detail;
        this.lastPsnr = { first: this.lastPsnr?.first ?? v.psnr, last: v.psnr, step: v.step };
        this.psnrChart?.push(v.step, [v.psnr]);
      });
      session.addEventListener('state', (e) => {
        if (signal.aborted) return;
        this.runState = e.detail.state;
        if (e.detail.state === 'error') this.message = `Training failed: ${e.detail.error?.message ?? 'unknown error'}`;
        if (e.detail.state === 'done' || e.detail.state === 'stopped') void this.collect(session, signal);
      });
      session.addEventListener('diverged', (e) => {
        if (signal.aborted) return;
        this.message = `The loss became ${e.detail.loss} at step ${e.detail.step}: the weights went back to step ${e.detail.restoredStep} and training paused. Lower the learning rate, then Resume.`;
        this.requestUpdate();
      });
      session.addEventListener('fallback', (e) => {
        if (signal.aborted) return;
        this.message = `${e.detail.from} failed (${e.detail.error.message}); training went on on ${e.detail.to} from step ${e.detail.step}.`;
        this.requestUpdate();
      });
      this.runState = session.state;
    } catch (e) {
      if (signal.aborted) return;
      this.runState = 'idle';
      this.message = `Could not start: ${(e as Error).message}`;
    }
  }

  /** Takes the trained weights from `session`'s worker into a model on this page, unless `signal` (its run's) is aborted meanwhile. */
  private async collect(session: FineTuneSession, signal: AbortSignal): Promise<void> {
    try {
      const artifacts = await session.exportModel();
      if (signal.aborted) return;
      const model = await IrnModel.load(tf.io.fromMemory(artifacts));
      if (signal.aborted) {
        model.dispose();
        return;
      }
      this.trained?.dispose();
      this.trained = model;
    } catch (e) {
      if (!signal.aborted) this.message = `Could not take the model from the worker: ${(e as Error).message}`;
    }
  }

  private defaultName(run: number): string {
    // The menu's name may come from a stranger's file name ("my model (1).json").
    const base = this.settings.from === 'fresh' ? `fresh-x${this.settings.scale}` : toModelName(this.state.modelName);
    return `${base}-tuned-${run}`;
  }

  /**
   * Gives the page a copy of the model under the name in the field (the page owns and disposes
   * it). A model of the page with that name is replaced only after asking; the copy this run
   * gave under that name before is selected again.
   */
  private async useModel(): Promise<void> {
    const model = this.trained;
    if (model == null) return;
    const { signal } = this.runAbort;
    const name = this.nameInput();
    try {
      if (this.usedModel != null && this.state.memoryModels.get(name) === this.usedModel) {
        await this.state.selectModel(`memory:${name}`);
      } else {
        const copy = await IrnModel.load(tf.io.fromMemory(await model.toArtifacts()));
        // Checked after the await, right before the page takes it: another model may have come under that name meanwhile.
        const taken = this.state.memoryModels.has(name);
        if (signal.aborted || (taken && !confirm(`A model named "${name}" is in this page already (not saved). Replace it with this one?`))) {
          copy.dispose();
          if (!signal.aborted) this.message = `Not used: "${name}" is kept as it was; pick another name to keep both.`;
          return;
        }
        this.usedModel = copy;
        this.kept = true;
        await this.state.addMemoryModel(name, copy);
      }
      if (!signal.aborted) this.message = `${name} is now the page's model (Round trip and Latents use it).`;
    } catch (e) {
      if (!signal.aborted) this.message = `Could not use it: ${(e as Error).message}`;
    }
  }

  private nameInput(): string {
    return this.saveName.trim() || this.defaultName(this.runCount);
  }

  private async save(): Promise<void> {
    const model = this.trained;
    if (model == null) return;
    const { signal } = this.runAbort;
    try {
      const wanted = checkModelName(this.nameInput());
      const taken = (await savedModels().catch(refuseUnlisted(wanted))).includes(wanted);
      if (signal.aborted) return;
      if (taken && !confirm(`A model named "${wanted}" is saved in this browser already. Replace it with this one?`)) {
        this.message = `Not saved: "${wanted}" is kept as it was; pick another name to keep both.`;
        return;
      }
      const name = await this.state.saveModel(wanted, model, { replace: taken });
      if (signal.aborted) return;
      this.kept = true;
      this.message = `Saved as "${name}" in this browser (IndexedDB); pick it in the Model menu.`;
    } catch (e) {
      if (!signal.aborted) this.message = `Could not save: ${(e as Error).message}`;
    }
  }

  /** Downloads model.json and uint8 weights (8 bits per channel): a quarter of the bytes to serve, as the shipped presets (IndexedDB keeps float32). */
  private async download(): Promise<void> {
    const model = this.trained;
    if (model == null) return;
    const { signal } = this.runAbort;
    try {
      await model.save(`downloads://${checkModelName(this.nameInput())}`, { weights: 'uint8' });
      if (!signal.aborted) this.kept = true;
    } catch (e) {
      if (!signal.aborted) this.message = `Could not download: ${(e as Error).message}`;
    }
  }

  /** Downscales the current photo with the fine-tuned model and lets `<irn-image>` restore it. */
  private async makePreview(): Promise<void> {
    const photo = this.state.photo;
    const model = this.trained;
    if (model == null || photo == null || this.session == null) return;
    const { signal } = this.runAbort;
    try {
      const lr = await downscaleImage(model, photo.image);
      const artifacts = await model.toArtifacts();
      if (signal.aborted) return;
      const png = encodePng(lr, { text: { [LR_TEXT_KEY]: lrMetadataText({ scale: model.scale, width: photo.image.width, height: photo.image.height }) } });
      const src = URL.createObjectURL(new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
      const m = blobModelUrl(artifacts);
      this.preview?.revoke();
      this.preview = {
        src,
        model: m.modelUrl,
        revoke() {
          URL.revokeObjectURL(src);
          m.revoke();
        },
      };
    } catch (e) {
      if (!signal.aborted) this.message = `Preview failed: ${(e as Error).message}`;
    }
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const lossHost = this.querySelector<HTMLElement>('#loss-chart');
    if (lossHost != null && this.lossChart == null && lossHost.clientWidth > 0) {
      const { steps } = this.settings;
      this.lossChart = new LiveChart(lossHost, 'Loss terms (log scale)', ['total', 'LR guidance', 'reconstruction', 'latent'], { width: lossHost.clientWidth, log: true, yLabel: 'loss', steps, emptyRange: [1e-3, 10] });
      this.psnrChart = new LiveChart(this.querySelector<HTMLElement>('#psnr-chart')!, 'Validation PSNR-Y (dB, z = 0)', ['PSNR'], { width: lossHost.clientWidth, yLabel: 'PSNR-Y (dB)', steps, emptyRange: [20, 40] });
    }
    // Before a run, the empty charts' x axes follow the Steps setting.
    if (changed.has('settings') && this.runState === 'idle' && this.lossChart?.points === 0) {
      this.lossChart.clear(this.settings.steps);
      this.psnrChart?.clear(this.settings.steps);
    }
    if (changed.has('active') && this.active && this.lossChart == null) void this.updateComplete.then(() => this.requestUpdate());
  }

  override render() {
    const s = this.settings;
    const st = this.runState;
    const running = st === 'running' || st === 'paused' || st === 'starting';
    const photos = this.trainingPhotos();
    const l = this.last;
    const eta = l && l.stepsPerSecond > 0 ? (s.steps - l.step) / l.stepsPerSecond : null;
    const session = this.session;
    return html`
      <p class="intro">
        Fine-tune a model on your own photos with IRN's training objective (LR guidance against bicubic, reconstruction through the
        inverse, and the latent term). Training runs in a Web Worker, on WebGPU when this browser has a GPU for it, else on WebGL or wasm;
        the page stays usable. Small models and a few hundred steps show the idea in minutes.
      </p>
      <div class="train-grid">
        <form @submit=${(e: Event) => { e.preventDefault(); void this.start(); }}>
          <fieldset>
            <legend>Train on</legend>
            <label><span><input type="checkbox" id="use-current" .checked=${this.useCurrent} @change=${(e: Event) => (this.useCurrent = (e.target as HTMLInputElement).checked)} />
              the current photo${this.state.photo ? ` (${this.state.photo.name})` : ''}</span></label>
            <label class="file-button">Add photos…<input type="file" multiple accept="image/*" @change=${(e: Event) => {
              const input = e.target as HTMLInputElement;
              if (input.files?.length) void this.addPhotos(input.files);
              input.value = '';
            }} /></label>
            ${this.extra.length
              ? html`<ul>${this.extra.map((p, i) => html`<li>${p.name} ${p.image.width}×${p.image.height}
                  <button type="button" aria-label="Remove ${p.name}" @click=${() => (this.extra = this.extra.filter((_, j) => j !== i))}>remove</button></li>`)}</ul>`
              : nothing}
            <small>${photos.length} photo${photos.length === 1 ? '' : 's'}; with several, the last is held out for validation.</small>
          </fieldset>
          <fieldset>
            <legend>Start from</legend>
            <label><span><input type="radio" name="from" value="current" .checked=${s.from === 'current'} @change=${() => this.set('from', 'current')} /> the selected model (${this.state.modelName})</span></label>
            <label><span><input type="radio" name="from" value="fresh" id="from-fresh" .checked=${s.from === 'fresh'} @change=${() => this.set('from', 'fresh')} /> a fresh model (the Haar transform)</span></label>
            ${s.from === 'fresh'
              ? html`<label>Scale <select id="fresh-scale" @change=${(e: Event) => this.set('scale', Number((e.target as HTMLSelectElement).value) as 2 | 4)}>
                    <option value="2" ?selected=${s.scale === 2}>x2</option><option value="4" ?selected=${s.scale === 4}>x4</option></select></label>
                  <label>Blocks per level <input type="number" id="fresh-blocks" min="1" max="8" .value=${String(s.blocks)} @change=${(e: Event) => this.set('blocks', Number((e.target as HTMLInputElement).value))} /></label>
                  <label>Growth <input type="number" id="fresh-growth" min="1" max="32" .value=${String(s.growth)} @change=${(e: Event) => this.set('growth', Number((e.target as HTMLInputElement).value))} /></label>`
              : nothing}
          </fieldset>
          <fieldset>
            <legend>Run</legend>
            <label>Steps <input type="number" id="steps" min="1" max="100000" .value=${String(s.steps)} @change=${(e: Event) => this.set('steps', Number((e.target as HTMLInputElement).value))} /></label>
            <label>Batch <input type="number" id="batch" min="1" max="32" .value=${String(s.batch)} @change=${(e: Event) => this.set('batch', Number((e.target as HTMLInputElement).value))} /></label>
            <label>Patch (px) <input type="number" id="patch" min="8" max="256" step="8" .value=${String(s.patch)} @change=${(e: Event) => this.set('patch', Number((e.target as HTMLInputElement).value))} /></label>
            <label title="Standard deviation of the z drawn in the reconstruction term; 0 trains for z = 0 restores">z scale <input type="number" id="z-scale" min="0" max="1" step="0.1" .value=${String(s.zScale)} @change=${(e: Event) => this.set('zScale', Number((e.target as HTMLInputElement).value))} /></label>
            <label>Backend <select id="train-backend" @change=${(e: Event) => this.set('backend', (e.target as HTMLSelectElement).value as BackendChoice)}>
              ${(['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const).map((b) => html`<option value=${b} ?selected=${b === s.backend}>${b === 'auto' ? 'best available' : b}</option>`)}</select></label>
          </fieldset>
          <label>Learning rate <span><input type="range" id="lr" min="0" max="100" step="1" .value=${String(posOf(s.lr))} aria-valuetext=${s.lr.toExponential(1)}
            @input=${(e: Event) => {
              const lr = Number(lrOf(Number((e.target as HTMLInputElement).value)).toPrecision(2));
              this.set('lr', lr);
              if (session != null && (st === 'running' || st === 'paused')) session.setLearningRate(lr);
            }} /> <output id="lr-value">${s.lr.toExponential(1)}</output></span></label>
          <div class="controls">
            <button type="submit" id="train-start" ?disabled=${running || photos.length === 0 || (s.from === 'current' && this.state.model == null)}>Start</button>
            <button type="button" id="train-pause" ?disabled=${st !== 'running' && st !== 'paused'}
              @click=${() => (st === 'paused' ? session?.resume() : session?.pause())}>${st === 'paused' ? 'Resume' : 'Pause'}</button>
            <button type="button" id="train-stop" ?disabled=${st !== 'running' && st !== 'paused'} @click=${() => void session?.stop()}>Stop</button>
          </div>
        </form>
        <div>
          <p class="train-status" id="train-status" role="status">
            ${st === 'idle' ? 'Not started.' : st === 'starting' ? 'Starting the worker…' : html`<b>${st}</b>`}
            ${session ? html` · on <b id="train-backend-in-use">${session.backend}</b>${session.skippedBackends.length ? html` <small>(skipped ${session.skippedBackends.map((b) => b.backend).join(', ')})</small>` : nothing} · ${(session.params / 1e6).toFixed(3)}M weights` : nothing}
            ${l ? html` · step <span id="train-step">${l.step}</span>/${s.steps} · ${l.stepsPerSecond.toFixed(2)} steps/s${eta != null && st === 'running' ? ` · about ${Math.ceil(eta)} s left` : ''} · loss <span id="train-loss">${l.total.toPrecision(4)}</span> · lr ${l.lr.toExponential(1)}` : nothing}
            ${this.lastPsnr ? html` · validation <span id="train-psnr">${this.lastPsnr.last.toFixed(2)}</span> dB (from ${this.lastPsnr.first.toFixed(2)})` : nothing}
          </p>
          ${this.losses.length >= 10 ? html`<p id="train-loss-summary">Mean loss of the first 5 steps <span data-loss="first">${mean(this.losses.slice(0, 5)).toPrecision(4)}</span>,
            of the last 5 <span data-loss="recent">${mean(this.losses.slice(-5)).toPrecision(4)}</span>.</p>` : nothing}
          ${this.message ? html`<p class="error" id="train-message">${this.message}</p>` : nothing}
          <div class="charts">
            ${[
              ['loss-chart', 'The loss terms of each step are drawn here once training starts.'],
              ['psnr-chart', `The validation PSNR (every ${Math.max(10, Math.round(s.steps / 20))} steps) is drawn here once training starts.`],
            ].map(([id, empty]) => html`<div class="chart-box"><div id=${id}></div>${st === 'idle' && this.last == null ? html`<p class="chart-empty" data-chart=${id}>${empty}</p>` : nothing}</div>`)}
          </div>
          ${this.trained
            ? html`<h2>The fine-tuned model</h2>
                <div class="controls">
                  <label>Name <input id="model-name" .value=${this.saveName} @input=${(e: Event) => (this.saveName = (e.target as HTMLInputElement).value)} /></label>
                  <button id="train-use" @click=${() => void this.useModel()}>Use it on this page</button>
                  <button id="train-save" @click=${() => void this.save()}>Save in this browser</button>
                  <button id="train-download" @click=${() => void this.download()}>Download (model.json + 8-bit weights)</button>
                  <button id="train-preview" @click=${() => void this.makePreview()} ?disabled=${this.state.photo == null}>Preview in &lt;irn-image&gt;</button>
                </div>
                ${this.preview
                  ? html`<p class="hint">The current photo, downscaled with the fine-tuned model; <code>&lt;irn-image&gt;</code> restores it in the page as it would on a site.</p>
                      <irn-image id="preview" src=${this.preview.src} model=${this.preview.model} alt="Preview restored by the fine-tuned model" .worker=${false}></irn-image>`
                  : nothing}`
            : nothing}
        </div>
      </div>
    `;
  }
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

customElements.define('irn-finetune', IrnFinetune);
