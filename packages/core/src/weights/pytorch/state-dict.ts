import { TorchFormatError } from './errors.js';
import { PickleDict } from './pickle.js';
import { materialise, TensorRef, type TorchTensor } from './tensor.js';

/** nn.DataParallel / DistributedDataParallel prefix every key with this. */
const DATA_PARALLEL_PREFIX = 'module.';

function describe(v: unknown): string {
  if (v === null) return 'None';
  if (Array.isArray(v)) return 'a list or tuple';
  if (v instanceof PickleDict) return `a ${v.className}`;
  if (v instanceof Uint8Array) return 'bytes';
  return `a ${typeof v}`;
}

/**
 * Turns the unpickled top-level object into `key -> tensor`, after the format reader attached
 * every storage's bytes. Strips a leading `module.` from keys.
 */
export function toStateDict(value: unknown): Map<string, TorchTensor> {
  if (!(value instanceof PickleDict)) {
    throw new TorchFormatError(`checkpoint holds ${describe(value)}, not a state_dict (a dict of tensors)`);
  }
  const out = new Map<string, TorchTensor>();
  for (const [rawKey, tensor] of value.entries) {
    if (typeof rawKey !== 'string') throw new TorchFormatError(`state_dict key ${String(rawKey)} is not a string`);
    if (!(tensor instanceof TensorRef)) {
      throw new TorchFormatError(`state_dict entry "${rawKey}" holds ${describe(tensor)}, not a tensor`);
    }
    const key = rawKey.startsWith(DATA_PARALLEL_PREFIX) ? rawKey.slice(DATA_PARALLEL_PREFIX.length) : rawKey;
    if (out.has(key)) throw new TorchFormatError(`state_dict has key "${key}" both with and without "module."`);
    out.set(key, materialise(tensor, rawKey));
  }
  return out;
}
