import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileSystem } from '../io/fs-handler.js';
import type { IrnTrainer, TrainerState } from './trainer.js';

/** Extra JSON saved with a checkpoint (e.g. the best validation score so far). */
export type CheckpointExtra = Record<string, unknown>;

/**
 * Writes the trainer's state to `dir` (Node only): `state.json` (step, generator, Adam
 * accumulators, weight specs, `extra`), `weights.bin`, `optimizer.bin`, and a loadable copy
 * of the model in `model/`. Written to `dir.tmp` first and then renamed, so an interrupted
 * write leaves the previous checkpoint intact.
 */
export async function saveCheckpoint(dir: string, trainer: IrnTrainer, extra: CheckpointExtra = {}): Promise<void> {
  const root = resolve(dir);
  const tmp = `${root}.tmp`;
  const old = `${root}.old`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const state = await trainer.saveState();
  await writeFile(join(tmp, 'weights.bin'), new Uint8Array(state.weights.data));
  await writeFile(join(tmp, 'optimizer.bin'), new Uint8Array(state.optimizer.data));
  const json = {
    step: state.step,
    rngState: state.rngState,
    seed: state.seed,
    accBeta: state.accBeta,
    weightSpecs: state.weights.specs,
    optimizerSpecs: state.optimizer.specs,
    extra,
  };
  await writeFile(join(tmp, 'state.json'), JSON.stringify(json, null, 1) + '\n');
  await trainer.model.save(fileSystem(join(tmp, 'model')));
  await rm(old, { recursive: true, force: true });
  await rename(root, old).catch(() => undefined);
  await rename(tmp, root);
  await rm(old, { recursive: true, force: true });
}

/** Reads a checkpoint written by {@link saveCheckpoint}. */
export async function loadCheckpoint(dir: string): Promise<{ state: TrainerState; extra: CheckpointExtra }> {
  const root = resolve(dir);
  let text: string;
  try {
    text = await readFile(join(root, 'state.json'), 'utf8');
  } catch {
    throw new Error(`no checkpoint at ${root} (state.json missing)`);
  }
  const json = JSON.parse(text) as {
    step: number;
    rngState: number;
    seed: number;
    accBeta: [number, number];
    weightSpecs: TrainerState['weights']['specs'];
    optimizerSpecs: TrainerState['optimizer']['specs'];
    extra?: CheckpointExtra;
  };
  const buf = async (name: string) => {
    const b = await readFile(join(root, name));
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  };
  return {
    state: {
      step: json.step,
      rngState: json.rngState,
      seed: json.seed,
      accBeta: json.accBeta,
      weights: { specs: json.weightSpecs, data: await buf('weights.bin') },
      optimizer: { specs: json.optimizerSpecs, data: await buf('optimizer.bin') },
    },
    extra: json.extra ?? {},
  };
}
