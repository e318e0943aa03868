import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { cliLimitAdvice, internalMessage } from '../cli/errors.js';
import { checkJpegDataSize, checkJpegScans, checkLimit, decodeBmp, decodePng, isSofMarker, LimitError, MAX_JPEG_SEGMENTS, raiseAdvice, resolveLimits, type Limits, type TrainImage, walkJpegSegments } from '@irn/core';

/** File extensions {@link loadImageFolder} reads. */
const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp']);

/** Options of {@link loadTrainImage}. */
export interface LoadTrainImageOptions {
  /** Bounds on the decoded image (`pixels`); default {@link DEFAULT_LIMITS}. */
  limits?: Partial<Limits>;
}

/** Options of {@link loadImageFolder}. */
export interface LoadImageFolderOptions extends LoadTrainImageOptions {
  /** Read at most this many images (after sorting by name). Default: all. */
  limit?: number;
  /** Skip images smaller than this in either dimension. Default 0. */
  minSize?: number;
  /**
   * Where the one-line warning for each unreadable image goes (`irn: warning: <file>: <why>;
   * skipped`). Default `console.warn`.
   */
  log?: (line: string) => void;
  /** Fail when fewer images than this could be read. Default 1. */
  minCount?: number;
}

/**
 * Decodes one PNG, JPEG or BMP file into an 8-bit RGB {@link TrainImage} (grey is replicated,
 * alpha dropped, 16-bit PNG rounded to 8 bits). A JPEG is turned the way its EXIF
 * Orientation tag says it is shown. Node only.
 *
 * @throws Error (a {@link LimitError} for a limit) whose one-line message starts with `path`.
 */
export async function loadTrainImage(path: string, options: LoadTrainImageOptions = {}): Promise<TrainImage> {
  const limits = resolveLimits(options.limits);
  try {
    return await decodeTrainImage(path, limits);
  } catch (e) {
    const message = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ').trim() || 'unreadable';
    const named = message.startsWith(`${path}: `) ? message : `${path}: ${message}`;
    throw e instanceof LimitError ? new LimitError(named, e.limit) : new Error(named, { cause: e });
  }
}

async function decodeTrainImage(path: string, limits: Limits): Promise<TrainImage> {
  const ext = extname(path).toLowerCase();
  if (!EXTENSIONS.has(ext)) throw new Error('not a PNG, JPEG or BMP file (by its extension)');
  // A FIFO or a device named like a photo would block or never end.
  const st = await stat(path);
  if (!st.isFile()) throw new Error('not a regular file');
  const bytes = new Uint8Array(await readFile(path));
  const name = path;
  if (ext === '.png') {
    const img = decodePng(bytes, { limits });
    const n = img.width * img.height;
    const data = new Uint8Array(n * 3);
    const c = img.channels;
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < 3; k++) {
        const src = c <= 2 ? img.data[i * c] : img.data[i * c + k];
        data[i * 3 + k] = Math.round(src * 255);
      }
    }
    return { width: img.width, height: img.height, data, name };
  }
  if (ext === '.bmp') return { ...decodeBmp(bytes, { limits }), name };
  return { ...decodeJpeg(bytes, limits), name };
}

/**
 * Decodes a JPEG into RGB in the orientation it is shown in. The frame size is checked
 * against `limits.pixels` before jpeg-js allocates anything, and jpeg-js gets limits of its
 * own derived from it as a second line.
 */
export function decodeJpeg(bytes: Uint8Array, limits: Limits): Omit<TrainImage, 'name'> {
  const info = readJpegInfo(bytes);
  // jpeg-js allocates the blocks of every frame header (SOF) it meets, for every component it
  // claims, before it reads any data; a few hundred bytes with a second SOF of 10000x10000 or
  // of 5 components cost it 3-5 GB and a minute. Refused from the headers instead.
  const frames = readJpegFrames(bytes);
  if (frames.count > 1) throw new Error(`not a readable JPEG (it has ${frames.count} frame headers (SOF markers); a photo has one)`);
  // jpeg-js keeps no segment, but walks each: 8 million empty comments took it 6.3 s and 324 MB.
  if (frames.segments > MAX_JPEG_SEGMENTS) {
    throw new Error(`not a readable JPEG (it has more than ${MAX_JPEG_SEGMENTS.toLocaleString('en-US')} marker segments; a photo has a few dozen)`);
  }
  const frame = frames.first;
  // What jpeg-js would count for the frame (and what it really takes), with room for its tables.
  let budgetBytes = Math.ceil(limits.pixels * 24) + 64 * 2 ** 20;
  if (info.width != null && info.height != null) {
    if (info.width === 0 || info.height === 0) throw new Error(`JPEG of ${info.width}x${info.height} pixels`);
    checkLimit(limits, 'pixels', info.width * info.height, `the image (${info.width}x${info.height})`, 'pixels');
    // jpeg-js sizes its buffers from the frame header, so a 210-byte file claiming 10000x10000
    // would cost 3 GB and half a minute before it found no data; refused from its size instead
    // (a bit per 8x8 block; the check core's LR reader makes).
    checkJpegDataSize({ width: info.width, height: info.height, dataBytes: bytes.length - info.dataStart });
  }
  if (frame != null) {
    checkJpegFrame(frame);
    // Core's check counts the blocks of one full-resolution component; every component's
    // blocks are coded, each in at least a bit.
    const blocks = frame.blocks.reduce((a, b) => a + b.coded, 0);
    const dataBytes = bytes.length - info.dataStart;
    if (dataBytes * 8 < blocks && !frame.arithmetic) {
      throw new Error(
        `truncated JPEG: a ${frame.width}x${frame.height} image of ${frame.components} components needs at least ${Math.ceil(blocks / 8)} bytes of image data (a bit per 8x8 block of each), the file holds ${dataBytes}`,
      );
    }
    const need = jpegJsBytes(frame) + 4 * bytes.length + 2 ** 20;
    if (need > budgetBytes) {
      throw new LimitError(
        `decoding the ${frame.width}x${frame.height} JPEG of ${frame.components} components needs ${Math.ceil(need / 2 ** 20)} MB, more than the pixel limit allows (${raiseAdvice('pixels')})`,
        'pixels',
      );
    }
    // A file that makes jpeg-js allocate more than its frame needs (a frame header the walk
    // above did not see) stops there.
    budgetBytes = need;
  }
  // A decoder takes each scan over the whole frame: at most 500 (see core's MAX_JPEG_SCANS).
  checkJpegScans(bytes);
  let img;
  try {
    img = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: true,
      maxResolutionInMP: limits.pixels / 1e6,
      // jpeg-js counts what it allocates (see jpegJsBytes).
      maxMemoryUsageInMB: budgetBytes / 2 ** 20,
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    if (/maxResolutionInMP/.test(message) || (frame == null && /maxMemoryUsageInMB/.test(message))) {
      throw new LimitError(`decoding the JPEG needs more than the pixel limit allows (${message}; ${raiseAdvice('pixels')})`, 'pixels');
    }
    if (/maxMemoryUsageInMB/.test(message)) {
      throw new Error(`not a readable JPEG (the decoder needs more memory than its ${frame!.width}x${frame!.height} frame takes: it is malformed)`);
    }
    // jpeg-js throws only Error; an engine's TypeError on malformed input ("Cannot set
    // properties of undefined (setting 'huffmanTableDC')") means nothing to the user.
    const engine = internalMessage(e) != null || e instanceof TypeError || e instanceof ReferenceError || e instanceof RangeError;
    throw new Error(`not a readable JPEG (${engine ? 'the decoder stopped on its malformed structure' : message})`, { cause: e });
  }
  const { width, height } = img;
  if (!(width > 0 && height > 0)) throw new Error(`JPEG of ${width}x${height} pixels`);
  return orient(img.data, width, height, info.orientation);
}

/** A frame header (SOF) as {@link readJpegFrames} reads it. */
export interface JpegFrame {
  width: number;
  height: number;
  /** Colour components the header claims. */
  components: number;
  /** Whether arithmetic-coded (SOF9-11, 13-15). */
  arithmetic: boolean;
  /** Bytes of the segment after its length field. */
  length: number;
  /** Each component's sampling factors (h, v), as far as the segment holds them. */
  sampling: { h: number; v: number }[];
  /** Each component's 8x8 blocks: as jpeg-js allocates them (whole MCUs), and as coded (at least). */
  blocks: { allocated: number; coded: number; blocksPerLine: number; blocksPerColumn: number }[];
}

/** What {@link readJpegFrames} finds in a whole file. */
export interface JpegFrames {
  /** Frame headers (SOF0-15 but DHT, JPG and DAC markers) in the file, up to 9. */
  count: number;
  /** The first one, or undefined when there is none. */
  first?: JpegFrame;
  /** Marker segments other than scans (SOS), up to core's MAX_JPEG_SEGMENTS + 1: the walk stops there. */
  segments: number;
}

/**
 * Counts the frame headers (SOF markers) and the other segments of a JPEG as a tolerant
 * decoder meets them, and reads the first frame header: segments are skipped by their lengths, a scan's data and bytes out of place up
 * to the next marker; the walk ends at EOI, at the end of the file or at a segment cut short.
 * Never reads out of bounds; linear in the file's size.
 */
export function readJpegFrames(bytes: Uint8Array): JpegFrames {
  const out: JpegFrames = { count: 0, segments: 0 };
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return out;
  walkJpegSegments(bytes, (marker, at, length) => {
    if (marker !== 0xda && ++out.segments > MAX_JPEG_SEGMENTS) return true;
    if (!isSofMarker(marker)) return false;
    if (++out.count > 8) return true;
    out.first ??= frameOf(bytes.subarray(at + 2, Math.min(bytes.length, at + Math.max(length, 2))), length, marker);
    return false;
  });
  return out;
}

/** The frame of a SOF segment's `body` (after its length field). */
function frameOf(body: Uint8Array, length: number, marker: number): JpegFrame {
  const height = body.length >= 5 ? (body[1] << 8) | body[2] : 0;
  const width = body.length >= 5 ? (body[3] << 8) | body[4] : 0;
  const components = body.length >= 6 ? body[5] : 0;
  const sampling: { h: number; v: number }[] = [];
  for (let i = 0; i < components && 6 + 3 * i + 2 < body.length; i++) sampling.push({ h: body[7 + 3 * i] >> 4, v: body[7 + 3 * i] & 15 });
  const frame: JpegFrame = { width, height, components, arithmetic: marker >= 0xc9, length, sampling, blocks: [] };
  if (sampling.length === components && sampling.every((s) => s.h >= 1 && s.h <= 4 && s.v >= 1 && s.v <= 4)) {
    // As jpeg-js's prepareComponents sizes them.
    const maxH = Math.max(1, ...sampling.map((s) => s.h));
    const maxV = Math.max(1, ...sampling.map((s) => s.v));
    const mcusPerLine = Math.ceil(width / 8 / maxH);
    const mcusPerColumn = Math.ceil(height / 8 / maxV);
    for (const { h, v } of sampling) {
      const blocksPerLine = Math.ceil((Math.ceil(width / 8) * h) / maxH);
      const blocksPerColumn = Math.ceil((Math.ceil(height / 8) * v) / maxV);
      frame.blocks.push({ allocated: mcusPerLine * h * mcusPerColumn * v, coded: blocksPerLine * blocksPerColumn, blocksPerLine, blocksPerColumn });
    }
  }
  return frame;
}

/**
 * Refuses a frame jpeg-js cannot turn into a photo, before it allocates for it: components other
 * than 1 (grey), 3 (YCbCr or RGB) or 4 (CMYK) (jpeg-js's copyToImageData has no other
 * case, and fails only after decoding them all), a header shorter or longer than its components
 * (jpeg-js reads them by their count, and then reads on from inside it), and sampling factors
 * outside 1-4 (ITU T.81 B.2.2; libjpeg refuses them too).
 */
function checkJpegFrame(frame: JpegFrame): void {
  const { components } = frame;
  if (components !== 1 && components !== 3 && components !== 4) {
    throw new Error(`not a readable JPEG (its frame has ${components} colour components; a photo has 1 (grey), 3 (colour) or 4 (CMYK))`);
  }
  if (frame.length !== 8 + 3 * components) {
    throw new Error(`not a readable JPEG (its frame header is ${frame.length} bytes long, not the ${8 + 3 * components} of its ${components} components)`);
  }
  if (frame.blocks.length !== components) {
    throw new Error(`not a readable JPEG (its frame header has sampling factors outside 1-4: ${frame.sampling.map((s) => `${s.h}x${s.v}`).join(', ')})`);
  }
}

/**
 * The bytes jpeg-js counts against maxMemoryUsageInMB for `frame` (its requestMemoryAllocation
 * calls): 256 per allocated DCT block, 64 per block of each component's samples, a byte per
 * pixel and component for the colour conversion, and 4 per pixel of the RGBA image.
 */
function jpegJsBytes(frame: JpegFrame): number {
  const pixels = frame.width * frame.height;
  let sum = pixels * (frame.components + 4);
  for (const b of frame.blocks) sum += b.allocated * 256 + b.blocksPerLine * b.blocksPerColumn * 64;
  return sum;
}

/** What {@link readJpegInfo} finds before the first scan. */
interface JpegInfo {
  /** From the first frame header (SOF); undefined when none comes before the first scan. */
  width?: number;
  height?: number;
  /** The EXIF Orientation (1-8); 1 when absent or unreadable. */
  orientation: number;
  /** Where the first scan's data starts (after its SOS header); the file's length when no scan was found. */
  dataStart: number;
}

/**
 * Walks the marker segments of a JPEG up to the first scan, every length checked against the
 * bytes there are, for the frame size and the EXIF Orientation. Malformed input ends the walk
 * early (jpeg-js then says what is wrong); it never reads out of bounds.
 */
export function readJpegInfo(bytes: Uint8Array): JpegInfo {
  const n = bytes.length;
  const info: JpegInfo = { orientation: 1, dataStart: n };
  if (n < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return info;
  let p = 2;
  let exifSeen = false;
  while (p + 1 < n) {
    if (bytes[p] !== 0xff) return info;
    // Any number of 0xFF fill bytes may precede a marker.
    while (p + 1 < n && bytes[p + 1] === 0xff) p++;
    if (p + 1 >= n) return info;
    const marker = bytes[p + 1];
    p += 2;
    // Markers without a length: TEM, RSTn; EOI and SOS end the header.
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0xd9) return info;
    if (p + 2 > n) return info;
    const length = (bytes[p] << 8) | bytes[p + 1];
    if (length < 2 || p + length > n) return info;
    if (marker === 0xda) {
      info.dataStart = p + length;
      return info;
    }
    const body = bytes.subarray(p + 2, p + length);
    if (isSofMarker(marker) && info.width == null && body.length >= 5) {
      info.height = (body[1] << 8) | body[2];
      info.width = (body[3] << 8) | body[4];
    } else if (marker === 0xe1 && !exifSeen && body.length >= 6 && isExifHeader(body)) {
      exifSeen = true;
      info.orientation = exifOrientation(body.subarray(6));
    }
    p += length;
  }
  return info;
}

/** "Exif\0\0". */
function isExifHeader(b: Uint8Array): boolean {
  return b[0] === 0x45 && b[1] === 0x78 && b[2] === 0x69 && b[3] === 0x66 && b[4] === 0 && b[5] === 0;
}

/**
 * The Orientation tag (0x0112) of IFD0 of a TIFF structure (either byte order), or 1 when
 * there is none, it is malformed, or its value is not 1-8.
 */
function exifOrientation(tiff: Uint8Array): number {
  if (tiff.length < 8) return 1;
  const little = tiff[0] === 0x49 && tiff[1] === 0x49;
  const big = tiff[0] === 0x4d && tiff[1] === 0x4d;
  if (!little && !big) return 1;
  const v = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  if (v.getUint16(2, little) !== 42) return 1;
  const ifd = v.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const count = v.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.length) return 1;
    if (v.getUint16(entry, little) !== 0x0112) continue;
    // SHORT, at least one value, stored in the first two bytes of the value field.
    if (v.getUint16(entry + 2, little) !== 3 || v.getUint32(entry + 4, little) < 1) return 1;
    const value = v.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
}

/**
 * RGB of the image as shown, from RGBA `data` of `w` x `h` as stored and an EXIF orientation:
 * 2 mirrored, 3 turned 180 degrees, 4 flipped, 5 transposed, 6 turned 90 degrees clockwise,
 * 7 transversed, 8 turned 90 degrees anticlockwise (5-8 swap width and height).
 */
export function orient(data: Uint8Array, w: number, h: number, orientation: number): Omit<TrainImage, 'name'> {
  const swap = orientation >= 5 && orientation <= 8;
  const width = swap ? h : w;
  const height = swap ? w : h;
  const out = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      // (sx, sy): the stored pixel shown at (x, y).
      let sx: number;
      let sy: number;
      switch (orientation) {
        case 2: [sx, sy] = [w - 1 - x, y]; break;
        case 3: [sx, sy] = [w - 1 - x, h - 1 - y]; break;
        case 4: [sx, sy] = [x, h - 1 - y]; break;
        case 5: [sx, sy] = [y, x]; break;
        case 6: [sx, sy] = [y, h - 1 - x]; break;
        case 7: [sx, sy] = [w - 1 - y, h - 1 - x]; break;
        case 8: [sx, sy] = [w - 1 - y, x]; break;
        default: [sx, sy] = [x, y];
      }
      const s = (sy * w + sx) * 4;
      const d = (y * width + x) * 3;
      out[d] = data[s];
      out[d + 1] = data[s + 1];
      out[d + 2] = data[s + 2];
    }
  }
  return { width, height, data: out };
}

/**
 * The PNG, JPEG and BMP images of a folder (not recursive), sorted by file name, decoded into
 * memory as 8-bit RGB. Node only. An image that cannot be read (corrupt, unsupported, above
 * a limit, not a regular file) is skipped with one warning line through `options.log` naming
 * the file and why.
 *
 * @throws Error naming the folder when it does not exist, is not a folder, holds no images,
 *   or fewer than `options.minCount` (default 1) of them could be read.
 * @example
 * const images = await loadImageFolder('../shared/datasets/train/cid22');
 */
export async function loadImageFolder(dir: string, options: LoadImageFolderOptions = {}): Promise<TrainImage[]> {
  const root = resolve(dir);
  let st;
  try {
    st = await stat(root);
  } catch {
    throw new Error(`image folder ${root} does not exist`);
  }
  if (!st.isDirectory()) throw new Error(`${root} is not a folder`);
  const files = (await readdir(root)).filter((f) => EXTENSIONS.has(extname(f).toLowerCase())).sort();
  if (files.length === 0) throw new Error(`image folder ${root} holds no .png, .jpg, .jpeg or .bmp files`);
  const picked = options.limit == null ? files : files.slice(0, options.limit);
  const minSize = options.minSize ?? 0;
  const minCount = options.minCount ?? 1;
  const log = options.log ?? ((line: string) => console.warn(line));
  const out: TrainImage[] = [];
  let skipped = 0;
  let firstProblem = '';
  for (const f of picked) {
    let img;
    try {
      img = await loadTrainImage(join(root, f), { limits: options.limits });
    } catch (e) {
      skipped++;
      const message = cliLimitAdvice(e instanceof Error ? e.message : String(e));
      if (firstProblem === '') firstProblem = message;
      log(`irn: warning: ${message}; skipped`);
      continue;
    }
    if (img.width >= minSize && img.height >= minSize) out.push({ ...img, name: f });
  }
  if (skipped > 0 && out.length < minCount) {
    throw new Error(
      `${root}: ${skipped} of ${picked.length} images could not be read, ${out.length} left, fewer than the ${minCount} needed (first: ${firstProblem})`,
    );
  }
  return out;
}

/** What {@link loadTrainingFolders} read: training images, and the held-out validation images. */
export interface TrainingFolders {
  train: TrainImage[];
  val: TrainImage[];
}

/**
 * The training scripts' data (train-x2.ts, train-decoder.ts): every image of each of
 * `folders` (names under `root`, read by {@link loadImageFolder} with `minSize`), the last
 * `holdout` images of the first folder held out for validation (never a test set).
 * @throws Error when the first folder has no more than `holdout` images.
 */
export async function loadTrainingFolders(root: string, folders: readonly string[], options: { holdout: number; minSize: number }): Promise<TrainingFolders> {
  const train: TrainImage[] = [];
  let val: TrainImage[] = [];
  for (const [i, f] of folders.entries()) {
    const imgs = await loadImageFolder(join(resolve(root), f), { minSize: options.minSize });
    if (i === 0) {
      if (imgs.length <= options.holdout) throw new Error(`${join(resolve(root), f)} has ${imgs.length} images: too few to hold out ${options.holdout} for validation and train on the rest`);
      val = imgs.slice(imgs.length - options.holdout);
      train.push(...imgs.slice(0, imgs.length - options.holdout));
    } else {
      train.push(...imgs);
    }
  }
  return { train, val };
}
