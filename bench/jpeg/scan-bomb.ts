// Progressive JPEGs of many scans, each a legitimate step of the progression (no decoder
// warning), for bench/jpeg-scans.ts: what a stranger's file just under the scan cap
// (core's MAX_JPEG_SCANS) costs the decoders that read it.
//
// A grey frame (one component, 8-bit) of flat grey blocks: the DC scan codes each block's
// difference 0 in one bit (the least image data core's checkJpegDataSize lets through), and every
// AC scan is a few end-of-band runs (EOB14: 32767 blocks per 18 bits) over the whole frame. The
// scans after the DC scan take one coefficient each: first at point transform Al = 13, then
// refined bit by bit down to 0 (14 scans per coefficient), so up to 1 + 63 x 14 = 883 scans form
// a valid progression. A decoder still passes over every block of the frame in each scan.

/** The most scans {@link scanBomb} makes (a valid progression of one component). */
export const MAX_PROGRESSION_SCANS = 1 + 63 * 14;

/** Writes bits most significant first, stuffing a 0x00 after each 0xFF (JPEG entropy-coded data). */
class BitWriter {
  private readonly bytes: number[] = [];
  private acc = 0;
  private n = 0;

  write(value: number, bits: number): void {
    for (let i = bits - 1; i >= 0; i--) {
      this.acc = (this.acc << 1) | ((value >> i) & 1);
      if (++this.n === 8) this.flushByte();
    }
  }

  /** Pads the last byte with 1 bits, as encoders do, and returns the data. */
  finish(): number[] {
    if (this.n > 0) this.write(0xff, 8 - this.n);
    return this.bytes;
  }

  private flushByte(): void {
    this.bytes.push(this.acc);
    if (this.acc === 0xff) this.bytes.push(0x00);
    this.acc = 0;
    this.n = 0;
  }
}

const segment = (marker: number, payload: number[]): number[] => [0xff, marker, (payload.length + 2) >> 8, (payload.length + 2) & 0xff, ...payload];

/** An AC scan's data: end-of-band runs covering `blocks` blocks (the AC table codes EOBr, r = 0..14, as the 4-bit code r). */
function eobRuns(blocks: number): number[] {
  const w = new BitWriter();
  for (let left = blocks; left > 0; ) {
    const run = Math.min(left, 32767);
    const r = Math.floor(Math.log2(run));
    w.write(r, 4);
    if (r > 0) w.write(run - (1 << r), r);
    left -= run;
  }
  return w.finish();
}

/**
 * A progressive grey JPEG of `width` x `height` pixels with exactly `scans` scans (1 to
 * {@link MAX_PROGRESSION_SCANS}), which decodes to flat grey (128) without a warning.
 */
export function scanBomb(width: number, height: number, scans: number): Uint8Array<ArrayBuffer> {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0 && width < 65536 && height < 65536)) {
    throw new RangeError(`width and height must be whole numbers from 1 to 65535, got ${width}x${height}`);
  }
  if (!(Number.isInteger(scans) && scans >= 1 && scans <= MAX_PROGRESSION_SCANS)) {
    throw new RangeError(`scans must be a whole number from 1 to ${MAX_PROGRESSION_SCANS}, got ${scans}`);
  }
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const out: number[] = [0xff, 0xd8];
  out.push(...segment(0xdb, [0x00, ...new Array<number>(64).fill(1)]));
  // SOF2: progressive, 8-bit, one component (id 1, 1x1 sampling, table 0).
  out.push(...segment(0xc2, [8, height >> 8, height & 0xff, width >> 8, width & 0xff, 1, 1, 0x11, 0]));
  // DC table 0: one code "0" for category 0. AC table 0: 4-bit codes 0..14 for EOB0..EOB14.
  const acSymbols = Array.from({ length: 15 }, (_, r) => r << 4);
  out.push(...segment(0xc4, [0x00, 1, ...new Array<number>(15).fill(0), 0x00]));
  out.push(...segment(0xc4, [0x10, 0, 0, 0, 15, ...new Array<number>(12).fill(0), ...acSymbols]));
  const sos = (ss: number, se: number, ah: number, al: number) => segment(0xda, [1, 1, 0x00, ss, se, (ah << 4) | al]);
  // DC first scan, full precision: one 0 bit per block.
  const dc = new BitWriter();
  for (let b = 0; b < blocks; b++) dc.write(0, 1);
  out.push(...sos(0, 0, 0, 0), ...dc.finish());
  const acData = eobRuns(blocks);
  for (let k = 1, left = scans - 1; left > 0; k++) {
    // Coefficient k: a first scan at Al = 13, then refinements Ah = 13 .. 1, Al = Ah - 1.
    out.push(...sos(k, k, 0, 13), ...acData);
    left--;
    for (let ah = 13; ah >= 1 && left > 0; ah--, left--) out.push(...sos(k, k, ah, ah - 1), ...acData);
  }
  out.push(0xff, 0xd9);
  return new Uint8Array(out);
}
