import * as tf from '@tensorflow/tfjs-core';
import { checkRaster, joinRgbAlpha, splitRgbAlpha, type RasterImage } from '../image/raster.js';
import { concatChannels } from '../layers/concat-channels.js';
import type { IrnModel, LatentOptions } from '../model/irn.js';
import { realWithProxyGradient } from '../training/jpeg-proxy.js';
import { quantize8InPlace, readRgb } from './pixels.js';

/**
 * What the browser will see of an LR image: the 8-bit LR encoded with the delivery codec and
 * decoded again (a JPEG at quality 80, say). Receives an LR of 8-bit levels (RGB, or RGBA
 * when the LR has alpha) and returns the decoded image of the same size; only its RGB is used.
 */
export type LrRoundTrip = (lr: RasterImage) => RasterImage | Promise<RasterImage>;

/** One step of {@link refineLr}. */
export interface RefineStep {
  /** 0 is the LR as given; step k follows k updates. */
  step: number;
  /** RGB PSNR (dB, peak 1) of the image restored from this step's round-tripped LR. */
  psnr: number;
}

/** Options of {@link refineLr}. */
export interface RefineOptions {
  /** Gradient steps (each one restore and its gradient). 0 only measures the LR as given. */
  steps: number;
  /**
   * Adam's step size, in LR pixel units of [0, 1]; default 1 / 255: a step moves a pixel by
   * about one 8-bit level, so the codec sees a different image after every step.
   */
  learningRate?: number;
  /**
   * The delivery codec's round trip (see {@link LrRoundTrip}); default none: the LR is stored
   * losslessly, so only the 8-bit rounding stands between the LR and the browser.
   */
  roundTrip?: LrRoundTrip;
  /**
   * A differentiable stand-in of the round trip whose gradient replaces the identity in the
   * backward pass (the forward pass still uses the real decoded LR): for a JPEG LR,
   * `(lr) => jpegProxy(lr, quality).image`, which knows the codec's chroma subsampling and
   * quantization. Receives the LR being refined ([1, h, w, 3], [0, 1]) inside the gradient
   * tape; must return a tensor of the same shape. Default: the identity (straight through).
   */
  gradientProxy?: (lr: tf.Tensor4D) => tf.Tensor4D;
  /** The z the browser restores with; default zeros (what the shipped models are trained for). */
  latent?: LatentOptions;
  /** Largest HR image, in pixels, refined in one piece (the gradient needs the whole image); default 4,194,304 (4 MP). */
  maxPixels?: number;
  /** Called after each measurement, step 0 included. */
  onStep?: (step: RefineStep) => void;
  /** Cancels between steps with `signal.reason`. */
  signal?: AbortSignal;
}

/** What {@link refineLr} returns. */
export interface RefineResult {
  /** The best LR found, in 8-bit levels (alpha, when present, as given): encode this one. */
  lr: RasterImage;
  /** PSNR of the LR as given and of the best one (dB, RGB, through the round trip). */
  initialPsnr: number;
  bestPsnr: number;
  /** Which step gave the best LR (0: refinement did not help; the LR as given is returned). */
  bestStep: number;
  /** Every measurement, step 0 first. */
  history: RefineStep[];
}

/**
 * Encoder-side refinement: with the upscaler fixed, changes the LR image so that what the
 * browser restores from it, after the delivery codec, comes closer to the original `hr`.
 *
 * The LR pixels are the variables. Each step sends the current LR through the codec
 * (`roundTrip`, the real encoder and decoder), restores the decoded LR with the model, and
 * takes the mean squared error against `hr`. The codec has no gradient, so it is passed
 * straight through (the restore's gradient with respect to the decoded LR is applied to the
 * LR before coding); the measurement itself is exact, because the forward pass uses the real
 * decoded image. Adam moves the LR, clamped to [0, 1]; the LR of the best measured step is
 * returned, so the result is never worse than the input by this measure.
 *
 * The whole image is one tensor (the gradient needs all of it), so `hr` is limited to
 * `maxPixels`. `hr` is the original (any channels; alpha is ignored), `lr` its IRN LR
 * (`ceil(size / scale)`, as {@link downscaleImage} returns).
 *
 * @example
 * const lr = await downscaleImage(model, photo);
 * const jpeg80 = async (img) => decodeJpeg(await encodeJpeg(img, 80));
 * const { lr: better, initialPsnr, bestPsnr } = await refineLr(model, photo, lr, { steps: 10, roundTrip: jpeg80 });
 */
export async function refineLr(model: IrnModel, hr: RasterImage, lr: RasterImage, options: RefineOptions): Promise<RefineResult> {
  checkRaster(hr, 'original image');
  checkRaster(lr, 'LR image');
  const s = model.scale;
  const { steps } = options;
  if (!Number.isInteger(steps) || steps < 0) throw new Error(`refine steps must be an integer >= 0, got ${steps}`);
  const learningRate = options.learningRate ?? 1 / 255;
  if (!(learningRate > 0 && Number.isFinite(learningRate))) throw new Error(`refine learning rate must be a positive number, got ${learningRate}`);
  const maxPixels = options.maxPixels ?? 4 * 1024 * 1024;
  if (hr.width * hr.height > maxPixels) {
    throw new Error(
      `refinement works on the whole image at once and is limited to ${maxPixels} pixels; ${hr.width}x${hr.height} is larger (downscale it without refinement, or raise maxPixels if memory allows)`,
    );
  }
  if (lr.width !== Math.ceil(hr.width / s) || lr.height !== Math.ceil(hr.height / s)) {
    throw new Error(`the LR of a ${hr.width}x${hr.height} image at x${s} is ${Math.ceil(hr.width / s)}x${Math.ceil(hr.height / s)}, got ${lr.width}x${lr.height}`);
  }
  const [w, h] = [lr.width, lr.height];
  const { rgb: lrRgb, alpha } = splitRgbAlpha(lr);
  const target = tf.tensor4d(readRgb(hr, 0, 0, hr.width, hr.height), [1, hr.height, hr.width, 3]);
  const z = tf.tidy(() => model.latent([1, h, w, model.zChannels], options.latent ?? {}));
  const v = tf.tidy(() => tf.variable(tf.tensor4d(lrRgb, [1, h, w, 3])));
  const optimizer = tf.train.adam(learningRate);
  const history: RefineStep[] = [];
  let best: { step: number; psnr: number; rgb: Float32Array } | undefined;
  try {
    for (let step = 0; step <= steps; step++) {
      options.signal?.throwIfAborted();
      // The LR as it will be stored (8-bit), and as the browser will decode it.
      const stored = Float32Array.from(await v.data());
      quantize8InPlace(stored);
      const decoded = await decodedRgb(joinRgbAlpha(w, h, stored, alpha), options.roundTrip, w, h);
      const decodedLr = tf.tensor4d(decoded, [1, h, w, 3]);
      const offset = tf.tidy(() => tf.sub(decodedLr, v));
      const proxy = options.gradientProxy;
      try {
        const lossOf = (withGradient: boolean): tf.Scalar =>
          tf.tidy(() => {
            // The decoded LR forward; backward either the identity (v + (decoded - v): straight
            // through) or the stand-in's gradient (run only where a gradient is taken).
            const seen = !withGradient
              ? decodedLr
              : proxy === undefined
                ? (tf.add(v, offset) as tf.Tensor4D)
                : realWithProxyGradient(decodedLr, checkedProxy(proxy(v as tf.Tensor4D), w, h));
            const { output } = model.inverse(concatChannels([seen, z]));
            const restored = tf.slice(output, [0, 0, 0, 0], [1, hr.height, hr.width, 3]);
            return tf.mean(tf.square(tf.sub(tf.clipByValue(restored, 0, 1), target))) as tf.Scalar;
          });
        let mse: number;
        if (step < steps) {
          const { value, grads } = tf.variableGrads(() => lossOf(true), [v]);
          mse = (await value.data())[0];
          optimizer.applyGradients([{ name: v.name, tensor: grads[v.name] }]);
          value.dispose();
          tf.dispose(grads);
          tf.tidy(() => v.assign(tf.clipByValue(v, 0, 1) as tf.Tensor4D));
        } else {
          const value = lossOf(false);
          mse = (await value.data())[0];
          value.dispose();
        }
        const psnr = 10 * Math.log10(1 / Math.max(mse, 1e-12));
        if (!Number.isFinite(psnr)) throw new Error('refinement diverged (the restored image is not finite): check the model weights');
        const report = { step, psnr };
        history.push(report);
        options.onStep?.(report);
        if (best === undefined || psnr > best.psnr) best = { step, psnr, rgb: stored };
      } finally {
        tf.dispose([offset, decodedLr]);
      }
    }
  } finally {
    tf.dispose([target, z, v]);
    optimizer.dispose();
  }
  if (best === undefined) throw new Error('refinement measured nothing');
  return {
    lr: joinRgbAlpha(w, h, best.rgb, alpha),
    initialPsnr: history[0].psnr,
    bestPsnr: best.psnr,
    bestStep: best.step,
    history,
  };
}

/** `out` when it has the LR's shape ([1, h, w, 3]); otherwise a clear error. */
function checkedProxy(out: tf.Tensor4D, w: number, h: number): tf.Tensor4D {
  if (out.shape.join() !== [1, h, w, 3].join()) throw new Error(`refine gradientProxy must return the LR's shape [1, ${h}, ${w}, 3], got [${out.shape.join(', ')}]`);
  return out;
}

/** RGB of what the browser decodes from `stored` (the stored LR itself without a codec). */
async function decodedRgb(stored: RasterImage, roundTrip: LrRoundTrip | undefined, w: number, h: number): Promise<Float32Array> {
  if (roundTrip === undefined) return stored.channels === 3 ? stored.data : readRgb(stored, 0, 0, w, h);
  const decoded = await roundTrip(stored);
  checkRaster(decoded, 'round-tripped LR');
  if (decoded.width !== w || decoded.height !== h) throw new Error(`the LR round trip changed the size from ${w}x${h} to ${decoded.width}x${decoded.height}`);
  return readRgb(decoded, 0, 0, w, h);
}
