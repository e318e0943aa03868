// The page side of bench/browser-throughput.ts: bundled by esbuild, loaded by bench/page/index.html,
// driven step by step from Node through `window.irnBench` (one page per backend).
//
// Per backend: IRN upscale through `Rescaler` (main-thread mode), UpscalerJS's esrgan-slim on the
// same LR image and backend, and a loop of plain `tf.conv2d` calls with the same shapes as the
// dense-block convolutions of one IRN tile, all timed with `performance.now()` in this page.
import * as tf from '@tensorflow/tfjs-core';
import Upscaler from 'upscaler';
import esrganSlimX2 from '@upscalerjs/esrgan-slim/2x';
import esrganSlimX4 from '@upscalerjs/esrgan-slim/4x';
import { IrnModel, Rescaler, receptiveField, DEFAULT_TILE_SIZE, type BackendName, type IrnConfig } from '../../packages/core/src/browser.js';
import { planAxis } from '../../packages/core/src/rescale/tiles.js';
import { perturbWeights } from '../../packages/core/src/testing/perturb.js';
import { irnConvShapes, irnCropFlops, type Arch, type ConvShape } from '../irn-flops.js';

/** The LR crops the tiled upscale computes (core + overlap, clipped to the image). */
export function irnCrops(lrWidth: number, lrHeight: number, tileSize: number, overlap: number): { w: number; h: number }[] {
  const crops: { w: number; h: number }[] = [];
  for (const r of planAxis(lrHeight, tileSize, overlap)) {
    for (const c of planAxis(lrWidth, tileSize, overlap)) crops.push({ w: c.cropEnd - c.cropStart, h: r.cropEnd - r.cropStart });
  }
  return crops;
}

interface InitOptions {
  backend: BackendName;
  wasmPaths: string;
  /** x2 model.json URL. */
  x2Url: string;
  /** x4 model.json URL, or null for a fresh x4 model with perturbed weights. */
  x4Url: string | null;
  x4Arch: Arch;
  /** Sample photo (PNG URL) the LR images are mirrored out of. */
  photoUrl: string;
}

interface RunResult {
  /** Seconds per timed run. */
  times: number[];
  /** The warmup run's seconds (shader compilation, first allocation). */
  warmup: number;
}

const state: {
  rescalers: Partial<Record<2 | 4, Rescaler>>;
  archs: Partial<Record<2 | 4, Arch>>;
  upscalers: Partial<Record<2 | 4, InstanceType<typeof Upscaler>>>;
  models: Partial<Record<2 | 4, IrnModel>>;
  photo: ImageBitmap | null;
  modelNotes: Partial<Record<2 | 4, string>>;
} = { rescalers: {}, archs: {}, upscalers: {}, models: {}, photo: null, modelNotes: {} };

function now(): number {
  return performance.now() / 1000;
}

/** An LR image of w x h: the sample photo mirrored out (content hardly matters for throughput). */
function lrImage(w: number, h: number): ImageData {
  const photo = state.photo!;
  const canvas = new OffscreenCanvas(w, h);
  const ctx = canvas.getContext('2d')!;
  for (let y = 0, j = 0; y < h; y += photo.height, j++) {
    for (let x = 0, i = 0; x < w; x += photo.width, i++) {
      ctx.save();
      ctx.translate(i % 2 ? x + photo.width : x, j % 2 ? y + photo.height : y);
      ctx.scale(i % 2 ? -1 : 1, j % 2 ? -1 : 1);
      ctx.drawImage(photo, 0, 0);
      ctx.restore();
    }
  }
  return ctx.getImageData(0, 0, w, h);
}

async function init(o: InitOptions) {
  state.photo = await createImageBitmap(await (await fetch(o.photoUrl)).blob());
  const common = { backend: o.backend, wasmPaths: o.wasmPaths, fallback: false } as const;
  state.rescalers[2] = await Rescaler.create({ ...common, model: o.x2Url });
  if (o.x4Url != null) {
    state.rescalers[4] = await Rescaler.create({ ...common, model: o.x4Url });
    state.modelNotes[4] = o.x4Url;
  } else {
    const fresh = IrnModel.create({ ...o.x4Arch, seed: 4 });
    tf.tidy(() => void fresh.forward(tf.zeros([1, 4, 4, 3])));
    perturbWeights(fresh.flow.trainableWeights, 4, 0.02);
    state.rescalers[4] = await Rescaler.create({ ...common, model: fresh });
    state.models[4] = fresh;
    state.modelNotes[4] = `IrnModel.create(${JSON.stringify(o.x4Arch)}), perturbed weights`;
  }
  state.modelNotes[2] = o.x2Url;
  // The same models again, outside the Rescaler, for the model-only timing (`bare`).
  state.models[2] = await IrnModel.load(o.x2Url);
  if (o.x4Url != null) state.models[4] = await IrnModel.load(o.x4Url);
  for (const scale of [2, 4] as const) {
    const { config } = state.models[scale]!;
    state.archs[scale] = { scale: config.scale, blocks: config.blocks, growth: config.growth };
  }
  return {
    backend: tf.getBackend(),
    rescalerBackend: state.rescalers[2].backend,
    archs: state.archs,
    models: state.modelNotes,
    wasmThreads: o.backend === 'wasm' ? tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') : undefined,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    webglVersion: o.backend === 'webgl' ? tf.env().getNumber('WEBGL_VERSION') : undefined,
    userAgent: navigator.userAgent,
  };
}

/**
 * `IrnModel.upscale` alone (z = 0) on one LR crop of w x h, read back with `data()`: the
 * model's graph without the Rescaler around it (no tiling, stitching, image conversion).
 * Warmup + `rounds`.
 */
async function bare(scale: 2 | 4, w: number, h: number, rounds: number) {
  const model = state.models[scale]!;
  const x = tf.randomUniform([1, h, w, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const round = async () => {
    const t0 = now();
    const y = model.upscale(x);
    await y.data();
    y.dispose();
    return now() - t0;
  };
  const warmup = await round();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await round());
  x.dispose();
  return { warmup, times, flops: irnCropFlops(state.archs[scale]!, w, h), crop: { w, h }, backend: tf.getBackend() };
}

/** IRN upscale of an LR image of lrW x lrH through the Rescaler (main thread): warmup + `reps`. */
async function irn(scale: 2 | 4, lrW: number, lrH: number, reps: number) {
  const rescaler = state.rescalers[scale]!;
  const arch = state.archs[scale]!;
  const image = lrImage(lrW, lrH);
  const overlap = receptiveField(arch);
  const crops = irnCrops(lrW, lrH, DEFAULT_TILE_SIZE, overlap);
  const flops = crops.reduce((s, c) => s + irnCropFlops(arch, c.w, c.h), 0);
  const flopsNoOverlap = irnCropFlops(arch, lrW, lrH);
  const run = async () => {
    const t0 = now();
    const { image: out, backend } = await rescaler.upscale(image, { output: 'imagedata' });
    const t = now() - t0;
    if (out.width !== lrW * scale || out.height !== lrH * scale) throw new Error(`IRN output is ${out.width}x${out.height}`);
    if (backend !== tf.getBackend()) throw new Error(`IRN ran on ${backend}`);
    return t;
  };
  const result: RunResult = { warmup: await run(), times: [] };
  for (let i = 0; i < reps; i++) result.times.push(await run());
  const largest = crops.reduce((a, c) => (c.w * c.h > a.w * a.h ? c : a));
  return { ...result, flops, flopsNoOverlap, tiles: crops.length, overlap, largestCrop: largest, arch, backend: rescaler.backend, live: tf.memory().numTensors };
}

/**
 * UpscalerJS with esrgan-slim at `scale` on the same LR image: the input as a float32 tensor
 * in [0, 255] (made outside the timing), output a tensor read back with `data()`.
 * `patchSize` 0: the whole image at once (UpscalerJS's default).
 */
async function upscalerjs(scale: 2 | 4, lrW: number, lrH: number, reps: number, patchSize: number, padding: number, modelBase: string) {
  let upscaler = state.upscalers[scale];
  if (upscaler == null) {
    const def = scale === 2 ? esrganSlimX2 : esrganSlimX4;
    // `path` makes UpscalerJS load from our server instead of its CDNs (unreachable here).
    upscaler = new Upscaler({ model: { ...def, path: `${modelBase}/x${scale}/model.json` } });
    await upscaler.ready;
    state.upscalers[scale] = upscaler;
  }
  // float32, not fromPixels' int32: tfjs-backend-webgpu 4.22 fails to compile its Conv2DMM
  // shader for an int32 input with 3 channels (WGSL: no constructor vec3<f32>(i32, i32, i32)),
  // skips the kernel and returns wrong pixels; UpscalerJS passes int32 images straight to the
  // model (its esrgan-slim takes [0, 255]), so an <img> input hits this on WebGPU.
  const input = tf.tidy(() => tf.cast(tf.browser.fromPixels(lrImage(lrW, lrH)), 'float32'));
  const options = { output: 'tensor' as const, ...(patchSize > 0 ? { patchSize, padding } : {}) };
  const run = async () => {
    const t0 = now();
    const out = (await upscaler.execute(input, options)) as unknown as tf.Tensor;
    await out.data();
    const t = now() - t0;
    const [h, w] = out.shape.slice(-3, -1);
    out.dispose();
    if (w !== lrW * scale || h !== lrH * scale) throw new Error(`UpscalerJS output is ${w}x${h}`);
    return t;
  };
  if (tf.getBackend() == null) throw new Error('no backend');
  const backendBefore = tf.getBackend();
  const result: RunResult = { warmup: await run(), times: [] };
  for (let i = 0; i < reps; i++) result.times.push(await run());
  input.dispose();
  if (tf.getBackend() !== backendBefore) throw new Error(`UpscalerJS switched the backend to ${tf.getBackend()}`);
  const { model } = await upscaler.getModel();
  return { ...result, flops: esrganFlops(model, lrW, lrH, scale, patchSize, padding), backend: tf.getBackend() };
}

/**
 * FLOPs of esrgan-slim's convolutions on the whole image (no patch overlap counted):
 * 2 * kh * kw * Cin * Cout per output pixel, at LR resolution up to its UpSampling2D
 * layer and at HR after it.
 */
function esrganFlops(model: { layers: { getClassName(): string; getWeights(): tf.Tensor[] }[] }, lrW: number, lrH: number, scale: number, _patch: number, _pad: number): number {
  let flops = 0;
  let factor = 1;
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    if (cls === 'UpSampling2D') factor = scale;
    if (cls !== 'Conv2D') continue;
    const [kh, kw, cin, cout] = layer.getWeights()[0].shape;
    flops += 2 * kh * kw * cin * cout * lrW * factor * lrH * factor;
  }
  return flops;
}

/**
 * Plain `tf.conv2d` ('same', stride 1, no bias) on the same shapes as the dense-block convs
 * of one IRN tile of `cropW x cropH` LR px: every conv of the model once per round, on
 * inputs made beforehand. Each round is read back (`data()` of its last output), like a
 * tile. Returns GFLOP/s over `rounds` rounds after one warmup round.
 */
async function conv(scale: 2 | 4, cropW: number, cropH: number, rounds: number) {
  const arch = state.archs[scale]!;
  const shapes = irnConvShapes(arch);
  const f = (down: number) => arch.scale / down;
  const xs = new Map<string, tf.Tensor4D>();
  const ws = new Map<string, tf.Tensor4D>();
  const key = (s: ConvShape) => `${s.cin}:${s.cout}:${s.down}`;
  for (const s of shapes) {
    const xk = `${s.cin}:${s.down}`;
    if (!xs.has(xk)) xs.set(xk, tf.randomNormal([1, Math.round(cropH * f(s.down)), Math.round(cropW * f(s.down)), s.cin], 0, 1, 'float32', 1) as tf.Tensor4D);
    if (!ws.has(key(s))) ws.set(key(s), tf.randomNormal([3, 3, s.cin, s.cout], 0, 0.05, 'float32', 2) as tf.Tensor4D);
  }
  const flops = irnCropFlops(arch, cropW, cropH);
  const round = async () => {
    const t0 = now();
    let last: tf.Tensor | null = null;
    for (const s of shapes) {
      last?.dispose();
      last = tf.conv2d(xs.get(`${s.cin}:${s.down}`)!, ws.get(key(s))!, 1, 'same');
    }
    await last!.data();
    last!.dispose();
    return now() - t0;
  };
  const warmup = await round();
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await round());
  for (const t of [...xs.values(), ...ws.values()]) t.dispose();
  return { warmup, times, flops, convs: shapes.length, crop: { w: cropW, h: cropH }, backend: tf.getBackend() };
}

/**
 * Memory of one Rescaler call on an image of `side` x `side` output (upscale) or input
 * (downscale) pixels: the engine's peak tensor bytes (`tf.profile`), the tile count, and on
 * wasm the size of the wasm heap afterwards (it grows to the high-water mark and never
 * shrinks, so it is what the tab really holds).
 */
async function memory(scale: 2 | 4, op: 'downscale' | 'upscale', side: number) {
  const rescaler = state.rescalers[scale]!;
  const w = op === 'downscale' ? side : side / scale;
  const image = lrImage(w, w);
  let tiles = 0;
  const t0 = now();
  const info = await tf.profile(async () => {
    await rescaler[op](image, { output: 'imagedata', onProgress: (p) => (tiles = p.total) });
    return [];
  });
  const wasmHeap = (tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } }).wasm?.HEAPU8?.byteLength;
  return { op, side, inputSide: w, tiles, peakBytes: info.peakBytes, seconds: now() - t0, wasmHeapBytes: wasmHeap ?? null, liveBytesAfter: tf.memory().numBytes };
}

declare global {
  interface Window {
    irnBench: typeof api;
  }
}

const api = { init, irn, upscalerjs, conv, bare, memory, tfMemory: () => tf.memory() };
window.irnBench = api;
document.title = 'ready';
