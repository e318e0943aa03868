/**
 * The pixel size that a BMP, GIF or ICO file claims, from its headers: formats that browsers
 * decode (createImageBitmap) and that core reads no further, so that the pixel limit is
 * checked before the browser allocates. A 1 KB BMP that claims 20000 x 20000 cost Chromium
 * 2.6 GiB and 16 s before the limit, checked on the decoded pixels, refused it (or the
 * decoder failed): `pnpm bench:header-bombs`.
 * PNG, JPEG, WebP and AVIF have their own readers (png.ts, jpeg-segments.ts, webp-container.ts,
 * avif-container.ts). Browser-safe; never reads out of bounds.
 */

/** What {@link claimedImageSize} finds. */
export interface ClaimedSize {
  format: 'bmp' | 'gif' | 'ico';
  width: number;
  height: number;
}

/** The most ICO directory entries read (a file lists one per size it holds: a handful). */
const MAX_ICO_ENTRIES = 256;

/**
 * The largest image a BMP, GIF or ICO file claims to hold (for an ICO, of its entries; for a
 * GIF, its logical screen grown to its first frame, as browsers draw it), or null for other
 * bytes and for headers too short to say (the browser's decoder then says what is wrong).
 */
export function claimedImageSize(bytes: Uint8Array): ClaimedSize | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length >= 26 && bytes[0] === 0x42 && bytes[1] === 0x4d) {
    const size = bmpInfoSize(view, 14);
    return size == null ? null : { format: 'bmp', ...size };
  }
  if (bytes.length >= 13 && ascii(bytes, 0, 4) === 'GIF8') return { format: 'gif', ...gifSize(bytes, view) };
  if (bytes.length >= 22 && view.getUint16(0, true) === 0 && [1, 2].includes(view.getUint16(2, true)) && view.getUint16(4, true) > 0) {
    return icoSize(bytes, view);
  }
  return null;
}

/**
 * Width and height from a BMP info header at `at` (BITMAPCOREHEADER, 12 bytes: 16-bit sizes;
 * the others 32-bit, the height signed: negative for a top-down image), or null when cut short.
 */
function bmpInfoSize(view: DataView, at: number): { width: number; height: number } | null {
  if (at + 12 > view.byteLength) return null;
  if (view.getUint32(at, true) === 12) return { width: view.getUint16(at + 4, true), height: view.getUint16(at + 6, true) };
  return { width: Math.abs(view.getInt32(at + 4, true)), height: Math.abs(view.getInt32(at + 8, true)) };
}

/** A GIF's logical screen, grown to its first image descriptor where one is in `bytes`. */
function gifSize(bytes: Uint8Array, view: DataView): { width: number; height: number } {
  let width = view.getUint16(6, true);
  let height = view.getUint16(8, true);
  // Past the global colour table, then the extensions (label, then sub-blocks to a 0 length).
  let at = 13 + (bytes[10] & 0x80 ? 3 << ((bytes[10] & 7) + 1) : 0);
  while (at < bytes.length && bytes[at] === 0x21) {
    at += 2;
    while (at < bytes.length && bytes[at] !== 0) at += bytes[at] + 1;
    at++;
  }
  if (at + 9 <= bytes.length && bytes[at] === 0x2c) {
    width = Math.max(width, view.getUint16(at + 1, true) + view.getUint16(at + 5, true));
    height = Math.max(height, view.getUint16(at + 3, true) + view.getUint16(at + 7, true));
  }
  return { width, height };
}

/**
 * The largest entry of an ICO or CUR file: the size its directory says (a byte each, 0 for
 * 256), or the size of the image it points to where that can be read (an embedded PNG's IHDR,
 * or a BMP info header, whose height counts the mask too), whichever is larger.
 */
function icoSize(bytes: Uint8Array, view: DataView): ClaimedSize | null {
  const count = Math.min(view.getUint16(4, true), MAX_ICO_ENTRIES);
  let best: ClaimedSize | null = null;
  for (let i = 0, entry = 6; i < count && entry + 16 <= bytes.length; i++, entry += 16) {
    let width = bytes[entry] || 256;
    let height = bytes[entry + 1] || 256;
    const offset = view.getUint32(entry + 12, true);
    if (offset + 24 <= bytes.length && bytes[offset] === 0x89 && ascii(bytes, offset + 1, 3) === 'PNG') {
      width = Math.max(width, view.getUint32(offset + 16));
      height = Math.max(height, view.getUint32(offset + 20));
    } else {
      const dib = bmpInfoSize(view, offset);
      if (dib != null) {
        width = Math.max(width, dib.width);
        height = Math.max(height, Math.ceil(dib.height / 2));
      }
    }
    if (best == null || width * height > best.width * best.height) best = { format: 'ico', width, height };
  }
  return best;
}

function ascii(bytes: Uint8Array, at: number, n: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + n));
}
