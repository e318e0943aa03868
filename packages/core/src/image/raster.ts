/**
 * An image in memory: `height` rows of `width` pixels, `channels` interleaved values per
 * pixel (1 grey, 2 grey + alpha, 3 RGB, 4 RGBA), each in [0, 1], row-major from the top left.
 */
export interface RasterImage {
  width: number;
  height: number;
  channels: 1 | 2 | 3 | 4;
  data: Float32Array;
}

/** Throws a clear error unless `img` is a well-formed {@link RasterImage}. */
export function checkRaster(img: RasterImage, what = 'image'): void {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new Error(`${what}: width and height must be positive integers, got ${width}x${height}`);
  }
  if (![1, 2, 3, 4].includes(channels)) throw new Error(`${what}: channels must be 1 to 4, got ${channels}`);
  if (!(data instanceof Float32Array) || data.length !== width * height * channels) {
    throw new Error(`${what}: data must be a Float32Array of ${width * height * channels} values, got ${data?.length}`);
  }
}

/**
 * 8-bit RGBA pixels (a canvas's ImageData, a codec's output) as a raster: RGB when every
 * pixel is opaque, else RGBA; values k / 255.
 */
export function rgba8ToRaster(data: ArrayLike<number>, width: number, height: number): RasterImage {
  const n = width * height;
  let opaque = true;
  for (let i = 0; i < n && opaque; i++) opaque = data[4 * i + 3] === 255;
  const channels = opaque ? 3 : 4;
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) out[i * channels + c] = data[4 * i + c] / 255;
  }
  return { width, height, channels, data: out };
}

/** Whether the image has an alpha channel. */
export function hasAlpha(img: RasterImage): boolean {
  return img.channels === 2 || img.channels === 4;
}

/** The colour of `img` as RGB (grey replicated) and its alpha plane, or null if it has none. */
export function splitRgbAlpha(img: RasterImage): { rgb: Float32Array; alpha: Float32Array | null } {
  const n = img.width * img.height;
  const c = img.channels;
  const rgb = new Float32Array(n * 3);
  const alpha = hasAlpha(img) ? new Float32Array(n) : null;
  const grey = c <= 2;
  for (let i = 0; i < n; i++) {
    const s = i * c;
    if (grey) {
      rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = img.data[s];
    } else {
      rgb[3 * i] = img.data[s];
      rgb[3 * i + 1] = img.data[s + 1];
      rgb[3 * i + 2] = img.data[s + 2];
    }
    if (alpha) alpha[i] = img.data[s + c - 1];
  }
  return { rgb, alpha };
}

/** Interleaves an RGB plane and an optional alpha plane into an RGB or RGBA image. */
export function joinRgbAlpha(width: number, height: number, rgb: Float32Array, alpha: Float32Array | null): RasterImage {
  if (alpha == null) return { width, height, channels: 3, data: rgb };
  const n = width * height;
  const data = new Float32Array(n * 4);
  for (let i = 0; i < n; i++) {
    data[4 * i] = rgb[3 * i];
    data[4 * i + 1] = rgb[3 * i + 1];
    data[4 * i + 2] = rgb[3 * i + 2];
    data[4 * i + 3] = alpha[i];
  }
  return { width, height, channels: 4, data };
}

/** Pads a `channels`-plane image on the right and bottom by repeating the last column and row. */
export function padEdge(data: Float32Array, width: number, height: number, channels: number, newWidth: number, newHeight: number): Float32Array {
  if (newWidth === width && newHeight === height) return data;
  const out = new Float32Array(newWidth * newHeight * channels);
  for (let y = 0; y < newHeight; y++) {
    const sy = Math.min(y, height - 1);
    for (let x = 0; x < newWidth; x++) {
      const sx = Math.min(x, width - 1);
      const s = (sy * width + sx) * channels;
      const d = (y * newWidth + x) * channels;
      for (let c = 0; c < channels; c++) out[d + c] = data[s + c];
    }
  }
  return out;
}

/** The top-left `newWidth` x `newHeight` part of an image with `channels` planes. */
export function crop(data: Float32Array, width: number, channels: number, newWidth: number, newHeight: number): Float32Array {
  if (newWidth === width) return data.slice(0, newWidth * newHeight * channels);
  const out = new Float32Array(newWidth * newHeight * channels);
  for (let y = 0; y < newHeight; y++) {
    out.set(data.subarray(y * width * channels, (y * width + newWidth) * channels), y * newWidth * channels);
  }
  return out;
}

/** Rounds every value to the nearest multiple of 1/255 (half to even), clamped to [0, 1]. */
export function quantizeTo8Bit(data: Float32Array): Float32Array {
  const out = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = Math.min(1, Math.max(0, data[i])) * 255;
    let r = Math.round(v);
    if (r - v === 0.5 && r % 2 === 1) r -= 1; // half to even, as torch.round and tf.round
    out[i] = r / 255;
  }
  return out;
}

/** A rectangle of an image, in pixels: `x`, `y` its top-left corner. */
export interface ImageRegion {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Asks for a part of an image once its size is known: the rectangle to keep, or null for all of it. */
export type RegionOf = (width: number, height: number) => ImageRegion | null;

/**
 * The rectangle `regionOf` asks of a `width` x `height` image, checked; null when there is no
 * `regionOf`, or it asks for all of it.
 * @throws RangeError when the rectangle is not whole pixels inside the image
 */
export function resolveRegion(width: number, height: number, regionOf: RegionOf | undefined): ImageRegion | null {
  const r = regionOf?.(width, height) ?? null;
  if (r == null) return null;
  const whole = (v: unknown, min: number): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= min;
  if (!whole(r.x, 0) || !whole(r.y, 0) || !whole(r.width, 1) || !whole(r.height, 1) || r.x + r.width > width || r.y + r.height > height) {
    throw new RangeError(`region: ${r.width}x${r.height} at (${r.x}, ${r.y}) is not whole pixels inside the ${width}x${height} image`);
  }
  return r.x === 0 && r.y === 0 && r.width === width && r.height === height ? null : r;
}

/** The samples of rectangle `r` of an image `width` wide with `channels` samples per pixel. */
export function cutSamples<T extends { length: number; subarray(begin: number, end: number): T; set(a: ArrayLike<number>, offset: number): void }>(
  samples: T,
  width: number,
  channels: number,
  r: ImageRegion,
  make: (length: number) => T,
): T {
  const out = make(r.width * r.height * channels);
  for (let y = 0; y < r.height; y++) {
    const from = ((r.y + y) * width + r.x) * channels;
    out.set(samples.subarray(from, from + r.width * channels), y * r.width * channels);
  }
  return out;
}
