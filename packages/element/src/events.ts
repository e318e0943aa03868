import type { BackendName } from '@irn/core/browser';

/** `irn-load-start`: the element's turn has come; the model loads (if needed) and the image restores. */
export interface IrnLoadStartDetail {
  /** The LR image's URL, as given. */
  src: string;
  /**
   * The `model` attribute (a preset name or a model.json URL), or `null` when it is not set:
   * the LR file itself then names the preset that restores it (read once it is downloaded),
   * and `irn-load` / `irn-error` say which model that was.
   */
  model: string | null;
}

/** `irn-progress`: part of the restoring is done. */
export interface IrnProgressDetail {
  /** In [0, 1]; never goes back. */
  fraction: number;
  /** Tiles done of `total`. */
  done: number;
  total: number;
}

/** `irn-load`: the restored image is shown. */
export interface IrnLoadDetail {
  src: string;
  model: string;
  /** The TensorFlow.js backend that restored it (after any fallback). */
  backend: BackendName;
  /**
   * Why that backend, in a few words (the Rescaler's `backendReason`): `'asked for'`, what
   * `auto` passed over (`'WebGL is software: SwiftShader; WebGPU is software: SwiftShader'`),
   * `'the fastest backend here'`, or `'webgl failed: ...'` after a fallback.
   */
  backendReason: string;
  /** Size of the restored image in pixels. */
  width: number;
  height: number;
  /**
   * Milliseconds: waiting in the page's queue (the LR downloads and the model loads
   * meanwhile), of that the wait for the model (0 when already loaded), restoring, and all of it.
   */
  timings: { queueMs: number; modelMs: number; restoreMs: number; totalMs: number };
}

/** `irn-error`: restoring failed; the element keeps showing the LR image. */
export interface IrnErrorDetail {
  src: string;
  model: string;
  error: Error;
}

export type IrnLoadStartEvent = CustomEvent<IrnLoadStartDetail>;
export type IrnProgressEvent = CustomEvent<IrnProgressDetail>;
export type IrnLoadEvent = CustomEvent<IrnLoadDetail>;
export type IrnErrorEvent = CustomEvent<IrnErrorDetail>;

declare global {
  interface HTMLElementEventMap {
    'irn-load-start': IrnLoadStartEvent;
    'irn-progress': IrnProgressEvent;
    'irn-load': IrnLoadEvent;
    'irn-error': IrnErrorEvent;
  }
}
