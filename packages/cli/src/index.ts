/**
 * `@irn/cli`: the `irn` command and the Node-only parts it is built from, beside the
 * browser-first `@irn/core`: training from image folders (one process or data-parallel over
 * worker threads), training checkpoints, and the WebP/JPEG LR codecs. Everything here runs in
 * Node only; `@irn/core` and `@irn/core/node` hold the model, the rescaling and the disk I/O
 * it uses.
 *
 * @example
 * import { encodeLr, loadImageFolder } from '@irn/cli';
 * const images = await loadImageFolder('photos/');   // 8-bit RGB, for IrnTrainer
 * const webp = await encodeLr(lrRaster, { format: 'webp', metadata: { scale: 2, width: 768, height: 512 } });
 */
export { loadCheckpoint, saveCheckpoint, type CheckpointExtra } from './training/checkpoint-node.js';
export { DataParallelTrainer, defaultTrainingWorkers, type DataParallelOptions } from './training/parallel-node.js';
export { runTraining, validationCrops, validationPsnr, type TrainingRunOptions, type TrainingRunResult } from './training/run-node.js';
export { loadImageFolder, loadTrainImage, type LoadImageFolderOptions } from './data/image-folder.js';
export { decodeLr, encodeLr, type DecodedLr, type EncodeLrOptions } from './image/lr-codecs.js';
export { evaluateImage, meanEvaluation, type EvalOptions, type ImageEvaluation, type Scores } from './eval/evaluate.js';
