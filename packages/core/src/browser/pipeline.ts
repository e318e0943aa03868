import { throwIfAborted } from './abort.js';
import type { BackendName } from './backends.js';
import type { RescaleEngine, RunOptions, UpscaleRunOptions } from './engine.js';
import { decodeInput, type ImageInput } from './inputs.js';
import { LimitError, type Limits } from '../limits.js';
import { LR_TEXT_KEY, lrMetadataText, PRESET_NAME, restoredSize, type LrMetadata } from '../image/lr-metadata.js';
import { checkOutputKind, encodeOutput, type OutputKind, type OutputTypes } from './outputs.js';

/** What a rescale resolves to. */
export interface RescaleResult<T> {
  /** The image, in the form `options.output` asked for. */
  image: T;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA: the input had transparency). */
  channels: number;
  /** The backend that computed it (after any fallback). */
  backend: BackendName;
  /**
   * Downscales only: the scale and the original size, as written into a PNG output's `irn`
   * chunk; pass `width` and `height` to `upscale` when the LR travels in another form.
   */
  lrMetadata?: LrMetadata;
  /** Wall time of the call in milliseconds, decoding and encoding included. */
  ms: number;
}

/** What a downscale resolves to: a {@link RescaleResult} whose `lrMetadata` is always there. */
export type DownscaleResult<T> = RescaleResult<T> & { lrMetadata: LrMetadata };

/** Options of a downscale: tiling, progress, cancellation and the output form. */
export interface DownscaleCallOptions<K extends OutputKind = OutputKind> extends RunOptions {
  /** Default `'imagedata'`. */
  output?: K;
  /** Limits on the input image (`pixels`, a PNG's text); default the Rescaler's `limits`. */
  limits?: Partial<Limits>;
}

/**
 * What the Rescaler adds to a downscale's options for {@link runPipeline} (in the page or in
 * its worker): the preset name it was created with, which the LR metadata records as `model`
 * (as `irn downscale` does), so that `Rescaler.forLr` and `<irn-image>` restore the LR with
 * the model that made it. Undefined for a model given by URL or as an object; a name that is
 * not a {@link PRESET_NAME} (a custom manifest's) is not recorded.
 */
export interface PipelineExtras {
  lrModel?: string;
}

/**
 * Options of an upscale: z, the restored size, tiling, progress, cancellation and the output
 * form. The size defaults to what an `irn` PNG chunk in the input says, else LR size x scale.
 */
export interface UpscaleCallOptions<K extends OutputKind = OutputKind> extends UpscaleRunOptions {
  /** Default `'imagedata'`. */
  output?: K;
  /** Limits on the input image and the restored one (`pixels`, a PNG's text); default the Rescaler's `limits`. */
  limits?: Partial<Limits>;
}

/** Decodes `input`, rescales it with `engine` and encodes the result as `output`. */
export async function runPipeline(
  engine: RescaleEngine,
  op: 'downscale' | 'upscale',
  input: ImageInput,
  options: (DownscaleCallOptions | UpscaleCallOptions) & PipelineExtras,
  fetchFn?: typeof fetch,
): Promise<RescaleResult<OutputTypes[OutputKind]>> {
  const start = performance.now();
  const kind = options.output ?? 'imagedata';
  checkOutputKind(kind);
  throwIfAborted(options.signal);
  const { raster, lrMetadata } = await decodeInput(input, fetchFn, { limits: options.limits, lr: op === 'upscale', signal: options.signal });
  throwIfAborted(options.signal);
  const { output: _, limits: __, lrModel, ...run } = options;
  if (op === 'downscale') {
    const { raster: lr, backend } = await engine.downscale(raster, run);
    const meta: LrMetadata = { scale: engine.scale, width: raster.width, height: raster.height, ...(lrModel != null && PRESET_NAME.test(lrModel) ? { model: lrModel } : {}) };
    const image = await encodeOutput(lr, kind, { [LR_TEXT_KEY]: lrMetadataText(meta) });
    return { image, width: lr.width, height: lr.height, channels: lr.channels, backend, lrMetadata: meta, ms: performance.now() - start };
  }
  const up = run as UpscaleRunOptions;
  let size = { width: up.width, height: up.height };
  if (size.width == null || size.height == null) {
    try {
      const restored = restoredSize(lrMetadata, engine.scale, raster.width, raster.height, options.limits);
      size = { width: size.width ?? restored.width, height: size.height ?? restored.height };
    } catch (e) {
      const message = `cannot upscale this LR image: ${(e as Error).message}`;
      throw e instanceof LimitError ? new LimitError(message, e.limit) : new Error(message);
    }
  }
  const { raster: hr, backend } = await engine.upscale(raster, { ...up, ...size });
  // A restored image is shown, not shipped: its 'blob' PNG is written for speed.
  const image = await encodeOutput(hr, kind, undefined, 'quick');
  return { image, width: hr.width, height: hr.height, channels: hr.channels, backend, ms: performance.now() - start };
}
