/**
 * `<irn-roundtrip>`: downscale the photo with IRN and restore it, next to bicubic down and
 * up; side by side (synced zoom and scroll) or with a slider; Y-channel PSNR/SSIM with the
 * paper's protocol; downloads of the LR PNG and the restored image.
 */
import { html, nothing, type PropertyValues } from 'lit';
import type { RasterImage } from '@irn/core';
import { download, roundTrip, type RoundTrip } from '../engine.js';
import { drawRaster, type Photo } from '../images.js';
import { PlaygroundView } from './view.js';

const ZOOMS = [0, 1, 2, 4, 8] as const; // 0 = fit

export class IrnRoundtrip extends PlaygroundView {
  static override properties = {
    ...PlaygroundView.properties,
    result: { state: true },
    zoom: { state: true },
    mode: { state: true },
    slider: { state: true },
    sliderOf: { state: true },
    progress: { state: true },
  };

  declare result: RoundTrip | null;
  declare zoom: (typeof ZOOMS)[number];
  declare mode: 'side' | 'slider';
  declare slider: number;
  declare sliderOf: 'irn' | 'bicubic';
  declare progress: number;
  private running = false;
  /** The model name and the photo the result is for (the page's may have changed since). */
  private resultModel = '';
  private resultPhoto: Photo | null = null;

  constructor() {
    super();
    this.result = null;
    this.zoom = 0;
    this.mode = 'side';
    this.slider = 50;
    this.sliderOf = 'irn';
    this.progress = 0;
  }

  protected override updated(changed: PropertyValues): void {
    super.updated(changed);
    this.draw();
  }

  /** Runs the round trip when this tab shows and the photo, model or backend changed. */
  protected override inputsMayHaveChanged(): void {
    if (!this.running && this.inputsChanged()) void this.run();
  }

  async run(): Promise<void> {
    const { photo, model } = this.state;
    if (photo == null || model == null) return;
    this.running = true;
    this.claimInputs();
    const modelName = this.state.modelName;
    try {
      const backend = this.state.backend;
      const fresh = !this.state.hasWorkerRescaler();
      this.result = await this.state.run(
        `round trip of ${photo.name} with ${modelName} on ${backend}`,
        async (step) => {
          // The first round trip on a model or backend pays for the worker's start and the
          // backend's warm-up (kernel compilation, weight upload): say so rather than hang.
          if (fresh) step(`starting a worker, its ${backend} backend and the model there`);
          const rescaler = await this.state.workerRescaler();
          const warm = fresh ? ' (the first call also warms the backend up)' : '';
          step(`downscaling${warm}`);
          return roundTrip(rescaler, photo.image, {
            onProgress: (what, f) => {
              this.progress = f;
              const pct = what === 'downscaling' || what === 'restoring' ? ` ${Math.round(f * 100)} %` : '';
              step(`${what}${pct}${what === 'downscaling' ? warm : ''}`);
            },
          });
        },
        (r, seconds) => `Round trip of ${photo.name} with ${modelName} done in ${seconds.toFixed(1)} s on ${r.backend}${fresh ? ', the worker start and warm-up included' : ''}.`,
      );
      this.resultModel = modelName;
      this.resultPhoto = photo;
    } catch {
      this.result = null;
    } finally {
      this.running = false;
      this.progress = 0;
    }
    // A photo, model or backend chosen while this ran (a paste, a drop) gets its own round trip.
    this.inputsMayHaveChanged();
  }

  private drawn = new WeakMap<HTMLCanvasElement, RasterImage>();

  private draw(): void {
    const r = this.result;
    const photo = this.resultPhoto;
    if (r == null || photo == null) return;
    const images: Record<string, RasterImage> = { original: photo.image, irn: r.irn, bicubic: r.bicubic, lr: r.lr, 'lr-bicubic': r.lrBicubic };
    for (const canvas of this.querySelectorAll<HTMLCanvasElement>('canvas[data-image]')) {
      const img = images[canvas.dataset.image!];
      if (img != null && this.drawn.get(canvas) !== img) {
        drawRaster(canvas, img);
        this.drawn.set(canvas, img);
      }
    }
  }

  /** Keeps the side-by-side panels scrolled to the same place. */
  private syncScroll(e: Event): void {
    const src = e.target as HTMLElement;
    for (const el of this.querySelectorAll<HTMLElement>('.viewport')) {
      if (el !== src && (el.scrollLeft !== src.scrollLeft || el.scrollTop !== src.scrollTop)) {
        el.scrollLeft = src.scrollLeft;
        el.scrollTop = src.scrollTop;
      }
    }
  }

  /**
   * The size of an image of `width` x `height` at the current zoom. "fit" fits the whole image
   * in its panel: the panel's width, and the viewport's height cap (`--fit-height`, 70vh in
   * styles.css) times the aspect ratio; the height follows from the canvas's own ratio.
   */
  private canvasStyle(width: number, height: number): string {
    return this.zoom === 0 ? `width: min(100%, calc(var(--fit-height) * ${width / height}))` : `width: ${width * this.zoom}px`;
  }

  override render() {
    const r = this.result;
    const current = this.state.photo;
    // The result's own photo: the page's may be newer while the next round trip runs.
    const photo = this.resultPhoto;
    const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '∞');
    return html`
      <p class="intro">
        IRN turns the photo into a quarter-size (x2) or sixteenth-size (x4) image plus a latent <i>z</i> that holds the lost detail,
        then drops <i>z</i>. Restoring runs the exact inverse with <i>z</i> = 0 here (see the Latents tab for sampled <i>z</i>).
        Bicubic downscaling and upscaling of the same photo is the baseline.
      </p>
      <div class="controls">
        <button id="run" @click=${() => void this.run()} ?disabled=${current == null || this.state.model == null || this.state.busy != null}>Run the round trip again</button>
        ${this.progress > 0 ? html`<progress max="1" .value=${this.progress} aria-label="Progress"></progress>` : nothing}
        <fieldset class="inline">
          <legend>View</legend>
          <label><input type="radio" name="mode" value="side" .checked=${this.mode === 'side'} @change=${() => (this.mode = 'side')} /> side by side</label>
          <label><input type="radio" name="mode" value="slider" .checked=${this.mode === 'slider'} @change=${() => (this.mode = 'slider')} /> slider</label>
        </fieldset>
        <label>Zoom
          <select id="zoom" @change=${(e: Event) => (this.zoom = Number((e.target as HTMLSelectElement).value) as (typeof ZOOMS)[number])}>
            ${ZOOMS.map((z) => html`<option value=${z} ?selected=${z === this.zoom}>${z === 0 ? 'fit' : `${z}× (${z === 1 ? 'pixels' : 'pixelated'})`}</option>`)}
          </select>
        </label>
      </div>
      ${r == null || photo == null
        ? html`<p class="placeholder">${current == null ? 'Pick a photo above.' : 'Working…'}</p>`
        : html`
            <table class="scores" id="scores" data-model=${this.resultModel} data-photo=${photo.name}>
              <caption>Against the original, Y channel of BT.601, ${r.scale} px shaved at the borders (the paper's protocol)</caption>
              <thead><tr><th scope="col"></th><th scope="col">PSNR (dB)</th><th scope="col">SSIM</th><th scope="col">Time</th></tr></thead>
              <tbody>
                <tr><th scope="row">IRN round trip</th><td data-score="irn-psnr" data-value=${r.scores.irn.psnr}>${fmt(r.scores.irn.psnr)}</td><td data-score="irn-ssim" data-value=${r.scores.irn.ssim}>${r.scores.irn.ssim.toFixed(4)}</td>
                  <td>${(r.ms.downscale / 1000).toFixed(2)} s down, ${(r.ms.upscale / 1000).toFixed(2)} s up, in a worker on ${r.backend}</td></tr>
                <tr><th scope="row">Bicubic round trip</th><td data-score="bicubic-psnr" data-value=${r.scores.bicubic.psnr}>${fmt(r.scores.bicubic.psnr)}</td><td data-score="bicubic-ssim" data-value=${r.scores.bicubic.ssim}>${r.scores.bicubic.ssim.toFixed(4)}</td><td></td></tr>
                <tr><th scope="row">IRN's LR vs bicubic LR</th><td data-score="lr-psnr" data-value=${r.scores.lrVsBicubic}>${fmt(r.scores.lrVsBicubic)}</td><td></td><td>how close the shipped image looks to a plain downscale</td></tr>
              </tbody>
            </table>
            <div class="downloads">
              <button @click=${() => download(`${photo.name}.x${r.scale}.lr.png`, r.lrPng)}>Download the LR PNG (${r.lr.width}×${r.lr.height}, ${(r.lrPng.length / 1024).toFixed(0)} KiB)</button>
              <button @click=${() => download(`${photo.name}.irn-x${r.scale}.png`, r.irn)}>Download the restored image</button>
              <button @click=${() => download(`${photo.name}.bicubic-x${r.scale}.png`, r.bicubic)}>Download the bicubic one</button>
            </div>
            <details class="explain">
              <summary>Why must the LR stay a PNG?</summary>
              IRN hides information about the lost detail in the low bits of the LR image. PNG keeps every bit; JPEG at quality 90
              throws those bits away and the restored photo falls by about 10 dB (to bicubic level). Resizing the LR or
              re-encoding it has the same effect.
            </details>
            ${this.mode === 'side'
              ? html`<div class="panels">
                  ${[
                    ['original', `Original ${photo.image.width}×${photo.image.height}`],
                    ['irn', `IRN round trip · ${fmt(r.scores.irn.psnr)} dB`],
                    ['bicubic', `Bicubic round trip · ${fmt(r.scores.bicubic.psnr)} dB`],
                  ].map(
                    ([id, caption]) => html`<figure>
                      <figcaption>${caption}</figcaption>
                      <div class="viewport" tabindex="0" aria-label="${caption}, scrollable" @scroll=${(e: Event) => this.syncScroll(e)}>
                        <canvas data-image=${id} class="pixelated" style=${this.canvasStyle(photo.image.width, photo.image.height)}></canvas>
                      </div>
                    </figure>`,
                  )}
                </div>
                <div class="panels small">
                  <figure><figcaption>IRN's LR (what is shipped)</figcaption><div class="viewport"><canvas data-image="lr" class="pixelated" style=${this.canvasStyle(r.lr.width * r.scale, r.lr.height * r.scale)}></canvas></div></figure>
                  <figure><figcaption>Bicubic LR</figcaption><div class="viewport"><canvas data-image="lr-bicubic" class="pixelated" style=${this.canvasStyle(r.lr.width * r.scale, r.lr.height * r.scale)}></canvas></div></figure>
                </div>`
              : html`<div class="slider-controls">
                    <label><input type="radio" name="slider-of" .checked=${this.sliderOf === 'irn'} @change=${() => (this.sliderOf = 'irn')} /> IRN</label>
                    <label><input type="radio" name="slider-of" .checked=${this.sliderOf === 'bicubic'} @change=${() => (this.sliderOf = 'bicubic')} /> bicubic</label>
                    <label>Split <input type="range" id="slider" min="0" max="100" .value=${String(this.slider)} @input=${(e: Event) => (this.slider = Number((e.target as HTMLInputElement).value))} /></label>
                  </div>
                  <div class="viewport slider-view" tabindex="0" aria-label="Original on the left, ${this.sliderOf} on the right">
                    <div class="stack" style=${this.canvasStyle(photo.image.width, photo.image.height)}>
                      <canvas data-image="original" class="pixelated"></canvas>
                      <canvas data-image=${this.sliderOf} class="pixelated over" style="clip-path: inset(0 0 0 ${this.slider}%)"></canvas>
                      <div class="split-line" style="left: ${this.slider}%"></div>
                    </div>
                  </div>
                  <p class="hint">Original on the left of the line, the ${this.sliderOf === 'irn' ? 'IRN' : 'bicubic'} round trip on the right.</p>`}
          `}
    `;
  }
}

customElements.define('irn-roundtrip', IrnRoundtrip);
