/**
 * 8-bit weights with a range per output channel: the smallest form IRN stores its presets in.
 *
 * A weight of shape `[..., C]` (a conv kernel: `[kh, kw, in, C]`) stored with the spec
 * `quantization: { dtype: 'uint8-per-channel' }` holds, in its place in the weight data,
 * `C` float32 minimums, then `C` float32 steps (little-endian), then its elements as one byte
 * each, in the weight's own order (channel last): element `i` of channel `c = i mod C` is
 * `min[c] + step[c] * q[i]`. That is `8 C + N` bytes for `N` elements, against `2 N` as float16.
 *
 * TensorFlow.js's own 8-bit form (`quantization: { dtype: 'uint8', min, scale }`) has one range
 * per tensor, and one outlier channel then coarsens all the others: on Kodak24 the x2 preset
 * loses 0.038 dB of Y-PSNR (0.12 dB RGB) with it, 0.0008 (0.04) in this form (`pnpm
 * bench:weights`, against float32). tfjs does not know this dtype and refuses it
 * ("Unsupported quantization type"), so only IRN's loader, which decodes it to float32 first
 * ({@link decodeUint8Channels}), reads such a model. Browser-safe: no Node imports.
 */

/** The `quantization.dtype` of a weight stored as 8 bits with a range per output channel. */
export const UINT8_CHANNELS = 'uint8-per-channel';

/** Bytes a weight of `elements` elements and `channels` output channels takes in this form. */
export function uint8ChannelsBytes(elements: number, channels: number): number {
  return 8 * channels + elements;
}

/**
 * Whether a weight of `shape` is smaller stored as 8 bits per channel than as float16: when
 * its channels hold more than 8 elements each (a conv kernel; not a bias).
 */
export function fitsUint8Channels(shape: readonly number[]): boolean {
  const elements = shape.reduce((a, b) => a * b, 1);
  return shape.length >= 2 && uint8ChannelsBytes(elements, shape[shape.length - 1]) < 2 * elements;
}

/**
 * `values` (a weight of `shape`, output channels last) in this form: per output channel the
 * range [lo, hi] of its values in 255 equal steps (min and step as float32), each value the
 * nearest step, except that each filter (the taps from one input channel, the second-last
 * dimension, to one output channel) keeps its sum to within half a step: where nearest
 * rounding leaves it off by k steps, the k taps nearest the other side are rounded that way
 * instead. A filter's sum is its response to flat input; with nearest rounding alone those
 * errors add up per channel, and the x2 preset's colours drifted (Kodak24 against float32: RGB
 * PSNR -0.30 dB, Y-PSNR -0.014; with the sums kept -0.04 and -0.0008; `pnpm bench:weights`).
 * `options.keepSums: false` rounds every value to its nearest step (for comparison,
 * `bench/weight-storage.ts`).
 * @throws Error when a value is NaN or infinite, or the shape has no channel dimension.
 */
export function encodeUint8Channels(values: Float32Array, shape: readonly number[], name: string, options: { keepSums?: boolean } = {}): Uint8Array<ArrayBuffer> {
  const channels = shape[shape.length - 1];
  if (shape.length === 0 || channels < 1 || values.length !== shape.reduce((a, b) => a * b, 1)) {
    throw new Error(`weight ${name}: ${values.length} elements do not make the shape [${shape.join(', ')}] with a channel dimension`);
  }
  const lo = new Float64Array(channels).fill(Infinity);
  const hi = new Float64Array(channels).fill(-Infinity);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isFinite(v)) throw new Error(`weight ${name} holds ${v} (element ${i}); cannot store it as 8 bits`);
    const c = i % channels;
    if (v < lo[c]) lo[c] = v;
    if (v > hi[c]) hi[c] = v;
  }
  const out = new Uint8Array(uint8ChannelsBytes(values.length, channels));
  const view = new DataView(out.buffer);
  // The float32 min and step the decoder reads, so that each value is rounded against them.
  const mins = new Float32Array(channels);
  const steps = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    mins[c] = lo[c];
    steps[c] = (hi[c] - mins[c]) / 255; // rounded to float32; the top value is clamped to 255 steps below
    view.setFloat32(4 * c, mins[c], true);
    view.setFloat32(4 * (channels + c), steps[c], true);
  }
  const q = out.subarray(8 * channels);
  // Each value in steps above its channel's minimum, and its nearest step.
  const exact = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const c = i % channels;
    exact[i] = steps[c] === 0 ? 0 : (values[i] - mins[c]) / steps[c];
    q[i] = Math.min(255, Math.max(0, Math.round(exact[i])));
  }
  // Filters: input channel `f` to output channel `c` has its taps at i = (t * inputs + f) * channels + c.
  const inputs = shape.length >= 2 ? shape[shape.length - 2] : 1;
  const taps = values.length / (inputs * channels);
  if (taps > 1 && options.keepSums !== false) {
    const index = new Int32Array(taps);
    for (let c = 0; c < channels; c++) {
      if (steps[c] === 0) continue;
      for (let f = 0; f < inputs; f++) {
        let off = 0;
        for (let t = 0; t < taps; t++) {
          index[t] = (t * inputs + f) * channels + c;
          off += exact[index[t]] - q[index[t]];
        }
        const k = Math.round(off);
        if (k === 0) continue;
        // Up (k > 0): the taps that were rounded down the most; down: those rounded up the most.
        const order = Array.from(index)
          .filter((i) => (k > 0 ? q[i] < 255 : q[i] > 0))
          .sort((a, b) => (k > 0 ? exact[b] - q[b] - (exact[a] - q[a]) : exact[a] - q[a] - (exact[b] - q[b])));
        for (let j = 0; j < Math.min(Math.abs(k), order.length); j++) q[order[j]] += Math.sign(k);
      }
    }
  }
  return out;
}

/**
 * The per-channel minimums and steps of a weight of `elements` elements and `channels` channels
 * stored in this form at `bytes` (exactly {@link uint8ChannelsBytes} of them), checked.
 * @throws Error naming `name` when the size is wrong, a minimum or step is NaN or infinite, a
 *   step is negative, or a channel's largest value is beyond float32.
 */
export function uint8ChannelRanges(bytes: Uint8Array, elements: number, channels: number, name: string): { mins: Float64Array; steps: Float64Array } {
  if (bytes.length !== uint8ChannelsBytes(elements, channels)) {
    throw new Error(`weight ${name} has ${bytes.length} bytes stored as ${UINT8_CHANNELS}, ${uint8ChannelsBytes(elements, channels)} expected`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mins = new Float64Array(channels);
  const steps = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const min = (mins[c] = view.getFloat32(4 * c, true));
    const step = (steps[c] = view.getFloat32(4 * (channels + c), true));
    // The largest value of the channel must be a finite float32 too.
    if (!Number.isFinite(min) || !Number.isFinite(step) || step < 0 || !Number.isFinite(Math.fround(min + 255 * step))) {
      const what = !Number.isFinite(min) ? `minimum ${min}` : step < 0 || !Number.isFinite(step) ? `step ${step}` : `range ${min} + 255 x ${step}, beyond float32,`;
      throw new Error(`weight ${name} has the ${what} for channel ${c} (${UINT8_CHANNELS}); the model would turn every image into NaN or infinity`);
    }
  }
  return { mins, steps };
}

/**
 * The float32 values of a weight of `elements` elements and `channels` channels stored in this
 * form at `bytes`.
 * @throws Error as {@link uint8ChannelRanges}.
 */
export function decodeUint8Channels(bytes: Uint8Array, elements: number, channels: number, name: string): Float32Array<ArrayBuffer> {
  const { mins, steps } = uint8ChannelRanges(bytes, elements, channels, name);
  const q = bytes.subarray(8 * channels);
  const out = new Float32Array(elements);
  for (let i = 0; i < elements; i++) {
    const c = i % channels;
    out[i] = mins[c] + steps[c] * q[i];
  }
  return out;
}
