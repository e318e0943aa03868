/**
 * The ISOBMFF (HEIF) container of AVIF files (ISO/IEC 14496-12, 23008-12; AV1 Image File
 * Format): reading a still image's size, alpha and IRN metadata without decoding it, and
 * appending that metadata to the file an encoder wrote. Browser-safe and dependency-free.
 *
 * The metadata travels in a top-level `uuid` box of our own ({@link IRN_AVIF_UUID}, then the
 * UTF-8 text) at the end of the file: readers skip top-level boxes they do not know (libavif,
 * browsers), and appending moves no byte of the image, so the offsets in `iloc` stay valid.
 *
 * The reader is meant for files from strangers: every box size is checked against the bytes
 * that are really there before it is used (32-bit, 64-bit and "to the end" sizes), the
 * nesting depth and the number of boxes are capped, counts inside boxes are checked against
 * their length, nothing is allocated from a claimed length (payloads are views into the
 * input), and anything malformed is refused with one {@link AvifFormatError} line.
 */

import { readU32BE, writeU32BE } from './bytes.js';

/** Thrown for bytes that are not an AVIF file, or a damaged one. The message says what is wrong. */
export class AvifFormatError extends Error {
  override name = 'AvifFormatError';
}

/**
 * The 16-byte user type of IRN's metadata box, `1f57bad7-8bd5-49f3-a48b-d5c2e1c694b0`
 * (a random version 4 UUID, drawn once for this purpose).
 */
export const IRN_AVIF_UUID: Readonly<Uint8Array> = Uint8Array.of(
  0x1f, 0x57, 0xba, 0xd7, 0x8b, 0xd5, 0x49, 0xf3, 0xa4, 0x8b, 0xd5, 0xc2, 0xe1, 0xc6, 0x94, 0xb0,
);

/** What {@link readAvifInfo} finds in an AVIF file. */
export interface AvifInfo {
  /**
   * Size of the primary image, from its `ispe` property: the coded size, before any `clap`
   * crop or `irot` rotation a viewer applies (`irn downscale` writes neither).
   */
  width: number;
  height: number;
  /** Whether the file has an alpha plane (an auxiliary image of type alpha). */
  alpha: boolean;
  /** The payload of IRN's `uuid` box after the UUID (the metadata text), or null: a view, not a copy. */
  irn: Uint8Array | null;
}

/** One box: its type, where it starts, and its payload (after the header; a view into the file). */
interface Box {
  type: string;
  start: number;
  /** Whether its size field was 0 ("to the end of the file"). */
  toEnd: boolean;
  /** For `uuid` boxes, the 16-byte user type (a view); else null. */
  uuid: Uint8Array | null;
  data: Uint8Array;
}

/** Most boxes read from one file: an LR written by libavif has about 20. */
const MAX_BOXES = 10_000;
/** Deepest nesting read: file > meta > iprp > ipco > property is 4. */
const MAX_DEPTH = 4;
/** The alpha auxiliary type of AVIF (and HEIF's older one). */
const ALPHA_URNS = ['urn:mpeg:mpegB:cicp:systems:auxiliary:alpha', 'urn:mpeg:hevc:2015:auxid:1'];

/**
 * Whether `bytes` starts like an AVIF file: an `ftyp` box whose major or compatible brands
 * include `avif` (still image) or `avis` (image sequence).
 */
export function isAvif(bytes: Uint8Array): boolean {
  if (bytes.length < 16 || fourcc(bytes, 4) !== 'ftyp') return false;
  const size = u32(bytes, 0);
  if (size < 16) return false;
  const end = Math.min(size, bytes.length);
  if (isAvifBrand(fourcc(bytes, 8))) return true;
  for (let at = 16; at + 4 <= end; at += 4) if (isAvifBrand(fourcc(bytes, at))) return true;
  return false;
}

function isAvifBrand(brand: string): boolean {
  return brand === 'avif' || brand === 'avis';
}

/**
 * Reads the size and alpha of an AVIF's primary image from its `meta` box (`pitm`, `iprp` >
 * `ipco` > `ispe`, `ipma`), and IRN's metadata box, without decoding pixels. Use it to check
 * the size against a pixel limit before a decoder allocates.
 * @throws AvifFormatError when the bytes are not an AVIF file, are cut short, claim boxes
 *   larger than the file, nest too deep or hold too many boxes, or lack the primary image's
 *   size.
 */
export function readAvifInfo(bytes: Uint8Array): AvifInfo {
  if (!isAvif(bytes)) throw new AvifFormatError('not an AVIF file (no ftyp box with an avif or avis brand)');
  const counter = { boxes: 0 };
  const top = readBoxes(bytes, 0, bytes.length, 0, counter);
  const meta = top.find((b) => b.type === 'meta');
  if (meta == null) throw new AvifFormatError('it has no meta box, so no still image (an AVIF image sequence without one cannot be rescaled)');
  const metaBoxes = readBoxes(meta.data, fullBoxBody(meta, 'meta'), meta.data.length, 1, counter);
  const handler = metaBoxes.find((b) => b.type === 'hdlr');
  if (handler == null || handler.data.length < 12 || fourcc(handler.data, 8) !== 'pict') {
    throw new AvifFormatError("its meta box has no 'pict' handler (hdlr), so it holds no image");
  }
  const pitm = metaBoxes.find((b) => b.type === 'pitm');
  if (pitm == null) throw new AvifFormatError('it names no primary image (no pitm box)');
  const version = pitm.data.length >= 4 ? pitm.data[0] : -1;
  const idBytes = version === 0 ? 2 : 4;
  if (version < 0 || version > 1 || pitm.data.length < 4 + idBytes) throw new AvifFormatError(`its pitm box (${pitm.data.length} bytes, version ${version}) is malformed`);
  const primary = version === 0 ? u16(pitm.data, 4) : u32(pitm.data, 4);
  const iprp = metaBoxes.find((b) => b.type === 'iprp');
  if (iprp == null) throw new AvifFormatError('it has no item properties (no iprp box)');
  const iprpBoxes = readBoxes(iprp.data, 0, iprp.data.length, 2, counter);
  const ipco = iprpBoxes.find((b) => b.type === 'ipco');
  if (ipco == null) throw new AvifFormatError('it has no item properties (no ipco box)');
  const properties = readBoxes(ipco.data, 0, ipco.data.length, 3, counter);
  const associations = readAssociations(iprpBoxes.filter((b) => b.type === 'ipma'));
  const own = associations.get(primary) ?? [];
  const ispe = own.map((i) => properties[i - 1]).find((p) => p?.type === 'ispe');
  if (ispe == null) throw new AvifFormatError(`its primary image (item ${primary}) has no size (no ispe property)`);
  if (ispe.data.length < 12) throw new AvifFormatError(`its ispe property has ${ispe.data.length} bytes, not 12`);
  const width = u32(ispe.data, 4);
  const height = u32(ispe.data, 8);
  if (width === 0 || height === 0) throw new AvifFormatError(`its ispe property says ${width}x${height}`);
  const alpha = [...associations.entries()].some(
    ([item, props]) => item !== primary && props.some((i) => properties[i - 1]?.type === 'auxC' && ALPHA_URNS.includes(auxType(properties[i - 1]))),
  );
  const ours = top.find(isIrnBox);
  return { width, height, alpha, irn: ours == null ? null : ours.data };
}

/**
 * A copy of the AVIF file `avif` with `text` (UTF-8) in IRN's `uuid` box at its end,
 * replacing one this function added before. Nothing before the box moves, so every decoder
 * reads the image as it read `avif`. When the file's last box runs "to the end of the file"
 * (size 0), its size is written out, so that the new box is not read as part of it.
 * @throws AvifFormatError when `avif` is not an AVIF file {@link readAvifInfo} reads, or when
 *   an IRN box of it is not at its end (removing it would move the image data).
 */
export function withAvifMetadata(avif: Uint8Array, text: string): Uint8Array {
  readAvifInfo(avif);
  const top = readBoxes(avif, 0, avif.length, 0, { boxes: 0 });
  // Ours, at the end: dropped (replaced). Anywhere else: refused.
  let keep = top.length;
  while (keep > 0 && isIrnBox(top[keep - 1])) keep--;
  if (top.slice(0, keep).some(isIrnBox)) {
    throw new AvifFormatError('its irn metadata box is not at the end of the file; it cannot be replaced without moving the image data');
  }
  const kept = keep === top.length ? avif.length : top[keep].start;
  const payload = new TextEncoder().encode(text);
  const size = 8 + 16 + payload.length;
  if (size > 0xffffffff) throw new AvifFormatError(`the metadata (${payload.length} bytes) is too large for a box`);
  const out = new Uint8Array(kept + size);
  out.set(avif.subarray(0, kept), 0);
  const last = top[keep - 1];
  if (last.toEnd) {
    const length = kept - last.start;
    if (length > 0xffffffff) throw new AvifFormatError(`its last box (${last.type}) runs to the end of the file and is too long to be given a 32-bit size`);
    writeU32(out, last.start, length);
  }
  writeU32(out, kept, size);
  writeFourcc(out, kept + 4, 'uuid');
  out.set(IRN_AVIF_UUID, kept + 8);
  out.set(payload, kept + 24);
  return out;
}

function isIrnBox(box: Box): boolean {
  return box.uuid != null && IRN_AVIF_UUID.every((b, i) => box.uuid![i] === b);
}

/**
 * The boxes in `bytes[start, end)`, each checked to lie within that range. Sizes: 32-bit;
 * 1 = a 64-bit size follows; 0 = to the end of the range (ISO 14496-12 allows it for the
 * last box of the file; accepted at any level, as libavif does).
 */
function readBoxes(bytes: Uint8Array, start: number, end: number, depth: number, counter: { boxes: number }): Box[] {
  if (depth > MAX_DEPTH) throw new AvifFormatError(`its boxes nest more than ${MAX_DEPTH} deep`);
  const boxes: Box[] = [];
  for (let at = start; at < end; ) {
    if (++counter.boxes > MAX_BOXES) throw new AvifFormatError(`it has more than ${MAX_BOXES} boxes`);
    if (end - at < 8) throw new AvifFormatError(`a box header at byte ${at} is cut short`);
    const type = fourcc(bytes, at + 4);
    let header = 8;
    let size = u32(bytes, at);
    const toEnd = size === 0;
    if (size === 1) {
      if (end - at < 16) throw new AvifFormatError(`the 64-bit size of the "${printable(type)}" box at byte ${at} is cut short`);
      // Exact below 2^53; anything above is more than any file has, and compares so.
      size = u32(bytes, at + 8) * 2 ** 32 + u32(bytes, at + 12);
      header = 16;
    } else if (toEnd) {
      size = end - at;
    }
    if (type === 'uuid') header += 16;
    if (size < header) throw new AvifFormatError(`the "${printable(type)}" box at byte ${at} claims ${size} bytes, fewer than its ${header}-byte header`);
    // Compared without adding to `at` first: a size near 2^64 must not round anything.
    if (size > end - at) {
      throw new AvifFormatError(`the "${printable(type)}" box at byte ${at} claims ${size} bytes, more than the ${end - at} left in the file`);
    }
    boxes.push({
      type,
      start: at,
      toEnd,
      uuid: type === 'uuid' ? bytes.subarray(at + header - 16, at + header) : null,
      data: bytes.subarray(at + header, at + size),
    });
    at += size;
  }
  return boxes;
}

/** Where the children of a full box (version and flags first) start in its payload. */
function fullBoxBody(box: Box, name: string): number {
  if (box.data.length < 4) throw new AvifFormatError(`its ${name} box is cut short`);
  return 4;
}

/**
 * Item -> 1-based indices of its properties in `ipco`, from the `ipma` boxes. Every count
 * is checked against the bytes of the box before it is used.
 */
function readAssociations(ipmas: Box[]): Map<number, number[]> {
  const map = new Map<number, number[]>();
  for (const box of ipmas) {
    const d = box.data;
    if (d.length < 8) throw new AvifFormatError(`its ipma box has ${d.length} bytes, too few for any association`);
    const version = d[0];
    if (version > 1) throw new AvifFormatError(`its ipma box has version ${version}, not 0 or 1`);
    const wide = (d[3] & 1) === 1;
    const idBytes = version < 1 ? 2 : 4;
    const indexBytes = wide ? 2 : 1;
    const entries = u32(d, 4);
    // Each entry has at least an item ID and a count.
    if (entries > (d.length - 8) / (idBytes + 1)) throw new AvifFormatError(`its ipma box claims ${entries} entries, more than its ${d.length} bytes hold`);
    let at = 8;
    for (let e = 0; e < entries; e++) {
      if (d.length - at < idBytes + 1) throw new AvifFormatError('its ipma box is cut short');
      const item = idBytes === 2 ? u16(d, at) : u32(d, at);
      const count = d[at + idBytes];
      at += idBytes + 1;
      if (d.length - at < count * indexBytes) throw new AvifFormatError('its ipma box is cut short');
      const props = map.get(item) ?? [];
      for (let i = 0; i < count; i++, at += indexBytes) props.push(wide ? u16(d, at) & 0x7fff : d[at] & 0x7f);
      map.set(item, props);
    }
  }
  return map;
}

/** The `aux_type` URN of an `auxC` property (full box, then a NUL-terminated string). */
function auxType(box: Box): string {
  const d = box.data;
  const nul = d.indexOf(0, 4);
  return String.fromCharCode(...d.subarray(4, nul < 0 ? Math.min(d.length, 4 + 64) : Math.min(nul, 4 + 64)));
}

function u16(bytes: Uint8Array, at: number): number {
  return (bytes[at] << 8) | bytes[at + 1];
}

const u32 = readU32BE;
const writeU32 = writeU32BE;

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

function writeFourcc(bytes: Uint8Array, at: number, id: string): void {
  for (let i = 0; i < 4; i++) bytes[at + i] = id.charCodeAt(i);
}

/** A box type from a file, safe to print (no control characters reach a terminal). */
function printable(id: string): string {
  return id.replace(/[^\x20-\x7e]/g, '?');
}
