import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '@irn/core/node';
import { IrnModel, IrnTrainer, type StepReport, type TrainerOptions } from '@irn/core';
// A test helper of core's, not part of its API.
import { perturbWeights } from '../../../core/src/testing/perturb.js';
import { DataParallelTrainer } from './parallel-node.js';
import { runTraining } from './run-node.js';

// A tiny model with every weight non-zero (a fresh one has zero conv5 kernels), a batch of 3
// (an uneven split, 2 + 1), z drawn with scale 0.7 so that the per-sample z offsets matter,
// decay and clipping on.
const options: TrainerOptions = { seed: 5, loss: { zScale: 0.7 }, clipNorm: 2, lr: { kind: 'multistep', base: 1e-3, milestones: [] } };
const makeModel = () => {
  const m = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
  perturbWeights(m.flow.trainableWeights, 9, 0.05);
  return m;
};
const batchAt = (k: number) => tf.randomUniform([3, 16, 16, 3], 0, 1, 'float32', 100 + k) as tf.Tensor4D;

describe('DataParallelTrainer (worker threads, wasm)', () => {
  before(async () => {
    await useNodeBackend('wasm');
  });

  let dp: DataParallelTrainer | null = null;
  after(async () => {
    await dp?.close();
  });

  it('steps like IrnTrainer.trainStep on the whole batch, up to float rounding', async () => {
    const single = new IrnTrainer(makeModel(), options);
    const parallel = new IrnTrainer(makeModel(), options);
    dp = await DataParallelTrainer.start(parallel, { workers: 1 });
    assert.equal(dp.threads, 2);
    const tensorsBefore = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) {
      const x = batchAt(k);
      const a = single.trainStep(x);
      const b: StepReport = await dp.trainStep(x);
      x.dispose();
      assert.equal(b.step, a.step);
      for (const key of ['total', 'fit', 'rec', 'dist', 'gradNorm'] as const) {
        const tol = 1e-4 * Math.max(1, Math.abs(a[key]));
        assert.ok(Math.abs(a[key] - b[key]) <= tol, `step ${k} ${key}: ${a[key]} vs ${b[key]}`);
      }
    }
    // Adam's moments appear on the first step, two per variable and trainer; nothing else may stay.
    const moments = 2 * 2 * parallel.variables.length;
    assert.ok(tf.memory().numTensors <= tensorsBefore + moments, `${tf.memory().numTensors - tensorsBefore} tensors left`);
    const wa = single.variables;
    const wb = parallel.variables;
    let maxDiff = 0;
    let maxW = 0;
    for (let i = 0; i < wa.length; i++) {
      const d = tf.tidy(() => tf.max(tf.abs(tf.sub(wa[i], wb[i]))).dataSync()[0]);
      maxDiff = Math.max(maxDiff, d);
      maxW = Math.max(maxW, tf.tidy(() => tf.max(tf.abs(wa[i])).dataSync()[0]));
    }
    assert.ok(maxDiff < 1e-5 * Math.max(1, maxW), `weights differ by ${maxDiff}`);
    // The weights moved (the test would pass trivially otherwise).
    const moved = tf.tidy(() => {
      const fresh = makeModel();
      const d = Math.max(...fresh.flow.trainableWeights.map((w, i) => tf.max(tf.abs(tf.sub(w.read(), wb[i]))).dataSync()[0]));
      fresh.dispose();
      return d;
    });
    assert.ok(moved > 1e-4, `weights moved by ${moved}`);
    single.model.dispose();
    single.dispose();
  });

  it('uses fewer threads for a batch smaller than the thread count', async () => {
    const x = tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const r = await dp!.trainStep(x);
    x.dispose();
    assert.ok(Number.isFinite(r.total));
  });

  it('with the JPEG proxy in the loss, reports the rate term as the single thread does', async () => {
    const lrCodec = { kind: 'jpeg-proxy' as const, quality: [40, 80] as [number, number], lambdaRate: 50 };
    const coded: TrainerOptions = { ...options, loss: { ...options.loss, lrCodec } };
    const single = new IrnTrainer(makeModel(), coded);
    const other = await DataParallelTrainer.start(new IrnTrainer(makeModel(), coded), { workers: 1 });
    try {
      const x = batchAt(4);
      const a = single.trainStep(x);
      const b = await other.trainStep(x);
      x.dispose();
      assert.ok(a.rate !== undefined && a.rate > 0, `single-thread rate ${a.rate}`);
      assert.ok(b.rate !== undefined && Math.abs(a.rate - b.rate) <= 1e-4 * a.rate, `rate ${a.rate} vs ${b.rate}`);
      assert.ok(Math.abs(a.total - b.total) <= 1e-4 * Math.abs(a.total), `total ${a.total} vs ${b.total}`);
    } finally {
      await other.close();
      other.trainer.model.dispose();
      other.trainer.dispose();
      single.model.dispose();
      single.dispose();
    }
    // Without a codec there is no rate term.
    const plain = new IrnTrainer(makeModel(), options);
    const x = batchAt(5);
    assert.equal(plain.trainStep(x).rate, undefined);
    x.dispose();
    plain.model.dispose();
    plain.dispose();
  });

  it('refuses steps once closed, and bad worker counts', async () => {
    await dp!.close();
    await dp!.close();
    const x = batchAt(9);
    await assert.rejects(dp!.trainStep(x), /closed/);
    x.dispose();
    await assert.rejects(DataParallelTrainer.start(dp!.trainer, { workers: 0 }), /workers must be an integer >= 1/);
    await assert.rejects(DataParallelTrainer.start(dp!.trainer, { workers: 1, backend: 'webgl' as 'wasm' }), /runs on wasm or cpu in Node, not webgl/);
    // runTraining checks its worker count before it touches anything (signal handlers included).
    const sigint = process.listenerCount('SIGINT');
    await assert.rejects(
      runTraining({ trainer: dp!.trainer, workers: -1 } as unknown as Parameters<typeof runTraining>[0]),
      /workers must be an integer >= 0, got -1/,
    );
    assert.equal(process.listenerCount('SIGINT'), sigint);
    dp!.trainer.model.dispose();
    dp!.trainer.dispose();
    dp = null;
  });
});
