// AVIF (ISOBMFF) files built box by box, for the tests of the AVIF container reader
// (core's avif-container_test, @irn/cli's lr-codecs_test and CLI tests, the browser's
// avif-lr.test): the boxes libavif writes for a still image, with the sizes, brands and
// properties each test needs, and no AV1 data (so no decoder ever gets far with them).
// Not part of any build (tsconfig.build excludes src/testing).

import { concatBytes } from './fixtures.js';

/** A box: `type`, then `parts` concatenated, its 32-bit size filled in. */
export function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const length = 8 + parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(length);
  new DataView(out.buffer).setUint32(0, length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let at = 8;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A full box: version and 24-bit flags, then `parts`. */
export function fullBox(type: string, version: number, flags: number, ...parts: Uint8Array[]): Uint8Array {
  return box(type, Uint8Array.of(version, flags >> 16, (flags >> 8) & 0xff, flags & 0xff), ...parts);
}

/** Big-endian 32-bit integers. */
export function u32s(...values: number[]): Uint8Array {
  const out = new Uint8Array(4 * values.length);
  values.forEach((v, i) => new DataView(out.buffer).setUint32(4 * i, v));
  return out;
}

/** ASCII bytes. */
export function ascii(text: string): Uint8Array {
  return Uint8Array.from(text, (c) => c.charCodeAt(0));
}

/** Options of {@link avifFile}. */
export interface AvifFileOptions {
  /** Size in the primary image's `ispe` (default 12 x 10). */
  width?: number;
  height?: number;
  /** Major brand and compatible brands of the `ftyp` (default `avif`, [`avif`, `mif1`, `miaf`]). */
  major?: string;
  brands?: string[];
  /** An alpha auxiliary image (item 2) beside the primary (item 1). */
  alpha?: boolean;
  /** Size in the alpha item's own `ispe` (default the primary's). */
  alphaSize?: [number, number];
  /** The item ID `pitm` names as primary (default 1). */
  primary?: number;
  /** Boxes after `mdat` (e.g. IRN's `uuid` box). */
  trailing?: Uint8Array[];
  /** Bytes of the `mdat` payload (default 16 zeros). */
  mdat?: Uint8Array;
}

/**
 * An AVIF file shaped as libavif writes one: `ftyp`, `meta` (`hdlr` pict, `pitm`, `iinf`,
 * `iprp` > `ipco` (`ispe`, `av1C`, and `auxC` alpha when asked) + `ipma`), `mdat`.
 */
export function avifFile(options: AvifFileOptions = {}): Uint8Array {
  const { width = 12, height = 10, major = 'avif', brands = ['avif', 'mif1', 'miaf'], alpha = false, primary = 1 } = options;
  const [alphaWidth, alphaHeight] = options.alphaSize ?? [width, height];
  const ftyp = box('ftyp', ascii(major), u32s(0), ...brands.map(ascii));
  const hdlr = fullBox('hdlr', 0, 0, u32s(0), ascii('pict'), u32s(0, 0, 0), Uint8Array.of(0));
  const pitm = fullBox('pitm', 0, 0, Uint8Array.of(primary >> 8, primary & 0xff));
  const infe = (id: number) => fullBox('infe', 2, 0, Uint8Array.of(0, id, 0, 0), ascii('av01'), Uint8Array.of(0));
  const iinf = fullBox('iinf', 0, 0, Uint8Array.of(0, alpha ? 2 : 1), infe(1), ...(alpha ? [infe(2)] : []));
  const ispe = fullBox('ispe', 0, 0, u32s(width, height));
  const av1C = box('av1C', Uint8Array.of(0x81, 0, 0x0c, 0));
  const auxC = fullBox('auxC', 0, 0, ascii('urn:mpeg:mpegB:cicp:systems:auxiliary:alpha'), Uint8Array.of(0));
  const alphaIspe = fullBox('ispe', 0, 0, u32s(alphaWidth, alphaHeight));
  const ipco = box('ipco', ispe, av1C, ...(alpha ? [auxC, alphaIspe] : []));
  // Item 1: ispe (1), av1C (2, essential); alpha item 2: its ispe (4), av1C, auxC (3).
  const entries = [Uint8Array.of(0, 1, 2, 0x01, 0x82)];
  if (alpha) entries.push(Uint8Array.of(0, 2, 3, 0x04, 0x82, 0x03));
  const ipma = fullBox('ipma', 0, 0, u32s(entries.length), ...entries);
  const meta = fullBox('meta', 0, 0, hdlr, pitm, iinf, box('iprp', ipco, ipma));
  return concat(ftyp, meta, box('mdat', options.mdat ?? new Uint8Array(16)), ...(options.trailing ?? []));
}

/** `parts` end to end (fixtures.ts's concatBytes). */
export const concat = concatBytes;
