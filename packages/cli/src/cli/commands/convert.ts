import { Option, type Command } from 'commander';
import { mkdir, mkdtemp, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { IrnModel } from '@irn/core';
import type { CliContext } from '../context.js';
import { CliError, failure, oneLine, UsageError, withContext } from '../errors.js';
import { checkOutputFile, checkOutputLocation, checkOutputPath, existingOutputs, moveInWithoutReplacing, readRegularFile, writeFailure } from '../files.js';
import { formatBytes, formatCount } from '../format.js';
import { onInterrupt, removeEmptyFoldersSync, removeOwnFolderSync } from '../interrupt.js';

/**
 * Saves `model` into `outDir` so that a failure leaves no half-written model: the files go
 * to a temporary folder inside `outDir` first and are moved in, `model.json` last.
 * The folder is made by `mkdtemp` (a random name, created exclusively): a file, folder or
 * link someone left at a guessable name is never written through, emptied or removed.
 * Without `replace`, a file of the same name already in `outDir` is never replaced (see
 * moveInWithoutReplacing; the caller refused those it found before the work).
 * Returns the total size written.
 */
async function saveAtomically(model: IrnModel, outDir: string, weights: WeightForm, replace: boolean): Promise<number> {
  const { fileSystem } = await import('@irn/core/node');
  let tmp: string | undefined;
  // The first folder mkdir -p made (none when outDir was there): taken back while empty when
  // the save fails or irn is interrupted.
  let made: string | undefined;
  let saved = false;
  const release = onInterrupt(() => {
    if (tmp != null) removeOwnFolderSync(tmp);
    if (made != null) removeEmptyFoldersSync(outDir, made);
  });
  try {
    made = await mkdir(outDir, { recursive: true });
    tmp = await mkdtemp(join(outDir, '.irn-convert-'));
    await model.save(fileSystem(tmp), { weights });
    const names = (await readdir(tmp)).sort((a, b) => Number(a === 'model.json') - Number(b === 'model.json'));
    let total = 0;
    for (const name of names) {
      total += (await stat(join(tmp, name))).size;
      if (replace) await rename(join(tmp, name), join(outDir, name));
      else await moveInWithoutReplacing(join(tmp, name), join(outDir, name));
    }
    saved = true;
    return total;
  } catch (e) {
    if (e instanceof CliError) throw e;
    // In words that name the folder, not the temporary one inside it.
    throw writeFailure(join(outDir, 'model.json'), e);
  } finally {
    if (tmp != null) await rm(tmp, { recursive: true, force: true });
    if (!saved && made != null) removeEmptyFoldersSync(outDir, made);
    release();
  }
}

/** How `irn convert` stores the weights (`IrnModel.save`'s `weights`). */
type WeightForm = 'float32' | 'float16' | 'uint8';
const WEIGHT_FORMS: WeightForm[] = ['float32', 'float16', 'uint8'];

/** `irn convert <checkpoint.pth> <out-dir>`. */
export function registerConvert(program: Command, ctx: CliContext): void {
  program
    .command('convert')
    .description('convert a published IRN PyTorch checkpoint (IRN_x2.pth, IRN_x4.pth, ...) into a TensorFlow.js model directory')
    .argument('<checkpoint>', 'the .pth file')
    .argument('<out-dir>', 'directory for model.json and the weight files (created; a folder that holds a model is refused unless --force)')
    .option('-f, --force', 'replace model.json and weight files already in <out-dir>')
    .addOption(
      new Option(
        '--weights <form>',
        'how to store the weights: float32 (exact), float16 (half the bytes, within about 0.001 dB) or uint8 (about a quarter: kernels as 8 bits per output channel, biases float16; the shipped presets are stored so: Kodak24 -0.0008 dB at x2, -0.0003 at x4; only @irn/core reads it, not tfjs alone)',
      )
        .choices(WEIGHT_FORMS)
        .default('float32'),
    )
    .action(async (checkpoint: string, outDir: string, opts: { weights: WeightForm; force?: boolean }) => {
      const out = ctx.out();
      const limits = ctx.limits();
      if (checkpoint === '') throw new UsageError('an empty checkpoint name; name the .pth file');
      checkOutputPath(outDir);
      let bytes: Uint8Array;
      try {
        // A regular file only (a FIFO would hang, /dev/zero never end), no larger than
        // inflatedBytes: the reader keeps the whole file in memory.
        bytes = await readRegularFile(checkpoint, { limits, what: 'the checkpoint' });
      } catch (e) {
        throw withContext(checkpoint, e);
      }
      const outKind = await stat(outDir).then((s) => (s.isDirectory() ? 'dir' : 'file'), () => 'missing');
      if (outKind === 'file') throw new CliError(`${outDir} is a file; the output must be a directory`);
      // A folder to create under a file, a dangling link, a folder irn may not write in.
      await checkOutputLocation(outDir, true);
      // Before the work: the model files a save writes (model.json, group1-shard*.bin) of a model
      // already there; never the checkpoint itself (`irn convert -f model.json .`), even with --force.
      if (outKind === 'dir') {
        const taken = (await readdir(outDir)).filter((name) => name === 'model.json' || /^group\d+-shard\d+of\d+\.bin$/.test(name)).sort();
        for (const name of taken) await checkOutputFile(join(outDir, name), [checkpoint]);
        if (taken.length > 0 && opts.force !== true) throw existingOutputs(taken.map((name) => join(outDir, name)));
      }
      await ctx.backend();
      // TensorFlow.js loads only now (see CliContext.backend).
      const { modelFromCheckpoint } = await import('@irn/core');
      let model: IrnModel;
      try {
        model = modelFromCheckpoint(bytes, { source: `converted from ${basename(checkpoint)}`, limits });
      } catch (e) {
        throw failure(`${checkpoint}: ${oneLine(e)}`, e);
      }
      const weights = opts.weights;
      try {
        const size = await saveAtomically(model, outDir, weights, opts.force === true);
        if (!out.quiet) {
          const { scale, blocks, growth } = model.config;
          out.result(
            `converted ${checkpoint} -> ${outDir}: x${scale}, ${blocks} blocks per level, growth ${growth}, ` +
              `${formatCount(model.countParams())} parameters, ${formatBytes(size)}${weights === 'float32' ? '' : ` (${weights} weights)`}`,
          );
        }
      } finally {
        model.dispose();
      }
    });
}
