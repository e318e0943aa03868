import { describe, it, before } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { contractCases } from '../testing/contract.js';
import { useNodeBackend } from '../backend/node-backend.js';

// The invertible-layer contract (testing/contract.ts) on both Node backends; the browser
// suite (test/browser) runs the same cases on webgl and webgpu.
for (const backend of ['cpu', 'wasm'] as const) {
  describe(`invertible-layer contract on ${backend}`, () => {
    before(async () => {
      await useNodeBackend(backend);
      if (tf.getBackend() !== backend) throw new Error(`backend is ${tf.getBackend()}, not ${backend}`);
    });
    for (const c of contractCases()) it(c.name, c.run);
  });
}
