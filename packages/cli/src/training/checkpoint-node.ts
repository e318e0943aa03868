import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, realpath, rename, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileSystem } from '@irn/core/node';
import type { IrnTrainer, TrainerState } from '@irn/core';
import { onInterrupt, removeOwnFolderSync } from '../cli/interrupt.js';

/** Extra JSON saved with a checkpoint (e.g. the best validation score so far). */
export type CheckpointExtra = Record<string, unknown>;

/**
 * The marker file {@link saveCheckpoint} writes into every checkpoint folder, with
 * {@link CHECKPOINT_MARKER_TEXT} as its content. A folder is only ever replaced when it holds
 * this marker (or is an unmarked checkpoint of an older version, see
 * {@link checkCheckpointFolder}) and nothing but the files a checkpoint consists of.
 */
export const CHECKPOINT_MARKER = '.irn-checkpoint';
/** The content of {@link CHECKPOINT_MARKER}. */
export const CHECKPOINT_MARKER_TEXT = 'irn train checkpoint: irn train replaces the files it wrote in this folder and no others.\n';

/** The files of a checkpoint folder besides the marker and `model/`. */
const STATE_FILES = ['state.json', 'weights.bin', 'optimizer.bin'];
/** The files of `model/`: model.json and the weight shards fs-handler.ts writes. */
const isModelFile = (name: string): boolean => name === 'model.json' || /^group1-shard\d+of\d+\.bin$/.test(name);

/** What {@link checkCheckpointFolder} found. */
export type CheckpointFolderState = 'missing' | 'empty' | 'checkpoint';

/**
 * Whether `dir` may receive a checkpoint (Node only): it does not exist, is an empty folder,
 * or is a checkpoint {@link saveCheckpoint} wrote, holding nothing else. An unmarked folder
 * holding exactly `state.json`, `weights.bin`, `optimizer.bin` and `model/` (model.json and
 * shards), the layout of checkpoints written before the marker existed, counts as one.
 *
 * @throws Error (one line, naming the folder and the first foreign entry) for anything else:
 *   a file, a folder of other files, a model folder, a folder of photos.
 */
export async function checkCheckpointFolder(dir: string): Promise<CheckpointFolderState> {
  const root = resolve(dir);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      // A dangling symbolic link: writing "there" would create a folder somewhere else.
      if (await lstat(root).then(() => true, () => false)) throw new Error(`${root} is a symbolic link to a path that does not exist`);
      return 'missing';
    }
    throw new Error(`cannot read ${root}: ${(e as Error).message}`);
  }
  if (!st.isDirectory()) throw new Error(`${root} is not a folder`);
  const entries = await readdir(root, { withFileTypes: true });
  if (entries.length === 0) return 'empty';
  const foreign = (what: string) =>
    new Error(`${root} holds ${what}, which irn train did not write; give a new or empty folder, or one irn train made (it replaces its contents)`);
  let marked = false;
  const present = new Set<string>();
  for (const e of entries) {
    if (e.name === CHECKPOINT_MARKER && e.isFile()) {
      const st2 = await lstat(join(root, e.name));
      marked = st2.size < 4096 && (await readFile(join(root, e.name), 'utf8')) === CHECKPOINT_MARKER_TEXT;
      if (!marked) throw foreign(`a ${CHECKPOINT_MARKER} file that is not irn train's marker`);
    } else if (STATE_FILES.includes(e.name) && e.isFile()) {
      present.add(e.name);
    } else if (e.name === 'model' && e.isDirectory()) {
      for (const m of await readdir(join(root, 'model'), { withFileTypes: true })) {
        if (!(isModelFile(m.name) && m.isFile())) throw foreign(`model/${m.name}`);
        if (m.name === 'model.json') present.add('model/model.json');
      }
    } else {
      throw foreign(e.name);
    }
  }
  const complete = STATE_FILES.every((f) => present.has(f)) && present.has('model/model.json');
  if (!marked && !complete) throw foreign('an incomplete checkpoint without the marker');
  return 'checkpoint';
}

/**
 * Deletes, one by one, the files a checkpoint consists of from `dir`, then `model/` and `dir`
 * if that left them empty. Anything else stays where it is: this never deletes recursively.
 */
async function removeCheckpointFiles(dir: string): Promise<void> {
  const unlinkFile = async (path: string) => {
    const st = await lstat(path).catch(() => null);
    if (st != null && st.isFile()) await unlink(path);
  };
  for (const f of STATE_FILES) await unlinkFile(join(dir, f));
  const model = join(dir, 'model');
  const names = await readdir(model).catch(() => [] as string[]);
  for (const f of names) if (isModelFile(f)) await unlinkFile(join(model, f));
  await rmdir(model).catch(() => undefined);
  // The marker last: a folder left half-deleted by a crash is still recognisably ours.
  await unlinkFile(join(dir, CHECKPOINT_MARKER));
  await rmdir(dir).catch(() => undefined);
}

/** A sibling of `root` that does not exist yet: `<root>.<tag>-<12 random hex digits>`. */
function siblingName(root: string, tag: string): string {
  return join(dirname(root), `${basename(root)}.${tag}-${randomBytes(6).toString('hex')}`);
}

/**
 * Writes the trainer's state to `dir` (Node only): the marker {@link CHECKPOINT_MARKER},
 * `state.json` (step, generator, Adam accumulators, weight specs, `extra`), `weights.bin`,
 * `optimizer.bin`, and a loadable copy of the model in `model/`.
 *
 * Everything is written to a new sibling folder with an unpredictable name (created
 * exclusively), which then takes the place of `dir`; the previous checkpoint is moved aside
 * and deleted file by file, so an interrupted write leaves the previous checkpoint intact and
 * nothing but checkpoint files is ever deleted. When `dir` is a symbolic link, the folder it
 * points to is the one replaced.
 *
 * @throws Error when `dir` exists and is not an empty folder or a checkpoint (see
 *   {@link checkCheckpointFolder}); nothing is written then.
 */
export async function saveCheckpoint(dir: string, trainer: IrnTrainer, extra: CheckpointExtra = {}): Promise<void> {
  let root = resolve(dir);
  if ((await lstat(root).catch(() => null))?.isSymbolicLink() === true) root = await realpath(root);
  const before = await checkCheckpointFolder(root);
  await mkdir(dirname(root), { recursive: true });
  const tmp = siblingName(root, 'tmp');
  // Not recursive: fails if the name exists, so the folder is ours alone.
  await mkdir(tmp);
  // Until the renames below: an interrupted irn (cli/interrupt.ts) removes this folder of ours.
  const release = onInterrupt(() => removeOwnFolderSync(tmp));
  try {
    await writeFile(join(tmp, CHECKPOINT_MARKER), CHECKPOINT_MARKER_TEXT, { flag: 'wx' });
    const state = await trainer.saveState();
    await writeFile(join(tmp, 'weights.bin'), new Uint8Array(state.weights.data), { flag: 'wx' });
    await writeFile(join(tmp, 'optimizer.bin'), new Uint8Array(state.optimizer.data), { flag: 'wx' });
    const json = {
      step: state.step,
      rngState: state.rngState,
      seed: state.seed,
      accBeta: state.accBeta,
      weightSpecs: state.weights.specs,
      optimizerSpecs: state.optimizer.specs,
      extra,
    };
    await writeFile(join(tmp, 'state.json'), JSON.stringify(json, null, 1) + '\n', { flag: 'wx' });
    await trainer.model.save(fileSystem(join(tmp, 'model')));
  } catch (e) {
    await removeCheckpointFiles(tmp);
    throw e;
  } finally {
    release();
  }
  if (before === 'missing') {
    await rename(tmp, root);
    return;
  }
  const old = siblingName(root, 'old');
  await rename(root, old);
  // Checked again now that it is out of the way: files added since the first check stay put.
  const moved = await checkCheckpointFolder(old).catch(async (e: unknown) => {
    await rename(old, root);
    await removeCheckpointFiles(tmp);
    throw e;
  });
  await rename(tmp, root);
  if (moved === 'empty') await rmdir(old);
  else await removeCheckpointFiles(old);
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
  let json: {
    step: number;
    rngState: number;
    seed: number;
    accBeta: [number, number];
    weightSpecs: TrainerState['weights']['specs'];
    optimizerSpecs: TrainerState['optimizer']['specs'];
    extra?: CheckpointExtra;
  };
  try {
    json = JSON.parse(text) as typeof json;
  } catch (e) {
    // Not JSON.parse's message: V8 quotes the text around the error in it.
    throw new Error(`${join(root, 'state.json')} is not valid JSON`);
  }
  const buf = async (name: string) => {
    const b = await readFile(join(root, name)).catch(() => {
      throw new Error(`no checkpoint at ${root} (${name} missing)`);
    });
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
