/**
 * 8-bit weights with a range per output channel (`io/uint8-channels.ts`): the encoder's
 * rounding (at most half a step off, each channel's own range, constant channels exact; each
 * filter's sum kept within half a step), the
 * layout, and `IrnModel.save(dest, { weights: 'uint8' })` through the Node handler: kernels as
 * 8 bits, biases as float16, a quarter of the bytes, weights that load back as decoded, a model
 * that is still inverted exactly; refusals of NaN and infinite ranges, negative steps, NaN
 * halves at odd offsets after an 8-bit weight, shards of the wrong size, scalars, and tfjs's own per-tensor uint8.
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
import { fromFloat16Bits, toFloat16Bits } from './float16.js';
import { fileSystem } from './fs-handler.js';
import { decodeUint8Channels, encodeUint8Channels, fitsUint8Channels, UINT8_CHANNELS, uint8ChannelsBytes } from './uint8-channels.js';

let dir: string;
before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'irn-u8-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('uint8 per-channel encoding', () => {
  it('rounds each value to the nearest of 256 steps of its own channel, and lays out minimums, steps, bytes', () => {
    const channels = 3;
    // Channel 0 spans [-1, 1], channel 1 [1000, 1001] (a range far from zero), channel 2 is constant.
    const values = new Float32Array(3 * 50);
    for (let i = 0; i < 50; i++) {
      values[3 * i] = Math.sin(i * 1.7);
      values[3 * i + 1] = 1000 + (i % 7) / 6;
      values[3 * i + 2] = -0.25;
    }
    values[0] = -1;
    values[3] = 1;
    const bytes = encodeUint8Channels(values, [50, channels], 'w');
    assert.equal(bytes.length, uint8ChannelsBytes(values.length, channels));
    assert.equal(bytes.length, 8 * 3 + 150);
    const view = new DataView(bytes.buffer);
    assert.deepEqual([0, 1, 2].map((c) => view.getFloat32(4 * c, true)), [-1, 1000, -0.25]);
    assert.equal(view.getFloat32(4 * 3, true), Math.fround(2 / 255));
    assert.equal(view.getFloat32(4 * 5, true), 0); // the constant channel: step 0
    const decoded = decodeUint8Channels(bytes, values.length, channels, 'w');
    values.forEach((v, i) => {
      const step = view.getFloat32(4 * (channels + (i % channels)), true);
      assert.ok(Math.abs(decoded[i] - v) <= step / 2 + Math.abs(v) * 2 ** -23, `element ${i}: ${decoded[i]} for ${v}`);
    });
    // Each channel's extremes come back (almost) exactly, the constant channel exactly.
    assert.equal(decoded[0], -1);
    assert.ok(Math.abs(decoded[3] - 1) < 1e-6);
    for (let i = 2; i < 150; i += 3) assert.equal(decoded[i], -0.25);
    // A second round trip of decoded values changes nothing beyond float32 rounding.
    const again = decodeUint8Channels(encodeUint8Channels(decoded, [50, channels], 'w'), values.length, channels, 'w');
    decoded.forEach((v, i) => assert.ok(Math.abs(again[i] - v) <= 1e-4 * Math.max(1, Math.abs(v)), `element ${i}`));
    assert.throws(() => encodeUint8Channels(new Float32Array([0, NaN, 1, 2]), [2, 2], 'k'), /^Error: weight k holds NaN \(element 1\)/);
    assert.throws(() => encodeUint8Channels(new Float32Array(5), [2, 2], 'k'), /5 elements do not make the shape \[2, 2\] with a channel dimension/);
    assert.throws(() => encodeUint8Channels(new Float32Array(1), [], 'k'), /with a channel dimension/);
  });

  it("keeps each filter's sum (its response to flat input) within half a step, moving no tap more than a step", () => {
    // A conv kernel [3, 3, 5, 4] of random values: 20 filters of 9 taps.
    const shape = [3, 3, 5, 4];
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    const values = new Float32Array(180).map(() => random() * 0.05);
    const bytes = encodeUint8Channels(values, shape, 'k');
    const decoded = decodeUint8Channels(bytes, 180, 4, 'k');
    const view = new DataView(bytes.buffer);
    let nearestOff = 0;
    for (let c = 0; c < 4; c++) {
      const min = view.getFloat32(4 * c, true);
      const step = view.getFloat32(4 * (4 + c), true);
      for (let f = 0; f < 5; f++) {
        let sum = 0;
        let kept = 0;
        let nearest = 0;
        for (let t = 0; t < 9; t++) {
          const i = (t * 5 + f) * 4 + c;
          sum += values[i];
          kept += decoded[i];
          nearest += min + step * Math.round((values[i] - min) / step);
          assert.ok(Math.abs(decoded[i] - values[i]) <= step * (1 + 1e-6), `tap ${i} moved more than a step`);
        }
        assert.ok(Math.abs(kept - sum) <= step * (0.5 + 1e-5), `filter ${f} -> ${c}: off by ${(kept - sum) / step} steps`);
        nearestOff = Math.max(nearestOff, Math.abs(nearest - sum) / step);
      }
    }
    // Nearest rounding alone leaves some filter more than half a step off: the adjustment is what keeps the sums.
    assert.ok(nearestOff > 0.5, `nearest rounding was off by at most ${nearestOff} steps`);
    // keepSums: false is that nearest rounding, tap for tap.
    const plain = encodeUint8Channels(values, shape, 'k', { keepSums: false });
    assert.deepEqual(plain.subarray(0, 32), bytes.subarray(0, 32));
    values.forEach((v, i) => {
      const c = i % 4;
      assert.equal(plain[32 + i], Math.round((v - view.getFloat32(4 * c, true)) / view.getFloat32(4 * (4 + c), true)), `tap ${i}`);
    });
    assert.notDeepEqual(plain, bytes);
  });

  it('is chosen only where it is smaller than float16: kernels, not biases', () => {
    assert.equal(fitsUint8Channels([3, 3, 9, 16]), true);
    assert.equal(fitsUint8Channels([1, 1, 16, 16]), true); // 16 elements a channel: 8 + 16 bytes < 32
    assert.equal(fitsUint8Channels([1, 1, 8, 16]), false); // 8 a channel: 8 + 8 = 16, no smaller
    assert.equal(fitsUint8Channels([16]), false);
    assert.equal(fitsUint8Channels([]), false);
  });

  it('refuses a NaN or infinite minimum or step, a negative step, a range beyond float32, and the wrong size', () => {
    const good = encodeUint8Channels(new Float32Array([0, 1, 2, 3]), [2, 2], 'k');
    const withFloat = (at: number, v: number) => {
      const b = good.slice();
      new DataView(b.buffer).setFloat32(at, v, true);
      return b;
    };
    assert.throws(() => decodeUint8Channels(withFloat(0, NaN), 4, 2, 'k'), /^Error: weight k has the minimum NaN for channel 0 \(uint8-per-channel\)/);
    assert.throws(() => decodeUint8Channels(withFloat(4, -Infinity), 4, 2, 'k'), /the minimum -Infinity for channel 1/);
    assert.throws(() => decodeUint8Channels(withFloat(12, Infinity), 4, 2, 'k'), /the step Infinity for channel 1/);
    assert.throws(() => decodeUint8Channels(withFloat(8, -0.5), 4, 2, 'k'), /the step -0\.5 for channel 0/);
    assert.throws(() => decodeUint8Channels(withFloat(8, 3e38), 4, 2, 'k'), /the range 0 \+ 255 x [\d.e+]+, beyond float32, for channel 0/);
    assert.throws(() => decodeUint8Channels(good.subarray(1), 4, 2, 'k'), /^Error: weight k has 19 bytes stored as uint8-per-channel, 20 expected/);
  });
});

describe('IrnModel.save with uint8 weights', () => {
  it('writes kernels as 8 bits per channel and biases as float16, loads them back, and stays invertible', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 2, growth: 8, seed: 3 });
    perturbWeights(model.flow.weights, 5);
    const f32 = join(dir, 'f32');
    const u8 = join(dir, 'u8');
    await model.save(fileSystem(f32));
    await model.save(fileSystem(u8), { weights: 'uint8' });
    const json = JSON.parse(await readFile(join(u8, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const specs = json.weightsManifest[0].weights;
    const kinds = specs.map((s) => s.quantization?.dtype);
    specs.forEach((s) => assert.equal(s.quantization?.dtype, fitsUint8Channels(s.shape) ? UINT8_CHANNELS : 'float16', s.name));
    assert.ok(kinds.includes(UINT8_CHANNELS as 'uint8') && kinds.includes('float16'));
    const sizes = specs.map((s) => s.shape.reduce((a, b) => a * b, 1));
    const expected = specs.reduce((n, s, i) => n + (fitsUint8Channels(s.shape) ? uint8ChannelsBytes(sizes[i], s.shape.at(-1)!) : 2 * sizes[i]), 0);
    const shard = await readFile(join(u8, SHARD));
    assert.equal(shard.byteLength, expected);
    assert.ok(shard.byteLength < (await readFile(join(f32, SHARD))).byteLength / 3.2, 'about a quarter of float32');

    const loaded = await IrnModel.load(fileSystem(u8));
    let at = 0;
    loaded.flow.weights.forEach((w, i) => {
      const values = w.read().dataSync() as Float32Array;
      const original = model.flow.weights[i].read().dataSync() as Float32Array;
      const stored = new Uint8Array(shard.buffer, shard.byteOffset + at, fitsUint8Channels(specs[i].shape) ? uint8ChannelsBytes(sizes[i], specs[i].shape.at(-1)!) : 2 * sizes[i]);
      at += stored.length;
      const want = fitsUint8Channels(specs[i].shape)
        ? decodeUint8Channels(stored, sizes[i], specs[i].shape.at(-1)!, specs[i].name)
        : original.map((v) => fromFloat16Bits(toFloat16Bits(v)));
      assert.deepEqual(Array.from(values), Array.from(want), w.name);
    });
    // Close to what it computed, and the inverse is still exact: the rounding changes the
    // weights, not the invertibility.
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const a = model.forward(x);
    const b = loaded.forward(x);
    const diff = tf.max(tf.abs(tf.sub(a.output, b.output))).dataSync()[0];
    assert.ok(diff > 0 && diff < 0.05, `forward moved by ${diff}`);
    const back = loaded.inverse(b.output);
    assert.ok(tf.max(tf.abs(tf.sub(back.output, x))).dataSync()[0] < 1e-4);
    for (const t of [x, a.output, a.logDet, b.output, b.logDet, back.output, back.logDet]) t.dispose();
    model.dispose();
    loaded.dispose();
  });

  it('refuses a NaN range by name, a shard of the wrong size, a scalar, and tfjs per-tensor uint8', async () => {
    // Growth 3: conv1's kernel [3, 3, 9, 3] takes 243 + 24 bytes, so the halves after it start at an odd offset.
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 3, seed: 4 });
    perturbWeights(model.flow.weights, 6);
    const good = join(dir, 'good');
    await model.save(fileSystem(good), { weights: 'uint8' });
    model.dispose();
    const text = await readFile(join(good, 'model.json'), 'utf8');
    const specs = (JSON.parse(text) as tf.io.ModelJSON).weightsManifest[0].weights;
    const shard = await readFile(join(good, SHARD));
    assert.equal(specs[0].quantization?.dtype, UINT8_CHANNELS); // conv1's kernel, first in the shard
    const nan = Buffer.from(shard);
    nan.writeFloatLE(NaN, 4 * specs[0].shape.at(-1)!); // its first channel's step
    await writeModelFolder(join(dir, 'nan'), text, nan);
    await assert.rejects(IrnModel.load(fileSystem(join(dir, 'nan'))), new RegExp(`^Error: weight ${specs[0].name} has the step NaN for channel 0 \\(uint8-per-channel\\)`));
    const odd = uint8ChannelsBytes(243, 3);
    assert.equal(odd % 2, 1);
    assert.deepEqual([specs[0].shape, specs[1].quantization?.dtype], [[3, 3, 9, 3], 'float16']);
    await IrnModel.load(fileSystem(good)).then((m) => m.dispose());
    const nanHalf = Buffer.from(shard);
    nanHalf.writeUInt16LE(0x7e00, odd + 2);
    await writeModelFolder(join(dir, 'nan-half'), text, nanHalf);
    await assert.rejects(IrnModel.load(fileSystem(join(dir, 'nan-half'))), new RegExp(`^Error: weight ${specs[1].name} holds NaN \\(element 1 of 3, float16\\)`));
    await writeModelFolder(join(dir, 'short'), text, shard.subarray(1));
    await assert.rejects(IrnModel.load(fileSystem(join(dir, 'short'))), new RegExp(`hold ${shard.byteLength - 1} bytes, model\\.json describes ${shard.byteLength}`));

    const edit = (f: (s: tf.io.WeightsManifestEntry) => void) => {
      const json = JSON.parse(text) as tf.io.ModelJSON;
      f(json.weightsManifest[0].weights[1]);
      return JSON.stringify(json);
    };
    await writeModelFolder(join(dir, 'scalar'), edit((s) => ((s.shape = []), (s.quantization = { dtype: UINT8_CHANNELS as 'uint8' }))), shard);
    await assert.rejects(IrnModel.load(fileSystem(join(dir, 'scalar'))), /is a scalar stored as uint8-per-channel, which needs a channel dimension/);
    await writeModelFolder(join(dir, 'tfjs-u8'), edit((s) => (s.quantization = { dtype: 'uint8', min: 0, scale: 0.1 })), shard);
    await assert.rejects(IrnModel.load(fileSystem(join(dir, 'tfjs-u8'))), /is quantized \(uint8\); IRN models hold float32 weights, stored as float32, float16 or uint8-per-channel/);
    await writeModelFolder(join(dir, 'extra'), edit((s) => (s.quantization = { dtype: UINT8_CHANNELS as 'uint8', min: 0 })), shard);
    await assert.rejects(IrnModel.load(fileSystem(join(dir, 'extra'))), /is quantized \(uint8-per-channel\)/);
  });

  it('tfjs alone refuses the form loudly instead of reading it as something else', () => {
    const spec = { name: 'w', shape: [2, 2], dtype: 'float32', quantization: { dtype: UINT8_CHANNELS } } as unknown as tf.io.WeightsManifestEntry;
    assert.throws(() => tf.io.decodeWeights(new ArrayBuffer(20), [spec]), /uint8-per-channel/);
  });
});

