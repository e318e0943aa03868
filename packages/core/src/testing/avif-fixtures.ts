// AVIF (ISOBMFF) files built box by box, for the tests of the AVIF container reader
// (core's avif-container_test, @irn/cli's lr-codecs_test and CLI tests, the browser's
// avif-lr.test): the boxes libavif writes for a still image, with the sizes, brands and
// properties each test needs, and AV1 data that is only a sequence header (so no decoder
// ever gets far with them).
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
  /**
   * The data of item 1 (the primary unless `primary` says otherwise) in `mdat`, located by
   * `iloc` (default {@link av1ItemData} of its `ispe` size: no frame).
   */
  av1?: Uint8Array;
  /** The data of the alpha item 2 (default {@link av1ItemData} of its `ispe` size). */
  alphaAv1?: Uint8Array;
  /** Each item's data in an `idat` box in `meta` (iloc version 1, construction method 1), not in `mdat`. */
  idat?: boolean;
  /** Each item's data cut into this many extents, stored last piece first (default 1). */
  extents?: number;
}

/**
 * An AVIF file shaped as libavif writes one: `ftyp`, `meta` (`hdlr` pict, `pitm`, `iloc`,
 * `iinf`, `iprp` > `ipco` (`ispe`, `av1C`, and `auxC` alpha when asked) + `ipma`), `mdat`
 * with each item's AV1 data (a sequence header of its `ispe` size, and no frame).
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
  const data = [options.av1 ?? av1ItemData(width, height), ...(alpha ? [options.alphaAv1 ?? av1ItemData(alphaWidth, alphaHeight)] : [])];
  // Each item's extents ([position in the store, piece]), the store holding every piece in reverse.
  const count = options.extents ?? 1;
  const pieces = data.map((d) => Array.from({ length: count }, (_, k) => d.subarray(Math.floor((k * d.length) / count), Math.floor(((k + 1) * d.length) / count))));
  const stored = pieces.flat().reverse();
  const positions = new Map(stored.map((piece, i) => [piece, stored.slice(0, i).reduce((n, p) => n + p.length, 0)]));
  // The offsets in mdat depend on the size of meta, which does not depend on them.
  const iloc = (base: number) => {
    const items = pieces.map((list, i) =>
      concat(
        Uint8Array.of(0, i + 1, ...(options.idat ? [0, 1] : []), 0, 0, 0, count),
        ...list.map((piece) => u32s(base + positions.get(piece)!, piece.length)),
      ),
    );
    return fullBox('iloc', options.idat ? 1 : 0, 0, Uint8Array.of(0x44, 0, 0, data.length), ...items);
  };
  if (options.idat) {
    const meta = fullBox('meta', 0, 0, hdlr, pitm, iloc(0), iinf, box('iprp', ipco, ipma), box('idat', ...stored));
    return concat(ftyp, meta, box('mdat'), ...(options.trailing ?? []));
  }
  const meta = (mdatAt: number) => fullBox('meta', 0, 0, hdlr, pitm, iloc(mdatAt + 8), iinf, box('iprp', ipco, ipma));
  const mdatAt = ftyp.length + meta(0).length;
  return concat(ftyp, meta(mdatAt), box('mdat', ...stored), ...(options.trailing ?? []));
}

/** One AV1 OBU (AV1 5.3): its header (with an extension byte when asked), its leb128 size unless `sized` is false, `payload`. */
export function obu(type: number, payload: Uint8Array, options: { extension?: boolean; sized?: boolean } = {}): Uint8Array {
  const { extension = false, sized = true } = options;
  const size: number[] = [];
  for (let n = payload.length; ; n = Math.floor(n / 128)) {
    size.push((n & 0x7f) | (n >= 128 ? 0x80 : 0));
    if (n < 128) break;
  }
  const header = [(type << 3) | (extension ? 4 : 0) | (sized ? 2 : 0), ...(extension ? [0] : []), ...(sized ? size : [])];
  return concat(Uint8Array.from(header), payload);
}

/** Options of {@link av1SequenceHeader}. */
export interface SequenceHeaderOptions {
  /** frame_width_bits_minus_1 + 1 and frame_height_bits_minus_1 + 1 (default the fewest that hold the size, as libaom writes). */
  sizeBits?: [number, number];
  /** A full header (reduced_still_picture_header 0) with these parts; default a reduced still picture header, as libavif writes. */
  full?: {
    /** timing_info: num_ticks_per_picture_minus_1 when equal_picture_interval (uvlc), else null. */
    timing?: { ticksPerPictureMinus1: number | null };
    /** decoder_model_info (needs timing): buffer_delay_length_minus_1 + 1. */
    decoderModel?: { bufferDelayBits: number };
    initialDisplayDelay?: boolean;
    /** The operating points: seq_level_idx (a tier bit follows above 7), decoder model parameters and a display delay each. */
    operatingPoints: Array<{ level: number; decoderModel?: boolean; displayDelay?: boolean }>;
  };
}

/** A sequence header OBU (AV1 5.5.1) up to max_frame_height_minus_1, for `width` x `height` frames, then trailing bits. */
export function av1SequenceHeader(width: number, height: number, options: SequenceHeaderOptions = {}): Uint8Array {
  const bits: number[] = [];
  const put = (value: number, n: number) => {
    for (let i = n - 1; i >= 0; i--) bits.push(Math.floor(value / 2 ** i) % 2);
  };
  const fewest = (size: number) => (size <= 1 ? 1 : 32 - Math.clz32(size - 1));
  const [widthBits, heightBits] = options.sizeBits ?? [fewest(width), fewest(height)];
  const full = options.full;
  put(0, 3); // seq_profile
  put(1, 1); // still_picture
  put(full == null ? 1 : 0, 1);
  if (full == null) {
    put(0, 5); // seq_level_idx
  } else {
    put(full.timing == null ? 0 : 1, 1);
    if (full.timing != null) {
      put(1, 32);
      put(30, 32);
      const ticks = full.timing.ticksPerPictureMinus1;
      put(ticks == null ? 0 : 1, 1);
      if (ticks != null) {
        // uvlc: leadingZeros zeros, a one, then the value less 2^leadingZeros - 1 in leadingZeros bits.
        const zeros = Math.floor(Math.log2(ticks + 1));
        put(0, zeros);
        put(1, 1);
        put(ticks + 1 - 2 ** zeros, zeros);
      }
      put(full.decoderModel == null ? 0 : 1, 1);
      if (full.decoderModel != null) {
        put(full.decoderModel.bufferDelayBits - 1, 5);
        put(1000, 32);
        put(4, 5);
        put(4, 5);
      }
    }
    put(full.initialDisplayDelay ? 1 : 0, 1);
    put(full.operatingPoints.length - 1, 5);
    for (const op of full.operatingPoints) {
      put(0xfff, 12); // operating_point_idc
      put(op.level, 5);
      if (op.level > 7) put(1, 1);
      if (full.decoderModel != null) {
        put(op.decoderModel ? 1 : 0, 1);
        if (op.decoderModel) {
          put(2 ** full.decoderModel.bufferDelayBits - 1, full.decoderModel.bufferDelayBits);
          put(1, full.decoderModel.bufferDelayBits);
          put(1, 1);
        }
      }
      if (full.initialDisplayDelay) {
        put(op.displayDelay ? 1 : 0, 1);
        if (op.displayDelay) put(9, 4);
      }
    }
  }
  put(widthBits - 1, 4);
  put(heightBits - 1, 4);
  put(width - 1, widthBits);
  put(height - 1, heightBits);
  put(1, 1); // trailing_one_bit
  while (bits.length % 8 !== 0) bits.push(0);
  const payload = new Uint8Array(bits.length / 8);
  bits.forEach((b, i) => (payload[i >> 3] |= b << (7 - (i & 7))));
  return obu(1, payload);
}

/** AV1 data as libavif writes it for an image item, without the frame: a temporal delimiter OBU, a sequence header OBU. */
export function av1ItemData(width: number, height: number, options?: SequenceHeaderOptions): Uint8Array {
  return concat(obu(2, new Uint8Array(0)), av1SequenceHeader(width, height, options));
}

/** `parts` end to end (fixtures.ts's concatBytes). */
export const concat = concatBytes;

/**
 * Real grid AVIFs, as cameras and libavif store large photos: a 128x128 crop of
 * samples/chelsea.png (public domain, see samples/README.md) in 2x2 tiles of 64x64, made with
 * Debian's libavif-bin 0.11.1 (aom): `avifenc -g 2x2 -y 420 -s 10 --min 50 --max 60 rgb.png`
 * and, from the same crop with an alpha ramp, `avifenc -g 2x2 -s 10 --min 50 --max 60
 * --minalpha 50 --maxalpha 60 rgba.png` (4:4:4; an alpha grid of 4 tiles, whose tiles carry
 * the alpha property too). The grid descriptions are in mdat (iloc construction method 0).
 */
export const LIBAVIF_GRID_RGB = base64('AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUIAAAHhbWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAABWaWxvYwAAAABEAAAFAAEAAAABAAACCQAAAAgAAgAAAAEAAAIRAAAAXgADAAAAAQAAAm8AAABuAAQAAAABAAAC3QAAAFcABQAAAAEAAAM0AAAAZwAAAJBpaW5mAAAAAAAFAAAAGmluZmUCAAAAAAEAAGdyaWRDb2xvcgAAAAAaaW5mZQIAAAEAAgAAYXYwMUNvbG9yAAAAABppbmZlAgAAAQADAABhdjAxQ29sb3IAAAAAGmluZmUCAAABAAQAAGF2MDFDb2xvcgAAAAAaaW5mZQIAAAEABQAAYXYwMUNvbG9yAAAAACBpcmVmAAAAAAAAABRkaW1nAAEABAACAAMABAAFAAAAmWlwcnAAAABfaXBjbwAAABRpc3BlAAAAAAAAAIAAAACAAAAAEHBpeGkAAAAAAwgICAAAABNjb2xybmNseAABAA0ABoAAAAAUaXNwZQAAAAAAAABAAAAAQAAAAAxhdjFDgQAMAAAAADJpcG1hAAAAAAAAAAUAAQMBAgMAAgQEAoUDAAMEBAKFAwAEBAQChQMABQQEAoUDAAABmm1kYXQAAAEBAIAAgBIACgkYFX/9ggIaDQgyTx3APfffRADZipdZikdUxajcH/5uXEUPYQyPxT8KUu9OWCmVfvuKjdxFVcahnzk3/TRAR2G47U60sH0qnNEAlFOlBwzllGDFf/fOFj/+2oASAAoJGBV//YICGg0IMl8dwD3330QA2AwkXvTIS6qu+JUE2cMJAR5Y5slM483V97N5EsNxcKR7vlshbic/MvNe6Hcp59/mun6lqRBbNepWOvT7DAGSdYo9KzkJIN8NePa8r3Q5Y5VnwQmAMLsxQBIACgkYFX/9ggIaDQgySB3APfffRADZioYv6crnVsUf9bqu1eb0hQPqu3HlZI/D/xsAREoNo3T4BX8J5eG9h3KtUQFBP99fXrxw8QuqqJge4xRKRwVFoRIACgkYFX/9ggIaDQgyWB3APfffRADYBybQGaXy44ZNJHTt0pyCW8xhOGl4xmASFz6pafSWOSPLuw7FKjgR5Ci5abXbhxwdHcarfdj+uKLyd0Gq9RqBiMohkVIi1VxebRjL8qzRMYA=');
export const LIBAVIF_GRID_RGBA = base64('AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUEAAAM/bWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAACcaWxvYwAAAABEAAAKAAEAAAABAAADZwAAAAgAAgAAAAEAAAO1AAAAZgADAAAAAQAABBsAAAB3AAQAAAABAAAEkgAAAFwABQAAAAEAAATuAAAAcQAGAAAAAQAAA2cAAAAIAAcAAAABAAADbwAAACQACAAAAAEAAAOTAAAAIgAJAAAAAQAAA28AAAAkAAoAAAABAAADkwAAACIAAAESaWluZgAAAAAACgAAABppbmZlAgAAAAABAABncmlkQ29sb3IAAAAAGmluZmUCAAABAAIAAGF2MDFDb2xvcgAAAAAaaW5mZQIAAAEAAwAAYXYwMUNvbG9yAAAAABppbmZlAgAAAQAEAABhdjAxQ29sb3IAAAAAGmluZmUCAAABAAUAAGF2MDFDb2xvcgAAAAAaaW5mZQIAAAAABgAAZ3JpZEFscGhhAAAAABppbmZlAgAAAQAHAABhdjAxQWxwaGEAAAAAGmluZmUCAAABAAgAAGF2MDFBbHBoYQAAAAAaaW5mZQIAAAEACQAAYXYwMUFscGhhAAAAABppbmZlAgAAAQAKAABhdjAxQWxwaGEAAAAAQmlyZWYAAAAAAAAAFGRpbWcAAQAEAAIAAwAEAAUAAAAUZGltZwAGAAQABwAIAAkACgAAAA5hdXhsAAYAAQABAAABDWlwcnAAAACxaXBjbwAAABRpc3BlAAAAAAAAAIAAAACAAAAAEHBpeGkAAAAAAwgICAAAABNjb2xybmNseAABAA0ABoAAAAAUaXNwZQAAAAAAAABAAAAAQAAAAAxhdjFDgSAAAAAAAA5waXhpAAAAAAEIAAAAOGF1eEMAAAAAdXJuOm1wZWc6bXBlZ0I6Y2ljcDpzeXN0ZW1zOmF1eGlsaWFyeTphbHBoYQAAAAAMYXYxQ4EAHAAAAABUaXBtYQAAAAAAAAAKAAEDAQIDAAIEBAKFAwADBAQChQMABAQEAoUDAAUEBAKFAwAGAwEGBwAHBAQGiAcACAQEBogHAAkEBAaIBwAKBAQGiAcAAAIAbWRhdAAAAQEAgACAEgAKBhgVf/2FQDIYHcD30QDYDhgJKI3Tf5x+wXeMQi7HjbgQEgAKBhgVf/2FQDIWHcD30QDYDZ1XLMXEaeAx9JeUELhBWhIACgk4FX/9hAQ0GkAyVx3APfffRADZipdZikhsSzqaEU3GiziJmsvrLlDMbxExQ19NaodbI28hv1CmddiXUUpC6JBOjsyBZ566PmYt7TFT+ZyGQNuZm5We9U7c+cA3d3ewDBoxEBIACgk4FX/9hAQ0GkAyaB3APfffRADYDCRe9MhLq6Bv38cqETsS165z8sXpYZLfDs3LWUk2mmcaP1GdRCc8SZbdjvJdJhho9YhSyHqIkSRp+3Tp068+nopql3+jUerpn6yMA5Ysp5uZcEtasy+6ydwhP/yk8hjwEgAKCTgVf/2EBDQaQDJNHcA9999EANmKhi/pzEeOXmgm/f3/aqUulygrbVduPY3g0Ibr+dHyamuZeMs/ubD7YcPLwSiSEmwvGE1+IiPD0ex2TsxN8V/3YLQyPeASAAoJOBV//YQENBpAMmIdwD3330QA2Acm0BmoclHKFx51XNwqByKDjYtqVk3CqFVm2kvvV7fl1gpkXO4+xw0a1JS57io62wYshF12Io25+v2p4a1HvAKH0xbDh/NhNn1j0OppsdUpiJVmJrWPjcoMHA==');

/**
 * A 96x64 image of four flat quadrants (top left red, top right green, bottom left blue,
 * bottom right white, each at 10-90 %), from libavif-bin 0.11.1 (`avifenc -s 10 -y 444 --min
 * 20 --max 30 quad.png`): plain, with `--irot 1 --imir 0` (shown turned a quarter anticlockwise,
 * then top and bottom exchanged: the same AV1 data, so the same decoded pixels), and with
 * `--crop 0,0,80,64` (a clap box).
 */
export const LIBAVIF_QUAD = base64('AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUEAAADybWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAAAeaWxvYwAAAABEAAABAAEAAAABAAABGgAAAF0AAAAoaWluZgAAAAAAAQAAABppbmZlAgAAAAABAABhdjAxQ29sb3IAAAAAamlwcnAAAABLaXBjbwAAABRpc3BlAAAAAAAAAGAAAABAAAAAEHBpeGkAAAAAAwgICAAAAAxhdjFDgSAAAAAAABNjb2xybmNseAABAA0ABoAAAAAXaXBtYQAAAAAAAAABAAEEAQKDBAAAAGVtZGF0EgAKCTgZb/7CAhoNIDJOEyADDDDCAMG2P2QKTtxG8NC2tzLCDabtZgugPmFR9z/vIWp7DApm6SKJ4J6y4LGuB5+lbs0IzsteVc3OWxYNz+AJtXyIJ1E7gg0zTMxK');
export const LIBAVIF_QUAD_IROT1_IMIR0 = base64('AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUEAAAEGbWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAAAeaWxvYwAAAABEAAABAAEAAAABAAABLgAAAF0AAAAoaWluZgAAAAAAAQAAABppbmZlAgAAAAABAABhdjAxQ29sb3IAAAAAfmlwcnAAAABdaXBjbwAAABRpc3BlAAAAAAAAAGAAAABAAAAAEHBpeGkAAAAAAwgICAAAAAxhdjFDgSAAAAAAABNjb2xybmNseAABAA0ABoAAAAAJaXJvdAEAAAAJaW1pcgAAAAAZaXBtYQAAAAAAAAABAAEGAQKDBIWGAAAAZW1kYXQSAAoJOBlv/sICGg0gMk4TIAMMMMIAwbY/ZApO3Ebw0La3MsINpu1mC6A+YVH3P+8hansMCmbpIongnrLgsa4Hn6VuzQjOy15Vzc5bFg3P4Am1fIgnUTuCDTNMzEo=');
export const LIBAVIF_QUAD_CLAP = base64('AAAAIGZ0eXBhdmlmAAAAAGF2aWZtaWYxbWlhZk1BMUEAAAEbbWV0YQAAAAAAAAAoaGRscgAAAAAAAAAAcGljdAAAAAAAAAAAAAAAAGxpYmF2aWYAAAAADnBpdG0AAAAAAAEAAAAeaWxvYwAAAABEAAABAAEAAAABAAABQwAAAF0AAAAoaWluZgAAAAAAAQAAABppbmZlAgAAAAABAABhdjAxQ29sb3IAAAAAk2lwcnAAAABzaXBjbwAAABRpc3BlAAAAAAAAAGAAAABAAAAAEHBpeGkAAAAAAwgICAAAAAxhdjFDgSAAAAAAABNjb2xybmNseAABAA0ABoAAAAAoY2xhcAAAAFAAAAABAAAAQAAAAAH////4AAAAAQAAAAAAAAABAAAAGGlwbWEAAAAAAAAAAQABBQECgwSFAAAAZW1kYXQSAAoJOBlv/sICGg0gMk4TIAMMMMIAwbY/ZApO3Ebw0La3MsINpu1mC6A+YVH3P+8hansMCmbpIongnrLgsa4Hn6VuzQjOy15Vzc5bFg3P4Am1fIgnUTuCDTNMzEo=');

function base64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}
