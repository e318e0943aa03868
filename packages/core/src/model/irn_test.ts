import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from './irn.js';
import { quantize8 } from './quantize.js';
import { perturbWeights } from '../testing/perturb.js';
import { maxAbsDiff } from '../testing/expect.js';

/** Float32 sums of four values differ from avgPool's by rounding only. */
const BOX_TOL = 1e-6;

before(async () => {
  await tf.setBackend('cpu');
});

describe('IrnModel', () => {
  it('a fresh model is exactly the Haar transform: its LR is the box mean (x2, x4, x8)', () => {
    for (const scale of [2, 4, 8] as const) {
      const model = IrnModel.create({ scale, blocks: 2, growth: 4, seed: 1 });
      tf.tidy(() => {
        const x = tf.randomUniform([2, 16, 24, 3], 0, 1, 'float32', scale) as tf.Tensor4D;
        const { output } = model.forward(x);
        const lr = tf.slice(output, [0, 0, 0, 0], [-1, -1, -1, 3]);
        const box = tf.avgPool(x, scale, scale, 'valid');
        assert.ok(maxAbsDiff(lr, box) < BOX_TOL, `x${scale}: LR differs from the ${scale}x${scale} box mean`);
        // And the quantized LR is the quantized box mean.
        const q = model.downscale(x);
        const qBox = tf.div(tf.round(tf.mul(box, 255)), 255);
        assert.ok(maxAbsDiff(q, qBox) <= 1 / 255 + 1e-6);
      });
      model.dispose();
    }
  });

  it('has the published parameter counts with the published configuration', () => {
    // IRN.md, "Parameter counts".
    const expected = { 2: 1_667_952, 4: 4_355_136, 8: 11_119_248 } as const;
    for (const scale of [2, 4, 8] as const) {
      const model = IrnModel.create({ scale });
      assert.equal(model.countParams(), expected[scale]);
      assert.equal(model.zChannels, 3 * scale * scale - 3);
      model.dispose();
    }
  });

  it('rejects bad configurations and inputs with clear errors', () => {
    assert.throws(() => IrnModel.create({ scale: 3 as 2 }), /scale must be 2, 4 or 8, got 3/);
    assert.throws(() => IrnModel.create({ blocks: 0 }), /blocks per level must be an integer/);
    assert.throws(() => IrnModel.create({ growth: 2.5 }), /growth must be an integer/);
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 2 });
    tf.tidy(() => {
      assert.throws(() => model.forward(tf.zeros([1, 7, 8, 3])), /multiples of 2, got 8x7/);
      assert.throws(() => model.forward(tf.zeros([1, 8, 8, 4])), /3 channels, got 4/);
      assert.throws(() => model.inverse(tf.zeros([1, 4, 4, 10])), /takes 12 channels \(LR \+ z\), got 10/);
      assert.throws(() => model.upscale(tf.zeros([1, 4, 4, 3]), { z: tf.zeros([1, 4, 4, 8]) as tf.Tensor4D }), /z must have shape \[1, 4, 4, 9\]/);
      assert.throws(() => model.upscale(tf.zeros([1, 4, 4, 3]), { z: 'gaussian', temperature: -1 }), /temperature/);
    });
    model.dispose();
    assert.throws(() => model.forward(tf.zeros([1, 8, 8, 3])), /disposed/);
  });

  it('upscale: zeros by default, seeded Gaussian z repeats exactly, temperature 0 is zeros', () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 2 });
    perturbWeights(model.flow.weights, 3);
    tf.tidy(() => {
      const lr = tf.randomUniform([1, 6, 5, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
      const zeros = model.upscale(lr);
      assert.deepEqual(zeros.shape, [1, 12, 10, 3]);
      assert.equal(maxAbsDiff(zeros, model.upscale(lr, { z: 'zeros' })), 0);
      const a = model.upscale(lr, { z: 'gaussian', seed: 7 });
      const b = model.upscale(lr, { z: 'gaussian', seed: 7 });
      const c = model.upscale(lr, { z: 'gaussian', seed: 8 });
      assert.equal(maxAbsDiff(a, b), 0, 'the same seed must give the same image');
      assert.ok(maxAbsDiff(a, c) > 1e-3, 'different seeds must give different images');
      assert.ok(maxAbsDiff(a, zeros) > 1e-3, 'Gaussian z must differ from zeros');
      assert.equal(maxAbsDiff(model.upscale(lr, { z: 'gaussian', seed: 7, temperature: 0 }), zeros), 0);
      const min = tf.min(a).dataSync()[0];
      const max = tf.max(a).dataSync()[0];
      assert.ok(min >= 0 && max <= 1, 'upscale output is clamped to [0, 1]');
    });
    model.dispose();
  });

  it('quantize8 is round(clamp(y, 0, 1) * 255) / 255 with ties to even, as torch.round', () => {
    tf.tidy(() => {
      // tf.round is banker's rounding, like torch.round (IRN.md, "Quantization").
      assert.deepEqual(Array.from(tf.round(tf.tensor1d([0.5, 1.5, 2.5, 3.5])).dataSync()), [0, 2, 2, 4]);
      const y = tf.randomUniform([1000], -0.2, 1.2, 'float32', 9);
      const got = Array.from(tf.mul(quantize8(y), 255).dataSync());
      const want = Array.from(y.dataSync()).map((v) => {
        const t = Math.fround(Math.min(1, Math.max(0, v)) * 255);
        const r = Math.round(t);
        return r - t === 0.5 && r % 2 === 1 ? r - 1 : r;
      });
      for (let i = 0; i < want.length; i++) assert.ok(Math.abs(got[i] - want[i]) < 1e-4, `element ${i}: ${got[i]} vs ${want[i]}`);
    });
  });

  it('toArtifacts: one weight buffer that loads back into the same model', async () => {
    const model = IrnModel.create({ scale: 4, blocks: 1, growth: 4, seed: 2 });
    perturbWeights(model.flow.weights, 5);
    model.source = 'test';
    const a = await model.toArtifacts();
    assert.ok(a.weightData instanceof ArrayBuffer);
    assert.equal(a.weightData.byteLength, model.flow.countParams() * 4);
    const loaded = await IrnModel.load(tf.io.fromMemory(a));
    assert.equal(loaded.source, 'test');
    const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const [p, q] = [model.forward(x).output, loaded.forward(x).output];
    assert.equal(maxAbsDiff(p, q), 0);
    tf.dispose([x, p, q]);
    model.dispose();
    loaded.dispose();
  });

  it('refuses model.json files that are not IRN models', async () => {
    const tfl = await import('@tensorflow/tfjs-layers');
    const plain = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
    let saved: tf.io.ModelArtifacts | null = null;
    await plain.save(tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }));
    await assert.rejects(IrnModel.load(tf.io.fromMemory(saved!)), /not an IRN model/);
    plain.dispose();
  });
});

describe('InvertibleSequence', () => {
  it('names the layer and both shapes when a layer does not fit', async () => {
    const { InvertibleSequence } = await import('../layers/sequence.js');
    const { AffineCoupling } = await import('../layers/affine-coupling.js');
    const seq = new InvertibleSequence();
    assert.throws(
      () => seq.add(new AffineCoupling({ inputShape: [null, null, 3] as unknown as number[], name: 'c1' })),
      /InvertibleSequence\.add\(AffineCoupling "c1"\) on input shape \[\?, \?, \?, 3\]: AffineCoupling needs more than 3 channels, got 3/,
    );
  });
});

describe('IrnModel: lossy decoder metadata (encoder, lrCodec)', () => {
  it('keeps encoder and lrCodec through toArtifacts and load; a lossless model has neither', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
    assert.deepEqual([model.encoder, model.lrCodec], [undefined, undefined]);
    const plain = await IrnModel.load(tf.io.fromMemory(await model.toArtifacts()));
    assert.deepEqual([plain.encoder, plain.lrCodec], [undefined, undefined]);
    model.encoder = 'irn-x2';
    model.lrCodec = 'jpeg';
    model.lrQualityMax = 97;
    model.lrQualityMin = 90;
    model.source = 'test';
    const a = await model.toArtifacts();
    assert.deepEqual((a.userDefinedMetadata as { irn: Record<string, unknown> }).irn, {
      format: 1, levels: 1, scale: 2, blocks: 1, growth: 4, clamp: 1, source: 'test', encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 97, lrQualityMin: 90,
    });
    const loaded = await IrnModel.load(tf.io.fromMemory(a));
    assert.deepEqual([loaded.encoder, loaded.lrCodec, loaded.lrQualityMax, loaded.lrQualityMin, loaded.source], ['irn-x2', 'jpeg', 97, 90, 'test']);
    // Saved again, the notes stay.
    const again = await IrnModel.load(tf.io.fromMemory(await loaded.toArtifacts()));
    assert.deepEqual([again.encoder, again.lrCodec, again.lrQualityMax, again.lrQualityMin], ['irn-x2', 'jpeg', 97, 90]);
    // A minimum above the maximum is refused either way round.
    assert.throws(() => (again.lrQualityMin = 98), /"lrQualityMin" \(98\) is above "lrQualityMax" \(97\)/);
    assert.throws(() => (again.lrQualityMax = 89), /"lrQualityMin" \(90\) is above "lrQualityMax" \(89\)/);
    assert.deepEqual([again.lrQualityMax, again.lrQualityMin], [97, 90]);
    for (const m of [model, plain, loaded, again]) m.dispose();
  });

  it('refuses, in one line, an encoder that is not a preset name and a codec it does not know', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 4 });
    const good = await model.toArtifacts();
    const withMeta = (extra: Record<string, unknown>) => ({
      ...good,
      userDefinedMetadata: { irn: { ...(good.userDefinedMetadata as { irn: object }).irn, ...extra } },
    });
    for (const [extra, pattern] of [
      [{ encoder: '../irn-x2' }, /"encoder" must be a preset name .*got "\.\.\/irn-x2"/],
      [{ encoder: 'https://example.com/m.json' }, /"encoder" must be a preset name/],
      [{ encoder: 2 }, /"encoder" must be a preset name .*got 2/],
      [{ lrCodec: 'gif' }, /"lrCodec" must be one of jpeg, webp, avif, got "gif"/],
      [{ lrCodec: ['jpeg'] }, /"lrCodec" must be one of/],
      [{ lrQualityMax: 89.5 }, /"lrQualityMax" must be a whole number from 0 to 100, got 89\.5/],
      [{ lrQualityMax: '89' }, /"lrQualityMax" must be a whole number from 0 to 100, got "89"/],
      [{ lrQualityMin: -1 }, /"lrQualityMin" must be a whole number from 0 to 100, got -1/],
      [{ lrQualityMin: 90, lrQualityMax: 89 }, /"lrQualityMin" \(90\) is above "lrQualityMax" \(89\)/],
    ] as const) {
      await assert.rejects(IrnModel.load(tf.io.fromMemory(withMeta(extra))), (e: Error) => pattern.test(e.message) && !e.message.includes('\n'), JSON.stringify(extra));
    }
    assert.throws(() => (model.encoder = 'Irn_X2'), /"encoder" must be a preset name/);
    assert.throws(() => (model.lrCodec = 'png' as 'jpeg'), /"lrCodec" must be one of/);
    model.dispose();
  });
});
