import type { RasterImage } from '../image/raster.js';
import { checkOutputKind, rasterToTensor, type OutputKind, type OutputTypes } from './kinds.js';

// Where they were first defined; kinds.ts holds them so that the page of a worker rescaler
// can use them without the PNG encoder.
export { checkOutputKind, OUTPUT_KINDS, rasterToTensor, type OutputKind, type OutputTypes } from './kinds.js';

/**
 * Converts a raster to `kind`. `pngText` adds text chunks to a PNG. Rounding to 8 bits is
 * the same as `encodePng`'s, so the `'imagedata'`, `'bitmap'` and `'blob'` forms hold
 * the same pixels. `png` says how a `'blob'` is written: `'compact'` (default) as `encodePng`
 * writes it, small, for an image that is shipped (a downscale's LR); `'quick'` by
 * `encodePngQuick`, 4x faster for files about 5 % larger on photos, for an image that is
 * shown (an upscale's), without text chunks.
 */
export async function encodeOutput<K extends OutputKind>(
  raster: RasterImage,
  kind: K,
  pngText?: Record<string, string>,
  png: 'compact' | 'quick' = 'compact',
): Promise<OutputTypes[K]> {
  switch (kind) {
    case 'raster':
      return raster as OutputTypes[K];
    case 'tensor':
      return (await rasterToTensor(raster)) as OutputTypes[K];
    case 'blob': {
      // Loaded only now: the PNG writers and their deflate libraries (pako, about 25 KiB
      // minified, for the compact one) are not needed by a result asked for in another form.
      if (png === 'quick') {
        if (pngText != null) throw new Error("encodeOutput: the 'quick' PNG writer writes no text chunks");
        const { encodePngQuick } = await import('../image/png-quick.js');
        return new Blob([encodePngQuick(raster) as BlobPart], { type: 'image/png' }) as OutputTypes[K];
      }
      const { encodePng } = await import('../image/png-write.js');
      return new Blob([encodePng(raster, { text: pngText }) as BlobPart], { type: 'image/png' }) as OutputTypes[K];
    }
    case 'imagedata':
      return rasterToImageData(raster) as OutputTypes[K];
    case 'bitmap':
      return (await createImageBitmap(rasterToImageData(raster), { premultiplyAlpha: 'none' })) as OutputTypes[K];
  }
  checkOutputKind(kind);
  throw new Error('unreachable');
}

/** RGBA 8-bit pixels of a raster (grey replicated, alpha 255 when it has none). */
export function rasterToImageData(raster: RasterImage): ImageData {
  const { width, height, channels, data } = raster;
  const out = new Uint8ClampedArray(width * height * 4);
  const byte = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);
  const grey = channels <= 2;
  const alpha = channels === 2 || channels === 4;
  for (let i = 0; i < width * height; i++) {
    const s = i * channels;
    const d = i * 4;
    out[d] = byte(data[s]);
    out[d + 1] = byte(data[grey ? s : s + 1]);
    out[d + 2] = byte(data[grey ? s : s + 2]);
    out[d + 3] = alpha ? byte(data[s + channels - 1]) : 255;
  }
  return new ImageData(out, width, height);
}
