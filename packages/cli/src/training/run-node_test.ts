import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, IrnTrainer, type StepReport } from '@irn/core';
import { useNodeBackend } from '@irn/core/node';
// Test helpers of core's, not part of its API.
import { syntheticImages } from '../../../core/src/testing/fixtures.js';
import { perturbWeights } from '../../../core/src/testing/perturb.js';
import { loadCheckpoint } from './checkpoint-node.js';
import { runTraining, type TrainingRunOptions } from './run-node.js';

describe('runTraining with a step and a validation of the caller (train-decoder.ts)', () => {
  const root = mkdtempSync(join(tmpdir(), 'irn-run-node-'));
  before(async () => {
    await useNodeBackend('wasm');
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const base = (trainer: IrnTrainer, dir: string): TrainingRunOptions => ({
    trainer,
    train: syntheticImages(),
    val: [],
    valNames: ['none'],
    batch: 2,
    patch: 8,
    totalSteps: 4,
    logEvery: 2,
    valEvery: 2,
    ckptEvery: 2,
    ckptDir: join(dir, 'ckpt'),
    outDir: join(dir, 'best'),
    args: {},
    source: (s) => `test step ${s}`,
    initialNote: '(start)',
    log: () => undefined,
  });

  it('runs the custom step for every batch and saves by the custom score', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
    perturbWeights(model.flow.trainableWeights, 9, 0.05);
    const trainer = new IrnTrainer(model, { lr: { kind: 'multistep', base: 1e-3, milestones: [] } });
    const shapes: number[][] = [];
    // A step that trains on half the loss through applyGradients, as train-decoder.ts does.
    const step = async (x: tf.Tensor4D): Promise<StepReport> => {
      shapes.push(x.shape);
      const vars = trainer.variables;
      const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.upscale(model.downscale(x)), x))) as tf.Scalar, vars);
      const total = value.dataSync()[0];
      value.dispose();
      return trainer.applyGradients({ grads: vars.map((v) => grads[v.name]), total, fit: 0, rec: total, dist: 0 });
    };
    // Scores: step 0 = 1, step 2 = 0.5 (worse: nothing written), step 4 = 3 (best, saved).
    const scores = [1, 0.5, 3];
    const dir = join(root, 'a');
    // The caller's state (train-decoder.ts --hold-bytes: its adapted rate weight) as it is at each checkpoint.
    let weight = 100;
    const counted = async (x: tf.Tensor4D): Promise<StepReport> => {
      weight += 1;
      return step(x);
    };
    const r = await runTraining({ ...base(trainer, dir), step: counted, validate: async () => scores.shift()!, saveInitial: true, state: () => ({ rateWeight: weight }) });
    assert.deepEqual(shapes, [[2, 8, 8, 3], [2, 8, 8, 3], [2, 8, 8, 3], [2, 8, 8, 3]]);
    assert.equal(r.step, 4);
    assert.equal(r.best, 3);
    assert.equal(r.bestStep, 4);
    assert.equal(scores.length, 0);
    const best = JSON.parse(readFileSync(join(dir, 'best', 'best.json'), 'utf8')) as { step: number; valPsnrY: number };
    assert.deepEqual([best.step, best.valPsnrY], [4, 3]);
    const { extra } = await loadCheckpoint(join(dir, 'ckpt'));
    assert.deepEqual(extra.state, { rateWeight: 104 });
    trainer.dispose();
    model.dispose();
  });

  it('refuses a custom step with worker threads before touching anything', async () => {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: 3 });
    const trainer = new IrnTrainer(model);
    const dir = join(root, 'b');
    await assert.rejects(
      runTraining({ ...base(trainer, dir), workers: 1, step: async () => trainer.trainStep(tf.zeros([2, 16, 16, 3])) }),
      /a custom step runs in the calling thread only/,
    );
    assert.equal(existsSync(dir), false);
    trainer.dispose();
    model.dispose();
  });
});
