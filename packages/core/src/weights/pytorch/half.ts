/** 2^-24: the value of the lowest float16 mantissa bit in a subnormal. */
const HALF_SUBNORMAL_STEP = 2 ** -24;

const scratchU32 = new Uint32Array(1);
const scratchF32 = new Float32Array(scratchU32.buffer);

/**
 * Converts IEEE 754 binary16 bits to the exactly equal number (every float16 value, subnormals,
 * signed zeros, infinities and NaN included, is exactly representable in float32).
 */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * HALF_SUBNORMAL_STEP;
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Converts bfloat16 bits (the upper half of a float32) to the exactly equal number. */
export function bfloat16ToFloat(bits: number): number {
  scratchU32[0] = (bits & 0xffff) << 16;
  return scratchF32[0];
}
