/** Big-endian integers in byte arrays, as PNG chunks and ISOBMFF (AVIF) boxes store them. */

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
