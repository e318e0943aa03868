import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from '../training/rng.js';

/** An 8-bit RGB training image: `height` rows of `width` pixels, 3 bytes each, row-major. */
export interface TrainImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** Where it came from (file name), for messages. */
  name?: string;
}

/**
 * A batch `[batch, size, size, 3]` in [0, 1] of random HR patches: each picks an image, a
 * position, and one of the 8 flips/transposes (the dihedral group, IRN's augmentation), all
 * drawn from `rng` in a fixed order so that the same generator state gives the same batch.
 *
 * @throws Error when there are no images or one is smaller than `size`.
 */
export function samplePatches(images: readonly TrainImage[], rng: Rng, batch: number, size: number): tf.Tensor4D {
  if (images.length === 0) throw new Error('samplePatches: no training images');
  const out = new Float32Array(batch * size * size * 3);
  const inv = 1 / 255;
  for (let b = 0; b < batch; b++) {
    const img = images[rng.int(images.length)];
    if (img.width < size || img.height < size) {
      throw new Error(`samplePatches: image ${img.name ?? ''} is ${img.width}x${img.height}, smaller than the ${size} px patch`);
    }
    const top = rng.int(img.height - size + 1);
    const left = rng.int(img.width - size + 1);
    const mode = rng.int(8);
    const flipH = (mode & 1) !== 0;
    const flipV = (mode & 2) !== 0;
    const transpose = (mode & 4) !== 0;
    const base = b * size * size * 3;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let sy = transpose ? x : y;
        let sx = transpose ? y : x;
        if (flipV) sy = size - 1 - sy;
        if (flipH) sx = size - 1 - sx;
        const s = ((top + sy) * img.width + (left + sx)) * 3;
        const d = base + (y * size + x) * 3;
        out[d] = img.data[s] * inv;
        out[d + 1] = img.data[s + 1] * inv;
        out[d + 2] = img.data[s + 2] * inv;
      }
    }
  }
  return tf.tensor4d(out, [batch, size, size, 3]);
}

/** The image as a `[1, H', W', 3]` tensor in [0, 1], cropped to multiples of `multiple` (top-left kept). */
export function imageTensor(img: TrainImage, multiple = 1): tf.Tensor4D {
  const h = img.height - (img.height % multiple);
  const w = img.width - (img.width % multiple);
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w * 3; x++) out[y * w * 3 + x] = img.data[y * img.width * 3 + x] / 255;
  }
  return tf.tensor4d(out, [1, h, w, 3]);
}
