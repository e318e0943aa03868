// Writes the presets folder of test/browser/lossy-presets.test.ts, served by the test runner's
// dev server from the repository root:
//
//   test/browser/fixtures/lossy-weights/irn-x2/        tiny x2 model (1 block, growth 4), perturbed (seed 21)
//   test/browser/fixtures/lossy-weights/irn-x2-jpeg/   a stand-in lossy decoder: another tiny x2
//       model (seed 22) whose metadata names irn-x2 as its encoder, jpeg as its LR codec and 89
//       as its highest quality (lrQualityMax, as the shipped irn-x2-jpeg)
//   test/browser/fixtures/lossy-weights/irn-x2-avif-v2/  a stand-in end-to-end lossy preset:
//       another tiny x2 model (seed 23) that makes its own LRs (no encoder), avif as its LR codec
//   test/browser/fixtures/lossy-weights/manifest.json  their SHA-256 manifest
//
//   node --import tsx test/browser/make-lossy-fixtures.ts
//
// Deterministic: seeded weights; re-running rewrites identical files. A folder of its own, so
// the manifest of test/browser/fixtures/weights (which other tests list) stays as it is.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IrnModel } from '../../packages/core/src/index.js';
import { fileSystem, useNodeBackend } from '../../packages/core/src/node.js';
import { perturbWeights } from '../../packages/core/src/testing/perturb.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { makeWeightsManifest, manifestText } from '../../scripts/make-weights-manifest.mjs';

const dir = fileURLToPath(new URL('./fixtures/lossy-weights/', import.meta.url));

async function main(): Promise<void> {
  await useNodeBackend('cpu');
  await rm(dir, { recursive: true, force: true });
  for (const [name, seed, encoder, lrCodec, lrQualityMax] of [
    ['irn-x2', 21, undefined, undefined, undefined],
    ['irn-x2-jpeg', 22, 'irn-x2', 'jpeg', 89],
    ['irn-x2-avif-v2', 23, undefined, 'avif', undefined],
  ] as const) {
    const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed });
    model.source = `test fixture: test/browser/make-lossy-fixtures.ts, seed ${seed}`;
    perturbWeights(model.flow.weights, seed);
    if (encoder != null) model.encoder = encoder;
    if (lrCodec != null) model.lrCodec = lrCodec;
    if (lrQualityMax != null) model.lrQualityMax = lrQualityMax;
    await model.save(fileSystem(join(dir, name)));
    model.dispose();
  }
  await writeFile(join(dir, 'manifest.json'), manifestText(await makeWeightsManifest(dir)));
  process.stdout.write(`wrote ${dir}\n`);
}

main().catch((e) => {
  process.stderr.write(`make-lossy-fixtures: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});
