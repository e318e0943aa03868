// Stores the weights of IRN model folders in a compact form (IrnModel.save's `weights`):
//   uint8    conv kernels as 8 bits with a range per output channel, biases as float16: about
//            a quarter of the float32 bytes (Kodak24 Y-PSNR x2 -0.0008 dB, x4 -0.0003:
//            `pnpm bench:weights`). The shipped presets under weights/ are stored so
//            (packages/weights/src/build_test.ts checks it).
//   float16  every weight as its nearest half: half the float32 bytes, within 0.0001 dB.
// Run it on a preset that training wrote (training keeps float32 checkpoints), then
// `pnpm weights:manifest`.
//
//   pnpm weights:store weights/irn-x2 [weights/irn-x4 ...]           each folder rewritten in place, as uint8
//   pnpm weights:store --as float16 <folder>...
//   pnpm weights:store --check weights/*/                             exit 1 if any is not stored as uint8
//
// In place: the folder's model.json and weight shards are replaced; other files in it
// (PROVENANCE.md, best.json) stay. A folder already in the form asked for is left alone; one in
// another compact form is refused: rounding rounded weights again loses more than rounding the
// float32 ones once (take them from the training run, or from git).
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../packages/core/src/index.js';
import { fileSystem } from '../packages/core/src/node.js';

/** The compact forms this script writes. */
export type Compact = 'float16' | 'uint8';

/**
 * How the model in `dir` stores its weights: `float32` (no weight quantized), `float16` (every
 * weight a half), `uint8` (what `IrnModel.save(.., { weights: 'uint8' })` writes: 8 bits per
 * channel and halves), or `mixed` (anything else).
 */
export async function storedAs(dir: string): Promise<'float32' | Compact | 'mixed'> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const kinds = new Set(json.weightsManifest.flatMap((g) => g.weights).map((s) => String(s.quantization?.dtype ?? 'float32')));
  if (kinds.size === 1 && kinds.has('float32')) return 'float32';
  if (kinds.size === 1 && kinds.has('float16')) return 'float16';
  if (kinds.has('uint8-per-channel') && [...kinds].every((k) => k === 'uint8-per-channel' || k === 'float16')) return 'uint8';
  return 'mixed';
}

/**
 * Rewrites the float32 model in `dir` with its weights stored `as`; returns the bytes of its
 * weights before and after (the same when it is stored so already).
 * @throws Error when the folder is stored in another compact form.
 */
export async function store(dir: string, as: Compact): Promise<{ before: number; after: number }> {
  const shardBytes = async () => {
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const paths = json.weightsManifest.flatMap((g) => g.paths);
    let n = 0;
    for (const p of paths) n += (await stat(join(dir, p))).size;
    return { n, paths };
  };
  const before = await shardBytes();
  const now = await storedAs(dir);
  if (now === as) return { before: before.n, after: before.n };
  if (now !== 'float32') throw new Error(`${dir} is stored as ${now}; store its float32 weights (from training, or from git) as ${as}, not rounded ones again`);
  const model = await IrnModel.load(fileSystem(dir));
  try {
    await model.save(fileSystem(dir), { weights: as });
  } finally {
    model.dispose();
  }
  const after = await shardBytes();
  // Shards that the float32 model had and the compact one no longer names.
  for (const p of before.paths) if (!after.paths.includes(p)) await rm(join(dir, p));
  return { before: before.n, after: after.n };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { check: { type: 'boolean', default: false }, as: { type: 'string', default: 'uint8' } },
  });
  if (positionals.length === 0) throw new Error('usage: weights-store.ts [--as uint8|float16] [--check] <model folder>...');
  if (values.as !== 'uint8' && values.as !== 'float16') throw new Error(`--as must be uint8 or float16, got ${values.as}`);
  const as: Compact = values.as;
  await tf.setBackend('cpu');
  let stale = 0;
  for (const dir of positionals) {
    if (!(await readdir(dir)).includes('model.json')) throw new Error(`${dir}: no model.json`);
    if (values.check) {
      const now = await storedAs(dir);
      if (now !== as) stale++;
      console.log(`${dir}: ${now}${now === as ? '' : ` (run pnpm weights:store --as ${as} on its float32 weights)`}`);
      continue;
    }
    const { before, after } = await store(dir, as);
    console.log(`${dir}: weights ${before.toLocaleString('en-US')} -> ${after.toLocaleString('en-US')} bytes (${as})`);
  }
  if (stale > 0) process.exit(1);
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    console.error(`weights-store: ${e.message}`);
    process.exit(1);
  });
}
