import { mkdir } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import type { Command } from 'commander';
import { encodePng, LR_TEXT_KEY, lrMetadataText } from '@irn/core';
import { runJobs } from '../batch.js';
import type { CliContext } from '../context.js';
import { failure, oneLine } from '../errors.js';
import { PHOTO_EXTENSIONS, planJobs, readPhoto, readRegularFile, skipNote, writeFileAtomic } from '../files.js';
import { chooseModel } from '../model-choice.js';
import { addForceOption } from '../options.js';

interface PrepareOptions {
  model?: string;
  srcPrefix: string;
  force?: boolean;
}

/**
 * `irn prepare --model <dir> [--src-prefix URL] [--force] <photos> <out-dir>`: the LR PNGs for the
 * `<irn-image>` element (`@irn/element`) as `<out-dir>/<name>.lr.png`, and on stdout one
 * `<irn-image>` tag per photo, with the original size (so the page does not shift when the
 * restored image arrives) and an alt text: the first line of `<name>.alt.txt` beside the
 * photo when there is one, else the file name in words.
 */
export function registerPrepare(program: Command, ctx: CliContext): void {
  const command = program
    .command('prepare')
    .description('downscale photos for the <irn-image> web component and print an <irn-image> tag for each')
    .option('-m, --model <dir>', 'directory of an IRN model made by "irn convert", or a preset name (default: weights/irn-x2, the shipped x2 preset)')
    .option('--src-prefix <url>', 'URL of <out-dir> as the page sees it, put before each file name in src', '');
  addForceOption(command)
    .argument('<photos>', 'a PNG, JPEG, WebP or AVIF photo, or a directory: every *.png, *.jpg, *.jpeg, *.webp and *.avif in it')
    .argument('<out-dir>', 'directory for the LR images (<name>.lr.png)')
    .action(async (input: string, outDir: string, opts: PrepareOptions) => {
      const out = ctx.out();
      const choice = await chooseModel(opts.model);
      // a.png and a.PNG would both become a.lr.png: planJobs refuses such a plan.
      const planned = await planJobs(input, outDir, { outputName: (name) => `${stem(name)}.lr.png`, outputIsDirectory: true, extensions: PHOTO_EXTENSIONS, onSkip: skipNote(ctx.out()), force: opts.force });
      const jobs = planned.jobs;
      await mkdir(outDir, { recursive: true }).catch((e: unknown) => {
        throw failure(`cannot create ${outDir}: ${oneLine(e)}`, e);
      });
      await ctx.backend();
      // TensorFlow.js loads only now (see CliContext.backend).
      const { loadDownscaleModels } = await import('../model-choice.js');
      const { downscaleImage } = await import('@irn/core');
      const { receptiveField } = await import('@irn/core');
      // A lossy decoder preset makes its LRs with its encoder preset, as in irn downscale.
      const models = await loadDownscaleModels(choice, ctx.limits());
      const model = models.encoder;
      // A PNG LR is lossless: it names the model for the highest quality (a decoder for lower
      // qualities only names its encoder instead, as irn downscale does).
      const { lrModel } = models.atQuality(100);
      // The same LR as `irn downscale` writes: exact tiling overlap.
      const overlap = receptiveField(model.config);
      const tags = new Map<string, string>();
      try {
        await runJobs(out, jobs, planned.directory, { doing: 'preparing', done: 'prepared' }, async (job) => {
          const img = await readPhoto(job.input, ctx.limits());
          const lr = await downscaleImage(model, img, { overlap });
          const meta = { scale: model.scale, width: img.width, height: img.height, ...(lrModel != null ? { model: lrModel } : {}) };
          const text = { [LR_TEXT_KEY]: lrMetadataText(meta) };
          await writeFileAtomic(job.output, encodePng(lr, { text, effort: 'max' }), { replace: opts.force });
          const alt = await altText(job.input, job.name);
          const src = joinUrl(opts.srcPrefix, basename(job.output));
          tags.set(job.input, `<irn-image src="${attr(src)}" width="${img.width}" height="${img.height}" alt="${attr(alt)}"></irn-image>`);
          return `${img.width}x${img.height} -> ${lr.width}x${lr.height}`;
        });
      } finally {
        models.dispose();
        // In input order, also when some photos failed: the tags of those that worked.
        for (const job of jobs) {
          const tag = tags.get(job.input);
          if (tag != null) out.result(tag);
        }
      }
    });
}

function stem(name: string): string {
  return basename(name, extname(name));
}

/** Longest `.alt.txt` read: alt texts are a sentence or two; a FIFO or a huge file is not one. */
const MAX_ALT_BYTES = 64 * 1024;

/** The first line of `<photo stem>.alt.txt` next to the photo, else the file name in words. */
async function altText(photoPath: string, name: string): Promise<string> {
  const sidecar = join(photoPath, '..', `${stem(name)}.alt.txt`);
  const text = await readRegularFile(sidecar, MAX_ALT_BYTES).then(
    (bytes) => new TextDecoder().decode(bytes),
    () => null,
  );
  const line = text?.split(/\r?\n/)[0]?.trim();
  if (line) return line;
  const words = stem(name).replace(/[-_.]+/g, ' ').trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function joinUrl(prefix: string, file: string): string {
  if (prefix === '') return file;
  return prefix.endsWith('/') ? `${prefix}${file}` : `${prefix}/${file}`;
}

/** Escapes a value for a double-quoted HTML attribute. */
function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
