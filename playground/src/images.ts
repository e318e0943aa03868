/** Image helpers of the playground: everything works on RGB {@link RasterImage}s in [0, 1]. */
import { checkLimit, resolveLimits, type RasterImage, type TrainImage } from '@irn/core';
import { decodeInput, type ImageRegion } from '@irn/core/browser';

/** The largest side the playground works on; bigger photos are centre-cropped (say so in the UI). */
export const MAX_SIDE = 1024;

/** A photo as the playground holds it: RGB, sides multiples of 4 (so x2 and x4 both divide it). */
export interface Photo {
  name: string;
  image: RasterImage;
  /** What was done to the file to get here, for the UI (crop, alpha dropped), or ''. */
  note: string;
}

/** RGB copy of any raster: grey is repeated, alpha dropped. */
export function toRgb(img: RasterImage): RasterImage {
  const { width, height, channels, data } = img;
  if (channels === 3) return img;
  const out = new Float32Array(width * height * 3);
  for (let i = 0; i < width * height; i++) {
    if (channels <= 2) {
      const v = data[i * channels];
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    } else {
      out[i * 3] = data[i * 4];
      out[i * 3 + 1] = data[i * 4 + 1];
      out[i * 3 + 2] = data[i * 4 + 2];
    }
  }
  return { width, height, channels: 3, data: out };
}

/** Crops `img` to `w x h` at `(left, top)`. */
export function cropRaster(img: RasterImage, left: number, top: number, w: number, h: number): RasterImage {
  const c = img.channels;
  const out = new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) out.set(img.data.subarray(((top + y) * img.width + left) * c, ((top + y) * img.width + left + w) * c), y * w * c);
  return { width: w, height: h, channels: img.channels, data: out };
}

/** Where the playground cuts a `width` x `height` photo: its centre, at most {@link MAX_SIDE} per side, sides multiples of 4. */
export function photoRegion(width: number, height: number): ImageRegion {
  const w = Math.min(width, MAX_SIDE) & ~3;
  const h = Math.min(height, MAX_SIDE) & ~3;
  return { x: (width - w) >> 1, y: (height - h) >> 1, width: w, height: h };
}

/**
 * Opens a photo file (a URL or a Blob) for the playground: only {@link photoRegion} of it is
 * read out of the browser's decoder (a 48-megapixel photo no longer becomes 770 MB of floats
 * to keep 1024 x 1024 of it), then {@link preparePhoto}.
 */
export async function openPhoto(name: string, input: string | Blob): Promise<Photo> {
  if (input instanceof Blob) checkPhotoHeader(new Uint8Array(await input.slice(0, 64).arrayBuffer()));
  let full: { width: number; height: number } | null = null;
  const { raster } = await decodeInput(input, undefined, {
    region: (width, height) => {
      full = { width, height };
      return width < 16 || height < 16 ? null : photoRegion(width, height);
    },
  });
  return preparePhoto(name, raster, full ?? raster);
}

/**
 * The most bytes a PNG's pixel data may inflate to here. Core's decoder inflates a PNG whole
 * (and holds about four times that while it decodes) before the playground keeps 1024 x 1024
 * of it: a 775 KB 10000 x 10000 16-bit RGBA PNG took 3.2 GB and held the page for 45 s. 128 MiB
 * is a 44-megapixel 8-bit RGB photo (about 0.5 GB and a few seconds).
 */
export const MAX_PNG_BYTES = 128 * 1024 * 1024;

const PNG_COLOURS: Record<number, [string, number]> = { 0: ['grey', 1], 2: ['RGB', 3], 3: ['palette', 1], 4: ['grey and alpha', 2], 6: ['RGBA', 4] };

/**
 * Refuses a PNG, from its first bytes, whose pixel data inflates to more than
 * {@link MAX_PNG_BYTES}: its decoding would cost far more than the crop the playground keeps.
 * (Core's decodeInput checks the pixel limit of every format from its headers, BMP and GIF
 * included, before anything is decoded.) Anything else passes.
 * @throws LimitError (core's, worded as core words it) past the pixel limit, or Error over the byte limit
 */
export function checkPhotoHeader(head: Uint8Array): void {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const ascii = (at: number, n: number) => String.fromCharCode(...head.subarray(at, at + n));
  if (head.length < 26 || ascii(1, 3) !== 'PNG' || ascii(12, 4) !== 'IHDR') return;
  const [width, height, depth] = [view.getUint32(16), view.getUint32(20), head[24]];
  const [kind, channels] = PNG_COLOURS[head[25]] ?? ['', 0];
  checkLimit(resolveLimits(), 'pixels', width * height, `the image (${width}x${height})`, 'pixels');
  const bytes = height * (1 + Math.ceil((width * channels * depth) / 8));
  const mib = (n: number) => Math.ceil(n / 2 ** 20);
  if (bytes > MAX_PNG_BYTES) {
    throw new Error(`the PNG (${width}x${height}, ${depth}-bit ${kind}) is ${mib(bytes)} MiB of pixel data, above the limit of ${mib(MAX_PNG_BYTES)} MiB (the playground's limit for PNGs: crop it, or save it as JPEG or WebP)`);
  }
}

/**
 * The playground's working copy of a decoded file: RGB, centre-cropped to at most
 * {@link MAX_SIDE} per side, sides rounded down to multiples of 4 (the paper's mod-crop).
 * `decoded` is the whole image of size `full`, or already its {@link photoRegion}.
 * @throws Error when the image is smaller than 16 px on a side.
 */
export function preparePhoto(name: string, decoded: RasterImage, full: { width: number; height: number } = decoded): Photo {
  if (full.width < 16 || full.height < 16) throw new Error(`${name} is ${full.width}x${full.height}; the playground needs at least 16x16 pixels`);
  const r = photoRegion(full.width, full.height);
  const cut = decoded.width === r.width && decoded.height === r.height;
  if (!cut && (decoded.width !== full.width || decoded.height !== full.height)) {
    throw new Error(`${name}: got ${decoded.width}x${decoded.height} pixels of a ${full.width}x${full.height} image`);
  }
  const notes: string[] = [];
  if (decoded.channels === 2 || decoded.channels === 4) notes.push('alpha left out');
  if (decoded.channels <= 2) notes.push('grey shown as RGB');
  const rgb = toRgb(decoded);
  const { width: w, height: h } = r;
  if (w !== full.width || h !== full.height) {
    notes.push(w < full.width - 3 || h < full.height - 3 ? `centre ${w}x${h} of ${full.width}x${full.height}` : `cropped to ${w}x${h} (multiples of 4)`);
  }
  const image = cut ? rgb : cropRaster(rgb, r.x, r.y, w, h);
  return { name, image, note: notes.join('; ') };
}

/**
 * The most photos a fine-tune takes (the current one included): each is kept as floats (up to
 * 12 MiB at 1024 x 1024) and sent to the worker, so a camera folder picked at once would take
 * gigabytes.
 */
export const MAX_TRAIN_PHOTOS = 32;

/**
 * Opens `files` as training photos, next to `have` photos already chosen: those past
 * {@link MAX_TRAIN_PHOTOS} are not read at all. `refused` is one line for the page naming the
 * first file that could not be opened and how many were left out, or null.
 */
export async function openTrainingPhotos(files: readonly File[], have: number, open: (name: string, file: File) => Promise<Photo> = openPhoto): Promise<{ photos: Photo[]; refused: string | null }> {
  const photos: Photo[] = [];
  const failures: string[] = [];
  let over = 0;
  for (const f of files) {
    if (have + photos.length >= MAX_TRAIN_PHOTOS) {
      over++;
      continue;
    }
    try {
      photos.push(await open(f.name.replace(/\.\w+$/, ''), f));
    } catch (e) {
      failures.push(`${f.name}: ${(e as Error).message}`);
    }
  }
  const parts: string[] = [];
  if (failures.length > 0) parts.push(failures.length === 1 ? failures[0] : `${failures[0]} (and ${failures.length - 1} more that could not be opened)`);
  if (over > 0) parts.push(`${over} photo${over === 1 ? '' : 's'} not added: a fine-tune takes at most ${MAX_TRAIN_PHOTOS}`);
  return { photos, refused: parts.length ? parts.join('; ') : null };
}

/** 8-bit RGB copy for the trainer. */
export function toTrainImage(photo: Photo): TrainImage {
  const { width, height, data } = photo.image;
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i++) out[i] = Math.round(Math.min(1, Math.max(0, data[i])) * 255);
  return { width, height, data: out, name: photo.name };
}

/** Rounds to 8 bits (k/255), as an LR PNG stores it. */
export function round8(img: RasterImage): RasterImage {
  const data = new Float32Array(img.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, img.data[i])) * 255) / 255;
  return { ...img, data };
}

/**
 * `byte` at byte `k` of a pixel read as one 32-bit word, for 0..255: tables that make a
 * pixel one write whatever the platform's byte order.
 */
function byteTable(k: number): Uint32Array {
  const table = new Uint32Array(256);
  const bytes = new Uint8Array(table.buffer);
  for (let v = 0; v < 256; v++) bytes[v * 4 + k] = v;
  return table;
}
let tables: { r: Uint32Array; g: Uint32Array; b: Uint32Array; a: Uint32Array; grey: Uint32Array } | null = null;
function pixelTables() {
  if (tables == null) {
    const [r, g, b, a] = [0, 1, 2, 3].map(byteTable);
    tables = { r, g, b, a, grey: r.map((_, v) => r[v] | g[v] | b[v] | a[255]) };
  }
  return tables;
}

/** A value in [0, 1] (clipped) as a byte, as PNG and the canvas show it. */
const toByte = (v: number): number => Math.round(Math.min(1, Math.max(0, v)) * 255);

/**
 * RGBA bytes of an RGB(A) or grey raster, as {@link drawRaster} draws it (grey replicated,
 * alpha 255 when it has none); of its rows `top` to `bottom` (excluded) when given.
 */
export function rasterRgba(img: RasterImage, top = 0, bottom = img.height): Uint8ClampedArray<ArrayBuffer> {
  const { r, g, b, a } = pixelTables();
  const c = img.channels;
  const data = img.data;
  const first = top * img.width;
  const out = new Uint32Array((bottom - top) * img.width);
  const [gi, bi] = c >= 3 ? [1, 2] : [0, 0];
  for (let i = 0; i < out.length; i++) {
    const s = (first + i) * c;
    // NaN becomes 0, as a Uint8ClampedArray stores it.
    const alpha = c === 4 || c === 2 ? Math.min(255, Math.max(0, Math.round(data[s + c - 1] * 255))) | 0 : 255;
    out[i] = r[toByte(data[s]) | 0] | g[toByte(data[s + gi]) | 0] | b[toByte(data[s + bi]) | 0] | a[alpha];
  }
  return new Uint8ClampedArray(out.buffer);
}

/** RGBA bytes of one latent plane as grey: 0 is mid-grey and ±`range` the ends (values beyond clip). */
export function planeRgba(plane: Float32Array, range = 3): Uint8ClampedArray<ArrayBuffer> {
  const { grey } = pixelTables();
  const out = new Uint32Array(plane.length);
  for (let i = 0; i < plane.length; i++) {
    const v = Math.round(127.5 + (plane[i] / range) * 127.5);
    // NaN becomes 0, as a Uint8ClampedArray stores it.
    out[i] = grey[v < 0 ? 0 : v > 255 ? 255 : v | 0];
  }
  return new Uint8ClampedArray(out.buffer);
}

/** Draws an RGB(A) raster into `canvas`, resizing the canvas to the image. */
export function drawRaster(canvas: HTMLCanvasElement, img: RasterImage): void {
  putPixels(canvas, rasterRgba(img), img.width, img.height);
}

/**
 * The steps that draw `img` into `canvas`, `rows` rows at a time, for drawing across several
 * tasks (a 1024 x 1024 raster took 0.18 s at once on a 2-core machine): the rows go to a
 * canvas of their own, and the last step copies it in whole, so no half-drawn image shows.
 */
export function drawRasterSteps(canvas: HTMLCanvasElement, img: RasterImage, rows = 128): (() => void)[] {
  const scratch = document.createElement('canvas');
  const steps: (() => void)[] = [
    () => {
      scratch.width = img.width;
      scratch.height = img.height;
    },
  ];
  for (let top = 0; top < img.height; top += rows) {
    const bottom = Math.min(img.height, top + rows);
    steps.push(() => scratch.getContext('2d')!.putImageData(new ImageData(rasterRgba(img, top, bottom), img.width, bottom - top), 0, top));
  }
  steps.push(() => copyCanvas(canvas, scratch));
  return steps;
}

/** Draws one latent plane as grey: 0 is mid-grey and ±`range` the ends (values beyond clip). */
export function drawPlane(canvas: HTMLCanvasElement, plane: Float32Array, width: number, height: number, range = 3): void {
  putPixels(canvas, planeRgba(plane, range), width, height);
}

/** Draws `from` into `canvas` (the same pixels), resizing the canvas to it. */
export function copyCanvas(canvas: HTMLCanvasElement, from: HTMLCanvasElement): void {
  canvas.width = from.width;
  canvas.height = from.height;
  canvas.getContext('2d')!.drawImage(from, 0, 0);
}

function putPixels(canvas: HTMLCanvasElement, rgba: Uint8ClampedArray<ArrayBuffer>, width: number, height: number): void {
  canvas.width = width;
  canvas.height = height;
  canvas.getContext('2d')!.putImageData(new ImageData(rgba, width, height), 0, 0);
}

/** Histogram of `values` on `bins` equal bins over [lo, hi], as a density (integrates to the in-range fraction). */
export function histogram(values: Float32Array, lo: number, hi: number, bins: number): { centres: number[]; density: number[] } {
  const counts = new Array<number>(bins).fill(0);
  const width = (hi - lo) / bins;
  for (const v of values) {
    const b = Math.floor((v - lo) / width);
    if (b >= 0 && b < bins) counts[b]++;
  }
  return {
    centres: counts.map((_, i) => lo + (i + 0.5) * width),
    density: counts.map((c) => c / (values.length * width)),
  };
}

/** Mean and standard deviation. */
export function moments(values: Float32Array): { mean: number; std: number } {
  let s = 0;
  let s2 = 0;
  for (const v of values) {
    s += v;
    s2 += v * v;
  }
  const mean = s / values.length;
  return { mean, std: Math.sqrt(Math.max(0, s2 / values.length - mean * mean)) };
}

/** The N(0, 1) density. */
export const normalPdf = (x: number): number => Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI);
