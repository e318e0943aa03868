import { lstat, mkdir } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Command } from 'commander';
import { encodePng, LR_TEXT_KEY, lrMetadataText } from '@irn/core';
import { runJobs } from '../batch.js';
import type { CliContext } from '../context.js';
import { failure, oneLine } from '../errors.js';
import { kindInWords, modelInputs, PHOTO_EXTENSIONS, planJobs, readPhoto, readRegularFile, skipNote, writeFileAtomic } from '../files.js';
import { onInterrupt, removeEmptyFoldersSync } from '../interrupt.js';
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
 * restored image arrives), the LR's name percent-encoded in `src`, and an alt text: the first
 * line of `<name>.alt.txt` beside the photo when it is a regular file (a link is not followed),
 * else the file name in words. An `<out-dir>` that prepare created and left empty (every
 * photo failed) is removed again.
 */
export function registerPrepare(program: Command, ctx: CliContext): void {
  const command = program
    .command('prepare')
    .description('downscale photos for the <irn-image> web component and print an <irn-image> tag for each')
    .option('-m, --model <dir>', 'directory of an IRN model made by "irn convert", or a preset name (default: weights/irn-x2, the shipped x2 preset)')
    .option('--src-prefix <url>', 'URL of <out-dir> as the page sees it, put as given before each file name (percent-encoded) in src', '');
  addForceOption(command)
    .argument('<photos>', 'a PNG, JPEG, WebP or AVIF photo, or a directory: every *.png, *.jpg, *.jpeg, *.webp and *.avif in it')
    .argument('<out-dir>', 'directory for the LR images (<name>.lr.png)')
    .action(async (input: string, outDir: string, opts: PrepareOptions) => {
      const out = ctx.out();
      const choice = await chooseModel(opts.model);
      // a.png and a.PNG would both become a.lr.png: planJobs refuses such a plan.
      const planned = await planJobs(input, outDir, {
        outputName: (name) => `${stem(name)}.lr.png`,
        outputIsDirectory: true,
        extensions: PHOTO_EXTENSIONS,
        onSkip: skipNote(ctx.out()),
        force: opts.force,
        // The model's files are inputs: no LR may replace one (a weight file may have any name).
        modelFiles: await modelInputs([choice.dir]),
      });
      const jobs = planned.jobs;
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
      // The first folder mkdir made (none when <out-dir> was there): made once the model loaded.
      let created: string | undefined;
      // Interrupted, irn takes back the folders it made while they are empty (no LR finished).
      const release = onInterrupt(() => {
        if (created != null) removeEmptyFoldersSync(outDir, created);
      });
      try {
        created = await mkdir(outDir, { recursive: true }).catch((e: unknown) => {
          throw failure(`cannot create ${outDir}: ${oneLine(e)}`, e);
        });
        await runJobs(out, jobs, planned.directory, { doing: 'preparing', done: 'prepared' }, async (job) => {
          const img = await readPhoto(job.input, ctx.limits());
          const lr = await downscaleImage(model, img, { overlap });
          const meta = { scale: model.scale, width: img.width, height: img.height, ...(lrModel != null ? { model: lrModel } : {}) };
          const text = { [LR_TEXT_KEY]: lrMetadataText(meta) };
          await writeFileAtomic(job.output, encodePng(lr, { text, effort: 'max' }), { replace: opts.force });
          const alt = await altText(job.input, job.name, (path, why) => out.status(`ignored ${path}: ${why}; the alt text is the file name`));
          // The name as one URL path segment: `q#?%.lr.png` is a file, not a fragment and a query.
          const src = joinUrl(opts.srcPrefix, encodeURIComponent(basename(job.output)));
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
        if (tags.size === 0 && created != null) removeEmptyFoldersSync(outDir, created);
        release();
      }
    });
}

function stem(name: string): string {
  return basename(name, extname(name));
}

/** Longest `.alt.txt` read: alt texts are a sentence or two; a FIFO or a huge file is not one. */
const MAX_ALT_BYTES = 64 * 1024;

/**
 * The alt text of a photo: the first line of `<photo stem>.alt.txt` next to it, else the file
 * name in words; control characters become spaces (the tag is one line of HTML). The sidecar
 * is read as a photo in a folder is: a regular file only, never through a symbolic link (a
 * stranger's folder may link `a.alt.txt` to the user's own secrets, which the tag would
 * publish); one that exists but is not such a file, or is over {@link MAX_ALT_BYTES}, is
 * ignored and `ignored(path, why)` told.
 */
async function altText(photoPath: string, name: string, ignored: (path: string, why: string) => void): Promise<string> {
  const sidecar = join(dirname(photoPath), `${stem(name)}.alt.txt`);
  const text = await readAltFile(sidecar).catch((e: unknown) => {
    ignored(sidecar, oneLine(e));
    return null;
  });
  const line = text == null ? '' : oneLineText(text.split(/\r\n|\r|\n/)[0]);
  if (line) return line;
  const words = oneLineText(stem(name).replace(/[-_.]+/g, ' '));
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** `text` with control characters (C0, DEL, C1) as spaces, runs of spaces as one, trimmed. */
function oneLineText(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, ' ').replace(/ {2,}/g, ' ').trim();
}

/**
 * The text of the regular file `path` of at most {@link MAX_ALT_BYTES}, or null when there is
 * no entry of that name.
 * @throws Error saying why the entry is not read (a link, a FIFO, too large).
 */
async function readAltFile(path: string): Promise<string | null> {
  const entry = await lstat(path).catch(() => null);
  if (entry == null) return null;
  if (!entry.isFile()) throw new Error(notRegular(kindInWords(entry)));
  // Not following a link put in its place after the lstat, nor waiting on a FIFO.
  const bytes = await readRegularFile(path, MAX_ALT_BYTES, { noFollow: true }).catch((e: unknown) => {
    throw new Error(oneLine(e).replace(/^it is a symbolic link, not a regular file$/, notRegular('a symbolic link')));
  });
  return new TextDecoder().decode(bytes);
}

/** Why an entry that is not a regular file is not read, as skipNote says it of a photo. */
function notRegular(kind: string): string {
  return `${kind} (irn reads only regular files in a folder, it does not follow links)`;
}

function joinUrl(prefix: string, file: string): string {
  if (prefix === '') return file;
  return prefix.endsWith('/') ? `${prefix}${file}` : `${prefix}/${file}`;
}

/** Escapes a value for a double-quoted HTML attribute. */
function attr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
