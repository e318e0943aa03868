/**
 * The marker segments of JPEG files (ITU T.81, annex B): reading a file's size and comment
 * segments without decoding it, and adding a comment (COM) segment to the file an encoder
 * wrote. Browser-safe and dependency-free.
 *
 * The reader is meant for files from strangers: every segment length is checked against the
 * bytes that are really there before it is used, nothing is allocated from a claimed length,
 * and anything malformed is refused with one {@link JpegFormatError} line. It stops at the
 * first scan (SOS): everything it reads comes before the entropy-coded data.
 */

/** Thrown for bytes that are not a JPEG file, or a damaged one. The message says what is wrong. */
export class JpegFormatError extends Error {
  override name = 'JpegFormatError';
}

/** What {@link readJpegInfo} finds before a JPEG's first scan. */
export interface JpegInfo {
  width: number;
  height: number;
  /** Colour components of the frame (1 grey, 3 YCbCr, 4 CMYK). */
  components: number;
  /** Payloads of the COM segments, in file order (views into the input). */
  comments: Uint8Array[];
}

/** Whether `bytes` starts like a JPEG file (SOI, then a marker). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Reads the frame size and the comments of a JPEG from its segments, up to its first scan.
 * @throws JpegFormatError when the bytes are not a JPEG, a segment claims more bytes than the
 *   file has, the frame header is missing or short, or the frame leaves its height to a DNL
 *   marker (height 0), which no browser shows.
 */
export function readJpegInfo(bytes: Uint8Array): JpegInfo {
  if (!isJpeg(bytes)) throw new JpegFormatError('not a JPEG file (no SOI marker)');
  const comments: Uint8Array[] = [];
  let frame: Omit<JpegInfo, 'comments'> | null = null;
  for (let at = 2; ; ) {
    if (at >= bytes.length) throw new JpegFormatError('the file is cut short before its image data (no SOS marker)');
    if (bytes[at] !== 0xff) throw new JpegFormatError(`no marker at byte ${at} where a segment should start`);
    // Fill bytes: any number of 0xff before a marker.
    while (at < bytes.length && bytes[at] === 0xff) at++;
    if (at >= bytes.length) throw new JpegFormatError('the file is cut short in a marker');
    const marker = bytes[at++];
    if (marker === 0xd9) throw new JpegFormatError('the file ends (EOI) before any image data');
    // Markers without a segment: TEM and RST0-7 (out of place here, but harmless).
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0x00 || marker === 0xd8) throw new JpegFormatError(`an unexpected marker 0xff${hex(marker)} at byte ${at - 2}`);
    if (bytes.length - at < 2) throw new JpegFormatError(`the segment of marker 0xff${hex(marker)} at byte ${at - 2} is cut short`);
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (length < 2 || length > bytes.length - at) {
      throw new JpegFormatError(`the segment of marker 0xff${hex(marker)} at byte ${at - 2} claims ${length} bytes, more than the ${bytes.length - at} left in the file`);
    }
    const data = bytes.subarray(at + 2, at + length);
    at += length;
    if (marker === 0xda) {
      if (frame == null) throw new JpegFormatError('its image data (SOS) comes before any frame header (SOF)');
      return { ...frame, comments };
    }
    if (marker === 0xfe) comments.push(data);
    // SOF0-15, but not DHT (c4), JPG (c8) or DAC (cc).
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && frame == null) {
      if (data.length < 6) throw new JpegFormatError(`its frame header has ${data.length} bytes, fewer than 6`);
      const height = (data[1] << 8) | data[2];
      const width = (data[3] << 8) | data[4];
      if (width === 0 || height === 0) throw new JpegFormatError(`its frame header says ${width}x${height}`);
      frame = { width, height, components: data[5] };
    }
  }
}

/**
 * A copy of the JPEG file `jpeg` with a COM segment of `text` (at most 65533 bytes) right
 * after its leading JFIF/Exif (APP0/APP1) segments, where decoders that look for those still
 * find them first. Decoders skip comments, so the image is unchanged.
 * @throws JpegFormatError when `jpeg` is not a JPEG or the comment is too long.
 */
export function withJpegComment(jpeg: Uint8Array, text: Uint8Array): Uint8Array {
  if (!isJpeg(jpeg)) throw new JpegFormatError('not a JPEG file (no SOI marker)');
  if (text.length > 0xffff - 2) throw new JpegFormatError(`a JPEG comment holds at most 65533 bytes, not ${text.length}`);
  readJpegInfo(jpeg);
  let at = 2;
  while (at + 4 <= jpeg.length && jpeg[at] === 0xff && (jpeg[at + 1] === 0xe0 || jpeg[at + 1] === 0xe1)) {
    at += 2 + ((jpeg[at + 2] << 8) | jpeg[at + 3]);
  }
  const out = new Uint8Array(jpeg.length + 4 + text.length);
  out.set(jpeg.subarray(0, at), 0);
  out.set([0xff, 0xfe, (text.length + 2) >> 8, (text.length + 2) & 0xff], at);
  out.set(text, at + 4);
  out.set(jpeg.subarray(at), at + 4 + text.length);
  return out;
}

function hex(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
