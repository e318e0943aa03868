import { Inflate } from 'fflate';
import { crc32 } from '../../crc32.js';
import { LimitError, raiseAdvice, type Limits } from '../../limits.js';
import { TorchFormatError } from './errors.js';
import { quote, unpickle } from './pickle.js';
import { toLazyStateDict, type LazyTensor } from './state-dict.js';
import type { StorageRoot } from './tensor.js';
import { torchUnpickleOptions } from './torch-globals.js';

/** End-of-central-directory record: signature, and its fixed size without the comment. */
const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** Zip64 end-of-central-directory locator (20 bytes, just before the EOCD) and record. */
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const CENTRAL_SIZE = 46;
const LOCAL_SIGNATURE = 0x04034b50;
const LOCAL_SIZE = 30;
/** Compression methods torch's writer (stored) and other zip tools (deflate) use. */
const STORED = 0;
const DEFLATED = 8;
/** Compressed bytes handed to the inflater at a time: deflate expands at most ~1032:1, so one
 * push yields at most ~16 MiB before the bounds are checked again. */
const INFLATE_CHUNK = 16 * 1024;
/** `byteorder` holds "little" or "big", perhaps with a newline. */
const MAX_BYTEORDER = 16;

/** One entry of the central directory. */
interface ZipEntry {
  name: string;
  method: number;
  flags: number;
  crc: number;
  compressedSize: number;
  /** Uncompressed size, as the archive declares it. */
  size: number;
  localOffset: number;
}

/** A 64-bit little-endian field that must fit a safe integer (it is a size or an offset). */
function u64(view: DataView, at: number, what: string): number {
  const v = view.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TorchFormatError(`zip archive is corrupt: ${what} is ${v}`);
  return Number(v);
}

/**
 * Reads the central directory, but no entry's data: an archive is a list of names, sizes and
 * offsets until {@link ZipArchive.read} inflates the one entry that is needed.
 */
class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;
  /** Bytes inflated so far, against `limits.inflatedBytes`. */
  private inflated = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly limits: Limits,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const { count, size, offset } = this.findDirectory();
    let p = offset;
    const end = offset + size;
    const names = new TextDecoder();
    for (let i = 0; i < count; i++) {
      if (p + CENTRAL_SIZE > end || this.view.getUint32(p, true) !== CENTRAL_SIGNATURE) {
        throw new TorchFormatError(`zip archive is corrupt: its central directory ends after ${i} of its ${count} entries`);
      }
      const nameLength = this.view.getUint16(p + 28, true);
      const extraLength = this.view.getUint16(p + 30, true);
      const commentLength = this.view.getUint16(p + 32, true);
      const next = p + CENTRAL_SIZE + nameLength + extraLength + commentLength;
      if (next > end) throw new TorchFormatError(`zip archive is corrupt: central directory entry ${i} runs past the directory`);
      const entry: ZipEntry = {
        name: names.decode(this.bytes.subarray(p + CENTRAL_SIZE, p + CENTRAL_SIZE + nameLength)),
        flags: this.view.getUint16(p + 8, true),
        method: this.view.getUint16(p + 10, true),
        crc: this.view.getUint32(p + 16, true),
        compressedSize: this.view.getUint32(p + 20, true),
        size: this.view.getUint32(p + 24, true),
        localOffset: this.view.getUint32(p + 42, true),
      };
      this.readZip64Extra(entry, p + CENTRAL_SIZE + nameLength, extraLength);
      if (this.entries.has(entry.name)) throw new TorchFormatError(`zip archive has two entries named ${quote(entry.name, 80)}`);
      this.entries.set(entry.name, entry);
      p = next;
    }
  }

  /** Finds the (zip64) end-of-central-directory record: where the directory is, how many entries. */
  private findDirectory(): { count: number; size: number; offset: number } {
    const { bytes, view } = this;
    const stop = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT);
    for (let p = bytes.length - EOCD_SIZE; p >= stop; p--) {
      if (view.getUint32(p, true) !== EOCD_SIGNATURE) continue;
      let count = view.getUint16(p + 10, true);
      let size = view.getUint32(p + 12, true);
      let offset = view.getUint32(p + 16, true);
      let directoryEnd = p;
      // 0xffff / 0xffffffff mean the real values are in the zip64 record.
      if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
        const locator = p - ZIP64_LOCATOR_SIZE;
        if (locator < 0 || view.getUint32(locator, true) !== ZIP64_LOCATOR_SIGNATURE) {
          throw new TorchFormatError('zip archive is corrupt: its end record points to a zip64 record that is missing');
        }
        const record = u64(view, locator + 8, 'the zip64 record offset');
        if (record + 56 > locator || view.getUint32(record, true) !== ZIP64_EOCD_SIGNATURE) {
          throw new TorchFormatError(`zip archive is corrupt: no zip64 end record at byte ${record}`);
        }
        count = u64(view, record + 32, 'the entry count');
        size = u64(view, record + 40, 'the central directory size');
        offset = u64(view, record + 48, 'the central directory offset');
        directoryEnd = record;
      }
      if (offset + size > directoryEnd) {
        throw new TorchFormatError(
          `zip archive is corrupt: its central directory (bytes ${offset}..${offset + size}) overlaps its end record at byte ${directoryEnd}`,
        );
      }
      return { count, size, offset };
    }
    throw new TorchFormatError(
      `zip archive is truncated or corrupt: no end-of-central-directory record in its last bytes (file is ${bytes.length} bytes)`,
    );
  }

  /** Replaces 0xffffffff sizes and offset by the values of the zip64 extra field (id 1). */
  private readZip64Extra(entry: ZipEntry, start: number, length: number): void {
    const wanted = [entry.size, entry.compressedSize, entry.localOffset].some((v) => v === 0xffffffff);
    if (!wanted) return;
    for (let p = start; p + 4 <= start + length;) {
      const id = this.view.getUint16(p, true);
      const fieldLength = this.view.getUint16(p + 2, true);
      const body = p + 4;
      if (body + fieldLength > start + length) break;
      if (id === 1) {
        // The fields present are exactly those whose 32-bit value is 0xffffffff, in this order.
        let q = body;
        const field = (v: number, what: string): number => {
          if (v !== 0xffffffff) return v;
          if (q + 8 > body + fieldLength) throw new TorchFormatError(`zip entry ${quote(entry.name, 80)} has a short zip64 field`);
          const out = u64(this.view, q, `the ${what} of entry ${quote(entry.name, 80)}`);
          q += 8;
          return out;
        };
        entry.size = field(entry.size, 'size');
        entry.compressedSize = field(entry.compressedSize, 'compressed size');
        entry.localOffset = field(entry.localOffset, 'offset');
        return;
      }
      p = body + fieldLength;
    }
    throw new TorchFormatError(`zip entry ${quote(entry.name, 80)} lacks the zip64 field its sizes point to`);
  }

  /** The uncompressed size `name` declares, or undefined when there is no such entry. */
  declaredSize(name: string): number | undefined {
    return this.entries.get(name)?.size;
  }

  /**
   * The data of entry `name`: a view into the file when it is stored (as torch writes it), else
   * inflated, at most to its declared size and within what is left of `limits.inflatedBytes`,
   * stopping as soon as the output passes either. Checks the CRC.
   */
  read(name: string): Uint8Array {
    const entry = this.entries.get(name);
    if (entry === undefined) throw new TorchFormatError(`zip archive lacks entry ${quote(name, 80)}`);
    const { bytes, view } = this;
    const label = `zip entry ${quote(name, 80)}`;
    if (entry.flags & 1) throw new TorchFormatError(`${label} is encrypted`);
    const local = entry.localOffset;
    if (local + LOCAL_SIZE > bytes.length || view.getUint32(local, true) !== LOCAL_SIGNATURE) {
      throw new TorchFormatError(`zip archive is corrupt: ${label} has no local header at byte ${local}`);
    }
    const start = local + LOCAL_SIZE + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    const available = Math.max(0, Math.min(entry.compressedSize, bytes.length - start));
    if (available < entry.compressedSize) {
      throw new TorchFormatError(`zip archive is truncated: entry ${quote(name, 80)} has ${available} of its ${entry.compressedSize} bytes`);
    }
    const raw = bytes.subarray(start, start + entry.compressedSize);
    let data: Uint8Array;
    if (entry.method === STORED) {
      if (entry.compressedSize !== entry.size) {
        throw new TorchFormatError(`${label} is stored but declares ${entry.size} bytes and holds ${entry.compressedSize}`);
      }
      data = raw;
    } else if (entry.method === DEFLATED) {
      data = this.inflate(raw, entry, label);
    } else {
      throw new TorchFormatError(`${label} uses compression method ${entry.method}; only stored and deflated entries are supported`);
    }
    if (crc32(data) !== entry.crc) throw new TorchFormatError(`${label} is corrupt: its CRC does not match its data`);
    return data;
  }

  private inflate(raw: Uint8Array, entry: ZipEntry, label: string): Uint8Array {
    const left = this.limits.inflatedBytes - this.inflated;
    if (entry.size > left) {
      throw new LimitError(
        `${label} declares ${entry.size.toLocaleString('en-US')} bytes, which with what was already inflated passes the limit of ${this.limits.inflatedBytes.toLocaleString('en-US')} bytes per file (${raiseAdvice('inflatedBytes')})`,
        'inflatedBytes',
      );
    }
    const out = new Uint8Array(entry.size);
    let length = 0;
    let done = false;
    const inflater = new Inflate((chunk, final) => {
      if (length + chunk.length > out.length) {
        throw new TorchFormatError(`${label} inflates to more than the ${entry.size} bytes it declares`);
      }
      out.set(chunk, length);
      length += chunk.length;
      if (final) done = true;
    });
    try {
      for (let p = 0; p < raw.length && !done; p += INFLATE_CHUNK) {
        const end = Math.min(raw.length, p + INFLATE_CHUNK);
        inflater.push(raw.subarray(p, end), end === raw.length);
      }
    } catch (e) {
      if (e instanceof TorchFormatError) throw e;
      throw new TorchFormatError(`${label} is corrupt: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (!done || length !== entry.size) {
      throw new TorchFormatError(`${label} inflates to ${length} bytes but declares ${entry.size}`);
    }
    this.inflated += length;
    return out;
  }
}

/**
 * Opens a checkpoint in PyTorch's zip format (torch >= 1.6): `<prefix>/data.pkl` holds the
 * pickled object, each storage is the entry `<prefix>/data/<key>`, and `<prefix>/byteorder`
 * (torch >= 2.1) says the storages' byte order. `<prefix>` is the saved file's base name or
 * `archive`.
 *
 * Only the directory, `data.pkl` and `byteorder` are read here; a storage's entry is read when
 * a tensor on it is first materialised, so entries nobody uses are never inflated.
 */
export function readZipStateDict(bytes: Uint8Array, limits: Limits): Map<string, LazyTensor> {
  const archive = new ZipArchive(bytes, limits);
  const names = [...archive.entries.keys()];
  const pickles = names.filter((n) => /^[^/]+\/data\.pkl$/.test(n));
  if (pickles.length !== 1) {
    if (names.some((n) => /^[^/]+\/constants\.pkl$/.test(n) || /^[^/]+\/code\//.test(n))) {
      throw new TorchFormatError('zip archive is a TorchScript module (torch.jit.save), not a torch.save state_dict');
    }
    const listed = names.slice(0, 5).map((n) => quote(n, 80)).join(', ');
    throw new TorchFormatError(
      pickles.length === 0
        ? `zip archive has no "<name>/data.pkl" entry, so it is not a torch.save checkpoint (entries: ${listed}${names.length > 5 ? ', ...' : ''})`
        : `zip archive has ${pickles.length} data.pkl entries; expected one`,
    );
  }
  const pklName = pickles[0];
  const prefix = pklName.slice(0, -'/data.pkl'.length);
  const storages = new Map<string, StorageRoot>();
  const { value } = unpickle(archive.read(pklName), 0, { ...torchUnpickleOptions(pklName, storages), limits });

  let littleEndian = true;
  const byteorderName = `${prefix}/byteorder`;
  const byteorderSize = archive.declaredSize(byteorderName);
  if (byteorderSize !== undefined) {
    if (byteorderSize > MAX_BYTEORDER) {
      throw new TorchFormatError(`zip entry ${quote(byteorderName)} has ${byteorderSize} bytes; expected "little" or "big"`);
    }
    const byteorder = new TextDecoder().decode(archive.read(byteorderName)).trim();
    if (byteorder !== 'little' && byteorder !== 'big') {
      throw new TorchFormatError(`zip entry ${quote(byteorderName)} says ${quote(byteorder)}; expected "little" or "big"`);
    }
    littleEndian = byteorder === 'little';
  }
  for (const root of storages.values()) {
    // Check now what the directory says, so that a missing or short storage is reported
    // whichever tensor is read first; read the data only when a tensor needs it.
    const name = `${prefix}/data/${root.key}`;
    const declared = archive.declaredSize(name);
    if (declared === undefined) {
      throw new TorchFormatError(`zip archive lacks entry ${quote(name, 80)}, the data of storage ${quote(root.key, 80)}`);
    }
    const needed = root.numel * root.elementSize;
    if (declared < needed) throw new TorchFormatError(`zip entry ${quote(name, 80)} has ${declared} bytes; its storage needs ${needed}`);
    root.littleEndian = littleEndian;
    root.load = () => archive.read(name);
  }
  return toLazyStateDict(value);
}
