import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { IrnModel, IrnTrainer, samplePatches, type TrainerOptions, type TrainImage } from '@irn/core';
import { fileSystem } from '@irn/core/node';
import { syntheticImages } from '../../../core/src/testing/fixtures.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint-node.js';

await tf.setBackend('cpu');

const tiny = () => IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 11 });

test('checkpoint + resume gives bit-identical weights to an uninterrupted run', async () => {
  const images = syntheticImages();
  // zScale > 0 so that the per-step z draw is covered too; weight decay and clipping on.
  const options: TrainerOptions = { seed: 7, loss: { zScale: 0.5 }, clipNorm: 1, lr: { kind: 'cosine', base: 1e-3, total: 6, warmup: 2 } };
  const run = (trainer: IrnTrainer, n: number) => {
    for (let i = 0; i < n; i++) {
      const x = samplePatches(images, trainer.rng, 2, 8);
      trainer.trainStep(x);
      x.dispose();
    }
  };
  const a = new IrnTrainer(tiny(), options);
  run(a, 4);

  const dir = await mkdtemp(join(tmpdir(), 'irn-ckpt-'));
  try {
    const b = new IrnTrainer(tiny(), options);
    run(b, 2);
    const tensorsBefore = tf.memory().numTensors;
    await saveCheckpoint(join(dir, 'ckpt'), b, { note: 'x' });
    assert.equal(tf.memory().numTensors, tensorsBefore, 'saving a checkpoint leaked tensors');
    b.dispose();
    b.model.dispose();
    const { state, extra } = await loadCheckpoint(join(dir, 'ckpt'));
    assert.deepEqual(extra, { note: 'x' });
    // A model with other initial weights: the checkpoint must overwrite all of them.
    const c = new IrnTrainer(IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 99 }), options);
    await c.restoreState(state);
    assert.equal(c.step, 2);
    run(c, 2);
    const wa = a.variables.map((v) => Array.from(v.dataSync()));
    const wc = c.variables.map((v) => Array.from(v.dataSync()));
    assert.deepEqual(wc, wa);
    const loaded = await IrnModel.load(fileSystem(join(dir, 'ckpt', 'model')));
    assert.equal(loaded.countParams(), a.model.countParams());
    loaded.dispose();
    c.dispose();
    c.model.dispose();
  } finally {
    await rm(dir, { recursive: true, force: true });
    a.dispose();
    a.model.dispose();
  }
});
