/**
 * `@irn/core`: Invertible Image Rescaling (Xiao et al., ECCV 2020) on TensorFlow.js.
 * Importing registers the layer classes with `tf.serialization`; nothing else runs.
 */
export * from './layers/index.js';
export { IrnInference } from './model/irn-inference.js';
export { IrnModel, parameterCount, type IrnCreateOptions, type IrnLoadOptions, type IrnMetadata, type IrnModelNotes, type IrnSaveOptions, type LatentOptions } from './model/irn.js';
export { PUBLISHED_CONFIG, levelsOf, zChannelsOf, type IrnConfig, type IrnScale } from './model/config.js';
export { seededNormal, type NoiseWindow } from './model/noise.js';
export { quantize8 } from './model/quantize.js';
export { rgba8ToRaster, type RasterImage } from './image/raster.js';
export { downscaleImage, upscaleImage, type RescaleModel, type DownscaleOptions, type UpscaleOptions } from './rescale/rescale.js';
export { refineLr, type LrRoundTrip, type RefineOptions, type RefineResult, type RefineStep } from './rescale/refine.js';
export { withPeakMemory, type PeakMemory } from './rescale/peak-memory.js';
export { backendMemoryBudget } from './rescale/pass-memory.js';
export { TileWorkError, type TileOptions, type TileProgress } from './rescale/tiled-pass.js';
export { MAX_TILE_WORK } from './rescale/tiles.js';
export { DEFAULT_TILE_SIZE } from './rescale/tiles.js';
export { receptiveField } from './rescale/receptive-field.js';
export { imresize } from './image/imresize.js';
export { decodePng, PngFormatError, type DecodedPng, type DecodePngOptions } from './image/png.js';
export { encodePng, type EncodePngOptions } from './image/png-write.js';
export { encodePngQuick, type PngQuickOptions } from './image/png-quick.js';
export { type PngEffort } from './image/png-encode.js';
export { DEFAULT_LIMITS, LIMIT_NAMES, LimitError, checkLimit, isOutOfMemory, parseLimitArgument, raiseAdvice, resolveLimits, rewordLimitAdvice, type Limits } from './limits.js';
export { psnrY, psnrRgb, ssimY, type MetricOptions } from './eval/metrics.js';
export { modelFromCheckpoint, modelFromImported, type ModelFromCheckpointOptions } from './weights/convert.js';
export {
  importIrnCheckpoint,
  readTorchStateDict,
  TorchFormatError,
  type ReadCheckpointOptions,
  type ImportedIrn,
  type TorchTensor,
} from './weights/pytorch/index.js';
export { LR_CODECS, LR_TEXT_KEY, PRESET_NAME, lrMetadataText, readLrMetadata, restoredSize, type LrCodec, type LrMetadata } from './image/lr-metadata.js';
export {
  LR_EXTENSIONS,
  LR_FORMATS,
  lrMetadataJpegComment,
  lrMetadataXmp,
  readLrFileInfo,
  sniffLrFormat,
  withLrMetadata,
  type LrFileInfo,
  type LrFormat,
} from './image/lr-formats.js';
export { AVIF_SPEED, AVIF_SPEED_MAX, AVIF_SUBSAMPLE, DEFAULT_AVIF_QUALITY, DEFAULT_JPEG_QUALITY, lrEncoderOptions, lrEncoderVariants, type LrEffort } from './image/lr-encoders.js';
export { fitQuality, parseByteSize, type FitResult } from './image/fit-size.js';
// Header-only reading of an LR file (browser-safe, no codec): size and metadata before decoding.
export { readLrHeader, type LrHeader } from './browser/lr-preset.js';
// Which preset an LR coded with a codec at a quality should name (a lossy decoder, or its encoder).
export { lrNotesFrom, lrPresetFor, type PresetLrNotes } from './browser/model-loader.js';
// The container writers that put LR metadata into a WebP, JPEG or AVIF a codec made (used by
// @irn/cli's `irn downscale --format`, which carries the codecs).
export { withJpegComment } from './image/jpeg-segments.js';
// The bit-per-block check of a JPEG's size and the scan cap, shared with @irn/cli's photo reader (jpeg-js).
export { checkJpegDataSize, checkJpegScans, isSofMarker, MAX_JPEG_SEGMENTS, walkJpegSegments } from './image/jpeg-segments.js';
export { withWebpXmp } from './image/webp-container.js';
export { applyAvifTransform, AvifFormatError, readAvifInfo, withAvifMetadata, type AvifInfo } from './image/avif-container.js';
export {
  IrnTrainer,
  irnLoss,
  jpegProxy,
  mozjpegQuantTable,
  mozjpegSubsampling,
  MOZJPEG_RATE,
  realWithProxyGradient,
  quantizeSTE,
  bicubicDownscale,
  bicubicMatrix,
  learningRateAt,
  Rng,
  roundTripPsnrY,
  shardGradients,
  samplesFitting,
  trainStepBytes,
  type EncodedWeights,
  type IrnLossOptions,
  type IrnLossTerms,
  type JpegProxyOptions,
  type JpegProxyResult,
  type JpegRounding,
  type LrCodecOption,
  type LrSchedule,
  type ShardGradients,
  type ShardSpec,
  type StepReport,
  type TrainerOptions,
  type TrainerState,
} from './training/index.js';
export { samplePatches, imageTensor, type TrainImage } from './data/patches.js';
export { decodeBmp, type DecodeBmpOptions } from './data/bmp.js';
