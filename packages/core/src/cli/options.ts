import { InvalidArgumentError } from 'commander';

/** Parses `--temperature`: a finite number >= 0. */
export function parseTemperature(value: string): number {
  const t = Number(value);
  if (value.trim() === '' || !Number.isFinite(t) || t < 0) {
    throw new InvalidArgumentError('The temperature must be a number >= 0, e.g. 0.8.');
  }
  return t;
}

/** Parses `--seed`: an integer from 0 to 2^31 - 1. */
export function parseSeed(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n > 2 ** 31 - 1) {
    throw new InvalidArgumentError('The seed must be an integer from 0 to 2147483647.');
  }
  return n;
}

/** Parses `--bit-depth`: 8 or 16. */
export function parseBitDepth(value: string): 8 | 16 {
  if (value === '8' || value === '16') return Number(value) as 8 | 16;
  throw new InvalidArgumentError('The bit depth must be 8 or 16.');
}
