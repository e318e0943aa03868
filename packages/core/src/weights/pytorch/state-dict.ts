import { checkLimit, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { describePickleValue, PickleDict, quote } from './pickle.js';
import { checkTensor, materialise, TensorRef, type TorchTensor } from './tensor.js';

/** nn.DataParallel / DistributedDataParallel prefix every key with this. */
const DATA_PARALLEL_PREFIX = 'module.';

/** A tensor of a state_dict as the pickle describes it, before anything is read. */
export interface LazyTensor {
  /** The key as written in the file (with any `module.` prefix), for error messages. */
  readonly rawKey: string;
  readonly ref: TensorRef;
}

/**
 * Turns the unpickled top-level object into `key -> tensor description`, in file order, with
 * a leading `module.` stripped from keys. Reads no tensor data: the format reader attaches
 * (or defers) the storages' bytes, and {@link materialiseStateDict} or the IRN importer read
 * the tensors they need.
 */
export function toLazyStateDict(value: unknown): Map<string, LazyTensor> {
  if (!(value instanceof PickleDict)) {
    throw new TorchFormatError(`checkpoint holds ${describePickleValue(value)}, not a state_dict (a dict of tensors)`);
  }
  const out = new Map<string, LazyTensor>();
  for (const [rawKey, tensor] of value.entries) {
    if (typeof rawKey !== 'string') throw new TorchFormatError(`state_dict key ${describePickleValue(rawKey)} is not a string`);
    if (!(tensor instanceof TensorRef)) {
      throw new TorchFormatError(`state_dict entry ${quote(rawKey, 80)} holds ${describePickleValue(tensor)}, not a tensor`);
    }
    const key = rawKey.startsWith(DATA_PARALLEL_PREFIX) ? rawKey.slice(DATA_PARALLEL_PREFIX.length) : rawKey;
    if (out.has(key)) throw new TorchFormatError(`state_dict has key ${quote(key, 80)} both with and without "module."`);
    out.set(key, { rawKey, ref: tensor });
  }
  return out;
}

/**
 * Reads every tensor of a lazy state_dict, after checking each against
 * `limits.tensorElements` (and its storage) and all of them together against
 * `limits.totalElements`, so that nothing is allocated for a file that passes a limit.
 */
export function materialiseStateDict(lazy: ReadonlyMap<string, LazyTensor>, limits: Limits): Map<string, TorchTensor> {
  let total = 0;
  for (const { rawKey, ref } of lazy.values()) total += checkTensor(ref, rawKey, limits);
  checkLimit(limits, 'totalElements', total, 'the tensors of the checkpoint together', 'elements');
  const out = new Map<string, TorchTensor>();
  for (const [key, { rawKey, ref }] of lazy) out.set(key, materialise(ref, rawKey, limits));
  return out;
}
