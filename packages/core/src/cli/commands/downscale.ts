import type { Command } from 'commander';
import { encodePng } from '../../image/png.js';
import { runJobs } from '../batch.js';
import type { CliContext } from '../context.js';
import { planJobs, readPng, writeFileAtomic } from '../files.js';
import { modelDirectory } from '../model-path.js';
import { LR_TEXT_KEY, lrMetadataText } from '../lr-metadata.js';

interface DownscaleOptions {
  model: string;
}

/** `irn downscale --model <dir> <input> <output>`. */
export function registerDownscale(program: Command, ctx: CliContext): void {
  program
    .command('downscale')
    .description(
      'downscale PNG images with IRN: 8-bit RGB(A) PNGs 1/scale the size, which record the original size for upscale',
    )
    .requiredOption('-m, --model <dir>', 'directory of an IRN model (made by "irn convert")')
    .argument('<input>', 'a PNG file, or a directory: every *.png in it')
    .argument('<output>', 'the LR PNG file, or a directory for the LR images (same names)')
    .action(async (input: string, output: string, opts: DownscaleOptions) => {
      const out = ctx.out();
      const modelDir = await modelDirectory(opts.model);
      const { jobs, directory } = await planJobs(input, output);
      await ctx.backend();
      // TensorFlow.js loads only now (see CliContext.backend).
      const { loadModel } = await import('../model-dir.js');
      const { downscaleImage } = await import('../../rescale/rescale.js');
      const model = await loadModel(modelDir);
      try {
        await runJobs(out, jobs, directory, { doing: 'downscaling', done: 'downscaled' }, async (job) => {
          const img = await readPng(job.input);
          const start = performance.now();
          const lr = downscaleImage(model, img);
          const seconds = (performance.now() - start) / 1000;
          const text = { [LR_TEXT_KEY]: lrMetadataText({ scale: model.scale, width: img.width, height: img.height }) };
          await writeFileAtomic(job.output, encodePng(lr, { text }));
          return `${img.width}x${img.height} -> ${lr.width}x${lr.height} in ${seconds.toFixed(2)} s`;
        });
      } finally {
        model.dispose();
      }
    });
}
