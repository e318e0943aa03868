/** Byte arrays: big-endian integers as PNG chunks and ISOBMFF (AVIF) boxes store them, joining pieces, and text from files made safe to print. */

/** The unsigned 32-bit big-endian integer at `at`. */
export function readU32BE(bytes: Uint8Array, at: number): number {
  return ((bytes[at] << 24) | (bytes[at + 1] << 16) | (bytes[at + 2] << 8) | bytes[at + 3]) >>> 0;
}

/** Writes `value` as an unsigned 32-bit big-endian integer at `at`. */
export function writeU32BE(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = (value >>> 16) & 0xff;
  bytes[at + 2] = (value >>> 8) & 0xff;
  bytes[at + 3] = value & 0xff;
}

/** The bytes of `parts` one after another, in a new array (of exactly their length). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Text from a file (a box type, a FourCC, a weight's name), safe to print on one line: anything but printable ASCII becomes `?`. */
export function printable(text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?');
}
