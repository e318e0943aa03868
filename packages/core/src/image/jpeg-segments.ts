/**
 * The marker segments of JPEG files (ITU T.81, annex B): reading a file's size and comment
 * segments without decoding it, and adding a comment (COM) segment to the file an encoder
 * wrote. Browser-safe and dependency-free.
 *
 * The reader is meant for files from strangers: every segment length is checked against the
 * bytes that are really there before it is used, nothing is allocated from a claimed length,
 * and anything malformed is refused with one {@link JpegFormatError} line. It walks the whole
 * file up to EOI, stepping over the entropy-coded data of each scan (in O(file size)), to
 * count the scans.
 */

/** Thrown for bytes that are not a JPEG file, or a damaged one. The message says what is wrong. */
export class JpegFormatError extends Error {
  override name = 'JpegFormatError';
}

/**
 * The most scans (SOS markers) {@link readJpegInfo} accepts. A decoder passes over every block
 * of a scan's components for each scan, even one that carries no data, so a small progressive
 * file of many empty scans and a large frame costs scans x pixels (10,000 scans of a
 * 10000x10000 frame: 344 KB, minutes of MozJPEG). Encoders write 1 scan per component
 * (sequential) or about 10 (libjpeg's and MozJPEG's progressive scripts; jpegtran and
 * jpegrescan-style scripts a few dozen); libjpeg-turbo's own fuzzers stop at 500
 * (TJPARAM_SCANLIMIT), and so does this.
 */
export const MAX_JPEG_SCANS = 500;

/**
 * The most marker segments (other than scans, capped by {@link MAX_JPEG_SCANS}) that
 * {@link readJpegInfo} walks in one file. Encoders write a dozen or two (APPn, DQT, DHT, SOF,
 * COM; a progressive file a DHT per scan, a multi-segment ICC profile up to 255 APP2 segments);
 * 10,000 is the AVIF reader's cap on boxes. Every COM segment kept costs an object, so 8
 * million empty ones (32 MB) took 12.6 s and 1.4 GB.
 */
export const MAX_JPEG_SEGMENTS = 10_000;

/** What {@link readJpegInfo} finds in a JPEG's segments. */
export interface JpegInfo {
  width: number;
  height: number;
  /** Colour components of the frame (1 grey, 3 YCbCr, 4 CMYK). */
  components: number;
  /** Whether the frame is arithmetic-coded (SOF9-11, 13-15) rather than Huffman-coded. */
  arithmetic: boolean;
  /** Payloads of the COM segments before the first scan, in file order (views into the input). */
  comments: Uint8Array[];
  /** Bytes from the start of the first scan's entropy-coded data to the end of the file. */
  dataBytes: number;
  /** Scans (SOS markers) in the file, at most {@link MAX_JPEG_SCANS}. */
  scans: number;
}

/**
 * Whether `marker` (the byte after 0xFF) starts a frame header (SOF): SOF0-15, but not DHT
 * (0xC4), JPG (0xC8) or DAC (0xCC), which share that range.
 */
export function isSofMarker(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Whether `bytes` starts like a JPEG file (SOI, then a marker). */
export function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Reads the frame size and the comments of a JPEG from its segments, and counts its scans,
 * walking to EOI (or the end of the file: a file cut short in or after its first scan is left
 * to {@link checkJpegDataSize} and the decoder). Inside a scan's entropy-coded data only 0xFF
 * followed by a byte other than 0x00 (a stuffed 0xFF), RST0-7 or 0xFF (fill) is a marker.
 * @throws JpegFormatError when the bytes are not a JPEG, a segment claims more bytes than the
 *   file has, the frame header is missing or short, the frame leaves its height to a DNL
 *   marker (height 0), which no browser shows, or the file has more than
 *   {@link MAX_JPEG_SCANS} scans or {@link MAX_JPEG_SEGMENTS} other segments.
 */
export function readJpegInfo(bytes: Uint8Array): JpegInfo {
  if (!isJpeg(bytes)) throw new JpegFormatError('not a JPEG file (no SOI marker)');
  const comments: Uint8Array[] = [];
  let frame: Pick<JpegInfo, 'width' | 'height' | 'components' | 'arithmetic'> | null = null;
  let dataStart = -1;
  let scans = 0;
  let segments = 0;
  const done = (): JpegInfo => ({ ...frame!, comments, dataBytes: bytes.length - dataStart, scans });
  for (let at = 2; ; ) {
    if (at >= bytes.length) {
      if (scans > 0) return done();
      throw new JpegFormatError('the file is cut short before its image data (no SOS marker)');
    }
    if (bytes[at] !== 0xff) throw new JpegFormatError(`no marker at byte ${at} where a segment should start`);
    // Fill bytes: any number of 0xff before a marker.
    while (at < bytes.length && bytes[at] === 0xff) at++;
    if (at >= bytes.length) {
      if (scans > 0) return done();
      throw new JpegFormatError('the file is cut short in a marker');
    }
    const marker = bytes[at++];
    if (marker === 0xd9) {
      if (scans > 0) return done();
      throw new JpegFormatError('the file ends (EOI) before any image data');
    }
    // Markers without a segment: TEM and RST0-7 (out of place here, but harmless).
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0x00 || marker === 0xd8) throw new JpegFormatError(`an unexpected marker 0xff${hex(marker)} at byte ${at - 2}`);
    if (bytes.length - at < 2) throw new JpegFormatError(`the segment of marker 0xff${hex(marker)} at byte ${at - 2} is cut short`);
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (length < 2 || length > bytes.length - at) {
      throw new JpegFormatError(`the segment of marker 0xff${hex(marker)} at byte ${at - 2} claims ${length} bytes, more than the ${bytes.length - at} left in the file`);
    }
    if (marker !== 0xda && ++segments > MAX_JPEG_SEGMENTS) {
      throw new JpegFormatError(`it has more than ${MAX_JPEG_SEGMENTS.toLocaleString('en-US')} marker segments`);
    }
    const data = bytes.subarray(at + 2, at + length);
    at += length;
    if (marker === 0xda) {
      if (frame == null) throw new JpegFormatError('its image data (SOS) comes before any frame header (SOF)');
      if (++scans > MAX_JPEG_SCANS) throw tooManyScans();
      if (dataStart < 0) dataStart = at;
      at = scanDataEnd(bytes, at);
      continue;
    }
    if (marker === 0xfe && scans === 0) comments.push(data);
    if (isSofMarker(marker) && frame == null) {
      if (data.length < 6) throw new JpegFormatError(`its frame header has ${data.length} bytes, fewer than 6`);
      const height = (data[1] << 8) | data[2];
      const width = (data[3] << 8) | data[4];
      if (width === 0 || height === 0) throw new JpegFormatError(`its frame header says ${width}x${height}`);
      frame = { width, height, components: data[5], arithmetic: marker >= 0xc9 };
    }
  }
}

function tooManyScans(): JpegFormatError {
  return new JpegFormatError(`it has more than ${MAX_JPEG_SCANS} scans (SOS markers), which no encoder writes and a decoder takes each over the whole image`);
}

/**
 * Refuses a JPEG with more than {@link MAX_JPEG_SCANS} scans, reading it the way a tolerant
 * decoder does: segments are skipped by their lengths, scans' data up to the next marker, and
 * bytes out of place up to the next marker; the walk ends at EOI, at the end of the file or at
 * a segment cut short. For photos, which a decoder reads despite stray bytes, where
 * {@link readJpegInfo} would refuse the file for them; the cost of a scan bomb does not depend
 * on the rest of the file being tidy. Linear in the file's size.
 * @throws JpegFormatError `it has more than 500 scans (SOS markers), ...`
 */
export function checkJpegScans(bytes: Uint8Array): void {
  if (countJpegScans(bytes, MAX_JPEG_SCANS) > MAX_JPEG_SCANS) throw tooManyScans();
}

/**
 * The scans (SOS markers) of a JPEG, counted as {@link checkJpegScans} counts them (tolerantly,
 * past stray bytes), up to `max + 1`: the walk stops there. 0 for bytes that are not a JPEG.
 */
export function countJpegScans(bytes: Uint8Array, max: number = MAX_JPEG_SCANS): number {
  if (!isJpeg(bytes)) return 0;
  let scans = 0;
  walkJpegSegments(bytes, (marker, _at, length) => marker === 0xda && length >= 2 && ++scans > max);
  return scans;
}

/**
 * Walks the marker segments of a JPEG after its SOI as a tolerant decoder meets them: bytes
 * out of place and a scan's data are skipped up to the next marker, every other segment by
 * its length. `visit` gets each segment that has a length field (not RSTn, TEM, SOI or EOI):
 * its marker, the offset of its length field and the length (which may be less than 2 or run
 * past the end; the walk goes on past the former and stops at the latter); it returns true to
 * stop. The walk ends at EOI or the end of the file. Never reads out of bounds; linear in
 * the file's size.
 */
export function walkJpegSegments(bytes: Uint8Array, visit: (marker: number, at: number, length: number) => boolean | void): void {
  for (let at = 2; at + 1 < bytes.length; ) {
    // Out of place (or after a scan's data): on to the next marker.
    if (bytes[at] !== 0xff || bytes[at + 1] === 0x00) {
      at = scanDataEnd(bytes, at);
      continue;
    }
    while (at + 1 < bytes.length && bytes[at + 1] === 0xff) at++;
    if (at + 1 >= bytes.length) return;
    const marker = bytes[at + 1];
    at += 2;
    if (marker === 0xd9) return;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0xd8) continue;
    if (at + 2 > bytes.length) return;
    const length = (bytes[at] << 8) | bytes[at + 1];
    if (visit(marker, at, length) === true) return;
    if (length < 2) continue;
    at += length;
    if (marker === 0xda) at = scanDataEnd(bytes, at);
  }
}

/**
 * Where the entropy-coded data that starts at `at` ends: at the 0xFF of the next marker that
 * is not in the data (neither a stuffed 0xFF00 nor RST0-7), or at the end of the file.
 */
function scanDataEnd(bytes: Uint8Array, at: number): number {
  for (;;) {
    const ff = bytes.indexOf(0xff, at);
    if (ff < 0 || ff + 1 >= bytes.length) return bytes.length;
    const next = bytes[ff + 1];
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) at = ff + 2;
    else if (next === 0xff) at = ff + 1;
    else return ff;
  }
}

/**
 * Refuses a JPEG that is cut short, from its size, before a decoder allocates a frame and
 * fills it with grey: every 8x8 block of the full-resolution component costs at least one bit
 * of Huffman-coded data (its DC coefficient's code, JPEG spec F.1.2.1: codes are 1 to 16 bits;
 * in a progressive file the first DC scan's). A 158-byte file claiming 200x200 pixels, or 210
 * bytes claiming 10000x10000, holds far less. Arithmetic-coded frames (`arithmetic`) can code
 * a flat block in less than a bit and are not checked.
 * @param dataBytes bytes from the start of the first scan's data to the end of the file.
 * @throws JpegFormatError `truncated JPEG: a WxH image needs at least N bytes of image data (a
 *   bit per 8x8 block), the file holds M`
 */
export function checkJpegDataSize(info: { width: number; height: number; dataBytes: number; arithmetic?: boolean }): void {
  if (info.arithmetic === true) return;
  const blocks = Math.ceil(info.width / 8) * Math.ceil(info.height / 8);
  if (info.dataBytes * 8 < blocks) {
    throw new JpegFormatError(
      `truncated JPEG: a ${info.width}x${info.height} image needs at least ${Math.ceil(blocks / 8)} bytes of image data (a bit per 8x8 block), the file holds ${info.dataBytes}`,
    );
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
