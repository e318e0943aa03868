/**
 * The playground's model work: backends, loading and saving models, round trips with
 * metrics (rescaling in a Rescaler's worker, metrics and bicubic on the page), and the
 * restores of the Latents tab (whose forward pass runs in its own worker: src/latents/).
 * Everything returns plain rasters; tensors never outlive a call.
 */
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, LR_TEXT_KEY, encodePng, imresize, lrMetadataText, psnrY, ssimY, type RasterImage } from '@irn/core';
import { activateBackend, autoBackendOrder, loadModelArtifacts, type BackendChoice, type BackendName, type Rescaler } from '@irn/core/browser';
import { round8 } from './images.js';
import { readModelFiles } from './model-files.js';

/** Where fine-tuned models are kept: `indexeddb://irn-playground/<name>`. */
export const SAVED_PREFIX = 'indexeddb://irn-playground/';

/** Starts `choice` (or the first backend of the automatic order that works); returns the one running. */
export async function startBackend(choice: BackendChoice, wasmPaths: string): Promise<{ backend: BackendName; skipped: string[] }> {
  const order = choice === 'auto' ? await autoBackendOrder() : [choice];
  const skipped: string[] = [];
  for (const name of order) {
    const r = await activateBackend(name, { wasmPaths });
    if (r.ok) return { backend: name, skipped };
    skipped.push(`${name}: ${r.reason}`);
  }
  throw new Error(`no backend could start (${skipped.join('; ')})`);
}

/** A shipped preset, checked against `weights/manifest.json`, with its model.json's `userDefinedMetadata`. */
export async function loadPreset(name: string, weightsUrl: string): Promise<{ model: IrnModel; metadata: unknown }> {
  const { artifacts } = await loadModelArtifacts(name, { weightsUrl });
  return { model: await IrnModel.load(tf.io.fromMemory(artifacts)), metadata: artifacts.userDefinedMetadata };
}

/** A model the user picked as files: `model.json` and its weight files (see {@link readModelFiles}), with its model.json's `userDefinedMetadata`. */
export async function loadFromFiles(files: File[]): Promise<{ model: IrnModel; name: string; metadata: unknown }> {
  const { artifacts, name, metadata } = await readModelFiles(files);
  return { model: await IrnModel.load(tf.io.fromMemory(artifacts)), name, metadata };
}

/**
 * Names of the models saved in this browser by the playground. Throws when the browser's
 * storage cannot be listed: an empty list would let a save replace a model it did not see.
 */
export async function savedModels(): Promise<string[]> {
  const all = await tf.io.listModels().catch((e: unknown) => {
    throw new Error(`this browser's storage could not list the saved models (${String((e as Error)?.message ?? e)})`);
  });
  return Object.keys(all)
    .filter((k) => k.startsWith(SAVED_PREFIX))
    .map((k) => k.slice(SAVED_PREFIX.length))
    .sort();
}

/** For `savedModels().catch(...)` before saving `name`: the listing's error, saying that nothing was saved. */
export function refuseUnlisted(name: string): (e: Error) => never {
  return (e) => {
    throw new Error(`${e.message}; nothing saved, so as not to replace a model named "${name}" unasked`);
  };
}

/**
 * Checks a name for a saved or downloaded model: it becomes part of an IndexedDB key and the
 * downloaded file names (`<name>.json`, which names `./<name>.weights.bin`: a name no
 * download can have, such as `a/b`, breaks that link; one starting with "." is a hidden file).
 */
export function checkModelName(name: string): string {
  const n = name.trim();
  if (!/^[A-Za-z0-9][\w.-]{0,63}$/.test(n)) throw new Error('a model name is 1 to 64 letters, digits, "-", "_" or ".", starting with a letter or digit');
  return n;
}

/** `text` (a model's name in the menu, from a file name) made into a name {@link checkModelName} accepts, at most `max` characters. */
export function toModelName(text: string, max = 48): string {
  const n = text.replace(/[^\w.-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, max);
  return n === '' ? 'model' : n;
}

/**
 * `model.json` and weights as blob URLs, for an `<irn-image model="...">` preview of a model
 * that lives only in this page. Revoke both URLs when done.
 */
export function blobModelUrl(artifacts: tf.io.ModelArtifacts & { weightData: ArrayBuffer }): { modelUrl: string; revoke(): void } {
  const weightsUrl = URL.createObjectURL(new Blob([artifacts.weightData], { type: 'application/octet-stream' }));
  const json = {
    format: artifacts.format,
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy,
    modelTopology: artifacts.modelTopology,
    userDefinedMetadata: artifacts.userDefinedMetadata,
    // An absolute URL resolves to itself against the model.json URL.
    weightsManifest: [{ paths: [weightsUrl], weights: artifacts.weightSpecs }],
  };
  const modelUrl = URL.createObjectURL(new Blob([JSON.stringify(json)], { type: 'application/json' }));
  return {
    modelUrl,
    revoke() {
      URL.revokeObjectURL(modelUrl);
      URL.revokeObjectURL(weightsUrl);
    },
  };
}

/** Y-channel scores with the paper's protocol (shave = scale). */
export interface Scores {
  psnr: number;
  ssim: number;
}

/** Everything a round trip shows. */
export interface RoundTrip {
  scale: number;
  /** The backend the worker ran on. */
  backend: BackendName;
  /** IRN's 8-bit LR (what would be shipped as PNG) and its PNG bytes, with the `irn` chunk. */
  lr: RasterImage;
  lrPng: Uint8Array;
  /** MATLAB-bicubic LR, rounded to 8 bits: the guidance target and the baseline's LR. */
  lrBicubic: RasterImage;
  irn: RasterImage;
  bicubic: RasterImage;
  scores: { irn: Scores; bicubic: Scores; lrVsBicubic: number };
  ms: { downscale: number; upscale: number };
}

export interface RoundTripOptions {
  z?: 'zeros' | 'gaussian';
  temperature?: number;
  seed?: number;
  onProgress?: (what: string, fraction: number) => void;
  signal?: AbortSignal;
}

export function scores(result: RasterImage, reference: RasterImage, scale: number): Scores {
  return { psnr: psnrY(result, reference, { shave: scale }), ssim: ssimY(result, reference, { shave: scale }) };
}

/**
 * Downscales `hr` with IRN and restores it through `rescaler` (in its worker: the page stays
 * responsive), and does the same with bicubic for comparison.
 */
export async function roundTrip(rescaler: Rescaler, hr: RasterImage, options: RoundTripOptions = {}): Promise<RoundTrip> {
  const scale = rescaler.scale;
  const t0 = performance.now();
  const down = await rescaler.downscale(hr, { output: 'raster', signal: options.signal, onProgress: (p) => options.onProgress?.('downscaling', p.fraction) });
  const lr = down.image;
  const t1 = performance.now();
  // Progress may come only per tile: say where it is between the calls too.
  options.onProgress?.('restoring', 0);
  const up = await rescaler.upscale(lr, {
    output: 'raster',
    z: options.z ?? 'zeros',
    temperature: options.temperature,
    seed: options.seed,
    width: hr.width,
    height: hr.height,
    signal: options.signal,
    onProgress: (p) => options.onProgress?.('restoring', p.fraction),
  });
  const irn = up.image;
  const t2 = performance.now();
  options.onProgress?.('scoring against bicubic', 1);
  const lrBicubic = round8(imresize(hr, Math.ceil(hr.width / scale), Math.ceil(hr.height / scale)));
  const bicubic = imresize(lrBicubic, hr.width, hr.height);
  const lrPng = encodePng(lr, { text: { [LR_TEXT_KEY]: lrMetadataText({ scale, width: hr.width, height: hr.height }) } });
  return {
    scale,
    backend: up.backend,
    lr,
    lrPng,
    lrBicubic,
    irn,
    bicubic,
    scores: { irn: scores(irn, hr, scale), bicubic: scores(bicubic, hr, scale), lrVsBicubic: psnrY(lr, lrBicubic) },
    ms: { downscale: t1 - t0, upscale: t2 - t1 },
  };
}

/** Restores an LR with a given z choice (for the temperature and seed controls), in the rescaler's worker; `signal` stops it at the next tile. */
export async function restore(
  rescaler: Rescaler,
  lr: RasterImage,
  size: { width: number; height: number },
  z: { temperature: number; seed: number },
  signal?: AbortSignal,
): Promise<RasterImage> {
  const options = z.temperature === 0 ? { z: 'zeros' as const } : { z: 'gaussian' as const, temperature: z.temperature, seed: z.seed };
  return (await rescaler.upscale(lr, { output: 'raster', ...options, ...size, signal })).image;
}

/** A PNG download of a raster (8-bit), or of bytes already encoded. */
export function download(name: string, png: Uint8Array | RasterImage): void {
  const bytes = png instanceof Uint8Array ? png : encodePng(png);
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
