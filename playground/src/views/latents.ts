/**
 * `<irn-latents>`: what the forward pass makes of the photo. The LR next to the bicubic LR it
 * is guided towards; every z channel as an image, named by its Haar band, with its histogram
 * against N(0, 1); and restoring with sampled z at a chosen temperature and seed next to z = 0.
 */
import { html, nothing, type PropertyValues } from 'lit';
import type { IrnModel, RasterImage } from '@irn/core';
import { HistogramChart } from '../charts.js';
import { restore, type Scores } from '../engine.js';
import { copyCanvas, drawPlane, drawRasterSteps, type Photo } from '../images.js';
import { LatentsClient, type LatentsResult } from '../latents/client.js';
import { latentChannels, type LatentChannel } from '../latent-names.js';
import { PlaygroundView } from './view.js';

interface Restored {
  zeros: RasterImage;
  sampled: RasterImage;
  scores: { zeros: Scores; sampled: Scores };
  temperature: number;
  seed: number;
}

/** Whether `e` is work given up for newer work. */
const isAbort = (e: unknown) => (e as Error)?.name === 'AbortError';

export class IrnLatents extends PlaygroundView {
  static override properties = {
    ...PlaygroundView.properties,
    data: { state: true },
    selected: { state: true },
    temperature: { state: true },
    seed: { state: true },
    restored: { state: true },
    stretch: { state: true },
    failure: { state: true },
  };

  /** The latents of `photo` through `model` (computed in the latents worker). */
  declare data: (LatentsResult & { photo: Photo; model: IrnModel; channels: LatentChannel[] }) | null;
  declare selected: number;
  declare temperature: number;
  declare seed: number;
  declare restored: Restored | null;
  /** Show each channel at ±3 of its own std instead of ±3 (the N(0, 1) scale). */
  declare stretch: boolean;
  /** Why the latents or the restores are missing: one line in place of them. */
  declare failure: { of: 'latents' | 'restore'; message: string } | null;
  private chart: HistogramChart | null = null;
  private restoreTimer: ReturnType<typeof setTimeout> | undefined;
  /** The latents and the restores in flight; aborted when newer inputs supersede them. */
  private job: AbortController | null = null;
  private restoreJob: AbortController | null = null;
  private worker: LatentsClient | null = null;
  /** The model the temperature was last defaulted for. */
  private temperatureFor: unknown = null;
  /** Canvases waiting to be drawn, in order, and the steps left to draw each (see {@link IrnLatents.pump}). */
  private readonly toDraw = new Map<HTMLCanvasElement, (() => void)[]>();
  private pumping = false;

  constructor() {
    super();
    this.data = null;
    this.selected = 0;
    this.temperature = 0;
    this.seed = 1;
    this.restored = null;
    this.stretch = false;
    this.failure = null;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart?.destroy();
    this.chart = null;
    this.job?.abort();
    this.restoreJob?.abort();
    this.worker?.dispose();
    this.worker = null;
  }

  /**
   * Computes the latents when this tab shows and the photo, model or backend changed. Work in
   * flight for older ones is superseded at once (its worker stopped); otherwise, as every view,
   * this waits until nothing else runs.
   */
  protected override inputsMayHaveChanged(): void {
    const inFlight = this.job != null || this.restoreJob != null;
    if (!(inFlight ? this.inputsDiffer() : this.inputsChanged())) return;
    this.claimInputs();
    void this.run();
  }

  private get client(): LatentsClient {
    this.worker ??= new LatentsClient(this.state.options.latentsWorkerUrl, this.state.options.wasmPaths);
    return this.worker;
  }

  private async run(): Promise<void> {
    const { photo, model, backend } = this.state;
    if (photo == null || model == null || backend == null) return;
    this.job?.abort();
    this.restoreJob?.abort();
    clearTimeout(this.restoreTimer);
    const job = (this.job = new AbortController());
    // Nothing of older inputs stays on screen beside the new ones.
    this.data = null;
    this.restored = null;
    this.failure = null;
    const newModel = this.temperatureFor !== model;
    if (newModel) {
      // Each model opens at the z it was trained with (trained-z.ts): the shipped ones at 0.
      this.temperatureFor = model;
      this.temperature = this.state.trainedZ.temperature;
    }
    const what = `computing the latents of ${photo.name}`;
    try {
      const l = await this.state.run(what, async (step) => {
        if (!this.client.holds(model, backend)) step(`starting a worker, its ${backend} backend and the model there`);
        return this.client.latents(model, backend, photo.image, job.signal);
      });
      if (this.job !== job) return;
      this.selected = Math.min(this.selected, l.z.length - 1);
      // z squeezed towards 0 (the shipped models: std about 0.002) is flat grey at ±3; such a
      // model opens stretched, so that the channels show their structure.
      if (newModel) this.stretch = meanStd(l.stats) < 0.1;
      this.data = { ...l, photo, model, channels: latentChannels(model.scale) };
      this.scheduleRestore(0);
    } catch (e) {
      if (this.job === job && !isAbort(e)) this.fail('latents', what, e);
    } finally {
      if (this.job === job) this.job = null;
    }
    // A photo, model or backend chosen while the page was busy with something else gets its own latents.
    this.inputsMayHaveChanged();
  }

  /**
   * Shows the failure of the task `what` in this tab, as one line in place of what is missing,
   * worded as the page's error line words it (which then does not say it a second time).
   */
  private fail(of: 'latents' | 'restore', what: string, e: unknown): void {
    const own = this.state.error?.startsWith(`${what} failed: `) === true;
    this.failure = { of, message: own ? this.state.error! : `${what} failed: ${String((e as Error)?.message ?? e)}` };
    if (own) {
      this.state.error = null;
      this.state.changed();
    }
  }

  /** Restores with z = 0 and with sampled z at the current temperature and seed (debounced). */
  private scheduleRestore(delay = 250): void {
    clearTimeout(this.restoreTimer);
    this.restoreTimer = setTimeout(() => void this.restoreNow(), delay);
  }

  private async restoreNow(): Promise<void> {
    const d = this.data;
    // Latents of another photo or model than the page's: theirs are being computed.
    if (d == null || d.photo !== this.state.photo || d.model !== this.state.model) return;
    const { photo, model } = d;
    this.restoreJob?.abort();
    const job = (this.restoreJob = new AbortController());
    const size = { width: photo.image.width, height: photo.image.height };
    const temperature = this.temperature;
    const seed = this.seed;
    const kept = this.restored;
    const fresh = !this.state.hasWorkerRescaler();
    const what = `restoring ${photo.name} on ${this.state.backend}`;
    try {
      const restored = await this.state.run(what, async (step) => {
        if (fresh) step(`starting a worker, its ${this.state.backend} backend and the model there`);
        const rescaler = await this.state.workerRescaler();
        const warm = fresh ? ' (the first call also warms the backend up)' : '';
        let zeros = kept?.zeros;
        if (zeros == null) {
          step(`with z = 0${warm}`);
          zeros = await restore(rescaler, d.lr, size, { temperature: 0, seed }, job.signal);
        }
        // At temperature 0 the sampled z is z = 0: the same image.
        let sampled = zeros;
        if (temperature !== 0) {
          step(`with z at temperature ${temperature.toFixed(2)}, seed ${seed}`);
          sampled = await restore(rescaler, d.lr, size, { temperature, seed }, job.signal);
        }
        step('scoring against the photo');
        // Scored in the latents worker; the rasters go there and come back.
        let zerosScores = kept?.scores.zeros;
        if (zerosScores == null) ({ scores: zerosScores, image: zeros } = await this.client.scores(zeros, photo.image, model.scale));
        let sampledScores = zerosScores;
        if (temperature !== 0) ({ scores: sampledScores, image: sampled } = await this.client.scores(sampled, photo.image, model.scale));
        else sampled = zeros;
        job.signal.throwIfAborted();
        return { zeros, sampled, scores: { zeros: zerosScores, sampled: sampledScores }, temperature, seed };
      }, (_r, seconds) => `Latents of ${photo.name} shown; restored with z = 0 and z at temperature ${temperature.toFixed(2)} in ${seconds.toFixed(1)} s on ${this.state.backend}.`);
      if (this.restoreJob !== job) return;
      this.restored = restored;
      if (this.failure?.of === 'restore') this.failure = null;
    } catch (e) {
      if (this.restoreJob === job && !isAbort(e)) this.fail('restore', what, e);
    } finally {
      if (this.restoreJob === job) this.restoreJob = null;
    }
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const d = this.data;
    if (d == null) return;
    const redraw = changed.has('data') || changed.has('stretch');
    for (const canvas of this.querySelectorAll<HTMLCanvasElement>('canvas[data-z]')) {
      const i = Number(canvas.dataset.z);
      if (canvas.dataset.drawn !== String(d.z[i]?.length) || redraw) {
        canvas.dataset.drawn = String(d.z[i].length);
        const range = this.range(i);
        this.paint(canvas, () => drawPlane(canvas, d.z[i], d.width, d.height, range));
      }
    }
    const big = this.querySelector<HTMLCanvasElement>('canvas#z-selected');
    if (big != null && (changed.has('selected') || redraw)) {
      const [i, range] = [this.selected, this.range(this.selected)];
      this.paint(big, () => drawPlane(big, d.z[i], d.width, d.height, range));
    }
    if (changed.has('data')) {
      const lr = this.querySelector<HTMLCanvasElement>('canvas#lr-irn');
      const lb = this.querySelector<HTMLCanvasElement>('canvas#lr-bicubic');
      if (lr) this.paint(lr, drawRasterSteps(lr, d.lr));
      if (lb) this.paint(lb, drawRasterSteps(lb, d.lrBicubic));
    }
    const host = this.querySelector<HTMLElement>('#histogram');
    if (host != null && (changed.has('selected') || changed.has('data') || this.chart == null)) {
      if (this.chart == null) this.chart = new HistogramChart(host, Math.min(520, Math.max(280, host.clientWidth || 420)));
      const h = d.histograms[this.selected];
      this.chart.set(h.centres, h.density);
    }
    const r = this.restored;
    if (changed.has('restored') && r != null) {
      const a = this.querySelector<HTMLCanvasElement>('canvas#restored-zeros');
      const b = this.querySelector<HTMLCanvasElement>('canvas#restored-sampled');
      if (a) this.paint(a, drawRasterSteps(a, r.zeros));
      // At temperature 0 both are the same image: drawn once (after it, in the order of the queue).
      if (b && a && r.sampled === r.zeros) this.paint(b, () => copyCanvas(b, a));
      else if (b) this.paint(b, drawRasterSteps(b, r.sampled));
    }
  }

  /** Draws `canvas` soon, after those waiting, in one step or several; a newer draw of a canvas replaces what is left of the one waiting. */
  private paint(canvas: HTMLCanvasElement, steps: (() => void) | (() => void)[]): void {
    this.toDraw.delete(canvas);
    this.toDraw.set(canvas, Array.isArray(steps) ? [...steps] : [steps]);
    if (!this.pumping) void this.pump();
  }

  /**
   * Draws what waits in turns of about 30 ms, each a task of its own (the first after the
   * render that asked for it): drawn at once, the z channels of a 1024 x 1024 photo, its LRs
   * and histogram held a 2-core machine's page for 0.4 s, and the two restores for 0.26 s.
   */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (this.toDraw.size > 0) {
        await new Promise((resolve) => setTimeout(resolve, 0));
        const t0 = performance.now();
        turn: for (const [canvas, steps] of this.toDraw) {
          while (steps.length > 0) {
            steps.shift()!();
            if (performance.now() - t0 > 30) break turn;
          }
          this.toDraw.delete(canvas);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  /** The value shown as white (and its negative as black) for channel `i`. */
  private range(i: number): number {
    return this.stretch && this.data ? 3 * Math.max(this.data.stats[i].std, 1e-6) : 3;
  }

  private onGridKey(e: KeyboardEvent): void {
    const d = this.data;
    if (d == null) return;
    const cols = d.z.length === 9 ? 3 : 9;
    const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: cols, ArrowUp: -cols }[e.key];
    if (step == null) return;
    e.preventDefault();
    this.selected = Math.max(0, Math.min(d.z.length - 1, this.selected + step));
    void this.updateComplete.then(() => this.querySelector<HTMLButtonElement>(`button[data-channel="${this.selected}"]`)?.focus());
  }

  override render() {
    const d = this.data;
    const r = this.restored;
    const ch = d?.channels[this.selected];
    const st = d?.stats[this.selected];
    const gap = d ? Math.abs(d.stats.reduce((a, s) => a + s.std, 0) / d.stats.length - 1) : 0;
    return html`
      <details class="explain" open>
        <summary>What is z?</summary>
        The forward pass turns the photo into the LR image (3 channels) and <i>z</i>: ${d ? d.z.length : 'the other'} channels at LR size that
        hold what downscaling loses, laid out like the bands of a Haar wavelet (edges left−right, top−bottom, diagonal, per colour).
        Training pushes <i>z</i> to look like plain Gaussian noise, so that it can be thrown away and drawn afresh when restoring.
        Mid-grey is 0 in the images below; white and black are ±3, or ±3 standard deviations of each channel with
        <i>stretch</i> on (it starts on when a model's <i>z</i> are too small to see at ±3). A model trained only for <i>z</i> = 0 restores (as the shipped ones) squeezes <i>z</i> towards 0 and
        does not tolerate sampled <i>z</i>. The temperature below starts at the <i>z</i> the model was trained with
        (0 for the shipped ones, where both restores match); raise it to see what sampled <i>z</i> does.
      </details>
      ${d == null
        ? this.failure?.of === 'latents'
          ? html`<p class="error" role="alert" id="latents-error">${this.failure.message}</p>`
          : html`<p class="placeholder">${this.state.photo == null ? 'Pick a photo above.' : 'Working…'}</p>`
        : html`
            <h2>LR guidance</h2>
            <div class="panels small">
              <figure><figcaption>IRN's LR</figcaption><div class="viewport"><canvas id="lr-irn" class="pixelated" style="width:100%"></canvas></div></figure>
              <figure><figcaption>Bicubic LR (the target of the guidance loss)</figcaption><div class="viewport"><canvas id="lr-bicubic" class="pixelated" style="width:100%"></canvas></div></figure>
            </div>
            <h2>z channels <small>(${d.z.length}, ${d.width}×${d.height} each; mean std ${(d.stats.reduce((a, s) => a + s.std, 0) / d.stats.length).toFixed(3)}${gap > 0.5 ? ', far from 1: this model was not trained to make z Gaussian' : ''})</small></h2>
            <label><input type="checkbox" id="stretch" .checked=${this.stretch} @change=${(e: Event) => (this.stretch = (e.target as HTMLInputElement).checked)} /> stretch each channel to its own range</label>
            <div class="z-grid ${d.z.length > 9 ? 'many' : ''}" role="listbox" aria-label="z channels" @keydown=${(e: KeyboardEvent) => this.onGridKey(e)}>
              ${d.channels.map(
                (c, i) => html`<button role="option" data-channel=${i} aria-selected=${i === this.selected ? 'true' : 'false'} tabindex=${i === this.selected ? 0 : -1}
                  title=${c.description} @click=${() => (this.selected = i)}>
                  <canvas data-z=${i}></canvas>
                  <span>${c.label}</span><span class="std">σ ${fmtStd(d.stats[i].std)}</span>
                </button>`,
              )}
            </div>
            <div class="z-detail">
              <figure>
                <figcaption id="z-caption">z ${ch!.index}: ${ch!.label} — ${ch!.description}; mean ${st!.mean.toFixed(3)}, std ${st!.std.toFixed(3)}</figcaption>
                <div class="viewport"><canvas id="z-selected" class="pixelated" style="width:100%"></canvas></div>
              </figure>
              <figure><figcaption>Histogram against N(0, 1)</figcaption><div id="histogram"></div></figure>
            </div>
            <h2>Restoring with sampled z</h2>
            <div class="controls">
              <label>Temperature <input type="range" id="temperature" min="0" max="1.5" step="0.05" .value=${String(this.temperature)}
                @input=${(e: Event) => { this.temperature = Number((e.target as HTMLInputElement).value); this.scheduleRestore(); }} />
                <output>${this.temperature.toFixed(2)}</output></label>
              <span class="hint" id="temperature-note" data-known=${String(this.state.trainedZ.known)}>${this.state.trainedZ.note}</span>
              <label>Seed <input type="number" id="seed" min="0" step="1" .value=${String(this.seed)}
                @change=${(e: Event) => { this.seed = Math.max(0, Math.floor(Number((e.target as HTMLInputElement).value) || 0)); this.scheduleRestore(); }} /></label>
              <button @click=${() => { this.seed = (this.seed + 1) % 100000; this.scheduleRestore(0); }}>New seed</button>
            </div>
            ${r == null
              ? this.failure?.of === 'restore'
                ? html`<p class="error" role="alert" id="latents-error">${this.failure.message}</p>`
                : html`<p class="placeholder">Restoring…</p>`
              : html`<div class="panels">
                  <figure><figcaption>z = 0 · <span data-score="zeros-psnr">${r.scores.zeros.psnr.toFixed(2)}</span> dB, SSIM ${r.scores.zeros.ssim.toFixed(4)}</figcaption>
                    <div class="viewport"><canvas id="restored-zeros" class="pixelated" style="width:100%"></canvas></div></figure>
                  <figure><figcaption id="sampled-caption">z ~ N(0, ${r.temperature.toFixed(2)}²), seed ${r.seed} · <span data-score="sampled-psnr">${r.scores.sampled.psnr.toFixed(2)}</span> dB, SSIM ${r.scores.sampled.ssim.toFixed(4)}</figcaption>
                    <div class="viewport"><canvas id="restored-sampled" class="pixelated" style="width:100%"></canvas></div></figure>
                </div>`}
            ${nothing}
          `}
    `;
  }
}

const meanStd = (stats: { std: number }[]) => stats.reduce((a, s) => a + s.std, 0) / stats.length;

/** A standard deviation with two significant digits (the shipped models' z are around 0.001). */
const fmtStd = (v: number) => (v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));

customElements.define('irn-latents', IrnLatents);
