// Node-only test helper (node:fs): a model folder written by hand, for the loaders' refusals.
// Not part of any build (tsconfig.build excludes src/testing).
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** The shard name `IrnModel.save` gives a model's only weight file. */
export const SHARD = 'group1-shard1of1.bin';

/** Writes `model.json` and one shard named {@link SHARD} into a fresh `folder` (removed first). */
export async function writeModelFolder(folder: string, json: string, shard: Uint8Array): Promise<void> {
  await rm(folder, { recursive: true, force: true });
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, 'model.json'), json);
  await writeFile(join(folder, SHARD), shard);
}
