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
 * is at most `maxBytes`, by bisection: at most 2 + log2(hi - lo) encodes, and up to
 * {@link WOBBLE_PROBES} more. A codec's file grows with its quality nearly always; where it
 * does not, the file returned still fits (every file returned was measured), it may only not
 * be the highest quality that would. The common exception, a size a few bytes off the
 * trend (a 16x13 JPEG LR: quality 69 one byte over a budget that quality 70 meets), is
 * looked for: when the quality just above the one found misses by at most
 * {@link WOBBLE_MARGIN} of the budget, the next qualities up are tried too.
 * The file is the one measured, so the caller writes exactly the bytes that fitted.
 *
 * @returns `{ fits: false, smallest }` (the size at `lo`) when even the lowest quality is too big.
 */
export async function fitQuality(encode: (quality: number) => Promise<Uint8Array>, maxBytes: number, lo: number, hi: number): Promise<FitResult> {
  if (!(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) throw new RangeError(`fitQuality: bad quality range ${lo}-${hi}`);
  if (!(maxBytes > 0)) throw new RangeError(`fitQuality: the budget must be > 0 bytes, got ${maxBytes}`);
  const found = await bisect(encode, maxBytes, lo, hi);
  if (!found.fits) return found;
  // Near misses just above: a wobble may hide a higher quality that fits. Every quality the
  // bisection measured above its answer missed the budget; only unmeasured ones are encoded.
  let { quality, file } = found;
  let probes = 0;
  for (let q = quality + 1; q < hi; q++) {
    let size = found.sizes.get(q);
    if (size == null) {
      if (probes === WOBBLE_PROBES) break;
      probes++;
      const candidate = await encode(q);
      size = candidate.length;
      if (size <= maxBytes) {
        quality = q;
        file = candidate;
        continue;
      }
    }
    if (size - maxBytes > WOBBLE_MARGIN * maxBytes) break;
  }
  return { fits: true, quality, file };
}

/** Encodes tried above the bisection's answer at most, when the quality just above it misses narrowly. */
const WOBBLE_PROBES = 2;
/** How far over the budget (a fraction of it) a miss counts as narrow: a wobble, not the trend. */
const WOBBLE_MARGIN = 0.01;

async function bisect(
  encode: (quality: number) => Promise<Uint8Array>,
  maxBytes: number,
  lo: number,
  hi: number,
): Promise<{ fits: true; quality: number; file: Uint8Array; sizes: Map<number, number> } | { fits: false; quality: number; smallest: number }> {
  const sizes = new Map<number, number>();
  const measure = async (q: number) => {
    const file = await encode(q);
    sizes.set(q, file.length);
    return file;
  };
  const top = await measure(hi);
  if (top.length <= maxBytes) return { fits: true, quality: hi, file: top, sizes };
  let best = await measure(lo);
  if (best.length > maxBytes) return { fits: false, quality: lo, smallest: best.length };
  // Invariant: `good` fits (its file is `best`), `bad` does not.
  let good = lo;
  let bad = hi;
  while (bad - good > 1) {
    const mid = (good + bad) >> 1;
    const file = await measure(mid);
    if (file.length <= maxBytes) {
      good = mid;
      best = file;
    } else {
      bad = mid;
    }
  }
  return { fits: true, quality: good, file: best, sizes };
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
