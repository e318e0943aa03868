// Writes the fixtures of the browser Rescaler tests (test/browser/rescaler*.test.ts), which the
// test runner's dev server serves from the repository root:
//
//   test/browser/fixtures/weights/irn-x2/   tiny x2 model (1 block, growth 4), perturbed weights
//   test/browser/fixtures/weights/irn-x4/   tiny x4 model (1 block per level, growth 4), perturbed
//   test/browser/fixtures/weights/manifest.json   their SHA-256 manifest (scripts/make-weights-manifest.mjs)
//   test/browser/fixtures/images/rgb-23x19.png    opaque RGB test image (odd size on purpose)
//   test/browser/fixtures/images/rgba-16x16.png   RGBA test image with a partly transparent alpha
//
//   pnpm fixtures:browser      (node --import tsx test/browser/make-fixtures.ts)
//
// Deterministic: seeded weights, procedural images; re-running rewrites identical files.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IrnModel, encodePng, type RasterImage } from '../../packages/core/src/index.js';
import { fileSystem, useNodeBackend } from '../../packages/core/src/node.js';
import { perturbWeights } from '../../packages/core/src/testing/perturb.js';
// @ts-expect-error: a plain .mjs script without type declarations
import { makeWeightsManifest, manifestText } from '../../scripts/make-weights-manifest.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const fixtures = join(here, 'fixtures');

/** A smooth, non-trivial image: every channel varies, so a model that ignored one would show. */
function pattern(width: number, height: number, alpha: boolean): RasterImage {
  const channels = alpha ? 4 : 3;
  const data = new Float32Array(width * height * channels);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * channels;
      // Multiples of 1/255, so the PNG stores these values exactly.
      data[i] = Math.round(255 * (0.5 + 0.45 * Math.sin(x / 2.5 + y / 7))) / 255;
      data[i + 1] = Math.round((255 * (x + y)) / (width + height - 2)) / 255;
      data[i + 2] = Math.round(255 * (((x >> 2) + (y >> 2)) % 2 === 0 ? 0.8 : 0.25)) / 255;
      if (alpha) data[i + 3] = Math.round(255 * Math.min(1, 0.2 + (0.8 * x) / (width - 1))) / 255;
    }
  }
  return { width, height, channels, data };
}

async function main(): Promise<void> {
  await useNodeBackend('cpu');
  const weights = join(fixtures, 'weights');
  await rm(weights, { recursive: true, force: true });
  for (const [name, scale, seed] of [
    ['irn-x2', 2, 11],
    ['irn-x4', 4, 12],
  ] as const) {
    const model = IrnModel.create({ scale, blocks: 1, growth: 4, seed });
    model.source = `test fixture: test/browser/make-fixtures.ts, seed ${seed}`;
    // Not the identity (a fresh model is exactly Haar), so the tests see the weights.
    perturbWeights(model.flow.weights, seed);
    await model.save(fileSystem(join(weights, name)));
    model.dispose();
  }
  await writeFile(join(weights, 'manifest.json'), manifestText(await makeWeightsManifest(weights)));

  const images = join(fixtures, 'images');
  await mkdir(images, { recursive: true });
  await writeFile(join(images, 'rgb-23x19.png'), encodePng(pattern(23, 19, false)));
  await writeFile(join(images, 'rgba-16x16.png'), encodePng(pattern(16, 16, true)));
  process.stdout.write(`wrote ${fixtures}\n`);
}

main().catch((e) => {
  process.stderr.write(`make-fixtures: ${(e as Error).stack}\n`);
  process.exitCode = 1;
});
