import { Option, type Command } from 'commander';
import { stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import type { CliContext } from '../context.js';
import { MAX_EVAL_DRAWS } from '../../eval/evaluate.js';
import { CliError, oneLine, stackOf, UsageError } from '../errors.js';
import { checkOutputFile, checkOutputFileName, inputIds, listFolder, modelInputs, readPng, skipNote, unreachable, writeFileAtomic } from '../files.js';
import { modelDirectory } from '../model-path.js';
import { printable } from '../output.js';
import { parseSeed, parseTemperature } from '../options.js';
import { startProgress } from '../progress.js';

interface EvalFlags {
  model?: string;
  data: string;
  z: 'zeros' | 'gaussian';
  draws?: number;
  seed?: number;
  temperature?: number;
  json?: string;
  first?: number;
  force?: boolean;
}

function parsePositiveInt(what: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1 || n > max) {
      throw new UsageError(`${what} must be ${max === Number.MAX_SAFE_INTEGER ? 'a positive integer' : `an integer from 1 to ${max}`}, got "${value}"`);
    }
    return n;
  };
}

const f2 = (v: number) => (Number.isFinite(v) ? v.toFixed(2) : 'inf');
const f4 = (v: number) => v.toFixed(4);

/**
 * `irn eval --model <dir> --data <folder> [--z zeros|gaussian] [--draws 5] [--seed N]
 * [--json out.json] [--force]`: the paper's test protocol on a folder of PNG photos (see eval/evaluate.ts).
 * As a folder run of `irn downscale`: a photo that cannot be scored (not a PNG, too small)
 * gets one error line and is left out; the others are scored, their table printed and their
 * JSON written, and the command then fails, saying how many were left out.
 */
export function registerEval(program: Command, ctx: CliContext): void {
  program
    .command('eval')
    .description("score a model on a folder of HR photos with the paper's protocol (Y-channel PSNR/SSIM, shave = scale), next to bicubic")
    .option('-m, --model <dir>', 'directory of the IRN model, or a preset name (default: weights/irn-x2, the shipped x2 preset)')
    .requiredOption('-d, --data <folder>', 'folder of HR PNG photos, e.g. ../shared/datasets/eval/set5')
    .addOption(new Option('--z <mode>', 'z when upscaling: zeros, or gaussian (mean over --draws draws)').choices(['zeros', 'gaussian']).default('zeros'))
    .option('--draws <n>', `gaussian draws averaged per image, 1 to ${MAX_EVAL_DRAWS} (default 5, as the paper)`, parsePositiveInt('--draws', MAX_EVAL_DRAWS))
    .option('--seed <n>', 'seed of the first gaussian draw (default 0)', parseSeed)
    .option('--temperature <t>', 'standard deviation of the gaussian z (default 1)', parseTemperature)
    // Not --limit: that is the global --limit name=value, which commander also reads here.
    .option('--first <n>', 'only the first n photos (sorted by name)', parsePositiveInt('--first'))
    .option('--json <file>', 'where to write the JSON results (default irn-eval-<folder>-x<scale>-<z>.json)')
    .option('-f, --force', 'replace the JSON file when it exists (without it irn refuses before any work)')
    .action(async (opts: EvalFlags) => {
      const out = ctx.out();
      if (opts.z !== 'gaussian' && (opts.draws != null || opts.seed != null || opts.temperature != null)) {
        throw new UsageError('--draws, --seed and --temperature only apply with --z gaussian');
      }
      const modelDir = await modelDirectory(opts.model);
      // Before any work, as the other commands do: a --json name that could only fail when
      // written (empty, -, a folder's name, too long, under a file or a dangling link).
      if (opts.json != null) await checkOutputFileName(opts.json);
      const dataKind = await stat(opts.data).then((s) => (s.isDirectory() ? 'dir' : 'other'), () => 'missing');
      if (dataKind !== 'dir') throw new CliError(`the data folder ${dataKind === 'missing' ? await unreachable(opts.data) : `${opts.data} is not a directory`}`);
      // Regular files only, as the other folder commands read: a link is skipped and said so.
      let names = await listFolder(opts.data, ['.png'], skipNote(out));
      const photos = names.map((name) => join(opts.data, name));
      if (opts.first != null) names = names.slice(0, opts.first);
      // The report must not replace a photo, a file of the model being scored or of a preset
      // (model.json, weights, best.json), a FIFO or a device.
      const reads = await inputIds(photos, await modelInputs([modelDir]));
      const checkReport = (file: string) => checkOutputFile(file, reads, opts.force === true);
      if (opts.json != null) await checkReport(opts.json);
      await ctx.backend();
      const { loadModel } = await import('../model-dir.js');
      const { evaluateImage, meanEvaluation } = await import('../../eval/evaluate.js');
      const model = await loadModel(modelDir, ctx.limits());
      if (model.encoder != null) {
        // A decoder's own forward never made an LR: a round trip through it would score nothing real.
        model.dispose();
        throw new CliError(
          `${modelDir} is a lossy decoder (its LRs are made by ${model.encoder}, stored as ${model.lrCodec ?? 'a lossy format'}); irn eval scores the lossless round trip of one model: measure it with pnpm bench:rd`,
        );
      }
      const dataset = basename(resolve(opts.data));
      const file = opts.json ?? `irn-eval-${dataset}-x${model.scale}-${opts.z}.json`;
      // The default name needs the model's scale: checked once it is loaded, before the scoring.
      if (opts.json == null) {
        try {
          await checkOutputFileName(file);
          await checkReport(file);
        } catch (e) {
          model.dispose();
          throw e;
        }
      }
      const rows = [];
      const skipped: { name: string; error: string }[] = [];
      const started = performance.now();
      try {
        const progress = startProgress(out, names.length, { doing: 'evaluating', done: 'evaluated' });
        try {
          for (const name of names) {
            const path = join(opts.data, name);
            try {
              const img = await readPng(path, ctx.limits());
              const row = await evaluateImage(model, name, img, { z: opts.z, draws: opts.draws, seed: opts.seed, temperature: opts.temperature });
              rows.push(row);
              progress.done(name, `IRN ${f2(row.irn.psnrY)} dB, bicubic ${f2(row.bicubic.psnrY)} dB`);
            } catch (e) {
              skipped.push({ name, error: oneLine(e) });
              progress.failed(path, oneLine(e));
              out.trace(stackOf(e));
            }
          }
        } finally {
          progress.stop();
        }
      } finally {
        model.dispose();
      }
      const failed = () => new CliError(`${skipped.length} of ${names.length} images failed${rows.length > 0 ? `; the scores of the other ${rows.length} are in ${file}` : ''}`);
      if (rows.length === 0) throw failed();
      const mean = meanEvaluation(rows);
      const draws = opts.z === 'gaussian' ? (opts.draws ?? 5) : 1;
      const header = ['image', 'IRN PSNR-Y', 'IRN SSIM-Y', 'IRN PSNR-RGB', 'bicubic PSNR-Y', 'bicubic SSIM-Y', 'LR vs bicubic LR'];
      const line = (name: string, r: typeof mean) =>
        [name, f2(r.irn.psnrY), f4(r.irn.ssimY), f2(r.irn.psnrRgb), f2(r.bicubic.psnrY), f4(r.bicubic.ssimY), f2(r.lrVsBicubicPsnr)];
      // Names as they print (a control character takes four columns), so the columns line up.
      const table = [header, ...rows.map((r) => line(printable(r.name), r)), line(`mean (${rows.length})`, mean)];
      const widths = header.map((_, i) => Math.max(...table.map((t) => t[i].length)));
      out.result(`${dataset}, x${model.scale}, z = ${opts.z}${opts.z === 'gaussian' ? ` (mean of ${draws} draws)` : ''}; PSNR in dB, shave ${model.scale}`);
      for (const t of table) out.result(t.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  '));
      const report = {
        model: resolve(modelDir),
        config: model.config,
        data: resolve(opts.data),
        protocol: { modCrop: model.scale, shave: model.scale, luma: 'BT.601', rounding: '8-bit', ssim: 'gaussian 11x11, sigma 1.5' },
        z: opts.z,
        draws,
        seed: opts.z === 'gaussian' ? (opts.seed ?? 0) : null,
        temperature: opts.z === 'gaussian' ? (opts.temperature ?? 1) : null,
        seconds: (performance.now() - started) / 1000,
        mean,
        images: rows,
        // The photos left out, each with why: the mean is over the others.
        skipped,
      };
      await writeFileAtomic(file, new TextEncoder().encode(JSON.stringify(report, null, 1) + '\n'), { replace: opts.force });
      out.status(`wrote ${file}`);
      if (skipped.length > 0) throw failed();
    });
}
