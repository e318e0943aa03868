import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { fileSystem } from '../../packages/core/src/io/fs-handler.js';
import { IrnModel } from '../../packages/core/src/model/irn.js';
import { decodePng, type DecodedPng } from '../../packages/core/src/image/png.js';
import { perturbWeights } from '../../packages/core/src/testing/perturb.js';

/** The repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The real photos the CLI tests run on (see their README). */
export const IMAGES = join(ROOT, 'packages/core/test-fixtures/images');

/** What one run of the CLI did. */
export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * How to start the CLI (the arguments to `node` before irn's own): from source through tsx when
 * `IRN_CLI` is unset or empty, so a test file run on its own needs no build; `IRN_CLI` names a
 * built entry (e.g. `packages/cli/dist/cli.js`, relative to the repository root) to test the
 * bundle instead. `pnpm run test:node` (scripts/node-tests.mjs) builds it and sets that: the
 * bundle is what the `irn` bin runs, and starts in about half the time.
 */
export function cliCommand(): string[] {
  const built = process.env.IRN_CLI;
  if (built) return [isAbsolute(built) ? built : join(ROOT, built)];
  return ['--import', import.meta.resolve('tsx'), join(ROOT, 'packages/cli/src/cli/main.ts')];
}

/**
 * Runs `irn ...args` in `cwd` and collects its exit code and output (never rejects). `entry`
 * (an absolute path, e.g. the bundle's `dist/cli.js`) overrides the CLI that is started.
 */
export function irn(args: string[], cwd: string, env: Record<string, string> = {}, entry?: string): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...(entry != null ? [entry] : cliCommand()), ...args],
      {
        cwd,
        encoding: 'utf8',
        // tsx reads the repository's compiler options (useDefineForClassFields: false) only
        // from the working directory; the tests run elsewhere.
        env: { ...process.env, TSX_TSCONFIG_PATH: join(ROOT, 'tsconfig.json'), IRN_DEBUG: '', ...env },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const code = error == null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/**
 * Saves a small x2 IRN model (1 block, growth 4) to `dir`. With `perturbStd`, every weight
 * is replaced by seeded normals of that standard deviation, so the model is not the Haar
 * transform a fresh one is (STYLE.md, "Perturb before you trust a round trip").
 */
export async function saveSmallModel(dir: string, options: { perturbStd?: number; seed?: number } = {}): Promise<IrnModel> {
  const model = IrnModel.create({ scale: 2, blocks: 1, growth: 4, seed: options.seed ?? 1 });
  tf.tidy(() => void model.forward(tf.zeros([1, 2, 2, 3]))); // builds the weights
  if (options.perturbStd != null) perturbWeights(model.flow.trainableWeights, options.seed ?? 1, options.perturbStd);
  await model.save(fileSystem(dir));
  return model;
}

/** Saves a tfjs-layers model that is not an IRN model (one dense layer) to `dir`. */
export async function saveOtherModel(dir: string): Promise<void> {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [1] })] });
  await model.save(fileSystem(dir));
  model.dispose();
}

/** Reads and decodes a PNG file. */
export function readPng(path: string): DecodedPng {
  return decodePng(new Uint8Array(readFileSync(path)));
}

/** PSNR in dB between two images of the same shape, over all samples, on the 8-bit scale. */
export function psnr8(a: DecodedPng, b: DecodedPng): number {
  if (a.data.length !== b.data.length) throw new Error(`psnr8: ${a.data.length} vs ${b.data.length} samples`);
  let se = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.round(a.data[i] * 255) - Math.round(b.data[i] * 255);
    se += d * d;
  }
  return 10 * Math.log10((255 * 255) / (se / a.data.length));
}

/** Checks the shape of a failed run: `code`, exactly one stderr line `irn: error: ...`, no stack. */
export function failedCleanly(run: CliRun, code: number): string | null {
  const lines = run.stderr.split('\n').filter((l) => l !== '');
  if (run.code !== code) return `exit code ${run.code}, expected ${code}; stderr: ${run.stderr}`;
  if (lines.length !== 1) return `expected one stderr line, got ${lines.length}: ${run.stderr}`;
  if (!lines[0].startsWith('irn: error: ')) return `stderr does not start with "irn: error: ": ${run.stderr}`;
  if (/\n\s+at /.test(run.stderr)) return `stderr holds a stack trace: ${run.stderr}`;
  return null;
}
