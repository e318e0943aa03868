import { downscaleImage, imresize, psnrRgb, psnrY, ssimY, upscaleImage, type IrnModel, type RasterImage } from '@irn/core';

/** Most gaussian draws averaged per image (the paper uses 5): each is one more upscale of the image. */
export const MAX_EVAL_DRAWS = 100;

/** Side of core's SSIM window (gaussian 11x11, sigma 1.5), which must fit in the shaved image. */
const SSIM_WINDOW = 11;

/**
 * The smallest width and height of a photo that {@link evaluateImage} can score at `scale`:
 * mod-cropped to a multiple of `scale` and shaved by `scale` on each side, it must still hold
 * SSIM's 11x11 window (x2: 16, x4: 20).
 */
function minEvalSide(scale: number): number {
  return Math.ceil((SSIM_WINDOW + 2 * scale) / scale) * scale;
}

/** How z is drawn when evaluating. */
export interface EvalOptions {
  /** `"zeros"` (one deterministic pass) or `"gaussian"` (the paper: mean of `draws` draws). Default zeros. */
  z?: 'zeros' | 'gaussian';
  /** Draws averaged with gaussian z, 1 to {@link MAX_EVAL_DRAWS}. Default 5 (the paper). */
  draws?: number;
  /** Seed of the first draw; draw i uses seed + i. Default 0. */
  seed?: number;
  /** Standard deviation of the gaussian z. Default 1. */
  temperature?: number;
}

/** Scores of one method on one image. */
export interface Scores {
  psnrY: number;
  ssimY: number;
  psnrRgb: number;
}

/** Everything measured on one image. */
export interface ImageEvaluation {
  name: string;
  width: number;
  height: number;
  /** IRN: downscale, 8-bit LR, upscale, 8-bit output (mean over draws). */
  irn: Scores;
  /** MATLAB-style bicubic down and up, each rounded to 8 bits (the papers' baseline). */
  bicubic: Scores;
  /** RGB PSNR of IRN's LR against the bicubic LR: how much the LR looks like an ordinary thumbnail. */
  lrVsBicubicPsnr: number;
}

/** The image cropped to a multiple of `scale` on both sides (the paper's mod-crop). */
export function modCrop(img: RasterImage, scale: number): RasterImage {
  const w = img.width - (img.width % scale);
  const h = img.height - (img.height % scale);
  if (w === img.width && h === img.height) return img;
  const c = img.channels;
  const data = new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(y * img.width * c, (y * img.width + w) * c), y * w * c);
  return { width: w, height: h, channels: img.channels, data };
}

function round8(img: RasterImage): RasterImage {
  return { ...img, data: img.data.map((v) => Math.round(Math.min(1, Math.max(0, v)) * 255) / 255) };
}

/** RGB view of an image (grey replicated, alpha dropped): what IRN and the metrics compare. */
function rgbOf(img: RasterImage): RasterImage {
  if (img.channels === 3) return img;
  const n = img.width * img.height;
  const c = img.channels;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const grey = c <= 2;
    for (let k = 0; k < 3; k++) data[3 * i + k] = img.data[i * c + (grey ? 0 : k)];
  }
  return { width: img.width, height: img.height, channels: 3, data };
}

function scoresOf(result: RasterImage, reference: RasterImage, shave: number): Scores {
  return {
    psnrY: psnrY(result, reference, { shave }),
    ssimY: ssimY(result, reference, { shave }),
    psnrRgb: psnrRgb(result, reference, { shave }),
  };
}

/**
 * Evaluates a model on one HR image with the paper's protocol (IRN.md, "Test protocol"):
 * mod-crop to the scale, 8-bit LR, upscale with z, clamp and round to 8 bits, Y-channel PSNR
 * and SSIM with `scale` pixels shaved; also RGB PSNR, the bicubic baseline, and IRN's LR
 * against the bicubic LR.
 * @throws Error when the image is smaller than {@link minEvalSide} on a side (the message
 *   gives its size and the least one; callers name the file), or `draws` is out of range.
 */
export async function evaluateImage(model: IrnModel, name: string, image: RasterImage, options: EvalOptions = {}): Promise<ImageEvaluation> {
  const s = model.scale;
  const least = minEvalSide(s);
  if (image.width < least || image.height < least) {
    throw new Error(`${image.width}x${image.height} pixels, too small to score at x${s}: a photo needs at least ${least}x${least} (SSIM's ${SSIM_WINDOW}x${SSIM_WINDOW} window once ${s} pixels are shaved from each side)`);
  }
  const hr = modCrop(rgbOf(image), s);
  const mode = options.z ?? 'zeros';
  const draws = mode === 'gaussian' ? (options.draws ?? 5) : 1;
  if (!Number.isInteger(draws) || draws < 1 || draws > MAX_EVAL_DRAWS) throw new Error(`draws must be an integer from 1 to ${MAX_EVAL_DRAWS}, got ${draws}`);
  const lr = await downscaleImage(model, hr);
  const runs: Scores[] = [];
  for (let i = 0; i < draws; i++) {
    const latent = mode === 'gaussian' ? { z: 'gaussian' as const, seed: (options.seed ?? 0) + i, temperature: options.temperature ?? 1 } : { z: 'zeros' as const };
    runs.push(scoresOf(round8(await upscaleImage(model, lr, latent)), hr, s));
  }
  const mean = (k: keyof Scores) => runs.reduce((a, r) => a + r[k], 0) / runs.length;
  const bicubicLr = round8(imresize(hr, hr.width / s, hr.height / s));
  const bicubicHr = round8(imresize(bicubicLr, hr.width, hr.height));
  return {
    name,
    width: hr.width,
    height: hr.height,
    irn: { psnrY: mean('psnrY'), ssimY: mean('ssimY'), psnrRgb: mean('psnrRgb') },
    bicubic: scoresOf(bicubicHr, hr, s),
    lrVsBicubicPsnr: psnrRgb(lr, bicubicLr),
  };
}

/** Mean of each score over images. */
export function meanEvaluation(rows: ImageEvaluation[]): Omit<ImageEvaluation, 'name' | 'width' | 'height'> {
  const m = (f: (r: ImageEvaluation) => number) => rows.reduce((a, r) => a + f(r), 0) / rows.length;
  const scores = (k: 'irn' | 'bicubic'): Scores => ({
    psnrY: m((r) => r[k].psnrY),
    ssimY: m((r) => r[k].ssimY),
    psnrRgb: m((r) => r[k].psnrRgb),
  });
  return { irn: scores('irn'), bicubic: scores('bicubic'), lrVsBicubicPsnr: m((r) => r.lrVsBicubicPsnr) };
}
