import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../training/rng.js';
import { imageTensor, samplePatches, type TrainImage } from './patches.js';

await tf.setBackend('cpu');

/** A 4x4 image whose red channel holds the pixel index, so positions can be read back. */
const indexImage: TrainImage = {
  width: 4,
  height: 4,
  data: Uint8Array.from({ length: 48 }, (_, i) => (i % 3 === 0 ? i / 3 : i % 3 === 1 ? 100 : 200)),
};

/** The 8 flips/transposes of a 4x4 grid of indices, as flattened arrays. */
function dihedral(): string[] {
  const base = Array.from({ length: 4 }, (_, y) => Array.from({ length: 4 }, (_, x) => y * 4 + x));
  const out = new Set<string>();
  for (let m = 0; m < 8; m++) {
    let g = base.map((r) => [...r]);
    if (m & 4) g = g[0].map((_, x) => g.map((r) => r[x]));
    if (m & 2) g = g.reverse();
    if (m & 1) g = g.map((r) => r.reverse());
    out.add(g.flat().join());
  }
  return [...out];
}

test('samplePatches: shape, range, and every patch is a flip/transpose of the image', () => {
  const rng = new Rng(3);
  const x = samplePatches([indexImage], rng, 64, 4);
  assert.deepEqual(x.shape, [64, 4, 4, 3]);
  const v = x.arraySync();
  const allowed = new Set(dihedral());
  const seen = new Set<string>();
  for (const p of v) {
    const red = p.flat().map((px) => Math.round(px[0] * 255));
    assert.ok(allowed.has(red.join()), `patch ${red.join()} is not a dihedral image of the source`);
    seen.add(red.join());
    assert.ok(p.flat().every((px) => Math.abs(px[1] - 100 / 255) < 1e-7 && Math.abs(px[2] - 200 / 255) < 1e-7));
  }
  assert.equal(seen.size, 8, 'all 8 augmentations should occur in 64 draws');
  x.dispose();
});

test('samplePatches is reproducible from the generator state and checks sizes', () => {
  const a = new Rng(5);
  a.next();
  const b = Rng.fromState(a.state);
  const pa = samplePatches([indexImage], a, 3, 2);
  const pb = samplePatches([indexImage], b, 3, 2);
  assert.deepEqual(pa.arraySync(), pb.arraySync());
  assert.throws(() => samplePatches([indexImage], a, 1, 5), /smaller than the 5 px patch/);
  assert.throws(() => samplePatches([], a, 1, 2), /no training images/);
  tf.dispose([pa, pb]);
});

test('imageTensor crops to a multiple', () => {
  const t = imageTensor({ width: 3, height: 4, data: new Uint8Array(36).fill(255) }, 2);
  assert.deepEqual(t.shape, [1, 4, 2, 3]);
  assert.ok(Array.from(t.dataSync()).every((v) => v === 1));
  t.dispose();
});
