export { bicubicDownscale, bicubicMatrix } from './bicubic.js';
export {
  blockDct,
  blockIdct,
  dctMatrix,
  JPEG_RATE_FEATURES,
  jpegProxy,
  MOZJPEG_BASE_TABLE,
  MOZJPEG_DEAD_ZONE,
  MOZJPEG_RATE,
  mozjpegQuantTable,
  mozjpegSubsampling,
  realWithProxyGradient,
  type JpegProxyOptions,
  type JpegProxyResult,
  type JpegRateCoefficients,
  type JpegRounding,
} from './jpeg-proxy.js';
export { irnLoss, lrCodecQualities, type IrnLossOptions, type IrnLossTerms, type LrCodecOption } from './loss.js';
export { quantizeSTE } from './quantize-ste.js';
export { Rng } from './rng.js';
export { learningRateAt, type LrSchedule } from './schedule.js';
export {
  IrnTrainer,
  shardGradients,
  type EncodedWeights,
  type ShardGradients,
  type ShardSpec,
  type StepReport,
  type TrainerOptions,
  type TrainerState,
} from './trainer.js';
export { psnrY, roundTripPsnrY } from './validate.js';
export { samplesFitting, trainStepBytes } from './step-memory.js';
