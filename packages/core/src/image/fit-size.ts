/**
 * Byte budgets for lossy LRs (`irn downscale --max-size` / `--max-bpp`, and pages that encode
 * LRs themselves): the highest codec quality whose file fits, as `cwebp -size` does for WebP.
 * A page owner thinks in bytes per image; the benchmark in bits per full-size pixel
 * (bench/README.md); both end up here. No codec here: the caller passes its `encode`.
 */

/** What {@link fitQuality} found: the quality and its file, or why nothing fits. */
export type FitResult = { fits: true; quality: number; file: Uint8Array } | { fits: false; quality: number; smallest: number };

/**
 * The highest whole quality in `[lo, hi]` whose file (`encode(quality)`, metadata and all)
 * is at most `maxBytes`, by bisection: at most 2 + log2(hi - lo) encodes. A codec's file
 * grows with its quality nearly always; where it does not, the file returned still fits
 * (every file returned was measured), it may only not be the highest quality that would.
 * The file is the one measured, so the caller writes exactly the bytes that fitted.
 *
 * @returns `{ fits: false, smallest }` (the size at `lo`) when even the lowest quality is too big.
 */
export async function fitQuality(encode: (quality: number) => Promise<Uint8Array>, maxBytes: number, lo: number, hi: number): Promise<FitResult> {
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) throw new RangeError(`fitQuality: bad quality range ${lo}-${hi}`);
  if (!(maxBytes > 0)) throw new RangeError(`fitQuality: the budget must be > 0 bytes, got ${maxBytes}`);
  const top = await encode(hi);
  if (top.length <= maxBytes) return { fits: true, quality: hi, file: top };
  let best = await encode(lo);
  if (best.length > maxBytes) return { fits: false, quality: lo, smallest: best.length };
  // Invariant: `good` fits (its file is `best`), `bad` does not.
  let good = lo;
  let bad = hi;
  while (bad - good > 1) {
    const mid = (good + bad) >> 1;
    const file = await encode(mid);
    if (file.length <= maxBytes) {
      good = mid;
      best = file;
    } else {
      bad = mid;
    }
  }
  return { fits: true, quality: good, file: best };
}

/**
 * Parses a size in bytes as people write it: `30000`, `30k` / `30kB` (1000 bytes), `30KiB`
 * (1024), `1.5M` / `1.5MB`, `1MiB`; a whole number of bytes at least 1.
 * @throws RangeError (one line) for anything else.
 */
export function parseByteSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|k|kb|kib|m|mb|mib)?\s*$/i.exec(text);
  if (m == null) throw new RangeError(`not a size in bytes: "${text}" (write e.g. 30000, 30k, 30KiB or 1.5M)`);
  const unit = (m[2] ?? 'b').toLowerCase();
  const factor = { b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 * 1024 }[unit]!;
  const bytes = Math.floor(Number(m[1]) * factor);
  if (!(bytes >= 1)) throw new RangeError(`the size must be at least 1 byte, got "${text}"`);
  if (!Number.isSafeInteger(bytes)) throw new RangeError(`the size is too large: "${text}"`);
  return bytes;
}
