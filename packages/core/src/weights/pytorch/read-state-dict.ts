import { TorchFormatError } from './errors.js';
import { readLegacyStateDict } from './legacy.js';
import type { TorchTensor } from './tensor.js';
import { readZipStateDict } from './torch-zip.js';

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
 * @param bytes the whole file.
 * @throws {TorchFormatError} when the file is not a checkpoint, is truncated or corrupt, holds
 *   something other than a dict of float tensors, or its pickle names a disallowed global.
 * @example
 * ```ts
 * const tensors = readTorchStateDict(new Uint8Array(await (await fetch('IRN_x4.pth')).arrayBuffer()));
 * tensors.get('operations.0.haar_weights')?.shape; // [12, 1, 2, 2]
 * ```
 */
export function readTorchStateDict(bytes: Uint8Array): Map<string, TorchTensor> {
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return readZipStateDict(bytes);
  }
  // Legacy files start with PROTO 2 and the LONG1 magic number; accept any binary pickle here
  // so that a non-torch pickle gets the more precise message from the legacy reader.
  if (bytes.length >= 2 && bytes[0] === 0x80 && bytes[1] >= 2 && bytes[1] <= 5) {
    return readLegacyStateDict(bytes);
  }
  if (bytes.length === 0) throw new TorchFormatError('not a PyTorch checkpoint: the file is empty');
  const known = SIGNATURES.find(([sig]) => startsWith(bytes, sig));
  throw new TorchFormatError(
    `not a PyTorch checkpoint: neither a zip archive nor a pickle (starts with ${hexHead(bytes)}${known ? `, looks like ${known[1]}` : ''})`,
  );
}
