import type { TrainImage } from './patches.js';

/**
 * Decodes an uncompressed 24- or 32-bit BMP (BITMAPINFOHEADER or later, BI_RGB), the
 * format of the T91 training set, into 8-bit RGB. Rows may be stored bottom-up (positive
 * height) or top-down.
 *
 * @throws Error naming what is unsupported or malformed.
 */
export function decodeBmp(bytes: Uint8Array): Omit<TrainImage, 'name'> {
  if (bytes.length < 54 || bytes[0] !== 0x42 || bytes[1] !== 0x4d) throw new Error('not a BMP file');
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
  if (width < 1 || height < 1) throw new Error(`corrupt BMP: size ${width}x${rawHeight}`);
  const bytesPerPixel = bpp / 8;
  const stride = Math.ceil((width * bytesPerPixel) / 4) * 4;
  if (offset + stride * height > bytes.length) throw new Error('truncated BMP');
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
