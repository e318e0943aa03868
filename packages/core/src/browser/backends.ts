import * as tf from '@tensorflow/tfjs-core';
import { COPY_FILES_HELP, defaultWasmPaths } from './locations.js';

/** A TensorFlow.js backend the browser rescaler can run on. */
export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';

/** Which backend to use: `'auto'` picks the first that works in the order of {@link autoBackendPlan}. */
export type BackendChoice = 'auto' | BackendName;

/**
 * Fastest first on real hardware: the order a backend named explicitly falls back along when
 * it fails mid-run. `'auto'` uses {@link autoBackendPlan}, which moves software GPU backends
 * behind wasm.
 */
export const BACKEND_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

/** Where the backend modules find their files. */
export interface BackendSetup {
  /**
   * Folder (URL ending in `/`) holding `tfjs-backend-wasm*.wasm`, or a map from those file
   * names to URLs; passed to `setWasmPaths` before the wasm backend starts. Default
   * {@link defaultWasmPaths}: the copies next to the library's own code (in `@irn/core`'s
   * `dist/browser/`, beside the element's one-file bundle), so wasm needs no set-up. Set it
   * when those files are not served there (an app bundler that moves the code but not them).
   */
  wasmPaths?: string | Record<string, string>;
  /**
   * Milliseconds a backend may take to start (its module, its files, `tf.setBackend`) before
   * it counts as failed and the next one is tried (default {@link BACKEND_START_TIMEOUT_MS}).
   * A start can hang for ever: a `.wasm` file whose server stalls, a backend module whose
   * glue throws inside a callback (tfjs's promise then never settles).
   */
  startTimeoutMs?: number;
}

/** How long a backend may take to start by default: 60 s, room for its files on a slow network. */
export const BACKEND_START_TIMEOUT_MS = 60_000;

type GpuAdapterInfoLike = { isFallbackAdapter?: boolean; vendor?: string; architecture?: string; device?: string; description?: string };
type GpuAdapterLike = { info?: GpuAdapterInfoLike; isFallbackAdapter?: boolean; requestAdapterInfo?: () => Promise<GpuAdapterInfoLike> };
type GpuNavigator = Navigator & { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } };

/** Renderer names of software rasterisers: Chromium's SwiftShader, Mesa's llvmpipe and softpipe, Windows' WARP. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render driver/i;

/** Whether a GPU backend would run on real graphics hardware, or on the CPU through a software renderer. */
export interface GpuKind {
  software: boolean;
  /** What told: the renderer or adapter name (`'SwiftShader'`), or the check that failed. */
  detail: string;
}

/**
 * Whether the WebGPU adapter is a software one: `isFallbackAdapter` (Chromium's SwiftShader
 * adapter says so), or an adapter whose vendor, architecture or description names a software
 * renderer. Null when there is no adapter.
 */
export async function webgpuKind(): Promise<GpuKind | null> {
  const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
  try {
    const adapter = await gpu?.requestAdapter();
    if (adapter == null) return null;
    const info = adapter.info ?? (await adapter.requestAdapterInfo?.().catch(() => undefined)) ?? {};
    const names = [info.vendor, info.architecture, info.device, info.description].filter((n): n is string => !!n);
    const named = names.find((n) => SOFTWARE_RENDERER.test(n));
    if (named != null) return { software: true, detail: rendererName(SOFTWARE_RENDERER.exec(named)![0]) };
    if (info.isFallbackAdapter === true || adapter.isFallbackAdapter === true) return { software: true, detail: 'fallback adapter' };
    return { software: false, detail: names.join(' ') || 'adapter' };
  } catch {
    return null;
  }
}

/** Kept for compatibility: whether {@link webgpuKind} says software. */
export async function webgpuIsFallback(): Promise<boolean> {
  return (await webgpuKind())?.software === true;
}

let webglKindOnce: Promise<GpuKind | null> | null = null;

/**
 * Whether WebGL runs on hardware: the unmasked renderer (`WEBGL_debug_renderer_info`, else
 * `RENDERER`) naming a software rasteriser (Chromium without a GPU reports
 * `ANGLE (Google, Vulkan ... (SwiftShader Device ...), SwiftShader driver)`), or a context
 * that cannot be had with `failIfMajorPerformanceCaveat`. Null when there is no WebGL at all.
 * Checked once per page (or worker); the probe contexts are released at once.
 */
export function webglKind(): Promise<GpuKind | null> {
  webglKindOnce ??= Promise.resolve().then(probeWebgl);
  return webglKindOnce;
}

function probeWebgl(): GpuKind | null {
  const gl = webglContext();
  if (gl == null) return null;
  try {
    const ext = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(gl.getParameter(ext != null ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER) ?? '');
    const named = SOFTWARE_RENDERER.exec(renderer)?.[0];
    if (named != null) return { software: true, detail: rendererName(named) };
    const strict = webglContext({ failIfMajorPerformanceCaveat: true });
    if (strict == null) return { software: true, detail: `no context with failIfMajorPerformanceCaveat (${renderer})` };
    release(strict);
    return { software: false, detail: renderer };
  } catch {
    return null;
  } finally {
    release(gl);
  }
}

/** `swiftshader` -> `SwiftShader`: one spelling whichever API reported it. */
function rendererName(match: string): string {
  return /swiftshader/i.test(match) ? 'SwiftShader' : match;
}

function webglContext(attributes?: WebGLContextAttributes): WebGL2RenderingContext | WebGLRenderingContext | null {
  try {
    const canvas = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(1, 1) : typeof document !== 'undefined' ? document.createElement('canvas') : null;
    if (canvas == null) return null;
    return (canvas.getContext('webgl2', attributes) ?? canvas.getContext('webgl', attributes)) as WebGL2RenderingContext | WebGLRenderingContext | null;
  } catch {
    return null;
  }
}

/** Frees a probe context now rather than at garbage collection (browsers cap live contexts). */
function release(gl: WebGLRenderingContext | WebGL2RenderingContext): void {
  gl.getExtension('WEBGL_lose_context')?.loseContext();
}

/** The order `'auto'` tries backends in, and why some were put last. */
export interface AutoBackendPlan {
  order: BackendName[];
  /** For each backend moved behind wasm: why (`'WebGL is software: SwiftShader'`). */
  demoted: Partial<Record<BackendName, string>>;
}

/**
 * The order `'auto'` tries backends in: hardware WebGPU, hardware WebGL, wasm, then WebGL and
 * WebGPU on a software renderer, then cpu. Software GPU backends go after wasm because they
 * run IRN many times slower (in headless Chromium on this project's CI machine, a restore on
 * SwiftShader WebGL took 105-125 s against 4 s on wasm); they stay before cpu, in case wasm
 * cannot start.
 */
export async function autoBackendPlan(): Promise<AutoBackendPlan> {
  const [gpu, gl] = await Promise.all([webgpuKind(), webglKind()]);
  const demoted: Partial<Record<BackendName, string>> = {};
  if (gl?.software) demoted.webgl = `WebGL is software: ${gl.detail}`;
  if (gpu?.software) demoted.webgpu = `WebGPU is software: ${gpu.detail}`;
  const hardware = (['webgpu', 'webgl'] as const).filter((b) => demoted[b] == null);
  const software = (['webgl', 'webgpu'] as const).filter((b) => demoted[b] != null);
  return { order: [...hardware, 'wasm', ...software, 'cpu'], demoted };
}

/** The order of {@link autoBackendPlan}. */
export async function autoBackendOrder(): Promise<BackendName[]> {
  return (await autoBackendPlan()).order;
}

/**
 * Why `name` cannot start here, or null when it plausibly can (it is not started): WebGPU
 * needs `navigator.gpu` and a non-null adapter (tfjs 4.22 does not check for null and fails
 * later with a TypeError), WebGL an `OffscreenCanvas` or a document, wasm `WebAssembly`.
 */
export async function backendUnavailable(name: BackendName): Promise<string | null> {
  switch (name) {
    case 'webgpu': {
      const gpu = (globalThis.navigator as GpuNavigator | undefined)?.gpu;
      if (gpu == null) return 'this browser has no WebGPU (navigator.gpu is missing)';
      try {
        if ((await gpu.requestAdapter()) == null) return 'navigator.gpu.requestAdapter() returned null (no usable GPU adapter)';
        return null;
      } catch (e) {
        return `navigator.gpu.requestAdapter() failed: ${(e as Error).message}`;
      }
    }
    case 'webgl':
      return typeof OffscreenCanvas !== 'undefined' || typeof document !== 'undefined' ? null : 'no canvas to create a WebGL context on';
    case 'wasm':
      return typeof WebAssembly === 'object' ? null : 'this browser has no WebAssembly';
    case 'cpu':
      return null;
  }
}

/** The backends of {@link BACKEND_ORDER} that can plausibly start here, in that order. */
export async function availableBackends(): Promise<BackendName[]> {
  const reasons = await Promise.all(BACKEND_ORDER.map((b) => backendUnavailable(b)));
  return BACKEND_ORDER.filter((_, i) => reasons[i] == null);
}

let wasmPathsApplied = false;

/**
 * Imports the backend's module (lazily: a page only downloads the backends it tries) and
 * makes it tfjs's active backend. On failure the active backend is left as it was and the
 * reason is returned. The active backend is global to the page (or worker).
 */
export async function activateBackend(name: BackendName, setup: BackendSetup = {}): Promise<{ ok: true } | { ok: false; reason: string }> {
  const unavailable = await backendUnavailable(name);
  if (unavailable != null) return { ok: false, reason: unavailable };
  const previous = tf.getBackend();
  // Without wasmPaths, the files are looked for beside the code: where esbuild and Rollup
  // leave none (locations.ts).
  const copy = setup.wasmPaths == null ? `, or, with esbuild or Rollup, copy node_modules/@irn/core/dist/browser/*.wasm next to the bundle (${COPY_FILES_HELP})` : '';
  const hint = name === 'wasm' ? ` (its .wasm files were looked for in ${describeWasmPaths(setup.wasmPaths ?? defaultWasmPaths())}; set wasmPaths to where they are served${copy})` : '';
  const ms = setup.startTimeoutMs ?? BACKEND_START_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let late = false;
  const timedOut = new Error(`the ${name} backend did not start within ${ms / 1000} s${hint}`);
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      late = true;
      reject(timedOut);
    }, ms);
  });
  try {
    // A module that loads after the timeout must not switch backends then, under whatever
    // the page has started meanwhile.
    const started = await Promise.race([importBackend(name, setup).then(() => !late && tf.setBackend(name)), timeout]);
    if (!started) return { ok: false, reason: `tf.setBackend('${name}') failed${hint}` };
    await Promise.race([tf.ready(), timeout]);
    if (tf.getBackend() !== name) return { ok: false, reason: `the active backend is ${tf.getBackend()}, not ${name}` };
    return { ok: true };
  } catch (e) {
    if (e === timedOut) abandonStart(name);
    if (previous != null && tf.getBackend() !== previous) await tf.setBackend(previous).catch(() => false);
    return { ok: false, reason: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Leaves a backend start that never settled. tfjs keeps waiting on it: `tf.ready()` would wait
 * for ever and no other backend could compute. Removing the backend makes the start obsolete
 * (tfjs ignores its late result); its factory is registered again, so a later try starts afresh.
 */
function abandonStart(name: BackendName): void {
  const factory = tf.findBackendFactory(name);
  if (factory == null) return; // Its module never loaded: tfjs was not touched.
  tf.removeBackend(name);
  tf.registerBackend(name, factory);
}

async function importBackend(name: BackendName, setup: BackendSetup): Promise<void> {
  switch (name) {
    // The GPU backends are optional peers, often not installed. Each import sits in a `try`
    // block so that webpack 5 marks it optional: a missing package is then a build warning and a
    // rejected import at run time (this backend skipped), not a failed build (the webpack route
    // of test/consumer/web.e2e.ts). Other bundlers ignore the `try`.
    case 'webgpu':
      try {
        await import('@tensorflow/tfjs-backend-webgpu');
      } catch (e) {
        throw optionalPeerMissing('@tensorflow/tfjs-backend-webgpu', e);
      }
      return;
    case 'webgl':
      try {
        await import('@tensorflow/tfjs-backend-webgl');
      } catch (e) {
        throw optionalPeerMissing('@tensorflow/tfjs-backend-webgl', e);
      }
      return;
    case 'wasm': {
      const wasm = await import('@tensorflow/tfjs-backend-wasm');
      // setWasmPaths must run before the backend's first start (it throws after a failed one).
      // Without it tfjs looks next to the page (or the worker script), where nothing is.
      if (!wasmPathsApplied && tf.engine().registry['wasm'] == null) {
        wasm.setWasmPaths((setup.wasmPaths ?? defaultWasmPaths()) as Parameters<typeof wasm.setWasmPaths>[0]);
        wasmPathsApplied = true;
      }
      return;
    }
    case 'cpu':
      await import('@tensorflow/tfjs-backend-cpu');
      return;
  }
}

/** A GPU backend's failed import, in one line: the package (an optional peer) and why. */
function optionalPeerMissing(pkg: string, cause: unknown): Error {
  return new Error(`${pkg} (an optional peer of @irn/core) could not be imported: ${(cause as Error)?.message ?? String(cause)}`, { cause });
}

function describeWasmPaths(paths: string | Record<string, string>): string {
  return typeof paths === 'string' ? paths : Object.values(paths).join(', ');
}
