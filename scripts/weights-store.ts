// Stores the weights of IRN model folders as float16 (IrnModel.save's `weights: 'float16'`):
// half the bytes that a page downloads and that npm installs, for a change far below what
// the 8-bit LR can show (Kodak24 x2: 39.18394 -> 39.18398 dB). The shipped presets under
// weights/ are stored so (packages/weights/src/build_test.ts checks it); run this on a preset
// that training wrote (training keeps float32 checkpoints), then `pnpm weights:manifest`.
//
//   pnpm weights:float16 weights/irn-x2 [weights/irn-x4 ...]    each folder rewritten in place
//   pnpm weights:float16 --check weights/*/                      exit 1 if any is still float32
//
// In place: the folder's model.json and weight shards are replaced (a model already stored as
// float16 comes out byte for byte the same); other files in it (PROVENANCE.md, best.json) stay.
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { IrnModel } from '../packages/core/src/index.js';
import { fileSystem } from '../packages/core/src/node.js';

/** Whether every weight of the model in `dir` is stored as float16. */
export async function storedAsFloat16(dir: string): Promise<boolean> {
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  return specs.length > 0 && specs.every((s) => s.quantization?.dtype === 'float16');
}

/** Rewrites the model in `dir` with float16 weights; returns the bytes of its weights before and after. */
export async function toFloat16(dir: string): Promise<{ before: number; after: number }> {
  const shardBytes = async () => {
    const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    const paths = json.weightsManifest.flatMap((g) => g.paths);
    let n = 0;
    for (const p of paths) n += (await stat(join(dir, p))).size;
    return { n, paths };
  };
  const before = await shardBytes();
  const model = await IrnModel.load(fileSystem(dir));
  try {
    await model.save(fileSystem(dir), { weights: 'float16' });
  } finally {
    model.dispose();
  }
  const after = await shardBytes();
  // Shards that the float32 model had and the float16 one no longer names.
  for (const p of before.paths) if (!after.paths.includes(p)) await rm(join(dir, p));
  return { before: before.n, after: after.n };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { check: { type: 'boolean', default: false } } });
  if (positionals.length === 0) throw new Error('usage: weights-float16.ts [--check] <model folder>...');
  await tf.setBackend('cpu');
  let stale = 0;
  for (const dir of positionals) {
    if (!(await readdir(dir)).includes('model.json')) throw new Error(`${dir}: no model.json`);
    if (values.check) {
      const ok = await storedAsFloat16(dir);
      if (!ok) stale++;
      console.log(`${dir}: ${ok ? 'float16' : 'float32 (run pnpm weights:float16 on it)'}`);
      continue;
    }
    const { before, after } = await toFloat16(dir);
    console.log(`${dir}: weights ${before.toLocaleString('en-US')} -> ${after.toLocaleString('en-US')} bytes`);
  }
  if (stale > 0) process.exit(1);
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((e: Error) => {
    console.error(`weights-float16: ${e.message}`);
    process.exit(1);
  });
}
