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
 * input), and anything malformed is refused with one {@link AvifFormatError} line. The size
 * it reports is checked against the AV1 sequence header in the image data, which is what
 * decoders allocate by (see {@link readAvifInfo}).
 */

import { printable, readU32BE, writeU32BE } from './bytes.js';
import type { RasterImage } from './raster.js';

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
  /**
   * The transformations a viewer applies to the primary image, in this order (HEIF 6.5.10-12;
   * browsers do): `crop` when it has a clean aperture (`clap`), then `rotate` quarter turns
   * anticlockwise (`irot`), then `mirror` (`imir` axis 0: top and bottom exchanged; 1: left
   * and right). Absent when it has none (`irn downscale` writes none).
   */
  transform?: { crop: boolean; rotate: 0 | 1 | 2 | 3; mirror: 0 | 1 | null };
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
 *
 * A decoder allocates what the AV1 data says, not what `ispe` says, so the size is vouched
 * for: the sequence header OBU in the data of the primary image and of its alpha image
 * (found through `iinf` and `iloc`) must allow no frame larger than `ispe`. Otherwise a
 * 1.5 kB file whose `ispe` says 20x20 decodes an 8000x8000 frame (hundreds of MB) before
 * the decoded size can be compared with anything. A grid image (tiles, as cameras and
 * libavif store large photos) is checked tile by tile, each against its own `ispe`, and the
 * tiles against the grid's size (see {@link checkGrid}).
 * @throws AvifFormatError when the bytes are not an AVIF file, are cut short, claim boxes
 *   larger than the file, nest too deep or hold too many boxes, or lack the primary image's
 *   size; when an image to decode is not an AV1 item (`av01`) or a grid of them, or its data
 *   is missing, outside the file, malformed, without a sequence header, or allows frames
 *   larger than `ispe`; when a grid is larger than `ispe`, has more than 4096 tiles, tiles of
 *   different sizes or more than twice its size, or tiles that do not cover it or leave a
 *   spare row or column.
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
  // A grid (HEIF's derived image of tiles: how cameras and libavif store large photos) is
  // decoded tile by tile: each tile is checked against its own ispe, and the tiles against
  // the grid's size.
  const types = readItemTypes(metaBoxes, counter);
  const tiles = readTileReferences(metaBoxes, counter);
  const alphaCandidates = [...associations.entries()]
    .filter(([item, props]) => item !== primary && props.some((i) => properties[i - 1]?.type === 'auxC' && ALPHA_URNS.includes(auxType(properties[i - 1]))))
    .map(([item]) => item);
  // The tiles of an alpha grid carry the alpha property too; they are checked as its tiles.
  // Only as those: a tile of any other grid that calls itself alpha is checked as an image.
  const alphaGrids = alphaCandidates.filter((item) => types.get(item) === 'grid');
  const alphaTiles = new Set(alphaGrids.flatMap((item) => tiles.get(item) ?? []));
  const alphaItems = alphaCandidates.filter((item) => !alphaTiles.has(item) || alphaGrids.includes(item));
  // The size checked against a pixel limit is ispe's; the decoder allocates what the AV1
  // data says. So every image a decoder will decode (the primary, its alpha) must fit in it.
  if (alphaItems.length > MAX_ALPHA_ITEMS) throw new AvifFormatError(`it has ${alphaItems.length} alpha images, more than ${MAX_ALPHA_ITEMS}`);
  const idat = metaBoxes.find((b) => b.type === 'idat')?.data ?? null;
  const decoded = [primary, ...alphaItems];
  const wanted = [...decoded, ...decoded.flatMap((item) => (types.get(item) === 'grid' ? (tiles.get(item) ?? []) : []))];
  const locations = readItemLocations(metaBoxes, wanted, bytes, idat);
  const ispeOf = (item: number): { width: number; height: number } | null => {
    const box = (associations.get(item) ?? []).map((i) => properties[i - 1]).find((p) => p?.type === 'ispe');
    if (box == null) return null;
    if (box.data.length < 12) throw new AvifFormatError(`the ispe property of item ${item} has ${box.data.length} bytes, not 12`);
    return { width: u32(box.data, 4), height: u32(box.data, 8) };
  };
  const file: ImageItems = { types, locations, tiles, ispeOf, bytes, idat };
  for (const item of decoded) {
    const name = item === primary ? `its primary image (item ${item})` : `its alpha image (item ${item})`;
    if (types.get(item) === 'grid') checkGrid(file, item, name, width, height);
    else checkAv1Item(file, item, name, item === primary ? 'its AV1 sequence header' : `the AV1 sequence header of its alpha image (item ${item})`, width, height);
  }
  const ours = top.find(isIrnBox);
  const info: AvifInfo = { width, height, alpha: alphaItems.length > 0, irn: ours == null ? null : ours.data };
  const shown = own.map((i) => properties[i - 1]).filter((p) => p?.type === 'clap' || p?.type === 'irot' || p?.type === 'imir');
  if (shown.length > 0) {
    const irot = shown.find((p) => p.type === 'irot');
    const imir = shown.find((p) => p.type === 'imir');
    if ((irot != null && irot.data.length < 1) || (imir != null && imir.data.length < 1)) throw new AvifFormatError('its irot or imir property is empty');
    info.transform = {
      crop: shown.some((p) => p.type === 'clap'),
      rotate: irot == null ? 0 : ((irot.data[0] & 3) as 0 | 1 | 2 | 3),
      mirror: imir == null ? null : ((imir.data[0] & 1) as 0 | 1),
    };
  }
  return info;
}

/** What the checks of the images a decoder decodes need from the file. */
interface ImageItems {
  types: Map<number, string>;
  locations: Map<number, ItemLocation>;
  /** Grid item -> its tiles, in order (the `dimg` references of `iref`). */
  tiles: Map<number, number[]>;
  /** An item's `ispe` size, or null when it has none. */
  ispeOf: (item: number) => { width: number; height: number } | null;
  bytes: Uint8Array;
  idat: Uint8Array | null;
}

/** Most tiles of a grid read (a 12,000x9,000 photo in 512x512 tiles has 432). */
const MAX_TILES = 4096;

/**
 * Checks that the AV1 image `item` decodes to no frame larger than `width` x `height`.
 * @param whose how the message names its sequence header.
 */
function checkAv1Item(file: ImageItems, item: number, name: string, whose: string, width: number, height: number): void {
  const type = file.types.get(item);
  if (type !== 'av01') {
    throw new AvifFormatError(`${name} is ${type == null ? 'not described (no infe entry in iinf)' : `a "${printable(type)}" item, not an AV1 image (av01) or a grid of them`}`);
  }
  const location = file.locations.get(item);
  if (location == null) throw new AvifFormatError(`${name} has no data (no entry in iloc)`);
  const frame = readSequenceHeaderSize(itemData(file.bytes, file.idat, location, name), name);
  if (frame.width > width || frame.height > height) {
    throw new AvifFormatError(`${whose} says ${frame.width}x${frame.height}, its ispe box ${width}x${height}: its frames may be larger than the size it claims`);
  }
  if (frame.sizeBits != null && (frame.sizeBits[0] > bitsFor(width) || frame.sizeBits[1] > bitsFor(height))) {
    // Without a reduced still picture header, a frame header may override the size with
    // a frame_width_bits-bit one (dav1d does not hold it to the maximum; libaom does).
    const [w, h] = frame.sizeBits;
    throw new AvifFormatError(`the AV1 sequence header of ${name} lets a frame be up to ${2 ** w}x${2 ** h} (${w}- and ${h}-bit sizes), more than its ispe box ${width}x${height} needs`);
  }
}

/**
 * Checks a grid image (HEIF 6.6.2.3: rows x columns of tiles of one size, cropped to the
 * output size) so that decoding it allocates about what its `ispe` says: the output size is
 * at most `ispe`, every tile is an AV1 image of the same size whose frames fit that size, and
 * the tiles cover the output without a spare row or column (libavif's rule) and are at most
 * twice its size (64 pixels for tiny grids), so that they hold at most 4x (and for tiny grids
 * a few 64x64 tiles) what the grid shows.
 */
function checkGrid(file: ImageItems, item: number, name: string, width: number, height: number): void {
  const location = file.locations.get(item);
  if (location == null) throw new AvifFormatError(`${name} (a grid) has no data (no entry in iloc)`);
  const data = new ItemData(file.idat != null && location.inIdat ? file.idat : file.bytes, location.extents, `the grid description of ${name}`);
  const version = data.byte();
  const flags = data.byte();
  if (version !== 0) throw new AvifFormatError(`the grid description of ${name} has version ${version}, not 0`);
  const rows = data.byte() + 1;
  const columns = data.byte() + 1;
  const field = () => ((flags & 1) === 1 ? ((data.byte() << 24) | (data.byte() << 16) | (data.byte() << 8) | data.byte()) >>> 0 : (data.byte() << 8) | data.byte());
  const outWidth = field();
  const outHeight = field();
  if (outWidth === 0 || outHeight === 0 || outWidth > width || outHeight > height) {
    throw new AvifFormatError(`${name} is a grid of ${outWidth}x${outHeight} pixels, its ispe box says ${width}x${height}`);
  }
  if (rows * columns > MAX_TILES) throw new AvifFormatError(`${name} is a grid of ${rows}x${columns} tiles, more than ${MAX_TILES}`);
  const tiles = file.tiles.get(item) ?? [];
  if (tiles.length !== rows * columns) {
    throw new AvifFormatError(`${name} is a grid of ${rows}x${columns} tiles, and its iref box names ${tiles.length}`);
  }
  const first = file.ispeOf(tiles[0]);
  if (first == null || first.width === 0 || first.height === 0) throw new AvifFormatError(`the tile (item ${tiles[0]}) of ${name} has no size (no ispe property)`);
  const { width: tw, height: th } = first;
  if (tw * columns < outWidth || tw * (columns - 1) >= outWidth || th * rows < outHeight || th * (rows - 1) >= outHeight) {
    throw new AvifFormatError(`${name} is a grid of ${rows}x${columns} tiles of ${tw}x${th}, which do not tile ${outWidth}x${outHeight} (too few, or a spare row or column)`);
  }
  // libavif's rule above leaves a single column's (or row's) tile unbounded: a 1x1 grid of
  // 10x10 pixels may hold a 60000x60000 tile. Cropping a tile by more than half is no use.
  if (tw > Math.max(2 * outWidth, 64) || th > Math.max(2 * outHeight, 64)) {
    throw new AvifFormatError(`${name} is a grid of ${outWidth}x${outHeight} pixels with tiles of ${tw}x${th}, more than twice its size`);
  }
  for (const tile of tiles) {
    const size = file.ispeOf(tile);
    if (size == null || size.width !== tw || size.height !== th) {
      throw new AvifFormatError(`the tiles of ${name} differ in size (item ${tile}: ${size == null ? 'no ispe property' : `${size.width}x${size.height}`}, item ${tiles[0]}: ${tw}x${th})`);
    }
    checkAv1Item(file, tile, `the tile (item ${tile}) of ${name}`, `the AV1 sequence header of the tile (item ${tile}) of ${name}`, tw, th);
  }
}

/**
 * Grid item -> the items it is derived from, in order: the `dimg` references of `iref`
 * (ISO 14496-12 8.11.12; version 0, 16-bit item IDs, or 1, 32-bit). Counts are checked
 * against the bytes there are.
 */
function readTileReferences(metaBoxes: Box[], counter: { boxes: number }): Map<number, number[]> {
  const refs = new Map<number, number[]>();
  const iref = metaBoxes.find((b) => b.type === 'iref');
  if (iref == null) return refs;
  const version = iref.data.length >= 4 ? iref.data[0] : -1;
  if (version < 0 || version > 1) throw new AvifFormatError(`its iref box (${iref.data.length} bytes, version ${version}) is malformed`);
  const idBytes = version === 0 ? 2 : 4;
  const id = (d: Uint8Array, at: number) => (idBytes === 2 ? u16(d, at) : u32(d, at));
  for (const ref of readBoxes(iref.data, 4, iref.data.length, 2, counter)) {
    if (ref.type !== 'dimg') continue;
    const d = ref.data;
    if (d.length < idBytes + 2) throw new AvifFormatError('a dimg reference in its iref box is cut short');
    const from = id(d, 0);
    const count = u16(d, idBytes);
    if (d.length < idBytes + 2 + count * idBytes) throw new AvifFormatError(`the dimg reference of item ${from} claims ${count} items, more than its ${d.length} bytes hold`);
    if (refs.has(from)) throw new AvifFormatError(`item ${from} has two dimg references in its iref box`);
    refs.set(from, Array.from({ length: count }, (_, i) => id(d, idBytes + 2 + i * idBytes)));
  }
  return refs;
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

/** Item ID -> item type (`av01`, `grid`, `Exif`...), from the `infe` entries (version 2 or 3) of `iinf`. */
function readItemTypes(metaBoxes: Box[], counter: { boxes: number }): Map<number, string> {
  const types = new Map<number, string>();
  const iinf = metaBoxes.find((b) => b.type === 'iinf');
  if (iinf == null) return types;
  const d = iinf.data;
  const version = d.length > 0 ? d[0] : -1;
  if (version < 0 || version > 1) throw new AvifFormatError(`its iinf box (${d.length} bytes, version ${version}) is malformed`);
  const body = version === 0 ? 6 : 8;
  if (d.length < body) throw new AvifFormatError('its iinf box is cut short');
  for (const infe of readBoxes(d, body, d.length, 2, counter)) {
    if (infe.type !== 'infe') continue;
    const e = infe.data;
    // Versions 0 and 1 have no item type (they describe files, not images).
    if (e.length < 4 || e[0] < 2 || e[0] > 3) continue;
    const idBytes = e[0] === 2 ? 2 : 4;
    if (e.length < 4 + idBytes + 2 + 4) throw new AvifFormatError(`its infe box (${e.length} bytes, version ${e[0]}) is malformed`);
    const item = idBytes === 2 ? u16(e, 4) : u32(e, 4);
    if (!types.has(item)) types.set(item, fourcc(e, 4 + idBytes + 2));
  }
  return types;
}

/** Where an item's data is: in the file (`iloc` construction method 0) or in `idat` (1), as [start, end) extents. */
interface ItemLocation {
  inIdat: boolean;
  extents: Array<[number, number]>;
}

/**
 * Item ID -> where its data is, for the items `wanted`, from `iloc`. Only the wanted items'
 * extents are read (an entry can list 65,535 extents in no bytes at all when its offset and
 * length sizes are 0); the others are skipped by arithmetic. Every extent is checked to lie
 * within the bytes it points into (the file, or `idat`), so the data can be read in place.
 */
function readItemLocations(metaBoxes: Box[], wantedItems: number[], file: Uint8Array, idat: Uint8Array | null): Map<number, ItemLocation> {
  const wanted = new Set(wantedItems);
  const iloc = metaBoxes.find((b) => b.type === 'iloc');
  if (iloc == null) throw new AvifFormatError('it says nowhere where its images are (no iloc box)');
  const d = iloc.data;
  const cut = () => new AvifFormatError('its iloc box is cut short');
  if (d.length < 8) throw cut();
  const version = d[0];
  if (version > 2) throw new AvifFormatError(`its iloc box has version ${version}, not 0, 1 or 2`);
  const offsetSize = d[4] >> 4;
  const lengthSize = d[4] & 15;
  const baseOffsetSize = d[5] >> 4;
  const indexSize = version === 0 ? 0 : d[5] & 15;
  for (const size of [offsetSize, lengthSize, baseOffsetSize, indexSize]) {
    if (size !== 0 && size !== 4 && size !== 8) throw new AvifFormatError(`its iloc box has a field of ${size} bytes, not 0, 4 or 8`);
  }
  const idBytes = version < 2 ? 2 : 4;
  let at = 6;
  if (d.length - at < idBytes) throw cut();
  const count = idBytes === 2 ? u16(d, at) : u32(d, at);
  at += idBytes;
  const extentBytes = indexSize + offsetSize + lengthSize;
  const found = new Map<number, ItemLocation>();
  for (let i = 0; i < count && found.size < wanted.size; i++) {
    const head = idBytes + (version === 0 ? 0 : 2) + 2 + baseOffsetSize + 2;
    if (d.length - at < head) throw cut();
    const item = idBytes === 2 ? u16(d, at) : u32(d, at);
    const method = version === 0 ? 0 : d[at + idBytes + 1] & 15;
    const dataReference = u16(d, at + head - baseOffsetSize - 4);
    const base = uint(d, at + head - baseOffsetSize - 2, baseOffsetSize);
    const extents = u16(d, at + head - 2);
    at += head;
    if (d.length - at < extents * extentBytes) throw cut();
    if (!wanted.has(item) || found.has(item)) {
      at += extents * extentBytes;
      continue;
    }
    const name = `item ${item}`;
    if (method > 1) throw new AvifFormatError(`the data of ${name} is built by iloc construction method ${method}, which is not read (only 0, in the file, and 1, in idat)`);
    if (dataReference !== 0) throw new AvifFormatError(`the data of ${name} is in another file (iloc data reference ${dataReference})`);
    const source = method === 1 ? idat : file;
    if (source == null) throw new AvifFormatError(`the data of ${name} is in an idat box, and it has none`);
    const where = method === 1 ? 'idat box' : 'file';
    const list: Array<[number, number]> = [];
    for (let e = 0; e < extents; e++, at += extentBytes) {
      const start = base + uint(d, at + indexSize, offsetSize);
      // Length 0: the rest of the data the offset points into.
      const length = lengthSize === 0 ? 0 : uint(d, at + indexSize + offsetSize, lengthSize);
      if (start > source.length || length > source.length - start) {
        throw new AvifFormatError(`the data of ${name} (iloc extent at ${start}, ${length} bytes) lies outside the ${source.length}-byte ${where}`);
      }
      list.push([start, length === 0 ? source.length : start + length]);
    }
    found.set(item, { inIdat: method === 1, extents: list });
  }
  return found;
}

/** The unsigned big-endian integer of `size` (0, 4 or 8) bytes at `at`; above 2^53 it is inexact, and larger than any file. */
function uint(bytes: Uint8Array, at: number, size: number): number {
  if (size === 0) return 0;
  if (size === 4) return u32(bytes, at);
  return u32(bytes, at) * 2 ** 32 + u32(bytes, at + 4);
}

/**
 * An item's data, read byte by byte across its extents, in place (nothing is copied or
 * allocated for its length). Reading past its end throws "`what` is cut short".
 */
class ItemData {
  /** Bytes left to read. */
  left: number;
  private extent = 0;
  private at: number;

  constructor(
    private readonly source: Uint8Array,
    private readonly extents: Array<[number, number]>,
    readonly what: string,
  ) {
    this.left = extents.reduce((n, [start, end]) => n + end - start, 0);
    this.at = extents.length > 0 ? extents[0][0] : 0;
  }

  byte(): number {
    if (this.left === 0) throw new AvifFormatError(`${this.what} is cut short`);
    while (this.at === this.extents[this.extent][1]) this.at = this.extents[++this.extent][0];
    this.left--;
    return this.source[this.at++];
  }

  skip(count: number): void {
    if (count > this.left) throw new AvifFormatError(`${this.what} is cut short`);
    this.left -= count;
    while (count > 0) {
      const [, end] = this.extents[this.extent];
      const step = Math.min(count, end - this.at);
      this.at += step;
      count -= step;
      if (count > 0) this.at = this.extents[++this.extent][0];
    }
  }
}

/** Most OBUs read from one item: a still image has a few (temporal delimiter, sequence header, frame, perhaps metadata and tile groups). */
const MAX_OBUS = 10_000;
/** Most alpha images read (libavif writes one). */
const MAX_ALPHA_ITEMS = 16;
const OBU_SEQUENCE_HEADER = 1;
const OBU_FRAME_HEADER = 3;
const OBU_TILE_GROUP = 4;
const OBU_FRAME = 6;

/** The data of `location`, to read (see {@link ItemData}). */
function itemData(file: Uint8Array, idat: Uint8Array | null, location: ItemLocation, name: string): ItemData {
  return new ItemData(location.inIdat ? idat! : file, location.extents, `the AV1 data of ${name}`);
}

/** What an AV1 sequence header allows: the largest frame, and (without a reduced still picture header) the bits of a frame size a frame header may override it with. */
interface FrameBound {
  width: number;
  height: number;
  sizeBits: [number, number] | null;
}

/**
 * The largest frame the sequence header OBUs in `data` allow (AV1 5.3: OBU headers with
 * leb128 sizes; 5.5.1: sequence_header_obu, up to max_frame_height_minus_1). An AV1 image
 * item's data is OBUs, a sequence header first: libavif's `av1C` carries no copy of it, and
 * decoders read this one. Every sequence header is read (a later one would replace the
 * first), up to {@link MAX_OBUS} OBUs.
 * @throws AvifFormatError when the data is cut short, malformed, has a frame before a
 *   sequence header, or has none.
 */
function readSequenceHeaderSize(data: ItemData, name: string): FrameBound {
  const what = data.what;
  let bound: FrameBound | null = null;
  for (let obus = 0; data.left > 0; obus++) {
    if (obus === MAX_OBUS) throw new AvifFormatError(`${what} has more than ${MAX_OBUS} OBUs`);
    const header = data.byte();
    if ((header & 0x80) !== 0) throw new AvifFormatError(`${what} has an OBU header with its forbidden bit set`);
    const type = (header >> 3) & 15;
    if ((header & 4) !== 0) data.byte();
    const size = (header & 2) !== 0 ? leb128(data) : data.left;
    if (size > data.left) throw new AvifFormatError(`${what} has an OBU of ${size} bytes, more than the ${data.left} left`);
    const next = data.left - size;
    if (type === OBU_SEQUENCE_HEADER) {
      const seq = readSequenceHeader(new Bits(data, size, `the AV1 sequence header of ${name}`));
      bound = bound == null ? seq : larger(bound, seq);
    } else if (bound == null && (type === OBU_FRAME_HEADER || type === OBU_FRAME || type === OBU_TILE_GROUP)) {
      throw new AvifFormatError(`${what} has a frame before any sequence header`);
    }
    data.skip(data.left - next);
  }
  if (bound == null) throw new AvifFormatError(`${what} has no sequence header OBU`);
  return bound;
}

/** What two sequence headers allow together. */
function larger(a: FrameBound, b: FrameBound): FrameBound {
  const bits = (i: number) => Math.max(a.sizeBits?.[i] ?? 0, b.sizeBits?.[i] ?? 0);
  return {
    width: Math.max(a.width, b.width),
    height: Math.max(a.height, b.height),
    sizeBits: a.sizeBits == null && b.sizeBits == null ? null : [bits(0), bits(1)],
  };
}

/** An OBU size (AV1 4.10.5): at most 8 bytes, at most 2^32 - 1. */
function leb128(data: ItemData): number {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = data.byte();
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) {
      if (value > 0xffffffff) break;
      return value;
    }
  }
  throw new AvifFormatError(`${data.what} has a malformed OBU size (leb128)`);
}

/** The bits of one OBU's payload, most significant first (AV1 4.10.2 f(n)). */
class Bits {
  private byte = 0;
  private bits = 0;

  constructor(
    private readonly data: ItemData,
    private bytes: number,
    readonly what: string,
  ) {}

  /** The next `n` bits (n <= 32) as an unsigned number. */
  read(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      if (this.bits === 0) {
        if (this.bytes === 0) throw new AvifFormatError(`${this.what} is cut short`);
        this.bytes--;
        this.byte = this.data.byte();
        this.bits = 8;
      }
      this.bits--;
      value = value * 2 + ((this.byte >> this.bits) & 1);
    }
    return value;
  }

  /**
   * uvlc() (AV1 4.10.3). Refused from 31 leading zeros: conformant values have fewer, and
   * decoders part ways there (libaom stops at 32 zeros, dav1d at 31), so what follows
   * would be read differently.
   */
  uvlc(field: string): number {
    let zeros = 0;
    while (this.read(1) === 0) {
      if (++zeros === 31) throw new AvifFormatError(`${this.what} has a malformed ${field} (uvlc)`);
    }
    return this.read(zeros) + 2 ** zeros - 1;
  }
}

/**
 * sequence_header_obu() (AV1 5.5.1) up to the largest frame size: reduced still picture
 * headers, and full ones with timing_info, decoder_model_info and operating points.
 */
function readSequenceHeader(bits: Bits): FrameBound {
  bits.read(3); // seq_profile
  bits.read(1); // still_picture
  const reduced = bits.read(1) === 1;
  if (reduced) {
    bits.read(5); // seq_level_idx[0]
  } else {
    let decoderModel = false;
    let bufferDelayBits = 0;
    if (bits.read(1) === 1) {
      // timing_info()
      bits.read(32); // num_units_in_display_tick
      bits.read(32); // time_scale
      if (bits.read(1) === 1) bits.uvlc('num_ticks_per_picture_minus_1');
      decoderModel = bits.read(1) === 1;
      if (decoderModel) {
        // decoder_model_info()
        bufferDelayBits = bits.read(5) + 1;
        bits.read(32); // num_units_in_decoding_tick
        bits.read(5); // buffer_removal_time_length_minus_1
        bits.read(5); // frame_presentation_time_length_minus_1
      }
    }
    const initialDisplayDelay = bits.read(1) === 1;
    const operatingPoints = bits.read(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      bits.read(12); // operating_point_idc
      if (bits.read(5) > 7) bits.read(1); // seq_level_idx, seq_tier
      if (decoderModel && bits.read(1) === 1) {
        // operating_parameters_info(): decoder_buffer_delay, encoder_buffer_delay, low_delay_mode_flag
        bits.read(bufferDelayBits);
        bits.read(bufferDelayBits);
        bits.read(1);
      }
      if (initialDisplayDelay && bits.read(1) === 1) bits.read(4); // initial_display_delay_minus_1
    }
  }
  const widthBits = bits.read(4) + 1;
  const heightBits = bits.read(4) + 1;
  const width = bits.read(widthBits) + 1;
  const height = bits.read(heightBits) + 1;
  return { width, height, sizeBits: reduced ? null : [widthBits, heightBits] };
}

/** The bits of a frame size up to `size` (libaom's num_bits_width: at least 1). */
function bitsFor(size: number): number {
  return size <= 1 ? 1 : 32 - Math.clz32(size - 1);
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

/**
 * The primary image as a viewer shows it: `raster` (as a decoder such as libavif returns it,
 * untransformed) turned `transform.rotate` quarter turns anticlockwise, then mirrored
 * (`transform.mirror` 0: top and bottom exchanged, 1: left and right), as browsers show AVIF
 * files. Returns `raster` itself when there is nothing to do.
 * @throws AvifFormatError when the file is cropped by a clean aperture (`clap`), which this
 *   does not apply (a cropped photo would come out with edges the viewer never showed).
 */
export function applyAvifTransform(raster: RasterImage, transform: AvifInfo['transform']): RasterImage {
  if (transform == null) return raster;
  if (transform.crop) throw new AvifFormatError('it is cropped by a clean aperture (clap box), which is not applied here: crop and save it without one');
  const { rotate, mirror } = transform;
  if (rotate === 0 && mirror == null) return raster;
  const { width: w, height: h, channels: c, data } = raster;
  const width = rotate % 2 === 1 ? h : w;
  const height = rotate % 2 === 1 ? w : h;
  const out = new Float32Array(data.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // Undo the mirror, then the rotation: (rx, ry) in the rotated image, (sx, sy) stored.
      const rx = mirror === 1 ? width - 1 - x : x;
      const ry = mirror === 0 ? height - 1 - y : y;
      const [sx, sy] = rotate === 0 ? [rx, ry] : rotate === 1 ? [w - 1 - ry, rx] : rotate === 2 ? [w - 1 - rx, h - 1 - ry] : [ry, h - 1 - rx];
      const from = (sy * w + sx) * c;
      const to = (y * width + x) * c;
      for (let k = 0; k < c; k++) out[to + k] = data[from + k];
    }
  }
  return { width, height, channels: c, data: out };
}
