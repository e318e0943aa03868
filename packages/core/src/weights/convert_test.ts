import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { useNodeBackend } from '../backend/node-backend.js';
import { LimitError } from '../limits.js';
import { modelFromCheckpoint } from './convert.js';

// Golden values: `/usr/bin/python3 packages/core/scripts/make-torch-fixtures.py` (PyTorch 1.13,
// CPU, float32), the reference IRN with randomised weights; see test-fixtures/torch/README.md.
const FIXTURES = new URL('../../test-fixtures/torch/', import.meta.url);
/** float32 with a different summation order than PyTorch's conv: agreement to ~1e-6 per layer. */
const OUTPUT_TOL = 2e-5;
/** The log-det sums hundreds of s values; float32 sums agree to ~1e-4 relative. */
const LOGDET_TOL = 1e-3;

interface Golden {
  scale: number;
  inputShape: number[];
  input: number[];
  outputShape: number[];
  output: number[];
  lrQuantizedShape: number[];
  lrQuantized: number[];
  inverseShape: number[];
  inverseFromQuantizedZ0: number[];
  logDetBlocks: number;
  logDetBlocksInverse: number;
  logDetHaar: number;
}

function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`published-checkpoint import agrees with PyTorch (${backend})`, () => {
    before(async () => {
      await useNodeBackend(backend);
    });

    for (const name of ['irn_x2', 'irn_x4'] as const) {
      it(`${name}: forward, quantized LR, inverse with z = 0 and log-dets match the reference`, () => {
        const golden = JSON.parse(readFileSync(new URL(`${name}_golden.json`, FIXTURES), 'utf8')) as Golden;
        const model = modelFromCheckpoint(fixture(`${name}.pth`), `${name}.pth`);
        assert.equal(model.scale, golden.scale);
        tf.tidy(() => {
          const x = tf.tensor4d(golden.input, golden.inputShape as [number, number, number, number]);
          const fwd = model.forward(x);
          assert.deepEqual(fwd.output.shape, golden.outputShape);
          const dOut = maxDiff(fwd.output.dataSync(), golden.output);
          assert.ok(dOut < OUTPUT_TOL, `forward differs from PyTorch by ${dOut}`);
          const logDet = fwd.logDet.dataSync()[0];
          const want = golden.logDetBlocks + golden.logDetHaar;
          assert.ok(Math.abs(logDet - want) < LOGDET_TOL * Math.abs(want), `logDet ${logDet} vs ${want}`);

          const lr = model.downscale(x);
          const lrLevels = Array.from(tf.round(tf.mul(lr, 255)).dataSync());
          const wantLevels = golden.lrQuantized.map((v) => Math.round(v * 255));
          // Rounding ties may flip by one level (float summation order); none expected here.
          assert.ok(maxDiff(lrLevels, wantLevels) <= 1);
          const flips = lrLevels.filter((v, i) => v !== wantLevels[i]).length;
          assert.ok(flips <= lrLevels.length / 100, `${flips} LR values differ by a level`);

          const lrRef = tf.tensor4d(golden.lrQuantized, golden.lrQuantizedShape as [number, number, number, number]);
          const z = tf.zeros([1, lrRef.shape[1], lrRef.shape[2], model.zChannels]);
          const inv = model.inverse(tf.concat([lrRef, z], 3) as tf.Tensor4D);
          const dInv = maxDiff(inv.output.dataSync(), golden.inverseFromQuantizedZ0);
          assert.ok(dInv < OUTPUT_TOL, `inverse differs from PyTorch by ${dInv}`);
          const invLogDet = inv.logDet.dataSync()[0];
          const wantInv = -(golden.logDetBlocksInverse + golden.logDetHaar);
          assert.ok(Math.abs(invLogDet - wantInv) < LOGDET_TOL * Math.abs(wantInv), `inverse logDet ${invLogDet} vs ${wantInv}`);
        });
        model.dispose();
      });
    }

    it('legacy, float16 and module.-prefixed files give the same model as the zip file', () => {
      const ref = modelFromCheckpoint(fixture('irn_x2.pth'));
      const x = tf.randomUniform([1, 8, 8, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
      const want = ref.forward(x);
      for (const [file, tol] of [['irn_x2_legacy.pth', 0], ['irn_x2_module.pth', 0], ['irn_x2_half.pth', 5e-3]] as const) {
        const m = modelFromCheckpoint(fixture(file));
        const got = m.forward(x);
        const d = maxDiff(got.output.dataSync(), want.output.dataSync());
        assert.ok(d <= tol, `${file}: differs by ${d}`);
        tf.dispose([got.output, got.logDet]);
        m.dispose();
      }
      tf.dispose([x, want.output, want.logDet]);
      ref.dispose();
    });

    it('takes the source and the limits as options', () => {
      const model = modelFromCheckpoint(fixture('irn_x2.pth'), { source: 'from irn_x2.pth', limits: { totalElements: 50_000 } });
      assert.equal(model.source, 'from irn_x2.pth');
      model.dispose();
      const before = tf.memory().numTensors;
      assert.throws(
        () => modelFromCheckpoint(fixture('irn_x2.pth'), { limits: { totalElements: 40_000 } }),
        (e: unknown) => e instanceof LimitError && e.limit === 'totalElements' && /is 43,212 elements, above the limit of 40,000/.test(e.message),
      );
      assert.equal(tf.memory().numTensors, before);
    });

    it('a broken file gets a clear error and leaves no model behind', () => {
      const before = tf.memory().numTensors;
      assert.throws(() => modelFromCheckpoint(fixture('irn_x2_half_truncated.pth')), /truncated|end of central directory|zip/i);
      assert.throws(() => modelFromCheckpoint(fixture('forbidden_os_system.pth')), /os\.system/);
      assert.equal(tf.memory().numTensors, before);
    });
  });
}
