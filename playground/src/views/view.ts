/**
 * What the playground's tab panels share: light DOM (styled by styles.css), the shared
 * {@link PlaygroundState} (a re-render on every change), the `active` flag of the tab, and
 * "run when this tab shows and its photo, model or backend changed".
 */
import { LitElement, type PropertyValues } from 'lit';
import type { PlaygroundState } from '../state.js';

export abstract class PlaygroundView extends LitElement {
  static override properties = { active: { type: Boolean } };

  /** Whether this tab is the one shown. */
  declare active: boolean;
  state!: PlaygroundState;
  /** Photo, model and backend of the last computation ({@link PlaygroundView.claimInputs}). */
  private lastInputs: unknown[] = [];
  private readonly onStateChange = () => {
    this.requestUpdate();
    this.inputsMayHaveChanged();
  };

  constructor() {
    super();
    this.active = false;
  }

  protected override createRenderRoot(): HTMLElement {
    return this;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.state.addEventListener('change', this.onStateChange);
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.state.removeEventListener('change', this.onStateChange);
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('active')) this.inputsMayHaveChanged();
  }

  /** Called when the state changed or the tab was shown; views that compute check {@link PlaygroundView.inputsChanged}. */
  protected inputsMayHaveChanged(): void {}

  /** Whether the tab shows, nothing runs, and the photo, model or backend differ from the last {@link PlaygroundView.claimInputs}. */
  protected inputsChanged(): boolean {
    return this.state.busy == null && this.inputsDiffer();
  }

  /** Whether the tab shows and the photo, model or backend differ from the last {@link PlaygroundView.claimInputs}, whatever runs. */
  protected inputsDiffer(): boolean {
    const { photo, model } = this.state;
    if (!this.active || photo == null || model == null) return false;
    return !this.currentInputs().every((k, i) => k === this.lastInputs[i]);
  }

  /** Records the current photo, model and backend as computed. */
  protected claimInputs(): void {
    this.lastInputs = this.currentInputs();
  }

  private currentInputs(): unknown[] {
    return [this.state.photo, this.state.model, this.state.backend];
  }
}
