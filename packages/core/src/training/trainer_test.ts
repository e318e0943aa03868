import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { samplePatches } from '../data/patches.js';
import { syntheticImages } from '../testing/fixtures.js';
import { IrnModel } from '../model/irn.js';
import { readFileSync } from 'node:fs';
import { decodePng } from '../image/png.js';
import { irnLoss } from './loss.js';
import { IrnTrainer, type TrainerOptions } from './trainer.js';

await tf.setBackend('cpu');

const tiny = () => IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 11 });

test('a few steps on a fixed batch reduce the loss', () => {
  const model = tiny();
  const trainer = new IrnTrainer(model, { lr: { kind: 'multistep', base: 2e-3, milestones: [] }, seed: 1 });
  const x = samplePatches(syntheticImages(), trainer.rng, 2, 8);
  const before = tf.memory().numTensors;
  const first = trainer.trainStep(x);
  let last = first;
  for (let i = 0; i < 7; i++) last = trainer.trainStep(x);
  assert.ok(last.total < first.total, `loss ${first.total} -> ${last.total}`);
  assert.equal(last.step, 8);
  // Adam's moments are created on the first step; nothing else may accumulate.
  const afterFirst = before + 2 * model.flow.trainableWeights.length;
  assert.ok(tf.memory().numTensors <= afterFirst, `${tf.memory().numTensors} tensors, expected at most ${afterFirst}`);
  x.dispose();
  trainer.dispose();
  model.dispose();
});

test('setSchedule changes the learning rate from the next step on, keeping the step count and Adam state', () => {
  const images = syntheticImages();
  const model = tiny();
  const trainer = new IrnTrainer(model, { lr: { kind: 'cosine', base: 1e-3, total: 100 }, seed: 3 });
  const x = samplePatches(images, trainer.rng, 2, 8);
  assert.equal(trainer.trainStep(x).lr, 1e-3);
  const tensors = tf.memory().numTensors;
  trainer.setSchedule({ kind: 'multistep', base: 5e-4, milestones: [] });
  assert.deepEqual(trainer.lrSchedule, { kind: 'multistep', base: 5e-4, milestones: [] });
  const r = trainer.trainStep(x);
  assert.equal(r.lr, 5e-4);
  assert.equal(r.step, 2);
  // A schedule evaluated at the current step, not restarted: a 10-step warm-up set at step 2
  // gives (2 + 1) / 10 of the base on the third step.
  trainer.setSchedule({ kind: 'multistep', base: 1e-3, milestones: [], warmup: 10 });
  assert.ok(Math.abs(trainer.trainStep(x).lr - 3e-4) < 1e-12);
  assert.equal(tf.memory().numTensors, tensors, 'changing the schedule leaked tensors or reset Adam');
  assert.throws(() => trainer.setSchedule({ kind: 'multistep', base: -1, milestones: [] }), /finite number >= 0/);
  assert.throws(() => trainer.setSchedule({ kind: 'multistep', base: NaN, milestones: [] }), /finite number >= 0/);
  assert.equal(trainer.trainStep(x).lr, 1e-3 * 0.4, 'a rejected schedule replaced the previous one');

  // The same weights as a trainer that had the second rate from the start of step 2:
  // setSchedule changes only the rate, nothing else of the update.
  const a = new IrnTrainer(tiny(), { lr: { kind: 'multistep', base: 1e-3, milestones: [] }, seed: 3 });
  const b = new IrnTrainer(tiny(), { lr: { kind: 'multistep', base: 1e-3, milestones: [1], gamma: 0.25 }, seed: 3 });
  a.trainStep(x);
  a.setSchedule({ kind: 'multistep', base: 2.5e-4, milestones: [] });
  a.trainStep(x);
  b.trainStep(x);
  b.trainStep(x);
  assert.deepEqual(
    a.variables.map((v) => Array.from(v.dataSync())),
    b.variables.map((v) => Array.from(v.dataSync())),
  );
  for (const t of [trainer, a, b]) {
    t.dispose();
    t.model.dispose();
  }
  x.dispose();
});

test('computeGradients + applyGradients is trainStep, and bad shards or gradient lists are refused', () => {
  const images = syntheticImages();
  const options: TrainerOptions = { seed: 4, loss: { zScale: 0.5 }, clipNorm: 1 };
  const a = new IrnTrainer(tiny(), options);
  const b = new IrnTrainer(tiny(), options);
  const x = samplePatches(images, a.rng, 3, 8);
  const ra = a.trainStep(x);
  const rb = b.applyGradients(b.computeGradients(x));
  assert.deepEqual(rb, ra);
  assert.deepEqual(
    b.variables.map((v) => Array.from(v.dataSync())),
    a.variables.map((v) => Array.from(v.dataSync())),
  );
  const tensors = tf.memory().numTensors;
  assert.throws(() => b.computeGradients(x, { offset: 1, batch: 3 }), /shard of 3 samples at offset 1 does not fit a batch of 3/);
  assert.throws(() => b.computeGradients(x, { offset: -1, batch: 8 }), /does not fit/);
  const g = b.computeGradients(x);
  const one = g.grads.pop()!;
  one.dispose();
  assert.throws(() => b.applyGradients(g), /gradients for \d+ variables/);
  assert.equal(b.step, 1, 'a refused step must not count');
  assert.equal(tf.memory().numTensors, tensors, 'refused calls leaked tensors');
  x.dispose();
  for (const t of [a, b]) {
    t.dispose();
    t.model.dispose();
  }
});

test('with the JPEG proxy as lrCodec, steps run and a large rate weight lowers the rate', () => {
  // The astronaut sample: a photo, so that JPEG has something to spend bits on.
  const png = decodePng(readFileSync(new URL('../../../../samples/astronaut.png', import.meta.url)));
  const images = [{ width: png.width, height: png.height, data: Uint8Array.from(png.data, (v) => Math.round(v * 255)), name: 'astronaut' }];
  const rateAfter = (lambdaRate: number) => {
    const model = tiny();
    const lrCodec = { kind: 'jpeg-proxy' as const, quality: [40, 60] as [number, number], rounding: 'noise' as const, lambdaRate };
    const trainer = new IrnTrainer(model, { lr: { kind: 'multistep', base: 2e-3, milestones: [] }, seed: 1, loss: { lrCodec } });
    const x = samplePatches(images, trainer.rng, 2, 32);
    const measure = () => tf.tidy(() => irnLoss(model, x, { zSeed: 5, lrCodec: { ...lrCodec, quality: 50 } }).rate!.dataSync()[0]);
    const before = measure();
    let last = trainer.trainStep(x);
    for (let i = 0; i < 5; i++) last = trainer.trainStep(x);
    assert.ok(Number.isFinite(last.total) && Number.isFinite(last.gradNorm), `step ${JSON.stringify(last)}`);
    const after = measure();
    x.dispose();
    trainer.dispose();
    model.dispose();
    return { before, after };
  };
  const priced = rateAfter(2000);
  const free = rateAfter(0);
  assert.equal(priced.before, free.before, 'same model, same batch: same starting rate');
  // Measured: 0.2424 -> 0.2283 bpp (-5.8 %) priced, -> 0.2422 (-0.1 %) unpriced, in 6 steps.
  assert.ok(priced.after < 0.97 * priced.before, `rate ${priced.before} -> ${priced.after} bpp with lambdaRate 2000`);
  assert.ok(priced.after < free.after - 0.02 * free.before, `rate after: ${priced.after} priced, ${free.after} unpriced`);
});
