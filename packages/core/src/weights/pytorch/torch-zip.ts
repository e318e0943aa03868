import { unzipSync, type Unzipped } from 'fflate';
import { TorchFormatError } from './errors.js';
import { unpickle } from './pickle.js';
import { toStateDict } from './state-dict.js';
import type { StorageRoot, TorchTensor } from './tensor.js';
import { torchUnpickleOptions } from './torch-globals.js';

/** End-of-central-directory record: signature, and its fixed size without the comment. */
const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;

/** Checks that the archive ends with a plausible central directory before fflate reads it. */
function checkComplete(bytes: Uint8Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stop = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
  for (let p = bytes.length - EOCD_SIZE; p >= stop; p--) {
    if (view.getUint32(p, true) !== EOCD_SIGNATURE) continue;
    const size = view.getUint32(p + 12, true);
    const offset = view.getUint32(p + 16, true);
    // 0xffffffff means the real values are in the zip64 record; fflate checks those.
    if (offset !== 0xffffffff && offset + size > p) {
      throw new TorchFormatError(`zip archive is corrupt: its central directory (bytes ${offset}..${offset + size}) overlaps its end record at byte ${p}`);
    }
    return;
  }
  throw new TorchFormatError(
    `zip archive is truncated or corrupt: no end-of-central-directory record in its last bytes (file is ${bytes.length} bytes)`,
  );
}

function unzip(bytes: Uint8Array): Unzipped {
  checkComplete(bytes);
  const sizes = new Map<string, number>();
  let files: Unzipped;
  try {
    files = unzipSync(bytes, {
      filter: (file) => {
        sizes.set(file.name, file.originalSize);
        return true;
      },
    });
  } catch (e) {
    throw new TorchFormatError(`zip archive is corrupt: ${e instanceof Error ? e.message : String(e)}`);
  }
  for (const [name, size] of sizes) {
    // fflate slices stored entries without a bounds check, so a cut file shows up here.
    if (files[name].length !== size) {
      throw new TorchFormatError(`zip archive is truncated: entry "${name}" has ${files[name].length} of its ${size} bytes`);
    }
  }
  return files;
}

/**
 * Reads a checkpoint in PyTorch's zip format (torch >= 1.6): `<prefix>/data.pkl` holds the
 * pickled object, each storage is the entry `<prefix>/data/<key>`, and `<prefix>/byteorder`
 * (torch >= 2.1) says the storages' byte order. `<prefix>` is the saved file's base name or
 * `archive`.
 */
export function readZipStateDict(bytes: Uint8Array): Map<string, TorchTensor> {
  const files = unzip(bytes);
  const names = Object.keys(files);
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    if (names.some((n) => /^[^/]+\/constants\.pkl$/.test(n) || /^[^/]+\/code\//.test(n))) {
      throw new TorchFormatError('zip archive is a TorchScript module (torch.jit.save), not a torch.save state_dict');
    }
    const listed = names.slice(0, 5).map((n) => `"${n}"`).join(', ');
    throw new TorchFormatError(
      pickles.length === 0
        ? `zip archive has no "<name>/data.pkl" entry, so it is not a torch.save checkpoint (entries: ${listed}${names.length > 5 ? ', ...' : ''})`
        : `zip archive has ${pickles.length} data.pkl entries; expected one`,
    );
  }
  const pklName = pickles[0];
  const prefix = pklName.slice(0, -'/data.pkl'.length);
  const storages = new Map<string, StorageRoot>();
  const { value } = unpickle(files[pklName], 0, torchUnpickleOptions(pklName, storages));

  const byteorderEntry = files[`${prefix}/byteorder`];
  const byteorder = byteorderEntry === undefined ? 'little' : new TextDecoder().decode(byteorderEntry).trim();
  if (byteorder !== 'little' && byteorder !== 'big') {
    throw new TorchFormatError(`zip entry "${prefix}/byteorder" says "${byteorder}"; expected "little" or "big"`);
  }
  for (const root of storages.values()) {
    const name = `${prefix}/data/${root.key}`;
    const data = files[name];
    if (data === undefined) throw new TorchFormatError(`zip archive lacks entry "${name}", the data of storage "${root.key}"`);
    const needed = root.numel * root.elementSize;
    if (data.length < needed) {
      throw new TorchFormatError(`zip entry "${name}" has ${data.length} bytes; its storage needs ${needed}`);
    }
    root.bytes = data;
    root.littleEndian = byteorder === 'little';
  }
  return toStateDict(value);
}
