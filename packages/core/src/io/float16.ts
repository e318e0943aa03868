/**
 * IEEE 754 half precision (binary16) for storing weights: a float32 model saved with
 * `IrnModel.save(dest, { weights: 'float16' })` writes each weight as the nearest half
 * (ties to even) with the weight spec `quantization: { dtype: 'float16' }`, which every
 * `tf.io` loader of TensorFlow.js 4 decodes back to float32 (tfjs-core's `decodeWeights`).
 * tfjs has the decoder but no encoder, hence this one. Browser-safe: no Node imports.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The binary16 bits of the half nearest to `value` (rounded as float32 first), ties to even,
 * as IEEE 754 rounds: beyond the largest half (65504) an infinity, below half the smallest
 * subnormal (2^-24) a signed zero, NaN stays NaN.
 */
export function toFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // infinity, NaN
  const e = exponent - 112; // the half's biased exponent (127 - 15 = 112)
  if (e >= 31) return sign | 0x7c00; // too large: infinity
  if (e <= 0) {
    // A half subnormal m * 2^-24: the float's 24-bit significand shifted right by 14 - e.
    if (e < -10) return sign; // below 2^-25: rounds to zero
    const significand = mantissa | 0x800000;
    const shift = 14 - e;
    let m = significand >>> shift;
    const rest = significand & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    if (rest > half || (rest === half && (m & 1) !== 0)) m++; // a carry into 0x400 is the smallest normal, as it should be
    return sign | m;
  }
  let bits = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (bits & 1) !== 0)) bits++; // a carry into the exponent (up to infinity) is right
  return sign | bits;
}

/** The value of binary16 `bits` (the inverse of {@link toFloat16Bits} on every non-NaN half). */
export function fromFloat16Bits(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa !== 0 ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/**
 * Each value of `values` as the bits of its nearest half, in the machine's byte order as
 * tfjs writes float32 weights and reads halves (little-endian on every platform it runs on).
 */
export function encodeFloat16(values: Float32Array): Uint16Array<ArrayBuffer> {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toFloat16Bits(values[i]);
  return out;
}

/** Whether binary16 `bits` is NaN or an infinity (all exponent bits set). */
export function isFloat16NonFinite(bits: number): boolean {
  return (bits & 0x7c00) === 0x7c00;
}
