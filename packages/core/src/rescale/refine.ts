import * as tf from '@tensorflow/tfjs-core';
import { checkRaster, joinRgbAlpha, splitRgbAlpha, type RasterImage } from '../image/raster.js';
import { concatChannels } from '../layers/concat-channels.js';
import type { IrnModel, LatentOptions } from '../model/irn.js';
import { realWithProxyGradient } from '../training/jpeg-proxy.js';
import { quantize8InPlace, readRgb } from './pixels.js';

/**
 * What the browser will see of an LR image: the 8-bit LR encoded with the delivery codec and
 * decoded again (a JPEG at quality 80, say). Receives an LR of 8-bit levels (RGB, or RGBA
 * when the LR has alpha) and returns the decoded image of the same size (only its RGB is
 * used), or that image with the encoded file's size in bytes, which refinement then reports
 * and, with a `rateWeight`, weighs against the quality when it picks the best step.
 */
export type LrRoundTrip = (lr: RasterImage) => RoundTripResult | Promise<RoundTripResult>;

/** What an {@link LrRoundTrip} returns: the decoded LR, or it and the file's size. */
export type RoundTripResult = RasterImage | { image: RasterImage; bytes: number };

/**
 * What a codec stand-in returns for {@link RefineOptions.gradientProxy}: the coded LR
 * (same shape as its input), or it and the estimated bits of the file (a scalar or one
 * value, e.g. `jpegProxy(...).bits`), which a `rateWeight` prices.
 */
export type GradientProxyResult = tf.Tensor4D | { image: tf.Tensor4D; bits?: tf.Tensor };

/** One step of {@link refineLr}. */
export interface RefineStep {
  /** 0 is the LR as given; step k follows k updates. */
  step: number;
  /** RGB PSNR (dB, peak 1) of the image restored from this step's round-tripped LR. */
  psnr: number;
  /** Bits per full-size pixel of the encoded LR, when the round trip gives its size. */
  bpp?: number;
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
   * tape; must return a tensor of the same shape (or it and the estimated bits, see
   * {@link GradientProxyResult}). Default: the identity (straight through).
   */
  gradientProxy?: (lr: tf.Tensor4D) => GradientProxyResult;
  /**
   * Weight of the rate against the distortion, in mean squared error (RGB, [0, 1]) per bit
   * per full-size pixel; default 0 (quality only). With a weight, the loss adds
   * `rateWeight * bits / (width * height)` of the stand-in's estimate (the proxy must give
   * `bits`), and the best step is the one with the least `mse + rateWeight * bpp` measured on
   * the real file (the round trip must give `bytes`): the LR then keeps its quality for fewer
   * bytes, or gains quality where the bytes are worth it.
   */
  rateWeight?: number;
  /**
   * The rate's weight relative to the LR as given: `rateWeight = relativeRate * mse0 / bpp0`
   * (its mean squared error and bits per full-size pixel, measured at step 0), so one setting
   * fits every quality. The slope of a quality sweep of the codec, `-d ln(mse) / d ln(bpp)`, is
   * the natural value (about 0.5 for IRN LRs in JPEG): a step is then kept only where it beats
   * turning the quality knob. Needs what `rateWeight` needs; not both.
   */
  relativeRate?: number;
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
  /** Bits per full-size pixel of the LR as given and of the best one, when the round trip gives the file size. */
  initialBpp?: number;
  bestBpp?: number;
  /** The rate's weight used (given, or from `relativeRate`), when the rate was priced. */
  rateWeight?: number;
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
 * A `gradientProxy` (a differentiable stand-in of the codec such as core's `jpegProxy`) gives
 * the backward pass the codec's own Jacobian instead of the identity; with its bit estimate
 * and a `rateWeight`, the rate is priced too (`mse + rateWeight * bpp`), in the loss through
 * the estimate and in the choice of the best step through the real file's size.
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
  let rateWeight = options.rateWeight ?? 0;
  if (!(rateWeight >= 0 && Number.isFinite(rateWeight))) throw new Error(`refine rateWeight must be a number >= 0, got ${rateWeight}`);
  const relativeRate = options.relativeRate ?? 0;
  if (!(relativeRate >= 0 && Number.isFinite(relativeRate))) throw new Error(`refine relativeRate must be a number >= 0, got ${relativeRate}`);
  if (relativeRate > 0 && rateWeight > 0) throw new Error('refine takes rateWeight or relativeRate, not both');
  if ((rateWeight > 0 || relativeRate > 0) && options.gradientProxy === undefined) throw new Error('refine: pricing the rate (rateWeight, relativeRate) needs a gradientProxy that estimates the bits (such as jpegProxy)');
  const [w, h] = [lr.width, lr.height];
  const hrPixels = hr.width * hr.height;
  const { rgb: lrRgb, alpha } = splitRgbAlpha(lr);
  const target = tf.tensor4d(readRgb(hr, 0, 0, hr.width, hr.height), [1, hr.height, hr.width, 3]);
  const z = tf.tidy(() => model.latent([1, h, w, model.zChannels], options.latent ?? {}));
  const v = tf.tidy(() => tf.variable(tf.tensor4d(lrRgb, [1, h, w, 3])));
  const optimizer = tf.train.adam(learningRate);
  const history: RefineStep[] = [];
  let best: { step: number; psnr: number; cost: number; rgb: Float32Array } | undefined;
  try {
    for (let step = 0; step <= steps; step++) {
      options.signal?.throwIfAborted();
      // The LR as it will be stored (8-bit), and as the browser will decode it.
      const stored = Float32Array.from(await v.data());
      quantize8InPlace(stored);
      const { rgb: decoded, bytes } = await decodedRgb(joinRgbAlpha(w, h, stored, alpha), options.roundTrip, w, h);
      if ((rateWeight > 0 || relativeRate > 0) && bytes === undefined) throw new Error('refine: pricing the rate (rateWeight, relativeRate) needs a round trip that gives the file size ({ image, bytes })');
      const decodedLr = tf.tensor4d(decoded, [1, h, w, 3]);
      const offset = tf.tidy(() => tf.sub(decodedLr, v));
      const proxy = options.gradientProxy;
      try {
        // relativeRate: at step 0 the weight comes from the LR as given (its mse, measured in
        // this very pass, held constant for the gradient, and its file's bpp).
        const weighFromMse = step === 0 && relativeRate > 0;
        const weightPerMse = weighFromMse ? relativeRate / ((8 * bytes!) / hrPixels) : 0;
        // Returns the loss and the mean squared error (the loss adds the priced rate, if any).
        const lossOf = (withGradient: boolean): [tf.Scalar, tf.Scalar] => {
          const pair = tf.tidy(() => {
            // The decoded LR forward; backward either the identity (v + (decoded - v): straight
            // through) or the stand-in's gradient (run only where a gradient is taken).
            let seen: tf.Tensor4D;
            let bits: tf.Tensor | undefined;
            if (!withGradient) seen = decodedLr;
            else if (proxy === undefined) seen = tf.add(v, offset) as tf.Tensor4D;
            else {
              const p = proxy(v as tf.Tensor4D);
              const image = p instanceof tf.Tensor ? p : p.image;
              bits = p instanceof tf.Tensor ? undefined : p.bits;
              if ((rateWeight > 0 || relativeRate > 0) && bits === undefined) throw new Error('refine: pricing the rate (rateWeight, relativeRate) needs a gradientProxy that returns { image, bits }');
              seen = realWithProxyGradient(decodedLr, checkedProxy(image, w, h));
            }
            const { output } = model.inverse(concatChannels([seen, z]));
            const restored = tf.slice(output, [0, 0, 0, 0], [1, hr.height, hr.width, 3]);
            const err = tf.mean(tf.square(tf.sub(tf.clipByValue(restored, 0, 1), target))) as tf.Scalar;
            if (bits !== undefined && weighFromMse) {
              const weight = tf.mul(constantForGradient(err), weightPerMse / hrPixels);
              return tf.stack([tf.add(err, tf.mul(tf.sum(bits), weight)), err]);
            }
            if (bits === undefined || rateWeight === 0) return tf.stack([err, err]);
            return tf.stack([tf.add(err, tf.mul(tf.sum(bits), rateWeight / hrPixels)), err]);
          });
          const [loss, err] = tf.unstack(pair) as [tf.Scalar, tf.Scalar];
          pair.dispose();
          return [loss, err];
        };
        let mse: number;
        if (step < steps) {
          let errT: tf.Scalar | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const [loss, err] = lossOf(true);
            errT = tf.keep(err);
            return loss;
          }, [v]);
          mse = (await errT!.data())[0];
          optimizer.applyGradients([{ name: v.name, tensor: grads[v.name] }]);
          tf.dispose([value, errT!]);
          tf.dispose(grads);
          tf.tidy(() => v.assign(tf.clipByValue(v, 0, 1) as tf.Tensor4D));
        } else {
          const [loss, err] = lossOf(false);
          mse = (await err.data())[0];
          tf.dispose([loss, err]);
        }
        if (weighFromMse) rateWeight = weightPerMse * mse;
        const psnr = 10 * Math.log10(1 / Math.max(mse, 1e-12));
        if (!Number.isFinite(psnr)) throw new Error('refinement diverged (the restored image is not finite): check the model weights');
        const bpp = bytes === undefined ? undefined : (8 * bytes) / hrPixels;
        const report: RefineStep = bpp === undefined ? { step, psnr } : { step, psnr, bpp };
        history.push(report);
        options.onStep?.(report);
        // Without a rate weight, the best PSNR; with one, the least mse + weight * bpp of the real file.
        const cost = mse + rateWeight * (bpp ?? 0);
        if (best === undefined || cost < best.cost) best = { step, psnr, cost, rgb: stored };
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
    ...(history[0].bpp === undefined ? {} : { initialBpp: history[0].bpp, bestBpp: history[best.step].bpp }),
    bestStep: best.step,
    ...(rateWeight > 0 ? { rateWeight } : {}),
    history,
  };
}

/** `x` forward, no gradient back (the value enters the loss as a constant). */
const constantForGradient = tf.customGrad((...inputs) => {
  const x = inputs[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
}) as (x: tf.Tensor) => tf.Tensor;

/** `out` when it has the LR's shape ([1, h, w, 3]); otherwise a clear error. */
function checkedProxy(out: tf.Tensor4D, w: number, h: number): tf.Tensor4D {
  if (out.shape.join() !== [1, h, w, 3].join()) throw new Error(`refine gradientProxy must return the LR's shape [1, ${h}, ${w}, 3], got [${out.shape.join(', ')}]`);
  return out;
}

/** RGB of what the browser decodes from `stored` (the stored LR itself without a codec), and the file's size when the round trip gives it. */
async function decodedRgb(stored: RasterImage, roundTrip: LrRoundTrip | undefined, w: number, h: number): Promise<{ rgb: Float32Array; bytes?: number }> {
  if (roundTrip === undefined) return { rgb: stored.channels === 3 ? stored.data : readRgb(stored, 0, 0, w, h) };
  const result = await roundTrip(stored);
  const withSize = 'image' in result && 'bytes' in result;
  const decoded = withSize ? result.image : (result as RasterImage);
  checkRaster(decoded, 'round-tripped LR');
  if (decoded.width !== w || decoded.height !== h) throw new Error(`the LR round trip changed the size from ${w}x${h} to ${decoded.width}x${decoded.height}`);
  if (withSize && !(Number.isInteger(result.bytes) && result.bytes > 0)) throw new Error(`the LR round trip gave a file size of ${String(result.bytes)} bytes`);
  return withSize ? { rgb: readRgb(decoded, 0, 0, w, h), bytes: result.bytes } : { rgb: readRgb(decoded, 0, 0, w, h) };
}
