// Importing @irn/element where there is no DOM (server-side rendering, Node): no throw, no
// TensorFlow.js loaded, registration guarded. dist/index.js is checked by scripts/check-ssr.mjs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

describe('@irn/element in Node', () => {
  it('imports without a DOM and without loading TensorFlow.js', async () => {
    assert.equal(typeof (globalThis as { document?: unknown }).document, 'undefined');
    const mod = await import('./index.js');
    assert.equal(typeof mod.IrnImage, 'function');
    // tfjs-core keeps its engine on globalThis._tfengine once loaded (node --test runs each
    // file in its own process, so nothing else loaded it).
    assert.equal((globalThis as { _tfengine?: unknown })._tfengine, undefined);
    mod.defineIrnImage(); // a second, guarded define is a no-op
    const registry = (globalThis as { customElements?: CustomElementRegistry }).customElements;
    if (registry != null) assert.equal(registry.get(mod.IRN_IMAGE_TAG), mod.IrnImage);
  });
});
