/**
 * `<irn-playground>`: the page. A header (backend, model), the photo picker (samples, file,
 * drag and drop, paste), and three tabs: round trip, latents, fine-tune. Light DOM throughout,
 * styled by playground/styles.css.
 */
import { LitElement, html, nothing } from 'lit';
import type { BackendChoice } from '@irn/core/browser';
import { openPhoto, type Photo } from './images.js';
import { PRESETS, PlaygroundState } from './state.js';
import './views/roundtrip.js';
import './views/latents.js';
import './views/finetune.js';

/** The bundled sample photos (samples/README.md: public domain / CC0, from scikit-image). */
export const SAMPLES = [
  { file: 'astronaut.png', label: 'Astronaut' },
  { file: 'coffee.png', label: 'Coffee' },
  { file: 'chelsea.png', label: 'Chelsea the cat' },
] as const;

const TABS = [
  { id: 'roundtrip', label: 'Round trip' },
  { id: 'latents', label: 'Latents' },
  { id: 'finetune', label: 'Fine-tune' },
] as const;
type TabId = (typeof TABS)[number]['id'];

const BACKENDS: readonly BackendChoice[] = ['auto', 'webgpu', 'webgl', 'wasm', 'cpu'];

/** A value from the page's query as a line shows it: quoted, one line, cut to about 40 characters. */
function quoted(v: string): string {
  const q = JSON.stringify(v).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`);
  return q.length > 42 ? `${q.slice(0, 40)}…"` : q;
}

export class IrnPlayground extends LitElement {
  static override properties = {
    tab: { type: String, reflect: true },
    samplesUrl: { type: String, attribute: 'samples-url' },
    weightsUrl: { type: String, attribute: 'weights-url' },
    wasmUrl: { type: String, attribute: 'wasm-url' },
    workerUrl: { type: String, attribute: 'worker-url' },
    rescalerWorkerUrl: { type: String, attribute: 'rescaler-worker-url' },
    latentsWorkerUrl: { type: String, attribute: 'latents-worker-url' },
    dragging: { state: true },
  };

  declare tab: TabId;
  /** Folder of the sample photos (default `../samples/`). */
  declare samplesUrl: string;
  declare weightsUrl: string;
  declare wasmUrl: string;
  declare workerUrl: string;
  declare rescalerWorkerUrl: string;
  declare latentsWorkerUrl: string;
  declare dragging: boolean;
  state!: PlaygroundState;

  constructor() {
    super();
    this.tab = 'roundtrip';
    this.samplesUrl = '../samples/';
    this.weightsUrl = '../weights/';
    this.wasmUrl = 'dist/wasm/';
    this.workerUrl = 'dist/train-worker.js';
    this.rescalerWorkerUrl = 'dist/rescaler-worker.js';
    this.latentsWorkerUrl = 'dist/latents-worker.js';
    this.dragging = false;
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    const abs = (u: string) => new URL(u, document.baseURI).href;
    this.state = new PlaygroundState({ weightsUrl: abs(this.weightsUrl), wasmPaths: abs(this.wasmUrl), workerUrl: abs(this.workerUrl), rescalerWorkerUrl: abs(this.rescalerWorkerUrl), latentsWorkerUrl: abs(this.latentsWorkerUrl) });
    this.state.addEventListener('change', () => this.requestUpdate());
    document.addEventListener('paste', this.onPaste);
    void this.start();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    document.removeEventListener('paste', this.onPaste);
  }

  /**
   * Starts the backend, the model and a photo. The page's query can choose them:
   * `?backend=wasm&model=irn-x4&sample=coffee&tab=latents` (`model=saved:<name>` for a saved model).
   */
  private async start(): Promise<void> {
    const q = new URLSearchParams(location.search);
    const backend = (q.get('backend') ?? 'auto') as BackendChoice;
    const model = q.get('model') ?? 'irn-x2';
    const sample = SAMPLES.find((p) => p.file === `${q.get('sample')}.png`) ?? SAMPLES[0];
    const tab = TABS.find((t) => t.id === q.get('tab'));
    if (tab) this.tab = tab.id;
    // A shared link may ask for what this page does not have: say what was used instead.
    const unknown: string[] = [];
    const check = (key: string, known: readonly string[], instead: string) => {
      const v = q.get(key);
      if (v != null && !known.includes(v)) unknown.push(`${key} ${quoted(v)} (${instead})`);
    };
    check('sample', SAMPLES.map((p) => p.file.replace(/\.png$/, '')), `opened ${sample.label}`);
    check('backend', BACKENDS, 'using the best available');
    check('tab', TABS.map((t) => t.id), 'showing Round trip');
    try {
      await this.state.setBackend(BACKENDS.includes(backend) ? backend : 'auto');
      await Promise.all([this.state.selectModel(model.includes(':') ? model : `preset:${model}`), this.state.refreshSaved(), this.openSample(sample.file)]);
    } catch {
      // Shown from state.error.
    }
    if (unknown.length > 0 && this.state.error == null) {
      this.state.error = `This page has no ${unknown.join(', no ')}.`;
      this.state.changed();
    }
  }

  async openSample(file: string): Promise<void> {
    await this.openInTurn(`opening ${file}`, () => openPhoto(file.replace(/\.\w+$/, ''), new URL(file, new URL(this.samplesUrl, document.baseURI)).href));
  }

  async openFile(file: Blob & { name?: string }): Promise<void> {
    await this.openInTurn(`opening ${file.name ?? 'the pasted image'}`, () => openPhoto((file.name ?? 'pasted').replace(/\.\w+$/, ''), file));
  }

  private opening: Promise<void> = Promise.resolve();
  private opened = 0;

  /**
   * Opens photos one at a time, in the order they were chosen: the last one picked, dropped or
   * pasted is the one shown (a big one chosen before it no longer replaces it when its decoding
   * ends later), and those chosen before it and not started yet are skipped unread, so that
   * pasting many images at once decodes one at a time.
   */
  private openInTurn(what: string, read: () => Promise<Photo>): Promise<void> {
    const ticket = ++this.opened;
    const next = this.opening.then(async () => {
      if (ticket !== this.opened) return;
      await this.state.run(what, async () => {
        const photo = await read();
        if (ticket === this.opened) this.state.setPhoto(photo);
      });
    });
    this.opening = next.catch(() => undefined);
    return next;
  }

  private readonly onPaste = (e: ClipboardEvent): void => {
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.type.startsWith('image/'));
    const file = item?.getAsFile();
    if (file == null) return;
    e.preventDefault();
    void this.openFile(file).catch(() => undefined);
  };

  private onDrop(e: DragEvent): void {
    e.preventDefault();
    this.dragging = false;
    const file = [...(e.dataTransfer?.files ?? [])].find((f) => f.type.startsWith('image/') || /\.(png|jpe?g|bmp|webp|gif)$/i.test(f.name));
    if (file == null) {
      this.state.error = 'drop an image file (PNG, JPEG, WebP...)';
      this.state.changed();
      return;
    }
    void this.openFile(file).catch(() => undefined);
  }

  private onTabKey(e: KeyboardEvent): void {
    const i = TABS.findIndex((t) => t.id === this.tab);
    const next = e.key === 'ArrowRight' ? (i + 1) % TABS.length : e.key === 'ArrowLeft' ? (i + TABS.length - 1) % TABS.length : e.key === 'Home' ? 0 : e.key === 'End' ? TABS.length - 1 : -1;
    if (next < 0) return;
    e.preventDefault();
    this.tab = TABS[next].id;
    void this.updateComplete.then(() => this.querySelector<HTMLButtonElement>(`#tab-${this.tab}`)?.focus());
  }

  override render() {
    const s = this.state;
    const models = [
      ...PRESETS.map((p) => ({ id: `preset:${p}`, label: `${p} (shipped)` })),
      ...s.saved.map((n) => ({ id: `saved:${n}`, label: `${n} (saved in this browser)` })),
      ...[...s.memoryModels.keys()].map((n) => ({ id: `memory:${n}`, label: `${n} (this page only)` })),
    ];
    return html`
      <header class="bar">
        <h1>IRN playground</h1>
        <label>Model
          <select id="model" @change=${(e: Event) => void s.selectModel((e.target as HTMLSelectElement).value).catch(() => undefined)}>
            ${models.map((m) => html`<option value=${m.id} ?selected=${m.id === s.modelId}>${m.label}</option>`)}
          </select>
        </label>
        <label class="file-button">Load model files…
          <input type="file" id="model-files" multiple accept=".json,.bin" @change=${(e: Event) => {
            const input = e.target as HTMLInputElement;
            if (input.files?.length) void s.addModelFiles([...input.files]).catch(() => undefined);
            input.value = '';
          }} />
        </label>
        <label>Backend
          <select id="backend" @change=${(e: Event) => void s.setBackend((e.target as HTMLSelectElement).value as BackendChoice).catch(() => undefined)}>
            ${(['auto', 'webgpu', 'webgl', 'wasm', 'cpu'] as const).map((b) => html`<option value=${b} ?selected=${b === s.backendChoice}>${b === 'auto' ? 'best available' : b}</option>`)}
          </select>
        </label>
        <span class="badge" id="backend-in-use" title=${s.backendNote}>${s.backend ? `running on ${s.backend}` : 'no backend yet'}</span>
        ${s.model ? html`<span class="badge" id="model-info">x${s.model.scale} · ${s.model.config.blocks} blocks · growth ${s.model.config.growth}</span>` : nothing}
      </header>

      <section class="photo ${this.dragging ? 'dragging' : ''}" aria-label="Photo"
        @dragover=${(e: DragEvent) => { e.preventDefault(); this.dragging = true; }}
        @dragleave=${() => (this.dragging = false)}
        @drop=${(e: DragEvent) => this.onDrop(e)}>
        <span>Photo:</span>
        ${SAMPLES.map((p) => html`<button class="sample" data-file=${p.file} @click=${() => void this.openSample(p.file).catch(() => undefined)}>${p.label}</button>`)}
        <label class="file-button">Your own…
          <input type="file" id="photo-file" accept="image/*" @change=${(e: Event) => {
            const input = e.target as HTMLInputElement;
            if (input.files?.[0]) void this.openFile(input.files[0]).catch(() => undefined);
            input.value = '';
          }} />
        </label>
        <span class="hint">or drop or paste an image anywhere here</span>
        ${s.photo ? html`<span id="photo-info"><b>${s.photo.name}</b> ${s.photo.image.width}×${s.photo.image.height}${s.photo.note ? html` <i>(${s.photo.note})</i>` : nothing}</span>` : nothing}
      </section>

      <p class="status" id="status" role="status" aria-live="polite" data-state=${s.busy ? 'busy' : s.done ? 'done' : 'idle'}>${s.busy
        ? html`<span class="spinner" aria-hidden="true"></span>${s.busy}…`
        : s.done ? html`<span class="done-mark" aria-hidden="true">✓</span>${s.done}` : nothing}</p>
      ${s.error ? html`<p class="error" role="alert" id="error">${s.error}</p>` : nothing}

      <nav role="tablist" aria-label="Views" @keydown=${(e: KeyboardEvent) => this.onTabKey(e)}>
        ${TABS.map((t) => html`<button role="tab" id="tab-${t.id}" aria-controls="panel-${t.id}" aria-selected=${t.id === this.tab ? 'true' : 'false'}
          tabindex=${t.id === this.tab ? 0 : -1} @click=${() => (this.tab = t.id)}>${t.label}</button>`)}
      </nav>
      <irn-roundtrip role="tabpanel" id="panel-roundtrip" aria-labelledby="tab-roundtrip" .state=${s} ?hidden=${this.tab !== 'roundtrip'} .active=${this.tab === 'roundtrip'}></irn-roundtrip>
      <irn-latents role="tabpanel" id="panel-latents" aria-labelledby="tab-latents" .state=${s} ?hidden=${this.tab !== 'latents'} .active=${this.tab === 'latents'}></irn-latents>
      <irn-finetune role="tabpanel" id="panel-finetune" aria-labelledby="tab-finetune" .state=${s} ?hidden=${this.tab !== 'finetune'} .active=${this.tab === 'finetune'}></irn-finetune>
    `;
  }
}

customElements.define('irn-playground', IrnPlayground);
