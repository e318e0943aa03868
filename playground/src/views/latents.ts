/**
 * `<irn-latents>`: what the forward pass makes of the photo. The LR next to the bicubic LR it
 * is guided towards; every z channel as an image, named by its Haar band, with its histogram
 * against N(0, 1); and restoring with sampled z at a chosen temperature and seed next to z = 0.
 */
import { html, nothing, type PropertyValues } from 'lit';
import { imresize, type RasterImage } from '@irn/core';
import { HistogramChart } from '../charts.js';
import { latents, restore, scores, type Latents, type Scores } from '../engine.js';
import { drawPlane, drawRaster, histogram, moments, round8, type Photo } from '../images.js';
import { latentChannels, type LatentChannel } from '../latent-names.js';
import { PlaygroundView } from './view.js';

interface Restored {
  zeros: RasterImage;
  sampled: RasterImage;
  scores: { zeros: Scores; sampled: Scores };
  temperature: number;
  seed: number;
}

export class IrnLatents extends PlaygroundView {
  static override properties = {
    ...PlaygroundView.properties,
    data: { state: true },
    selected: { state: true },
    temperature: { state: true },
    seed: { state: true },
    restored: { state: true },
    stretch: { state: true },
  };

  /** The latents of `photo` through `model` (the page's photo and model may be newer). */
  declare data: (Latents & { photo: Photo; model: unknown; channels: LatentChannel[]; stats: { mean: number; std: number }[]; lrBicubic: RasterImage; lrRounded: RasterImage }) | null;
  declare selected: number;
  declare temperature: number;
  declare seed: number;
  declare restored: Restored | null;
  /** Show each channel at ±3 of its own std instead of ±3 (the N(0, 1) scale). */
  declare stretch: boolean;
  private running = false;
  private chart: HistogramChart | null = null;
  private restoreTimer: ReturnType<typeof setTimeout> | undefined;
  private restoring = 0;
  /** The model the temperature was last defaulted for. */
  private temperatureFor: unknown = null;

  constructor() {
    super();
    this.data = null;
    this.selected = 0;
    this.temperature = 0;
    this.seed = 1;
    this.restored = null;
    this.stretch = false;
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.chart?.destroy();
    this.chart = null;
  }

  /** Computes the latents when this tab shows and the photo, model or backend changed. */
  protected override inputsMayHaveChanged(): void {
    if (this.running || !this.inputsChanged()) return;
    this.claimInputs();
    void this.run();
  }

  private async run(): Promise<void> {
    const { photo, model } = this.state;
    if (photo == null || model == null) return;
    this.running = true;
    const newModel = this.temperatureFor !== model;
    if (newModel) {
      // Each model opens at the z it was trained with (trained-z.ts): the shipped ones at 0.
      this.temperatureFor = model;
      this.temperature = this.state.trainedZ.temperature;
    }
    try {
      // The forward pass holds the page's thread (seconds for a big photo): let the status line show first.
      const l = await this.state.run(`computing the latents of ${photo.name}`, async () => {
        await afterPaint();
        return latents(model, photo.image);
      });
      const scale = model.scale;
      this.selected = Math.min(this.selected, l.z.length - 1);
      this.restored = null;
      // z squeezed towards 0 (the shipped models: std about 0.002) is flat grey at ±3; such a
      // model opens stretched, so that the channels show their structure.
      const stats = l.z.map(moments);
      if (newModel) this.stretch = meanStd(stats) < 0.1;
      this.data = {
        ...l,
        photo,
        model,
        channels: latentChannels(scale),
        stats,
        lrBicubic: round8(imresize(photo.image, photo.image.width / scale, photo.image.height / scale)),
        lrRounded: round8(l.lr),
      };
      this.scheduleRestore(0);
    } catch {
      this.data = null;
    } finally {
      this.running = false;
    }
    // A photo, model or backend chosen while this ran (a paste, a drop) gets its own latents.
    this.inputsMayHaveChanged();
  }

  /** Restores with z = 0 and with sampled z at the current temperature and seed (debounced). */
  private scheduleRestore(delay = 250): void {
    clearTimeout(this.restoreTimer);
    this.restoreTimer = setTimeout(() => void this.restoreNow(), delay);
  }

  private async restoreNow(): Promise<void> {
    const { photo, model } = this.state;
    const d = this.data;
    // Latents of another photo or model than the page's: theirs are being computed.
    if (photo == null || model == null || d == null || d.photo !== photo || d.model !== model) return;
    const ticket = ++this.restoring;
    const size = { width: photo.image.width, height: photo.image.height };
    const temperature = this.temperature;
    const seed = this.seed;
    const fresh = !this.state.hasWorkerRescaler();
    try {
      const { zeros, sampled } = await this.state.run(`restoring ${photo.name} on ${this.state.backend}`, async (step) => {
        if (fresh) step(`starting a worker, its ${this.state.backend} backend and the model there`);
        const rescaler = await this.state.workerRescaler();
        const warm = fresh ? ' (the first call also warms the backend up)' : '';
        let zeros = this.restored?.zeros;
        if (zeros == null) {
          step(`with z = 0${warm}`);
          zeros = await restore(rescaler, d.lrRounded, size, { temperature: 0, seed });
        }
        step(`with z at temperature ${temperature.toFixed(2)}, seed ${seed}`);
        return { zeros, sampled: await restore(rescaler, d.lrRounded, size, { temperature, seed }) };
      }, (_r, seconds) => `Latents of ${photo.name} shown; restored with z = 0 and z at temperature ${temperature.toFixed(2)} in ${seconds.toFixed(1)} s on ${this.state.backend}.`);
      if (ticket !== this.restoring) return;
      this.restored = {
        zeros,
        sampled,
        scores: { zeros: scores(zeros, photo.image, model.scale), sampled: scores(sampled, photo.image, model.scale) },
        temperature,
        seed,
      };
    } catch {
      // Shown from state.error.
    }
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    const d = this.data;
    if (d == null) return;
    for (const canvas of this.querySelectorAll<HTMLCanvasElement>('canvas[data-z]')) {
      const i = Number(canvas.dataset.z);
      if (canvas.dataset.drawn !== String(d.z[i]?.length) || changed.has('data') || changed.has('stretch')) {
        drawPlane(canvas, d.z[i], d.width, d.height, this.range(i));
        canvas.dataset.drawn = String(d.z[i].length);
      }
    }
    const big = this.querySelector<HTMLCanvasElement>('canvas#z-selected');
    if (big != null && (changed.has('selected') || changed.has('data') || changed.has('stretch'))) drawPlane(big, d.z[this.selected], d.width, d.height, this.range(this.selected));
    if (changed.has('data')) {
      const lr = this.querySelector<HTMLCanvasElement>('canvas#lr-irn');
      const lb = this.querySelector<HTMLCanvasElement>('canvas#lr-bicubic');
      if (lr) drawRaster(lr, d.lrRounded);
      if (lb) drawRaster(lb, d.lrBicubic);
    }
    const host = this.querySelector<HTMLElement>('#histogram');
    if (host != null && (changed.has('selected') || changed.has('data') || this.chart == null)) {
      if (this.chart == null) this.chart = new HistogramChart(host, Math.min(520, Math.max(280, host.clientWidth || 420)));
      const h = histogram(d.z[this.selected], -4, 4, 64);
      this.chart.set(h.centres, h.density);
    }
    if (changed.has('restored') && this.restored != null) {
      const a = this.querySelector<HTMLCanvasElement>('canvas#restored-zeros');
      const b = this.querySelector<HTMLCanvasElement>('canvas#restored-sampled');
      if (a) drawRaster(a, this.restored.zeros);
      if (b) drawRaster(b, this.restored.sampled);
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
        ? html`<p class="placeholder">${this.state.photo == null ? 'Pick a photo above.' : 'Working…'}</p>`
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
              ? html`<p class="placeholder">Restoring…</p>`
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

/** Resolves once the page has painted what was rendered before the call. */
const afterPaint = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

const meanStd = (stats: { std: number }[]) => stats.reduce((a, s) => a + s.std, 0) / stats.length;

/** A standard deviation with two significant digits (the shipped models' z are around 0.001). */
const fmtStd = (v: number) => (v >= 0.1 ? v.toFixed(2) : v.toPrecision(2));

customElements.define('irn-latents', IrnLatents);
