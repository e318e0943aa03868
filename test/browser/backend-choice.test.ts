// How 'auto' chooses a backend where the GPU backends run in software, as in this project's
// headless Chromium: WebGL on SwiftShader and a fallback WebGPU adapter. Both are many times
// slower than wasm for IRN (a restore: 105-125 s on SwiftShader WebGL, 4 s on wasm), so auto
// must take wasm, with no wasmPaths (the .wasm files are found next to the library's code),
// in the page, in the Rescaler's worker and in <irn-image>; say why; and still give a GPU
// backend to whoever names one.
import {
  autoBackendPlan,
  defaultWasmPaths,
  Rescaler,
  webglKind,
  webgpuKind,
} from '../../packages/core/src/browser.js';
import { IrnImage, releaseSharedModels } from '../../packages/element/src/index.js';
import { assert, RGB_URL, WEIGHTS_URL } from './fixtures/rescaler-fixtures.js';

/** What auto says here about the two software GPU backends (both, in either order). */
const SOFTWARE_REASON = /^(?=.*WebGL is software: SwiftShader)(?=.*WebGPU is software: SwiftShader)/;

describe('backend choice with software GPU backends', () => {
  it('sees that WebGL and WebGPU are software here (SwiftShader)', async () => {
    const [gl, gpu] = await Promise.all([webglKind(), webgpuKind()]);
    console.log(`WebGL: ${JSON.stringify(gl)}; WebGPU: ${JSON.stringify(gpu)}`);
    assert(gl?.software === true && gl.detail === 'SwiftShader', `WebGL: ${JSON.stringify(gl)}`);
    assert(gpu?.software === true, `WebGPU: ${JSON.stringify(gpu)}`);
    const plan = await autoBackendPlan();
    assert(plan.order.join() === 'wasm,webgl,webgpu,cpu', `auto's order: ${plan.order.join()}`);
  });

  it('finds the .wasm files next to the library with no configuration', async () => {
    const paths = defaultWasmPaths();
    const names = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
    assert(JSON.stringify(Object.keys(paths).sort()) === JSON.stringify(names.sort()), `files: ${Object.keys(paths).join()}`);
    for (const name of names) {
      const url = paths[name as keyof typeof paths];
      assert(url.endsWith(`/packages/core/src/browser/${name}`), `${name} at ${url}`);
      const response = await fetch(url);
      const bytes = new Uint8Array(await response.arrayBuffer());
      // "\0asm": a WebAssembly module, not an HTML 404 page.
      assert(response.ok && bytes[1] === 0x61 && bytes[2] === 0x73 && bytes[3] === 0x6d, `${name} at ${url}: HTTP ${response.status}`);
    }
  });

  it('auto picks wasm in the page with no wasmPaths, and says why', async () => {
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL });
    try {
      assert(rescaler.backend === 'wasm', `auto chose ${rescaler.backend} (${rescaler.backendReason})`);
      assert(SOFTWARE_REASON.test(rescaler.backendReason), `reason: ${rescaler.backendReason}`);
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster' });
      assert(lr.backend === 'wasm' && lr.width === 12 && lr.height === 10, `ran on ${lr.backend}, ${lr.width}x${lr.height}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it('auto picks wasm in the worker with no wasmPaths, and says why', async () => {
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, worker: true });
    try {
      assert(rescaler.worker && rescaler.backend === 'wasm', `auto chose ${rescaler.backend} (${rescaler.backendReason})`);
      assert(SOFTWARE_REASON.test(rescaler.backendReason), `reason: ${rescaler.backendReason}`);
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster' });
      assert(lr.backend === 'wasm', `ran on ${lr.backend}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it('a named backend is used even when software: webgl gives webgl', async () => {
    const rescaler = await Rescaler.create({ model: 'irn-x2', weightsUrl: WEIGHTS_URL, backend: 'webgl' });
    try {
      assert(rescaler.backend === 'webgl' && rescaler.backendReason === 'asked for', `${rescaler.backend} (${rescaler.backendReason})`);
      const lr = await rescaler.downscale(RGB_URL, { output: 'raster', tileSize: 0 });
      assert(lr.backend === 'webgl', `ran on ${lr.backend}`);
    } finally {
      await rescaler.dispose();
    }
  });

  it('<irn-image> restores on wasm with no wasmPaths, in its worker, and its irn-load says why', async () => {
    const el = document.createElement('irn-image') as IrnImage;
    el.setAttribute('weights-base', WEIGHTS_URL);
    el.setAttribute('loading', 'eager');
    el.setAttribute('src', new URL('./fixtures/images/rgb-23x19.png', import.meta.url).href);
    el.setAttribute('scale', '2');
    try {
      const loaded = new Promise<CustomEvent>((resolve, reject) => {
        el.addEventListener('irn-load', (e) => resolve(e), { once: true });
        el.addEventListener('irn-error', (e) => reject(e.detail.error), { once: true });
      });
      document.body.append(el);
      const { detail } = await loaded;
      assert(IrnImage.defaults.worker && detail.backend === 'wasm', `restored on ${detail.backend} (${detail.backendReason})`);
      assert(SOFTWARE_REASON.test(detail.backendReason), `reason: ${detail.backendReason}`);
    } finally {
      el.remove();
      await releaseSharedModels();
    }
  });
});
