import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { decodePng } from '../image/png.js';
import { decodeBmp } from './bmp.js';
import type { TrainImage } from './patches.js';

/** File extensions {@link loadImageFolder} reads. */
const EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.bmp']);

/** Options of {@link loadImageFolder}. */
export interface LoadImageFolderOptions {
  /** Read at most this many images (after sorting by name). Default: all. */
  limit?: number;
  /** Skip images smaller than this in either dimension. Default 0. */
  minSize?: number;
}

/**
 * Decodes one PNG, JPEG or BMP file into an 8-bit RGB {@link TrainImage} (grey is replicated,
 * alpha dropped, 16-bit PNG rounded to 8 bits). Node only.
 */
export async function loadTrainImage(path: string): Promise<TrainImage> {
  const bytes = new Uint8Array(await readFile(path));
  const ext = extname(path).toLowerCase();
  const name = path;
  if (ext === '.png') {
    const img = decodePng(bytes);
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
  if (ext === '.jpg' || ext === '.jpeg') {
    const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
    const n = img.width * img.height;
    const data = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      data[i * 3] = img.data[i * 4];
      data[i * 3 + 1] = img.data[i * 4 + 1];
      data[i * 3 + 2] = img.data[i * 4 + 2];
    }
    return { width: img.width, height: img.height, data, name };
  }
  if (ext === '.bmp') {
    try {
      return { ...decodeBmp(bytes), name };
    } catch (e) {
      throw new Error(`${path}: ${(e as Error).message}`);
    }
  }
  throw new Error(`${path}: not a PNG, JPEG or BMP file (by its extension)`);
}

/**
 * The PNG, JPEG and BMP images of a folder (not recursive), sorted by file name, decoded into
 * memory as 8-bit RGB. Node only.
 *
 * @throws Error naming the folder when it does not exist, is not a folder, or holds no images.
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
  const out: TrainImage[] = [];
  for (const f of picked) {
    const img = await loadTrainImage(join(root, f));
    if (img.width >= minSize && img.height >= minSize) out.push({ ...img, name: f });
  }
  return out;
}
