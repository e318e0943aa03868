export { TorchFormatError } from './errors.js';
export { readTorchStateDict, type ReadCheckpointOptions } from './read-state-dict.js';
export type { TorchDtype, TorchTensor } from './tensor.js';
export {
  importIrnCheckpoint,
  importIrnStateDict,
  type ConvWeights,
  type CouplingWeights,
  type DenseBlockWeights,
  type ImportedIrn,
} from './irn-checkpoint.js';
