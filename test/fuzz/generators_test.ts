// The fuzz generators make what they claim: the bombs inflate (with zlib, not our decoders) to
// the sizes they promise, their checksums are right, the checkpoints are real torch.save
// archives, and mutations are reproducible. Otherwise a "refused" case could pass only
// because the file was broken in some other, cheaper way.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { inflateRawSync, inflateSync } from 'node:zlib';
import { decodePng } from '../../packages/core/src/image/png.js';
import { readTorchStateDict } from '../../packages/core/src/weights/pytorch/read-state-dict.js';
import {
  adler32,
  billionLaughsPth,
  blackPng,
  crc32,
  crc32Zeros,
  deepNestingPth,
  deflateRepeat,
  fillTorchStorages,
  hugeHeader,
  idatOverflow,
  itxtBomb,
  listChunks,
  lrClaimingScale3,
  mutatePng,
  mutateTorchZip,
  pixelBomb,
  readStoredZip,
  strideZeroPth,
  torchZip,
  zipBombUnusedPth,
  zipBombUsedPth,
  zlibRepeat,
  zlibStored,
  ztxtBomb,
} from './generators.js';
import { IMAGES, TORCH } from './node-fixtures.js';

/** Inflates a zlib stream with Node's zlib, which checks the Adler-32 trailer. */
function inflatedLength(stream: Uint8Array, raw = false): number {
  return (raw ? inflateRawSync(stream) : inflateSync(stream)).length;
}

describe('fuzz generators', () => {
  it('deflateRepeat inflates to exactly n copies of the byte, at about 1000:1', () => {
    for (const n of [1, 2, 258, 259, 260, 517, 1000, 65536, 3_000_001]) {
      const out = inflateRawSync(deflateRepeat(0x61, n));
      assert.equal(out.length, n, `n = ${n}`);
      assert.ok(out.every((b) => b === 0x61), `n = ${n}`);
    }
    assert.ok(deflateRepeat(0, 100_000_000).length < 100_000_000 / 1000);
  });

  it('zlib streams carry the right Adler-32, and CRC-32 of zeros matches the slow way', () => {
    assert.equal(inflatedLength(zlibRepeat(7, 123_457)), 123_457);
    assert.equal(inflatedLength(zlibRepeat(0, 5)), 5);
    const data = Uint8Array.from({ length: 200_000 }, (_, i) => (i * 31) & 0xff);
    assert.deepEqual(new Uint8Array(inflateSync(zlibStored(data))), data);
    assert.equal(adler32(new Uint8Array(0)), 1);
    for (const n of [0, 1, 24, 1000, 65537]) assert.equal(crc32Zeros(n), crc32(new Uint8Array(n)), `n = ${n}`);
  });

  it('the PNG bombs are well-formed and inflate to what they claim', () => {
    const idat = (png: Uint8Array, type = 'IDAT') => {
      const c = listChunks(png).find((x) => x.type === type);
      assert.ok(c, type);
      return png.subarray(c.start + 8, c.start + 8 + c.length);
    };
    const z = ztxtBomb(5_000_000);
    assert.equal(inflatedLength(idat(z, 'zTXt').subarray('Comment'.length + 2)), 5_000_000);
    assert.ok(ztxtBomb().length < 120_000, `zTXt bomb is ${ztxtBomb().length} bytes`);
    const i = itxtBomb(2_000_000);
    assert.equal(inflatedLength(idat(i, 'iTXt').subarray('Description'.length + 5)), 2_000_000);
    const p = pixelBomb(2000);
    assert.equal(inflatedLength(idat(p)), 2000 * 251);
    assert.ok(pixelBomb().length < 60_000, `pixel bomb is ${pixelBomb().length} bytes`);
    assert.equal(inflatedLength(idat(idatOverflow(1_000_000))), 1_000_000);
    assert.equal(inflatedLength(idat(blackPng(60, 40))), 40 * 181);
    // The small ones decode with the library as they are.
    assert.deepEqual([decodePng(blackPng(60, 40)).width, decodePng(blackPng(60, 40)).height], [60, 40]);
    assert.equal(decodePng(z).width, 1);
    assert.deepEqual(JSON.parse(decodePng(lrClaimingScale3()).text.irn), { scale: 3, width: 24, height: 18 });
    assert.equal(listChunks(hugeHeader())[0].type, 'IHDR');
  });

  it('the torch archives are torch.save checkpoints the reader understands', () => {
    const dict = readTorchStateDict(torchZip([{ key: 'w', shape: [2, 2], stride: [1, 2], storage: '0', storageNumel: 4 }], { '0': Float32Array.of(1, 2, 3, 4) }));
    assert.deepEqual(dict.get('w')?.shape, [2, 2]);
    assert.deepEqual(Array.from(dict.get('w')?.data ?? []), [1, 3, 2, 4]);
    // Small stride-0 and zip bombs read as what they are (the big ones are the attack).
    assert.equal(readTorchStateDict(strideZeroPth(3, 5)).get('w')?.data.length, 15);
    assert.equal(readTorchStateDict(zipBombUnusedPth(100_000)).get('w')?.data.length, 6);
    assert.ok(strideZeroPth().length < 1000, `stride-0 checkpoint is ${strideZeroPth().length} bytes`);
    assert.ok(zipBombUnusedPth().length < 1_100_000);
    assert.ok(zipBombUsedPth().length < 1_100_000);
    assert.ok(billionLaughsPth().length < 2000, `billion laughs is ${billionLaughsPth().length} bytes`);
    assert.ok(deepNestingPth(1000).length < 10_000);
    // A real checkpoint survives the stored-zip round trip, and NaN filling reaches every storage.
    const real = new Uint8Array(readFileSync(join(TORCH, 'irn_x2.pth')));
    const nan = readTorchStateDict(fillTorchStorages(real));
    assert.equal(nan.size, readTorchStateDict(real).size);
    for (const t of nan.values()) assert.ok(t.data.every((v) => Number.isNaN(v)));
    assert.equal(readStoredZip(real).length, readStoredZip(fillTorchStorages(real)).length);
  });

  it('mutations are reproducible from their seed and differ between seeds', () => {
    const png = new Uint8Array(readFileSync(join(IMAGES, 'astronaut-48x40.png')));
    const pth = new Uint8Array(readFileSync(join(TORCH, 'strided.pth')));
    const seen = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      const a = mutatePng(png, seed);
      assert.deepEqual(mutatePng(png, seed), a);
      seen.add(a.what);
      assert.deepEqual(mutateTorchZip(pth, seed), mutateTorchZip(pth, seed));
    }
    assert.ok(seen.size >= 35, `only ${seen.size} different PNG mutations in 40 seeds`);
  });
});
