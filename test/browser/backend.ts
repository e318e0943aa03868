import * as tf from '@tensorflow/tfjs-core';

/** The GPU backends the browser suite covers. */
export type BrowserBackend = 'webgl' | 'webgpu';

/**
 * Makes `backend` the active tfjs backend, or throws saying why it is not available.
 * Import `@tensorflow/tfjs-backend-webgl` / `-webgpu` first, so they are registered.
 *
 * WebGPU missing is a failure, not a skip: CI's Chromium runs with `--enable-unsafe-webgpu`
 * and has the SwiftShader adapter, so a null adapter means the launch flags are wrong.
 * WebGL must use float32 textures: with float16 the contract's float32 tolerances cannot hold.
 */
export async function useBrowserBackend(backend: BrowserBackend): Promise<void> {
  if (backend === 'webgpu') {
    const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
    if (gpu == null) throw new Error('navigator.gpu is missing: this browser has no WebGPU');
    const adapter = await gpu.requestAdapter();
    if (adapter == null) {
      throw new Error('navigator.gpu.requestAdapter() returned null: Chromium needs --enable-unsafe-webgpu (and SwiftShader without a GPU)');
    }
  }
  const ok = await tf.setBackend(backend);
  if (!ok) throw new Error(`tf.setBackend('${backend}') returned false`);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`backend is ${tf.getBackend()}, not ${backend}`);
  if (backend === 'webgl') {
    if (tf.env().getBool('WEBGL_FORCE_F16_TEXTURES')) throw new Error('WEBGL_FORCE_F16_TEXTURES is on: float32 textures are needed');
    if (!tf.env().getBool('WEBGL_RENDER_FLOAT32_ENABLED')) throw new Error('this WebGL cannot render to float32 textures');
  }
}
