import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitQuality, parseByteSize } from './fit-size.js';

/** A "codec" whose file at quality q is `size(q)` bytes; records the qualities asked for. */
function fake(size: (q: number) => number) {
  const asked: number[] = [];
  return { asked, encode: async (q: number) => (asked.push(q), new Uint8Array(size(q))) };
}

describe('fitQuality', () => {
  it('finds the highest quality that fits, in a handful of encodes, and hands back the file it measured', async () => {
    const c = fake((q) => 100 + 10 * q);
    for (const [budget, want] of [
      [555, 45],
      [550, 45],
      [549, 44],
      [1100, 100],
      [5000, 100],
      [100, 0],
    ] as const) {
      c.asked.length = 0;
      const r = await fitQuality(c.encode, budget, 0, 100);
      assert.ok(r.fits, `budget ${budget}`);
      assert.equal(r.quality, want, `budget ${budget}`);
      assert.equal(r.file.length, 100 + 10 * want);
      // 2 + log2(100) for the bisection, and up to two probes where the next quality misses by 1 % or less.
      assert.ok(c.asked.length <= 11, `${c.asked.length} encodes`);
    }
  });

  it('says when even the lowest quality is too big, with its size', async () => {
    const r = await fitQuality(fake((q) => 300 + q).encode, 299, 1, 100);
    assert.deepEqual(r, { fits: false, quality: 1, smallest: 301 });
  });

  it('returns a file that fits even where the size is not monotone in quality', async () => {
    // A bump at 60-70: bisection may stop below the highest fitting quality, never above the budget.
    const size = (q: number) => (q >= 60 && q <= 70 ? 2000 : 10 * q);
    const r = await fitQuality(fake(size).encode, 750, 0, 100);
    assert.ok(r.fits && r.file.length <= 750 && r.file.length === size(r.quality), JSON.stringify(r.fits && [r.quality, r.file.length]));
  });

  it('finds a quality above a near miss (a size a byte off the trend), with at most two more encodes', async () => {
    // Bisection over 1-100 for 700 bytes measures 50, 75, 62, 68, 71, 69 and stops at 68:
    // 69 is one byte over, 70 fits.
    const size = (q: number) => (q === 69 ? 701 : 10 * q);
    const c = fake(size);
    const r = await fitQuality(c.encode, 700, 1, 100);
    assert.ok(r.fits);
    assert.equal(r.quality, 70);
    assert.equal(r.file.length, 700);
    assert.deepEqual(c.asked, [100, 1, 50, 75, 62, 68, 71, 69, 70], 'one probe: 71 was measured, 7 over (1 %)');
    // A clear miss just above (the trend, not a wobble) costs no encode.
    const plain = fake((q) => q * q);
    const p = await fitQuality(plain.encode, 4700, 1, 100);
    assert.ok(p.fits);
    assert.equal(p.quality, 68);
    assert.equal(plain.asked.length, 8, plain.asked.join(' '));
    // Probes stop after two encodes even where every miss is narrow.
    const flat = fake((q) => (q <= 40 ? 1000 : 1005));
    const f = await fitQuality(flat.encode, 1000, 1, 100);
    assert.ok(f.fits);
    assert.equal(f.quality, 40);
    assert.ok(flat.asked.filter((q) => q > 41).length <= 2 + 5, flat.asked.join(' '));
  });

  it('refuses a bad range or budget', async () => {
    const { encode } = fake((q) => q);
    await assert.rejects(fitQuality(encode, 10, 50, 40), /bad quality range/);
    await assert.rejects(fitQuality(encode, 0, 0, 100), /at least|> 0/);
  });
});

describe('parseByteSize', () => {
  it('reads bytes, k, kB, KiB, M, MiB', () => {
    assert.equal(parseByteSize('30000'), 30000);
    assert.equal(parseByteSize('30k'), 30000);
    assert.equal(parseByteSize('30 kB'), 30000);
    assert.equal(parseByteSize('30KiB'), 30720);
    assert.equal(parseByteSize('1.5M'), 1500000);
    assert.equal(parseByteSize('1MiB'), 1048576);
    assert.equal(parseByteSize('0.5k'), 500);
  });

  it('refuses anything else with one line', () => {
    for (const bad of ['', 'k', '-5', '30 GB', '1e3', '0', '0.0001k', 'ten']) assert.throws(() => parseByteSize(bad), RangeError, bad);
    assert.throws(() => parseByteSize('0'), /^RangeError: the size must be at least 1 byte, got "0"$/);
    assert.throws(() => parseByteSize('99999999999999999999'), /^RangeError: the size is too large: "99999999999999999999"$/);
    assert.throws(() => parseByteSize('9999999999MiB'), /too large/);
  });
});
