/**
 * Node-only parts of `@irn/core`: disk I/O for models and PNG files, backend setup.
 * Import from `@irn/core/node`; everything in `@irn/core` itself also runs in browsers.
 */
export { fileSystem, type FileSystemOptions } from './io/fs-handler.js';
export { useNodeBackend, type NodeBackendName } from './backend/node-backend.js';
export { loadCheckpoint, saveCheckpoint, type CheckpointExtra } from './training/checkpoint-node.js';
export { DataParallelTrainer, defaultTrainingWorkers, type DataParallelOptions } from './training/parallel-node.js';
export { runTraining, validationCrops, validationPsnr, type TrainingRunOptions, type TrainingRunResult } from './training/run-node.js';
export { loadImageFolder, loadTrainImage, type LoadImageFolderOptions } from './data/image-folder.js';
