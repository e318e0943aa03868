/**
 * `@irn/element`: the `<irn-image>` web component. Importing this module registers the element
 * (where `customElements` exists); TensorFlow.js and `@irn/core/browser` load on first use, so
 * the import is cheap and safe without a DOM (server-side rendering).
 *
 * @example
 * import '@irn/element';
 * // <irn-image src="photo.lr.png" alt="Harbour at dusk"></irn-image>
 */
import { IrnImage } from './irn-image.js';

export { IrnImage, type IrnImageDefaults, type IrnImageStatus } from './irn-image.js';
export type {
  IrnErrorDetail,
  IrnErrorEvent,
  IrnLoadDetail,
  IrnLoadEvent,
  IrnLoadStartDetail,
  IrnLoadStartEvent,
  IrnProgressDetail,
  IrnProgressEvent,
} from './events.js';
export { releaseSharedModels } from './shared-models.js';

/** The element's tag name. */
export const IRN_IMAGE_TAG = 'irn-image';

/** Registers `<irn-image>` unless it already is (or there is no `customElements`, as in Node). */
export function defineIrnImage(): void {
  const registry = (globalThis as { customElements?: CustomElementRegistry }).customElements;
  if (registry != null && registry.get(IRN_IMAGE_TAG) == null) registry.define(IRN_IMAGE_TAG, IrnImage);
}

defineIrnImage();
