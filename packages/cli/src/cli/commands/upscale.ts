import { totalmem } from 'node:os';
import { extname } from 'node:path';
import { Option, type Command } from 'commander';
import { encodePng, restoredSize, type LatentOptions } from '@irn/core';
import { runJobs } from '../batch.js';
import type { CliContext } from '../context.js';
import { UsageError } from '../errors.js';
import { modelInputs, planJobs, readLr, skipNote, writeFileAtomic } from '../files.js';
import { modelDirectory } from '../model-path.js';
import type { UpscaleModels } from '../model-choice.js';
import { addForceOption, addTilingOptions, parseBitDepth, parseSeed, parseTemperature, tilingNote, withTileAdvice, type TilingFlags } from '../options.js';

interface UpscaleOptions extends TilingFlags {
  model?: string;
  z: 'zeros' | 'gaussian';
  temperature?: number;
  seed?: number;
  bitDepth: 8 | 16;
  force?: boolean;
}

/**
 * `irn upscale --model <dir|preset> [--z zeros|gaussian] [--temperature T] [--seed N] [--tile px]
 * [--overlap px] [--verbose] [--force] <input> <output>`. Without `--model`, each LR is restored with the
 * preset its metadata names (`model`, written by `irn downscale`), else `irn-x<its scale>`,
 * else `irn-x2`; an LR that names a preset this version lacks fails with one line.
 */
export function registerUpscale(program: Command, ctx: CliContext): void {
  const command = program
    .command('upscale')
    .description('restore images from IRN LR images, PNG, WebP, JPEG or AVIF (made by "irn downscale"), at the original size')
    .option(
      '-m, --model <dir>',
      'directory of the IRN model that made the LR images, or a preset name (default: weights/irn-x2, the shipped x2 preset); without it, an LR whose metadata names the preset it was made for is restored with that preset',
    )
    .addOption(
      new Option('--z <mode>', 'the lost detail z: zeros (the most likely guess) or a gaussian draw')
        .choices(['zeros', 'gaussian'])
        .default('zeros'),
    )
    .option('--temperature <t>', 'standard deviation of the gaussian z (default 1)', parseTemperature)
    .option('--seed <n>', 'seed of the gaussian z: the same seed gives the same image (default random)', parseSeed)
    .option('--bit-depth <bits>', 'bits per sample of the output PNGs: 8 or 16', parseBitDepth, 8);
  addForceOption(addTilingOptions(command))
    .argument('<input>', 'an LR PNG, WebP, JPEG or AVIF file, or a directory: every *.png, *.webp, *.jpg, *.jpeg and *.avif in it')
    .argument('<output>', 'the restored PNG file, or a directory for the restored images (same names, as .png)')
    .action(async (input: string, output: string, opts: UpscaleOptions) => {
      const out = ctx.out();
      if (opts.z !== 'gaussian' && (opts.seed != null || opts.temperature != null)) {
        throw new UsageError('--seed and --temperature only apply with --z gaussian');
      }
      const latent: LatentOptions = { z: opts.z };
      let zNote = '';
      if (opts.z === 'gaussian') {
        latent.seed = opts.seed ?? Math.floor(Math.random() * 2 ** 31);
        latent.temperature = opts.temperature ?? 1;
        zNote = `, gaussian z (seed ${latent.seed}, temperature ${latent.temperature})`;
      }
      // A typed --model that does not exist fails before any file is read.
      const modelDir = opts.model != null ? await modelDirectory(opts.model) : undefined;
      // Restored images are PNGs: `a.webp` -> `a.png` (checkJobs refuses `a.png` beside `a.webp`).
      const outputName = (name: string) => name.replace(/\.(webp|jpe?g|avif)$/i, '.png');
      const { jobs, directory } = await planJobs(input, output, {
        outputName,
        extensions: ['.png', '.webp', '.jpg', '.jpeg', '.avif'],
        onSkip: skipNote(ctx.out()),
        force: opts.force,
        // Without --model, each LR's preset (every preset is among modelInputs' files).
        modelFiles: await modelInputs(modelDir != null ? [modelDir] : []),
        checkOutputName: checkPngName,
      });
      await ctx.backend();
      // TensorFlow.js loads only now (see CliContext.backend).
      const { UpscaleModels } = await import('../model-choice.js');
      const { upscaleImage } = await import('@irn/core');
      const { receptiveField } = await import('@irn/core');
      const { withPeakMemory } = await import('@irn/core');
      const models: UpscaleModels = new UpscaleModels(opts.model, ctx.limits());
      // With --model, one model for every LR, loaded (and checked) before the first file.
      if (opts.model != null) await models.forLr(null);
      // The machine's memory bounds a pass on the cpu backend; the wasm heap's 4 GiB, smaller,
      // is applied by the rescale functions themselves.
      const memoryBudget = totalmem();
      try {
        await runJobs(out, jobs, directory, { doing: 'upscaling', done: 'upscaled' }, async (job) => {
          // The model and the restored size (against the pixel limit) from the headers, before decoding.
          const { image: lr, lrMetadata } = await readLr(job.input, ctx.limits(), async (header) =>
            restoredSize(header.lrMetadata, (await models.forLr(header.lrMetadata)).scale, header.width, header.height, ctx.limits()),
          );
          const model = await models.forLr(lrMetadata);
          const overlap = opts.overlap ?? receptiveField(model.config);
          const size = restoredSize(lrMetadata, model.scale, lr.width, lr.height, ctx.limits());
          let tiles = 1;
          const tiling = { tileSize: opts.tile, overlap, memoryBudget, onProgress: (p: { total: number }) => void (tiles = p.total) };
          const run = () => upscaleImage(model, lr, { ...latent, ...size, ...tiling }).catch((e: unknown) => Promise.reject(withTileAdvice(e)));
          const start = performance.now();
          const measured = opts.verbose ? await withPeakMemory(run) : { result: await run(), peakBytes: 0, startBytes: 0 };
          const hr = measured.result;
          const seconds = (performance.now() - start) / 1000;
          await writeFileAtomic(job.output, encodePng(hr, { bitDepth: opts.bitDepth }), { replace: opts.force });
          const note = opts.verbose ? tilingNote(tiles, opts.tile, overlap, measured.peakBytes, measured.startBytes) : '';
          return `${lr.width}x${lr.height} -> ${hr.width}x${hr.height}${zNote} in ${seconds.toFixed(2)} s${note}`;
        });
      } finally {
        await models.dispose();
      }
    });
}

/**
 * Refuses an output file name that does not end in `.png` (`out.jpg`, `out.tif`, `out`): a
 * restored image is always a PNG, and a file named otherwise would lie about what it holds.
 * @throws UsageError saying which name to give.
 */
function checkPngName(file: string): void {
  const ext = extname(file);
  if (ext.toLowerCase() === '.png') return;
  if (ext === '') throw new UsageError(`the output ${file} has no extension: name the file ${file}.png (irn upscale writes PNG), or ${file}/ for a folder`);
  throw new UsageError(`irn upscale writes PNG images, but the output ${file} ends in ${ext}: name it ${file.slice(0, -ext.length)}.png`);
}
