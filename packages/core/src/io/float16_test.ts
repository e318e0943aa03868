/**
 * Float16 weights: the encoder against tfjs's own decoder (every one of the 65,536 halves),
 * rounding to nearest with ties to even at the edges (subnormals, overflow), and
 * `IrnModel.save(dest, { weights: 'float16' })` through the Node handler: half the bytes,
 * weights that load back as the rounded float32 values, the same bytes when saved again,
 * and refusals of NaN halves and of shards of the wrong size.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../model/irn.js';
import { perturbWeights } from '../testing/perturb.js';
import { SHARD, writeModelFolder } from '../testing/model-folder.js';
import { encodeFloat16, fromFloat16Bits, isFloat16NonFinite, toFloat16Bits } from './float16.js';
import { fileSystem } from './fs-handler.js';

/** tfjs-core's decoding of halves `bits` (what every loader does with float16 weights). */
function tfjsDecode(bits: Uint16Array): Float32Array {
  const spec: tf.io.WeightsManifestEntry = { name: 'w', shape: [bits.length], dtype: 'float32', quantization: { dtype: 'float16' } };
  const tensor = tf.io.decodeWeights(bits.slice().buffer, [spec]).w;
  const values = tensor.dataSync() as Float32Array;
  tensor.dispose();
  return values;
}

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'irn-f16-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('float16 encoding', () => {
  it('agrees with tfjs on every half, and encodes each back to itself', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const decoded = tfjsDecode(all);
    let nans = 0;
    for (let h = 0; h < 65536; h++) {
      const mine = fromFloat16Bits(h);
      if (Number.isNaN(mine)) {
        nans++;
        assert.ok(Number.isNaN(decoded[h]), `tfjs decodes NaN half ${h.toString(16)}`);
        assert.ok(isFloat16NonFinite(toFloat16Bits(mine)));
        continue;
      }
      assert.equal(decoded[h], mine, `half 0x${h.toString(16)}`);
      assert.equal(toFloat16Bits(mine), h, `half 0x${h.toString(16)} round trip`);
      assert.equal(isFloat16NonFinite(h), !Number.isFinite(mine));
    }
    assert.equal(nans, 2 * 1023);
  });

  it('rounds to the nearest half, ties to even, over the whole range', () => {
    // Seeded values of every magnitude from 2^-30 to 2^17, both signs.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 200_000; i++) {
      const v = Math.fround((rand() < 0.5 ? -1 : 1) * 2 ** (rand() * 47 - 30));
      const h = toFloat16Bits(v);
      const got = fromFloat16Bits(h);
      if (!Number.isFinite(got)) {
        assert.ok(Math.abs(v) >= 65520, `${v} overflows only from 65520 (the tie above 65504)`);
        continue;
      }
      assert.equal(Math.sign(got) || Math.sign(1 / got), Math.sign(v), `${v} keeps its sign`);
      // No other half is nearer: the neighbours one step down and up in magnitude.
      const err = Math.abs(got - v);
      for (const n of [h - 1, h + 1]) {
        if ((n & 0x7fff) === 0x7fff || (n & 0x8000) !== (h & 0x8000)) continue;
        const other = fromFloat16Bits(n);
        if (Number.isFinite(other)) assert.ok(err <= Math.abs(other - v), `${v} -> ${got}, but ${other} is nearer`);
      }
    }
    const cases: [number, number][] = [
      [1 + 2 ** -11, 0x3c00], // tie between 1 and 1 + 2^-10: even (1)
      [1 + 3 * 2 ** -11, 0x3c02], // tie between 1 + 2^-10 and 1 + 2^-9: even
      [65504, 0x7bff], // the largest half
      [65519.99, 0x7bff],
      [65520, 0x7c00], // the tie above it rounds to even: infinity
      [-1e9, 0xfc00],
      [2 ** -24, 0x0001], // the smallest subnormal
      [2 ** -25, 0x0000], // half of it: a tie, to even (zero)
      [Math.fround(2 ** -25 * 1.0001), 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between subnormals 1 and 2: even
      [2 ** -14 - 2 ** -25, 0x0400], // rounds up out of the subnormals into the smallest normal
      [-0, 0x8000],
      [1e-30, 0x0000],
    ];
    for (const [v, bits] of cases) assert.equal(toFloat16Bits(v), bits, `${v}`);
    assert.deepEqual(Array.from(encodeFloat16(new Float32Array([1, -2, 0.5]))), [0x3c00, 0xc000, 0x3800]);
  });
});

describe('IrnModel.save with float16 weights', () => {
  it('writes half the bytes, loads the rounded weights back, and saves them again unchanged', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
    perturbWeights(model.flow.weights, 5);
    const f32 = join(dir, 'f32');
    const f16 = join(dir, 'f16');
    await model.save(fileSystem(f32));
    await model.save(fileSystem(f16), { weights: 'float16' });
    const json = JSON.parse(await readFile(join(f16, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const specs = json.weightsManifest[0].weights;
    assert.ok(specs.every((s) => s.dtype === 'float32' && s.quantization?.dtype === 'float16' && Object.keys(s.quantization).length === 1));
    const bytes32 = (await readFile(join(f32, SHARD))).byteLength;
    const shard16 = await readFile(join(f16, SHARD));
    assert.equal(shard16.byteLength * 2, bytes32);

    const loaded = await IrnModel.load(fileSystem(f16));
    assert.equal(loaded.source, model.source);
    const originals = model.flow.weights.map((w) => w.read().dataSync() as Float32Array);
    loaded.flow.weights.forEach((w, i) => {
      const values = w.read().dataSync();
      const rounded = originals[i].map((v) => fromFloat16Bits(toFloat16Bits(v)));
      assert.deepEqual(Array.from(values), Array.from(rounded), w.name);
      // The rounding is that of halves: relative error at most 2^-11 for normal values.
      originals[i].forEach((v, j) => assert.ok(Math.abs(values[j] - v) <= Math.max(Math.abs(v) * 2 ** -11, 2 ** -25)));
    });
    // The model still computes what it did, to within the rounding, and is still inverted exactly.
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const a = model.forward(x);
    const b = loaded.forward(x);
    assert.ok(tf.max(tf.abs(tf.sub(a.output, b.output))).dataSync()[0] < 1e-3);
    const back = loaded.inverse(b.output);
    assert.ok(tf.max(tf.abs(tf.sub(back.output, x))).dataSync()[0] < 1e-4);

    const again = join(dir, 'again');
    await loaded.save(fileSystem(again), { weights: 'float16' });
    assert.deepEqual(await readFile(join(again, SHARD)), shard16);
    assert.equal(await readFile(join(again, 'model.json'), 'utf8'), await readFile(join(f16, 'model.json'), 'utf8'));
    await assert.rejects(model.save(fileSystem(join(dir, 'x')), { weights: 'int8' as 'float16' }), /weights must be "float32", "float16" or "uint8", got int8/);
    for (const t of [x, a.output, a.logDet, b.output, b.logDet, back.output, back.logDet]) t.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('refuses a NaN or infinite half by name, and a float32-sized shard for float16 specs', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 2, seed: 4 });
    perturbWeights(model.flow.weights, 6);
    const good = join(dir, 'good');
    await model.save(fileSystem(good), { weights: 'float16' });
    model.dispose();
    const json = await readFile(join(good, 'model.json'), 'utf8');
    const specs = (JSON.parse(json) as tf.io.ModelJSON).weightsManifest[0].weights;
    const shard = await readFile(join(good, SHARD));
    const target = specs[2]; // the first block's F/conv2/kernel (specs 0 and 1 are conv1's kernel and bias)
    const offset = specs.slice(0, 2).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 2, 0);
    for (const [bits, kind] of [
      [0x7e00, 'NaN'],
      [0x7c00, 'Infinity'],
      [0xfc00, '-Infinity'],
    ] as const) {
      const bad = join(dir, `bad-${kind}`);
      const bytes = Buffer.from(shard);
      bytes.writeUInt16LE(bits, offset + 2 * 3);
      await writeModelFolder(bad, json, bytes);
      await assert.rejects(IrnModel.load(fileSystem(bad)), new RegExp(`^Error: weight ${target.name} holds ${kind} \\(element 3 of \\d+, float16\\)`));
    }
    const big = join(dir, 'big');
    await writeModelFolder(big, json, Buffer.concat([shard, shard]));
    await assert.rejects(IrnModel.load(fileSystem(big)), new RegExp(`hold ${shard.byteLength * 2} bytes, model\\.json describes ${shard.byteLength}`));
  });
});

describe('mixed float16 and float32 weights', () => {
  it('loads a model whose float32 weights follow an odd number of halves, and still finds NaN in them', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 2, seed: 5 });
    perturbWeights(model.flow.weights, 7);
    const artifacts = await model.toArtifacts();
    model.dispose();
    const specs = artifacts.weightSpecs!;
    const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
    const half = sizes.findIndex((n) => n % 2 === 1); // F/conv5/kernel: after it the float32 offsets are not multiples of 4
    assert.ok(half >= 0 && half < specs.length - 1);
    const build = (nanIn: number | null) => {
      const parts: Uint8Array[] = [];
      let at = 0;
      specs.forEach((s, i) => {
        const values = new Float32Array(artifacts.weightData, at * 4, sizes[i]).slice();
        at += sizes[i];
        if (i === nanIn) values[1] = NaN;
        parts.push(new Uint8Array(i === half ? encodeFloat16(values).buffer : values.buffer));
      });
      const data = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      parts.reduce((o, p) => (data.set(p, o), o + p.byteLength), 0);
      const mixed = specs.map((s, i) => (i === half ? { ...s, quantization: { dtype: 'float16' as const } } : s));
      return tf.io.fromMemory({ ...artifacts, weightSpecs: mixed, weightData: data.buffer });
    };
    const loaded = await IrnModel.load(build(null));
    assert.equal(loaded.countParams(), sizes.reduce((a, b) => a + b, 0));
    loaded.dispose();
    await assert.rejects(IrnModel.load(build(half + 1)), new RegExp(`^Error: weight ${specs[half + 1].name} holds NaN \\(element 1 of ${sizes[half + 1]}\\)`));
  });
});

