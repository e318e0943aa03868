/**
 * `@irn/core/browser`: IRN in web pages. {@link Rescaler} picks a TensorFlow.js backend
 * (WebGPU, WebGL, wasm, cpu; imported lazily), falls back when one fails, reads and writes
 * the browser's image types, reports progress, cancels, and can run in a module Web Worker;
 * presets (from `@irn/weights`, a CDN or a folder) are downloaded once, checked against their
 * SHA-256 and cached.
 * Everything in `@irn/core` is re-exported, so a page needs this one import.
 *
 * @example
 * import { Rescaler } from '@irn/core/browser';
 * const rescaler = await Rescaler.create({ model: 'irn-x2', worker: true });
 * const { image } = await rescaler.upscale(lrPngFile, { output: 'bitmap' });
 */
export * from './index.js';
export { defaultWasmPaths } from './browser/locations.js';
export { Rescaler, type RescalerEventMap, type RescalerFallbackEvent, type RescalerForLrOptions, type RescalerModelInfo, type RescalerOptions } from './browser/rescaler.js';
export {
  BACKEND_ORDER,
  BACKEND_START_TIMEOUT_MS,
  activateBackend,
  autoBackendOrder,
  autoBackendPlan,
  availableBackends,
  backendUnavailable,
  webglKind,
  webgpuIsFallback,
  webgpuKind,
  type AutoBackendPlan,
  type BackendChoice,
  type BackendName,
  type BackendSetup,
  type GpuKind,
} from './browser/backends.js';
export type { BackendFallback, RescaleProgress, RescalerMemory, RunOptions, UpscaleRunOptions } from './browser/engine.js';
export type { DownscaleCallOptions, DownscaleResult, RescaleResult, UpscaleCallOptions } from './browser/pipeline.js';
export { decodeInput, type DecodedInput, type DecodeInputOptions, type ImageInput, type ImageRegion } from './browser/inputs.js';
export { lrFileMetadata, presetForLr } from './browser/lr-preset.js';
export { fetchBytesWithin, readResponseBytes } from './browser/read-body.js';
export { encodeOutput, rasterToImageData, type OutputKind, type OutputTypes } from './browser/outputs.js';
export {
  DEFAULT_WEIGHTS_CDN,
  IntegrityError,
  MODEL_CACHE_NAME,
  UnknownPresetError,
  isPresetName,
  loadModelArtifacts,
  lrNotesFrom,
  lrPresetFor,
  sha256Hex,
  type LoadedArtifacts,
  type ModelCacheMode,
  type ModelLoadOptions,
  type PresetLrNotes,
  type WeightsManifest,
  type WeightsManifestEntry,
  type WeightsPackage,
  type WeightsPackageFile,
  type WeightsPackagePreset,
} from './browser/model-loader.js';
/** Errors across `postMessage` (name, message and stack kept; `AbortError` stays a DOMException). */
export { deserializeError, serializeError, type SerializedError } from './browser/protocol.js';
