import '@tensorflow/tfjs-backend-webgl';
import '@tensorflow/tfjs-backend-webgpu';
import { contractCases } from '../../packages/core/src/testing/contract.js';
import { useBrowserBackend } from './backend.js';

// The invertible-layer contract (packages/core/src/testing/contract.ts), the same cases the
// Node suite runs on cpu and wasm, here on the browser's GPU backends. On CI both are
// SwiftShader (software), hence the long mocha timeout in web-test-runner.config.mjs.
for (const backend of ['webgl', 'webgpu'] as const) {
  describe(`invertible-layer contract on ${backend}`, () => {
    before(async () => {
      await useBrowserBackend(backend);
    });
    for (const c of contractCases()) it(c.name, c.run);
  });
}
