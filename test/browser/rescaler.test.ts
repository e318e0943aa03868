// The page-facing Rescaler (packages/core/src/browser/) in the page's own thread: backend
// choice and fallback, every input and output kind, progress, abort, warmup, dispose, and no
// leaked tensors. Tiny fixture models and images (test/browser/make-fixtures.ts), because
// WebGL and WebGPU are software (SwiftShader) on CI. Worker mode: rescaler-worker.test.ts;
// presets, cache and SHA-256: rescaler-models.test.ts.
import * as tf from '@tensorflow/tfjs-core';
import {
  autoBackendOrder,
  availableBackends,
  backendUnavailable,
  decodePng,
  IrnModel,
  Rescaler,
  webgpuIsFallback,
  webgpuKind,
  type BackendFallback,
  type RasterImage,
  type RescaleProgress,
  type RescalerFallbackEvent,
} from '../../packages/core/src/browser.js';
import {
  assert,
  assertBytesEqual,
  assertRasterClose,
  fixturePng,
  liveTensors,
  rejection,
  RGB_URL,
  RGBA_URL,
  toRgba8,
  WASM_PATHS,
  WEIGHTS_URL,
} from './fixtures/rescaler-fixtures.js';

/**
 * Backends differ in float32 rounding (fused multiply-adds, reduction order, GPU exp/tanh),
 * which can move a value across an 8-bit rounding boundary: one level at most.
 */
const ONE_LEVEL = 1 / 255 + 1e-6;
/** The same backend and weights give the same floats; rounding the same way gives the same bytes. */
const SAME = 0;
/** Tile side in LR pixels: the 23x19 image downscales to 12x10 LR in 3 x 3 tiles and, taken as an LR, upscales in 6 x 5. */
const TILE = 4;
const TILES = { downscale: 9, upscale: 30 };

const base = { model: 'irn-x2', weightsUrl: WEIGHTS_URL, wasmPaths: WASM_PATHS } as const;

type GpuWithAdapter = { requestAdapter(): Promise<unknown> };

/** Runs `fn` while `navigator.gpu.requestAdapter()` resolves null (a browser whose WebGPU has no adapter). */
async function withNullAdapter<T>(fn: () => Promise<T>): Promise<T> {
  const gpu = (navigator as Navigator & { gpu: GpuWithAdapter }).gpu;
  Object.defineProperty(gpu, 'requestAdapter', { value: async () => null, configurable: true });
  try {
    return await fn();
  } finally {
    delete (gpu as Partial<GpuWithAdapter>).requestAdapter;
  }
}

/** What a hardware adapter's `info` says instead of SwiftShader's names. */
const HARDWARE_INFO: Record<string, unknown> = { isFallbackAdapter: false, vendor: 'test-vendor', architecture: 'test-gpu', device: '', description: '' };

/**
 * Runs `fn` while `requestAdapter()` returns the real adapter presented as a hardware one when
 * `fallback` is false (`info.isFallbackAdapter` false, no SwiftShader in its names), or with
 * `isFallbackAdapter` true; methods still run on the real adapter.
 */
async function withAdapterFallbackFlag<T>(fallback: boolean, fn: () => Promise<T>): Promise<T> {
  const gpu = (navigator as Navigator & { gpu: GpuWithAdapter }).gpu;
  const real = Object.getPrototypeOf(gpu).requestAdapter as (...a: unknown[]) => Promise<object | null>;
  const infoValue = (k: string | symbol, i: object): unknown => (k === 'isFallbackAdapter' ? fallback : !fallback && typeof k === 'string' && k in HARDWARE_INFO ? HARDWARE_INFO[k] : Reflect.get(i, k));
  const wrap = (adapter: object) =>
    new Proxy(adapter, {
      get(target, key) {
        if (key === 'info') return new Proxy(Reflect.get(target, 'info') as object, { get: (i, k) => infoValue(k, i) });
        if (key === 'isFallbackAdapter') return fallback;
        const v = Reflect.get(target, key) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  Object.defineProperty(gpu, 'requestAdapter', {
    value: async (...args: unknown[]) => {
      const adapter = await real.apply(gpu, args);
      return adapter == null ? null : wrap(adapter);
    },
    configurable: true,
  });
  try {
    return await fn();
  } finally {
    delete (gpu as Partial<GpuWithAdapter>).requestAdapter;
  }
}

/** Replaces `kernel` on `backend` by one that throws `message` once armed, until `restore()`. */
function breakKernel(kernel: string, backend: string, message: string): { arm(): void; restore(): void; thrown(): number } {
  const original = tf.getKernel(kernel, backend);
  assert(original != null, `no ${kernel} kernel on ${backend}`);
  let armed = false;
  let thrown = 0;
  tf.unregisterKernel(kernel, backend);
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      if (armed) {
        thrown++;
        throw new Error(message);
      }
      return original.kernelFunc(args);
    },
  });
  return {
    arm: () => {
      armed = true;
    },
    restore: () => {
      tf.unregisterKernel(kernel, backend);
      tf.registerKernel(original);
    },
    thrown: () => thrown,
  };
}

describe('Rescaler: backends', () => {
  it('auto picks WebGPU when a hardware adapter is available, and runs there', async () => {
    // CI's Chromium has the SwiftShader adapter (--enable-unsafe-webgpu): all four are here.
    const available = await availableBackends();
    assert(available.join() === 'webgpu,webgl,wasm,cpu', `available: ${available.join()}`);
    const before = liveTensors();
    // Present SwiftShader's adapter as a hardware one, as a real GPU's would be.
    const rescaler = await withAdapterFallbackFlag(false, async () => {
      assert((await webgpuKind())?.software === false, 'the adapter is not presented as hardware');
      return Rescaler.create({ ...base, backend: 'auto' });
    });
    try {
      assert(rescaler.backend === 'webgpu' && rescaler.backendReason === 'the fastest backend here', `auto chose ${rescaler.backend} (${rescaler.backendReason})`);
      const { backend, width, height } = await rescaler.downscale(RGB_URL, { output: 'raster', tileSize: 0 });
      assert(backend === 'webgpu' && width === 12 && height === 10, `ran on ${backend}, ${width}x${height}`);
    } finally {
      await rescaler.dispose();
    }
    assert(liveTensors() === before, `${liveTensors() - before} tensors leaked`);
  });

  it('auto puts software WebGL and WebGPU (SwiftShader) after wasm', async () => {
    assert(await webgpuIsFallback(), 'CI\'s SwiftShader adapter should count as software');
    // isFallbackAdapter alone marks an adapter software, whatever its names.
    assert(await withAdapterFallbackFlag(true, async () => (await webgpuKind())?.software === true), 'isFallbackAdapter ignored');
    const order = await autoBackendOrder();
    assert(order.join() === 'wasm,webgl,webgpu,cpu', `order: ${order.join()}`);
    const rescaler = await Rescaler.create({ ...base, backend: 'auto' });
    try {
      assert(rescaler.backend === 'wasm', `auto chose ${rescaler.backend}`);
    } finally {
      await rescaler.dispose();
    }
    const forced = await Rescaler.create({ ...base, backend: 'webgpu' });
    assert(forced.backend === 'webgpu', `forced webgpu ran on ${forced.backend}`);
    await forced.dispose();
  });

  it('auto skips WebGPU when requestAdapter() resolves null (tfjs would not check)', async () => {
    await withNullAdapter(async () => {
      const reason = await backendUnavailable('webgpu');
      assert(reason != null && /null/.test(reason), `webgpu unavailable because: ${reason}`);
      // Tried first (a null adapter tells nothing of software), it fails, and wasm is next.
      const rescaler = await Rescaler.create({ ...base, backend: 'auto' });
      try {
        assert(rescaler.backend === 'wasm' && /webgpu: .*null/.test(rescaler.backendReason), `auto chose ${rescaler.backend} (${rescaler.backendReason})`);
      } finally {
        await rescaler.dispose();
      }
    });
  });

  it('a forced backend that cannot start is an error naming it and why', async () => {
    await withNullAdapter(async () => {
      const e = await rejection(Rescaler.create({ ...base, backend: 'webgpu' }), 'forced webgpu without adapter');
      assert(/webgpu backend cannot run here.*null/.test(e.message), e.message);
    });
    const e = await rejection(Rescaler.create({ ...base, backend: 'metal' as never }), 'unknown backend');
    assert(/unknown backend "metal"/.test(e.message), e.message);
  });

  it('forced webgl, wasm and cpu run there and agree within one 8-bit level', async () => {
    const results: Record<string, RasterImage> = {};
    for (const backend of ['webgl', 'wasm', 'cpu'] as const) {
      const rescaler = await Rescaler.create({ ...base, backend });
      try {
        assert(rescaler.backend === backend, `forced ${backend}, got ${rescaler.backend}`);
        const r = await rescaler.downscale(RGB_URL, { output: 'raster', tileSize: 0 });
        assert(r.backend === backend, `result says ${r.backend}`);
        results[backend] = r.image;
      } finally {
        await rescaler.dispose();
      }
    }
    assertRasterClose(results.webgl, results.cpu, ONE_LEVEL, 'webgl vs cpu LR');
    assertRasterClose(results.wasm, results.cpu, ONE_LEVEL, 'wasm vs cpu LR');
  });

  it('falls back to the next backend when one fails mid-run, reports it, and leaks nothing', async () => {
    const reference = await Rescaler.create({ ...base, backend: 'wasm' });
    const expected = (await reference.upscale(RGB_URL, { output: 'raster', tileSize: TILE, z: 'gaussian', seed: 3 })).image;
    await reference.dispose();

    const events: BackendFallback[] = [];
    const rescaler = await Rescaler.create({ ...base, backend: 'webgl', onFallback: (e) => events.push(e) });
    const dispatched: RescalerFallbackEvent[] = [];
    rescaler.addEventListener('irn-fallback', (e) => dispatched.push(e));
    const progress: RescaleProgress[] = [];
    const before = liveTensors();
    // A lost GPU device or an out-of-memory error, simulated: WebGL's (fused) convolution throws from
    // the second tile on.
    const broken = breakKernel('FusedConv2D', 'webgl', 'simulated WebGL context loss');
    try {
      const r = await rescaler.upscale(RGB_URL, {
        output: 'raster',
        tileSize: TILE,
        z: 'gaussian',
        seed: 3,
        onProgress: (p) => {
          progress.push(p);
          if (p.done === 1) broken.arm();
        },
      });
      assert(broken.thrown() === 1, `the broken kernel threw ${broken.thrown()} times`);
      assert(r.backend === 'wasm' && rescaler.backend === 'wasm', `finished on ${r.backend}, rescaler on ${rescaler.backend}`);
      assert(events.length === 1 && events[0].from === 'webgl' && events[0].to === 'wasm', `onFallback: ${JSON.stringify(events)}`);
      assert(/simulated WebGL context loss/.test(events[0].error.message), events[0].error.message);
      assert(dispatched.length === 1 && dispatched[0].detail.to === 'wasm', 'no irn-fallback event');
      // The seeded z is drawn per pixel position, so the retry restores the same image.
      assertRasterClose(r.image, expected, SAME, 'result after fallback vs wasm alone');
      const fractions = progress.map((p) => p.fraction);
      assert(fractions.every((f, i) => i === 0 || f > fractions[i - 1]) && fractions.at(-1) === 1, `progress ${fractions.join()}`);
      assert(liveTensors() === before, `${liveTensors() - before} tensors leaked across the fallback`);
    } finally {
      broken.restore();
      await rescaler.dispose();
    }
  });

  it('with fallback: false a failing backend rejects with its error and leaks nothing', async () => {
    const rescaler = await Rescaler.create({ ...base, backend: 'webgl', fallback: false });
    const before = liveTensors();
    const broken = breakKernel('FusedConv2D', 'webgl', 'simulated out of memory');
    broken.arm();
    try {
      const e = await rejection(rescaler.downscale(RGB_URL, { tileSize: TILE }), 'broken webgl, no fallback');
      assert(/simulated out of memory/.test(e.message), e.message);
      assert(rescaler.backend === 'webgl', `moved to ${rescaler.backend}`);
      assert(liveTensors() === before, `${liveTensors() - before} tensors leaked`);
    } finally {
      broken.restore();
      await rescaler.dispose();
    }
  });
});

describe('Rescaler: inputs and outputs (wasm)', () => {
  let rescaler: Rescaler;
  let png: { bytes: Uint8Array; raster: RasterImage };
  let expectedLr: RasterImage;

  before(async () => {
    rescaler = await Rescaler.create({ ...base, backend: 'wasm' });
    png = await fixturePng(RGB_URL);
    expectedLr = (await rescaler.downscale(png.raster, { output: 'raster' })).image;
  });
  after(async () => {
    await rescaler?.dispose();
  });

  it('reads every input kind to the same pixels', async () => {
    const img = new Image();
    img.src = RGB_URL; // not awaited: the rescaler decodes it
    const bitmap = await createImageBitmap(new Blob([png.bytes as BlobPart], { type: 'image/png' }));
    const canvas = document.createElement('canvas');
    [canvas.width, canvas.height] = [bitmap.width, bitmap.height];
    canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
    const offscreen = new OffscreenCanvas(bitmap.width, bitmap.height);
    offscreen.getContext('2d')!.drawImage(bitmap, 0, 0);
    const imageData = canvas.getContext('2d')!.getImageData(0, 0, bitmap.width, bitmap.height);
    const tensor = tf.tensor3d(png.raster.data, [png.raster.height, png.raster.width, 3]);
    const inputs: Record<string, unknown> = {
      'URL string': RGB_URL,
      URL: new URL(RGB_URL),
      'PNG Blob': new Blob([png.bytes as BlobPart], { type: 'image/png' }),
      File: new File([png.bytes as BlobPart], 'rgb.png', { type: 'image/png' }),
      HTMLImageElement: img,
      ImageBitmap: bitmap,
      ImageData: imageData,
      HTMLCanvasElement: canvas,
      OffscreenCanvas: offscreen,
      'tensor [H, W, 3]': tensor,
      RasterImage: png.raster,
    };
    try {
      for (const [kind, input] of Object.entries(inputs)) {
        const before = liveTensors();
        const { image } = await rescaler.downscale(input as never, { output: 'raster' });
        assertRasterClose(image, expectedLr, SAME, `LR of a ${kind}`);
        assert(liveTensors() === before, `${kind}: ${liveTensors() - before} tensors leaked`);
      }
      // The caller's objects are left alone.
      assert(bitmap.width === 23 && !tensor.isDisposed, 'the input bitmap was closed or the tensor disposed');
      // A format the browser decodes (not PNG): JPEG is lossy, so only the size is checked.
      const jpeg = await offscreen.convertToBlob({ type: 'image/jpeg', quality: 0.95 });
      const fromJpeg = await rescaler.downscale(jpeg, { output: 'raster' });
      assert(fromJpeg.width === 12 && fromJpeg.height === 10 && fromJpeg.channels === 3, `JPEG LR ${fromJpeg.width}x${fromJpeg.height}`);
    } finally {
      bitmap.close();
      tensor.dispose();
    }
  });

  it('returns every output kind with the same pixels; the PNG carries the original size', async () => {
    const raster = (await rescaler.downscale(RGB_URL, { output: 'raster' })).image;
    const bytes = toRgba8(raster);
    const imageData = (await rescaler.downscale(RGB_URL, { output: 'imagedata' })).image;
    assert(imageData instanceof ImageData && imageData.width === 12 && imageData.height === 10, 'imagedata');
    assertBytesEqual(imageData.data, bytes, "'imagedata' vs 'raster'");
    const defaulted = await rescaler.downscale(RGB_URL);
    assert(defaulted.image instanceof ImageData, 'the default output is not ImageData');

    const bitmap = (await rescaler.downscale(RGB_URL, { output: 'bitmap' })).image;
    assert(bitmap instanceof ImageBitmap && bitmap.width === 12, 'bitmap');
    const ctx = new OffscreenCanvas(12, 10).getContext('2d')!;
    ctx.drawImage(bitmap, 0, 0);
    bitmap.close();
    assertBytesEqual(ctx.getImageData(0, 0, 12, 10).data, bytes, "'bitmap' vs 'raster'");

    const result = await rescaler.downscale(RGB_URL, { output: 'blob' });
    assert(result.image instanceof Blob && result.image.type === 'image/png', 'blob');
    const decoded = decodePng(new Uint8Array(await result.image.arrayBuffer()));
    assertRasterClose(decoded, raster, SAME, "'blob' (decoded PNG) vs 'raster'");
    // The preset's name travels with the LR, so that forLr and <irn-image> restore it with this model.
    assert(decoded.text.irn === '{"scale":2,"width":23,"height":19,"model":"irn-x2"}', `irn chunk: ${decoded.text.irn}`);
    assert(JSON.stringify(result.lrMetadata) === '{"scale":2,"width":23,"height":19,"model":"irn-x2"}', `lrMetadata: ${JSON.stringify(result.lrMetadata)}`);

    const before = liveTensors();
    const tensor = (await rescaler.downscale(RGB_URL, { output: 'tensor' })).image;
    assert(liveTensors() === before + 1, 'a tensor output is the one tensor left for the caller');
    assert(tensor.shape.join() === '10,12,3', `tensor shape ${tensor.shape}`);
    assertRasterClose({ width: 12, height: 10, channels: 3, data: tensor.dataSync() as Float32Array }, raster, SAME, "'tensor' vs 'raster'");
    tensor.dispose();

    // An upscale's floats are not multiples of 1/255: the PNG holds them rounded.
    const hr = (await rescaler.upscale(RGB_URL, { output: 'raster' })).image;
    const hrPng = decodePng(new Uint8Array(await (await rescaler.upscale(RGB_URL, { output: 'blob' })).image.arrayBuffer()));
    assertBytesEqual(toRgba8(hrPng), toRgba8(hr), "upscale 'blob' vs 'raster' rounded");
  });

  it('restores an LR PNG to the original odd size from its irn chunk', async () => {
    const lrPng = (await rescaler.downscale(RGB_URL, { output: 'blob' })).image;
    const restored = await rescaler.upscale(lrPng, { output: 'raster' });
    assert(restored.width === 23 && restored.height === 19, `restored to ${restored.width}x${restored.height}`);
    // Without the chunk (a raster), the size is LR x scale unless given.
    const lr = (await rescaler.downscale(RGB_URL, { output: 'raster' })).image;
    const full = await rescaler.upscale(lr, { output: 'raster' });
    assert(full.width === 24 && full.height === 20, `LR x 2 is ${full.width}x${full.height}`);
    const sized = await rescaler.upscale(lr, { output: 'raster', width: 23, height: 19 });
    assertRasterClose(sized.image, restored.image, SAME, 'size from options vs from the PNG chunk');
  });

  it('keeps transparency: RGBA in, RGBA out', async () => {
    const lr = await rescaler.downscale(RGBA_URL, { output: 'blob' });
    assert(lr.channels === 4, `LR has ${lr.channels} channels`);
    const hr = await rescaler.upscale(lr.image, { output: 'imagedata' });
    assert(hr.channels === 4 && hr.width === 16, `HR ${hr.width}x${hr.height}x${hr.channels}`);
    // The fixture's alpha ramps from 0.2 (left) to 1 (right).
    const [left, right] = [hr.image.data[3], hr.image.data[4 * 15 + 3]];
    assert(left < 100 && right > 230, `alpha ${left} at the left, ${right} at the right`);
  });

  it('rejects bad inputs and options clearly, without leaving the backend', async () => {
    const before = liveTensors();
    const notImage = await rejection(rescaler.downscale(42 as never), 'a number');
    assert(notImage instanceof TypeError && /cannot read an image from a number/.test(notImage.message), notImage.message);
    const output = await rejection(rescaler.downscale(RGB_URL, { output: 'jpeg' as never }), 'bad output');
    assert(/output must be one of/.test(output.message), output.message);
    const tiny = await rejection(rescaler.downscale({ width: 1, height: 1, channels: 3, data: new Float32Array(3) }), '1x1');
    assert(/needs at least 2x2/.test(tiny.message), tiny.message);
    const tile = await rejection(rescaler.downscale(RGB_URL, { tileSize: -1 }), 'bad tileSize');
    assert(tile instanceof RangeError && /tileSize must be an integer/.test(tile.message), tile.message);
    const size = await rejection(rescaler.upscale(RGB_URL, { width: 10 }), 'bad size');
    assert(/restores to between/.test(size.message), size.message);
    const missing = await rejection(rescaler.downscale(new URL('./fixtures/images/missing.png', import.meta.url).href), '404');
    assert(/HTTP 404/.test(missing.message), missing.message);
    assert(rescaler.backend === 'wasm', `an input error moved the rescaler to ${rescaler.backend}`);
    assert(liveTensors() === before, `${liveTensors() - before} tensors leaked`);
  });
});

describe('Rescaler: progress, abort, warmup, dispose (wasm)', () => {
  let rescaler: Rescaler;
  before(async () => {
    rescaler = await Rescaler.create({ ...base, backend: 'wasm', tileSize: TILE });
  });
  after(async () => {
    await rescaler?.dispose();
  });

  it('reports progress per tile, monotonic, ending at 1', async () => {
    for (const op of ['downscale', 'upscale'] as const) {
      const progress: RescaleProgress[] = [];
      await rescaler[op](RGB_URL, { onProgress: (p) => progress.push(p) });
      const total = TILES[op];
      assert(progress.length === total, `${op}: ${progress.length} progress calls, expected ${total}`);
      progress.forEach((p, i) => {
        assert(p.done === i + 1 && p.total === total && Math.abs(p.fraction - (i + 1) / total) < 1e-12, `${op}: progress ${i}: ${JSON.stringify(p)}`);
      });
      assert(progress.at(-1)!.fraction === 1, `${op}: ends at ${progress.at(-1)!.fraction}`);
    }
  });

  it('rejects at once with an AbortError when the signal is already aborted', async () => {
    const before = liveTensors();
    const controller = new AbortController();
    controller.abort();
    let calls = 0;
    const e = await rejection(rescaler.upscale(RGB_URL, { signal: controller.signal, onProgress: () => calls++ }), 'pre-aborted');
    assert(e.name === 'AbortError' && calls === 0, `${e.name}: ${e.message}; ${calls} progress calls`);
    assert(liveTensors() === before, `${liveTensors() - before} tensors leaked`);
  });

  it('stops within one tile when aborted mid-run, frees every tensor, and works afterwards', async () => {
    const before = liveTensors();
    const controller = new AbortController();
    const done: number[] = [];
    const e = await rejection(
      rescaler.upscale(RGB_URL, {
        z: 'gaussian',
        seed: 1,
        signal: controller.signal,
        onProgress: (p) => {
          done.push(p.done);
          if (p.done === 2) controller.abort();
        },
      }),
      'aborted at tile 2',
    );
    assert(e.name === 'AbortError', `${e.name}: ${e.message}`);
    assert(done.join() === '1,2', `tiles reported: ${done.join()}`);
    assert(liveTensors() === before, `${liveTensors() - before} tensors leaked after abort`);
    const again = await rescaler.upscale(RGB_URL, { output: 'raster' });
    assert(again.width === 46, 'the rescaler does not work after an abort');
    // A reason given to abort() is what the call rejects with, as with fetch.
    const reason = new Error('user navigated away');
    const custom = new AbortController();
    custom.abort(reason);
    assert((await rejection(rescaler.downscale(RGB_URL, { signal: custom.signal }), 'custom reason')) === reason, 'not the abort reason');
  });

  it('warmup runs the backend once and leaves no tensor', async () => {
    const before = liveTensors();
    await rescaler.warmup();
    assert(liveTensors() === before, `${liveTensors() - before} tensors leaked by warmup`);
    assert(rescaler.backend === 'wasm', rescaler.backend);
  });

  it('dispose frees the model, stops a running call and refuses later ones', async () => {
    const before = liveTensors();
    const r = await Rescaler.create({ ...base, backend: 'wasm', tileSize: TILE });
    assert(liveTensors() > before, 'the model holds no tensors?');
    let running: Promise<unknown> | null = null;
    const stopped = new Promise<void>((resolve) => {
      running = r.upscale(RGB_URL, {
        onProgress: (p) => {
          if (p.done === 1) resolve();
        },
      });
    });
    await stopped;
    await r.dispose();
    const e = await rejection(running!, 'the call running during dispose');
    assert(e.name === 'AbortError', `${e.name}: ${e.message}`);
    assert(liveTensors() === before, `${liveTensors() - before} tensors left after dispose`);
    const later = await rejection(r.downscale(RGB_URL), 'after dispose');
    assert(/disposed/.test(later.message), later.message);
  });

  it('takes an IrnModel or a model.json URL as the model; the caller keeps its IrnModel', async () => {
    const expected = (await rescaler.downscale(RGB_URL, { output: 'raster' })).image;
    const model = await IrnModel.load(`${WEIGHTS_URL}irn-x2/model.json`);
    try {
      for (const source of [model, `${WEIGHTS_URL}irn-x2/model.json`]) {
        const r = await Rescaler.create({ model: source, backend: 'wasm', wasmPaths: WASM_PATHS });
        try {
          assert(r.scale === 2, `scale ${r.scale}`);
          assertRasterClose((await r.downscale(RGB_URL, { output: 'raster' })).image, expected, SAME, `LR with model ${typeof source}`);
        } finally {
          await r.dispose();
        }
      }
      assert(model.countParams() > 0 && !model.flow.weights[0].read().isDisposed, 'the caller’s IrnModel was disposed');
    } finally {
      model.dispose();
    }
  });
});
