// Hostile JPEGs of a few hundred bytes through the CLI: a photo with a second frame header
// or a flood of empty segments (`irn downscale`, read by jpeg-js) and an LR with a broken Huffman table (`irn upscale`,
// read by MozJPEG) each fail quickly with exactly one `irn: error:` line on stderr.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { useNodeBackend } from '../../packages/core/src/backend/node-backend.js';
import { encodeLr } from '../../packages/cli/src/image/lr-codecs.js';
import { irn, saveSmallModel } from './helpers.js';

/** A small photo by MozJPEG. */
async function photo(): Promise<Uint8Array> {
  const data = new Float32Array(24 * 16 * 3);
  for (let i = 0; i < data.length; i++) data[i] = ((i * 7) % 256) / 255;
  return encodeLr({ width: 24, height: 16, channels: 3, data }, { format: 'jpeg' });
}

/** The offset of the first segment of one of `markers` in `bytes`, and the index just after it. */
function segment(bytes: Uint8Array, ...markers: number[]): [number, number] {
  for (let p = 2; p + 4 <= bytes.length; ) {
    const length = (bytes[p + 2] << 8) | bytes[p + 3];
    if (markers.includes(bytes[p + 1])) return [p, p + 2 + length];
    p += 2 + length;
  }
  throw new Error('no such segment');
}

describe('hostile JPEGs of a few hundred bytes', () => {
  let work: string;
  before(async () => {
    await useNodeBackend();
    work = mkdtempSync(join(tmpdir(), 'irn-jpeg-bounds-test-'));
    await saveSmallModel(join(work, 'model'));
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it('a photo with a second frame header of 10000x10000 and 5 components: one line, quickly', async () => {
    const real = await photo();
    const [, end] = segment(real, 0xc0, 0xc2);
    const body = [8, 10000 >> 8, 10000 & 0xff, 10000 >> 8, 10000 & 0xff, 5];
    for (let i = 0; i < 5; i++) body.push(10 + i, 0x11, 0);
    const bomb = new Uint8Array([...real.subarray(0, end), 0xff, 0xc0, 0, body.length + 2, ...body, ...real.subarray(end)]);
    assert.ok(bomb.length < 1000);
    writeFileSync(join(work, 'bomb.jpg'), bomb);
    const start = performance.now();
    const run = await irn(['downscale', '-m', 'model', 'bomb.jpg', 'bomb-lr.png'], work);
    assert.equal(run.stderr, 'irn: error: bomb.jpg: not a readable JPEG (it has 2 frame headers (SOF markers); a photo has one)\n');
    assert.equal(run.code, 1);
    // Before: 50 s and 4.8 GB in jpeg-js. The CLI's start-up is most of this.
    assert.ok(performance.now() - start < 20_000, `${performance.now() - start} ms`);
  });

  it('a photo with more than 10,000 marker segments (empty comments): refused, and 9,000 still read', async () => {
    const real = await photo();
    const comments = (n: number) => new Uint8Array(n * 4).map((_, i) => [0xff, 0xfe, 0, 2][i % 4]);
    const withComments = (n: number) => new Uint8Array([...real.subarray(0, 2), ...comments(n), ...real.subarray(2)]);
    writeFileSync(join(work, 'many.jpg'), withComments(10_001));
    const run = await irn(['downscale', '-m', 'model', 'many.jpg', 'many-lr.png'], work);
    assert.equal(run.stderr, 'irn: error: many.jpg: not a readable JPEG (it has more than 10,000 marker segments; a photo has a few dozen)\n');
    assert.equal(run.code, 1);
    // The photo's own segments (APP0, DQT, SOF, DHT...) count too: 9,000 comments leave room for them.
    writeFileSync(join(work, 'some.jpg'), withComments(9_000));
    const ok = await irn(['downscale', '-m', 'model', 'some.jpg', 'some-lr.png'], work);
    assert.equal(ok.code, 0, ok.stderr);
  });

  it("an LR whose Huffman table is broken: libjpeg's reason in one line, nothing else from Emscripten", async () => {
    const lr = await encodeLr({ width: 12, height: 10, channels: 3, data: new Float32Array(360).fill(0.5) }, { format: 'jpeg', metadata: { scale: 2, width: 24, height: 20 } });
    const bad = lr.slice();
    bad[segment(bad, 0xc4)[0] + 5] = 0xa1;
    writeFileSync(join(work, 'bad-dht.jpg'), bad);
    const run = await irn(['upscale', '-m', 'model', 'bad-dht.jpg', 'bad-up.png'], work);
    assert.equal(run.stderr, 'irn: error: bad-dht.jpg: its JPEG data cannot be decoded (MozJPEG: Bogus Huffman table definition)\n');
    assert.equal(run.stdout, '');
    assert.equal(run.code, 1);
  });
});
