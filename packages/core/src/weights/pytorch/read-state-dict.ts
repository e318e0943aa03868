import { resolveLimits, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { readLegacyStateDict } from './legacy.js';
import { materialiseStateDict, type LazyTensor } from './state-dict.js';
import type { TorchTensor } from './tensor.js';
import { readZipStateDict } from './torch-zip.js';

/** Options of {@link readTorchStateDict} and the checkpoint importers. */
export interface ReadCheckpointOptions {
  /**
   * Resource limits (defaults: `DEFAULT_LIMITS`): `inflatedBytes` for the zip entries read,
   * `pickleDepth` and `pickleObjects` for the pickle, `tensorElements` per tensor and
   * `totalElements` for all the tensors read.
   */
  limits?: Partial<Limits>;
}

/** Known file signatures, to say what a file is when it is not a checkpoint. */
const SIGNATURES: ReadonlyArray<[number[], string]> = [
  [[0x89, 0x50, 0x4e, 0x47], 'a PNG image'],
  [[0xff, 0xd8, 0xff], 'a JPEG image'],
  [[0x47, 0x49, 0x46, 0x38], 'a GIF image'],
  [[0x1f, 0x8b], 'a gzip file'],
  [[0x7b], 'JSON or text'],
  [[0x3c], 'HTML or XML'],
];

function startsWith(bytes: Uint8Array, prefix: number[]): boolean {
  return prefix.every((b, i) => bytes[i] === b);
}

function hexHead(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 8), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Reads a PyTorch `torch.save(state_dict)` file into `key -> tensor`, in file order, without
 * running any Python: the pickle is interpreted by a reader that only knows the handful of
 * globals a state_dict uses and refuses all others.
 *
 * Accepts the zip format (torch >= 1.6) and the legacy format (`_use_new_zipfile_serialization
 * =False`, torch < 1.6). Tensors may be float32, float16, bfloat16 or float64 and are returned
 * as contiguous float32 (strides and storage offsets applied). A leading `module.` (from
 * nn.DataParallel) is stripped from keys; the `_metadata` of an OrderedDict is ignored.
 *
 * Hostile files are refused before they cost memory or time: every shape, stride and offset is
 * checked against the storage the file really holds and against the limits before a tensor is
 * allocated; zip entries are inflated only when a tensor needs them, never past their declared
 * size or `limits.inflatedBytes`; the pickle reader is bounded in depth and work. Strides of 0
 * (a broadcast view, which torch.save keeps as such) are accepted within the limits.
 *
 * @param bytes the whole file.
 * @param options `limits` to raise or lower (see {@link ReadCheckpointOptions}).
 * @throws {TorchFormatError} when the file is not a checkpoint, is truncated or corrupt, holds
 *   something other than a dict of float tensors, or its pickle names a disallowed global.
 * @throws {LimitError} when the file passes one of the limits.
 * @example
 * ```ts
 * const tensors = readTorchStateDict(new Uint8Array(await (await fetch('IRN_x4.pth')).arrayBuffer()));
 * tensors.get('operations.0.haar_weights')?.shape; // [12, 1, 2, 2]
 * ```
 */
export function readTorchStateDict(bytes: Uint8Array, options: ReadCheckpointOptions = {}): Map<string, TorchTensor> {
  const limits = resolveLimits(options.limits);
  return materialiseStateDict(openTorchStateDict(bytes, limits), limits);
}

/**
 * Reads a checkpoint's directory and pickle but no tensor: `key -> description` in file order,
 * `module.` stripped. A tensor's data is read (and a zip entry inflated) only when it is
 * materialised, so an importer can check names and shapes first and read only what it keeps.
 */
export function openTorchStateDict(bytes: Uint8Array, limits: Limits): Map<string, LazyTensor> {
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return readZipStateDict(bytes, limits);
  }
  // Legacy files start with PROTO 2 and the LONG1 magic number; accept any binary pickle here
  // so that a non-torch pickle gets the more precise message from the legacy reader.
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    return readLegacyStateDict(bytes, limits);
  }
  if (bytes.length === 0) throw new TorchFormatError('not a PyTorch checkpoint: the file is empty');
  const known = SIGNATURES.find(([sig]) => startsWith(bytes, sig));
  throw new TorchFormatError(
    `not a PyTorch checkpoint: neither a zip archive nor a pickle (starts with ${hexHead(bytes)}${known ? `, looks like ${known[1]}` : ''})`,
  );
}
