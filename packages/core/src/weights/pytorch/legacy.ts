import type { Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { describePickleValue, PickleDict, quote, unpickle, type UnpickleOptions } from './pickle.js';
import { toLazyStateDict, type LazyTensor } from './state-dict.js';
import type { StorageRoot } from './tensor.js';
import { torchUnpickleOptions } from './torch-globals.js';

/** First pickled value of every legacy torch.save file (torch/serialization.py). */
const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
/** The only legacy protocol version torch has written. */
const PROTOCOL_VERSION = 1001;

/** The header pickles hold plain data only: no global is ever allowed there. */
const PLAIN_DATA: UnpickleOptions = {
  findGlobal(module, name) {
    throw new TorchFormatError(
      `checkpoint refused: the pickle asks for the global "${module}.${name}", which a state_dict never needs`,
    );
  },
};

/**
 * Reads a checkpoint in PyTorch's legacy format (`_use_new_zipfile_serialization=False`, and
 * every torch < 1.6): pickled magic number, protocol version and sys_info, then the pickled
 * object (storages as persistent ids), then the pickled list of storage keys, then per storage
 * an 8-byte little-endian element count followed by its raw bytes. The records are views into
 * `bytes`; nothing is copied until a tensor is materialised.
 */
export function readLegacyStateDict(bytes: Uint8Array, limits: Limits): Map<string, LazyTensor> {
  let pos = 0;
  const next = (label: string, options: UnpickleOptions = { ...PLAIN_DATA, label }): unknown => {
    const { value, end } = unpickle(bytes, pos, { ...options, label, limits });
    pos = end;
    return value;
  };

  const magic = next('legacy header (magic number)');
  if (magic !== MAGIC_NUMBER) {
    throw new TorchFormatError('file is a pickle but not a torch.save checkpoint: it does not start with torch\'s magic number');
  }
  const protocol = next('legacy header (protocol version)');
  if (protocol !== PROTOCOL_VERSION) {
    throw new TorchFormatError(`legacy checkpoint has protocol version ${describePickleValue(protocol)}; expected ${PROTOCOL_VERSION}`);
  }
  const sysInfo = next('legacy header (sys_info)');
  const littleEndian = sysInfo instanceof PickleDict ? sysInfo.entries.get('little_endian') : undefined;
  if (typeof littleEndian !== 'boolean') throw new TorchFormatError('legacy checkpoint header has no sys_info.little_endian');

  const storages = new Map<string, StorageRoot>();
  const value = next('legacy object pickle', torchUnpickleOptions('legacy object pickle', storages));
  const keys = next('legacy storage key list');
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) {
    throw new TorchFormatError('legacy checkpoint: the storage key list is not a list of strings');
  }

  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const root = storages.get(key);
    if (root === undefined) throw new TorchFormatError(`legacy checkpoint lists storage ${quote(key, 80)}, which no tensor uses`);
    if (pos + 8 > bytes.length) {
      throw new TorchFormatError(`legacy checkpoint is truncated: the record of storage ${quote(key, 80)} starts past the end (byte ${pos} of ${bytes.length})`);
    }
    const count = view.getBigInt64(pos, littleEndian);
    if (count !== BigInt(root.numel)) {
      throw new TorchFormatError(`legacy checkpoint: storage ${quote(key, 80)} has ${count} elements in the file; the pickle says ${root.numel}`);
    }
    pos += 8;
    const size = root.numel * root.elementSize;
    if (pos + size > bytes.length) {
      throw new TorchFormatError(
        `legacy checkpoint is truncated: storage ${quote(key, 80)} needs bytes ${pos}..${pos + size} but the file has ${bytes.length}`,
      );
    }
    root.bytes = bytes.subarray(pos, pos + size);
    root.littleEndian = littleEndian;
    pos += size;
  }
  return toLazyStateDict(value);
}
