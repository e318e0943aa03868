/**
 * Per-pixel work of the image-level rescale, done in JavaScript on the raster so that
 * nothing image-sized ever becomes a tensor: reading a tile's RGB, alpha down and up,
 * 8-bit rounding, the check for non-finite results.
 */
import { hasAlpha, type RasterImage } from '../image/raster.js';

/**
 * The RGB values `[height, width, 3]` of the rectangle at (`left`, `top`) of `image`, grey
 * replicated to RGB and alpha dropped; pixels past the right or bottom edge repeat the last
 * column or row (the edge padding to a multiple of the scale).
 */
export function readRgb(image: RasterImage, left: number, top: number, width: number, height: number): Float32Array {
  const { data, channels: c } = image;
  const out = new Float32Array(width * height * 3);
  const grey = c <= 2;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const row = Math.min(top + y, image.height - 1) * image.width;
    for (let x = 0; x < width; x++) {
      const s = (row + Math.min(left + x, image.width - 1)) * c;
      if (grey) {
        out[o] = out[o + 1] = out[o + 2] = data[s];
      } else {
        out[o] = data[s];
        out[o + 1] = data[s + 1];
        out[o + 2] = data[s + 2];
      }
      o += 3;
    }
  }
  return out;
}

/**
 * The alpha of `image` box-averaged over `scale x scale` blocks (edge-padded to
 * `ceil(size / scale)` blocks), written into channel 3 of `target` (an RGBA image of the
 * LR size).
 */
export function boxAlphaInto(image: RasterImage, scale: number, target: RasterImage): void {
  const c = image.channels;
  const norm = 1 / (scale * scale);
  for (let ly = 0; ly < target.height; ly++) {
    for (let lx = 0; lx < target.width; lx++) {
      let sum = 0;
      for (let dy = 0; dy < scale; dy++) {
        const row = Math.min(ly * scale + dy, image.height - 1) * image.width;
        for (let dx = 0; dx < scale; dx++) sum += image.data[(row + Math.min(lx * scale + dx, image.width - 1)) * c + c - 1];
      }
      target.data[(ly * target.width + lx) * 4 + 3] = sum * norm;
    }
  }
}

/**
 * The alpha of the LR image `lr` upsampled bilinearly by `scale` (half-pixel centres, edges
 * clamped, as `tf.image.resizeBilinear(..., alignCorners false, halfPixelCenters true)`),
 * written into channel 3 of the RGBA `target` (at most `scale` times the LR size).
 */
export function bilinearAlphaInto(lr: RasterImage, scale: number, target: RasterImage): void {
  const c = lr.channels;
  const alphaAt = (x: number, y: number) => lr.data[(y * lr.width + x) * c + c - 1];
  const taps = (i: number, n: number): [number, number, number] => {
    const src = (i + 0.5) / scale - 0.5;
    const f = Math.floor(src);
    return [Math.min(n - 1, Math.max(0, f)), Math.min(n - 1, Math.max(0, f + 1)), src - f];
  };
  const xTaps = Array.from({ length: target.width }, (_, x) => taps(x, lr.width));
  for (let y = 0; y < target.height; y++) {
    const [y0, y1, fy] = taps(y, lr.height);
    for (let x = 0; x < target.width; x++) {
      const [x0, x1, fx] = xTaps[x];
      const top = alphaAt(x0, y0) + (alphaAt(x1, y0) - alphaAt(x0, y0)) * fx;
      const bottom = alphaAt(x0, y1) + (alphaAt(x1, y1) - alphaAt(x0, y1)) * fx;
      target.data[(y * target.width + x) * 4 + 3] = Math.min(1, Math.max(0, top + (bottom - top) * fy));
    }
  }
}

/**
 * Rounds every value to an 8-bit level in place, exactly as `quantize8` does on a float32
 * backend: `round(clamp(v, 0, 1) * 255) / 255` with the product in float32, ties to even.
 */
export function quantize8InPlace(data: Float32Array): void {
  for (let i = 0; i < data.length; i++) {
    const p = Math.fround(Math.min(1, Math.max(0, data[i])) * 255);
    let r = Math.round(p);
    if (r - p === 0.5 && r % 2 === 1) r -= 1; // half to even, as tf.round
    data[i] = r / 255;
  }
}

/**
 * Throws unless every value of `image` is finite. A model with damaged weights (NaN or
 * huge values) gives NaN or infinite pixels, which a PNG encoder would clamp into a black
 * or white image without a word; `what` names the image in the message.
 */
export function checkFinite(image: RasterImage, what: string): void {
  const { data, width, channels } = image;
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) {
      const pixel = Math.floor(i / channels);
      const kind = Number.isNaN(data[i]) ? 'NaN' : 'infinite';
      throw new Error(
        `the model produced ${kind} values (${what}, first at pixel ${pixel % width}, ${Math.floor(pixel / width)}); its weights may be damaged`,
      );
    }
  }
}
