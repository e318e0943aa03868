import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '../backend/node-backend.js';
import { resolveConfig } from '../model/config.js';
import { IrnModel } from '../model/irn.js';
import { withPeakMemory } from '../rescale/peak-memory.js';
import { samplesFitting, trainStepBytes } from './step-memory.js';
import { IrnTrainer } from './trainer.js';

describe('trainStepBytes', () => {
  before(async () => {
    await useNodeBackend('wasm');
  });

  for (const [scale, blocks, growth] of [
    [2, 1, 4],
    [2, 2, 8],
    [4, 1, 8],
  ] as const) {
    it(`is above the measured peak of a real step (x${scale}, ${blocks} block(s), growth ${growth})`, async () => {
      const model = IrnModel.create({ scale, blocks, growth, seed: 1 });
      const trainer = new IrnTrainer(model, { seed: 1 });
      const x = tf.randomUniform([2, 32, 32, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      try {
        trainer.trainStep(x); // Adam's moments exist from the first step on
        const { peakBytes, startBytes } = await withPeakMemory(async () => trainer.trainStep(x));
        const estimate = trainStepBytes(model.config, 2, 32);
        // The weights, moments and the batch were alive before the step: the estimate counts them too.
        assert.ok(estimate >= peakBytes, `estimate ${estimate} below the measured peak ${peakBytes} (start ${startBytes})`);
        assert.ok(estimate <= 6 * peakBytes, `estimate ${estimate} more than 6x the measured peak ${peakBytes}`);
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }

  it('grows with the patches, blocks and growth, and samplesFitting inverts it', () => {
    const published = resolveConfig({ scale: 2 });
    assert.equal(trainStepBytes(published, 2, 64), 2 * trainStepBytes(published, 1, 64) - trainStepBytes(published, 0, 64));
    assert.ok(trainStepBytes(resolveConfig({ scale: 2, blocks: 8, growth: 32 }), 1, 64) > trainStepBytes(resolveConfig({ scale: 2, blocks: 4, growth: 32 }), 1, 64));
    assert.ok(trainStepBytes(resolveConfig({ scale: 4, blocks: 4, growth: 16 }), 1, 64) > trainStepBytes(resolveConfig({ scale: 2, blocks: 4, growth: 16 }), 1, 64));
    // The paper's batch (16 of 144x144) on the published x2 model: about 33 GB, far past a 4 GiB wasm heap.
    assert.ok(trainStepBytes(published, 16, 144) > 30e9);
    const budget = 4e9;
    const n = samplesFitting(published, 64, budget);
    assert.ok(n > 0 && trainStepBytes(published, n, 64) <= budget && trainStepBytes(published, n + 1, 64) > budget, `samplesFitting gave ${n}`);
    assert.equal(samplesFitting(published, 4096, budget), 0);
  });
});
