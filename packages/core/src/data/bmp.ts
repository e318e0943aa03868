import { checkLimit, resolveLimits, type Limits } from '../limits.js';
import type { TrainImage } from './patches.js';

/** Options of {@link decodeBmp}. */
export interface DecodeBmpOptions {
  /** Resource limits (defaults: `DEFAULT_LIMITS`); `pixels` bounds width x height. */
  limits?: Partial<Limits>;
}

/**
 * Decodes an uncompressed 24- or 32-bit BMP (BITMAPINFOHEADER or later, BI_RGB), the
 * format of the T91 training set, into 8-bit RGB. Rows may be stored bottom-up (positive
 * height) or top-down.
 *
 * The size in the header is checked against `limits.pixels` and against the length of the
 * file before anything is allocated.
 *
 * @throws Error naming what is unsupported or malformed ("not a BMP file...", "corrupt BMP:
 *   ...", "truncated BMP: ...", "unsupported BMP: ...")
 * @throws LimitError when the image has more than `limits.pixels` pixels
 */
export function decodeBmp(bytes: Uint8Array, options: DecodeBmpOptions = {}): Omit<TrainImage, 'name'> {
  const limits = resolveLimits(options.limits);
  if (bytes.length < 2 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new Error('not a BMP file');
  if (bytes.length < 54) throw new Error(`not a BMP file: it ends after ${bytes.length} bytes, inside the 54-byte header`);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const offset = v.getUint32(10, true);
  const headerSize = v.getUint32(14, true);
  if (headerSize < 40) throw new Error(`unsupported BMP: header of ${headerSize} bytes (OS/2 format)`);
  const width = v.getInt32(18, true);
  const rawHeight = v.getInt32(22, true);
  const bpp = v.getUint16(28, true);
  const compression = v.getUint32(30, true);
  if (compression !== 0 && !(compression === 3 && bpp === 32)) throw new Error(`unsupported BMP: compression ${compression}`);
  if (bpp !== 24 && bpp !== 32) throw new Error(`unsupported BMP: ${bpp} bits per pixel (24 and 32 are read)`);
  const height = Math.abs(rawHeight);
  if (width < 1 || height < 1) throw new Error(`corrupt BMP: its size is ${width}x${rawHeight}`);
  checkLimit(limits, 'pixels', width * height, `the image (${width}x${height})`, 'pixels');
  if (offset < 14 + 40 || offset > bytes.length) {
    throw new Error(`corrupt BMP: its pixel data starts at byte ${offset}, outside the header and file (${bytes.length} bytes)`);
  }
  const bytesPerPixel = bpp / 8;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  if (offset + stride * height > bytes.length) {
    throw new Error(
      `truncated BMP: a ${width}x${height} ${bpp}-bit image needs ${stride * height} bytes of pixels from byte ${offset}, but the file ends at byte ${bytes.length}`,
    );
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const row = offset + (rawHeight > 0 ? height - 1 - y : y) * stride;
    for (let x = 0; x < width; x++) {
      const s = row + x * bytesPerPixel;
      const d = (y * width + x) * 3;
      data[d] = bytes[s + 2];
      data[d + 1] = bytes[s + 1];
      data[d + 2] = bytes[s];
    }
  }
  return { width, height, data };
}
