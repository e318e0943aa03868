import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { build } from 'esbuild';
import { useNodeBackend, type NodeBackendName } from './node-backend.js';

/** Sum of a 3x3 all-ones convolution of an all-ones 8x8x3 image into 2 channels. */
const CONV_SUM = 2 * 3 * (4 * 4 + 4 * 6 * 6 + 9 * 6 * 6); // corners 4 taps, edges 6, inside 9

function convSum(): number {
  return tf.tidy(() => tf.sum(tf.conv2d(tf.ones([1, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 2]) as tf.Tensor4D, 1, 'same')).dataSync()[0]);
}

describe('useNodeBackend', () => {
  it('starts wasm by default and computes', async () => {
    assert.equal(await useNodeBackend(), 'wasm');
    assert.equal(tf.getBackend(), 'wasm');
    assert.equal(convSum(), CONV_SUM);
  });

  it('switches to cpu without the tfjs-node banner, and back', async () => {
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(' '));
    try {
      assert.equal(await useNodeBackend('cpu'), 'cpu');
      assert.equal(convSum(), CONV_SUM);
    } finally {
      console.warn = warn;
    }
    assert.deepEqual(warnings, []);
    assert.equal(await useNodeBackend('wasm'), 'wasm');
    assert.equal(convSum(), CONV_SUM);
  });

  it('rejects unknown backends by name', async () => {
    await assert.rejects(useNodeBackend('webgl' as NodeBackendName), /unknown TensorFlow.js backend "webgl"; use "wasm" or "cpu"/);
  });

  it('finds the wasm binaries from an ES-module bundle outside the source tree', async () => {
    // The shape of dist/: everything bundled into one ES module (tfjs included, with its
    // CommonJS `require` provided), so the backend's own __dirname guess does not apply.
    const here = fileURLToPath(new URL('.', import.meta.url));
    const scratch = mkdtempSync(join(here, '../../node_modules/.irn-bundle-test-'));
    try {
      const entry = join(scratch, 'entry.ts');
      writeFileSync(
        entry,
        [
          `import * as tf from '@tensorflow/tfjs-core';`,
          `import { useNodeBackend } from ${JSON.stringify(join(here, 'node-backend.ts'))};`,
          `for (const name of ['wasm', 'cpu'] as const) {`,
          `  await useNodeBackend(name);`,
          `  const s = tf.sum(tf.conv2d(tf.ones([1, 8, 8, 3]) as tf.Tensor4D, tf.ones([3, 3, 3, 2]) as tf.Tensor4D, 1, 'same'));`,
          `  console.log(tf.getBackend(), s.dataSync()[0]);`,
          `}`,
        ].join('\n'),
      );
      const out = join(scratch, 'dist', 'bundle.mjs');
      await build({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'esm',
        mainFields: ['module', 'main'],
        outfile: out,
        logLevel: 'error',
        banner: { js: `import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);` },
      });
      const stdout = execFileSync(process.execPath, [out], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(stdout, `wasm ${CONV_SUM}\ncpu ${CONV_SUM}\n`);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
