import { totalmem } from 'node:os';
import { extname } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { Tensor4D } from '@tensorflow/tfjs-core';
import { fitQuality, LR_EXTENSIONS, LR_FORMATS, parseByteSize, type LrFormat } from '@irn/core';
import { runJobs } from '../batch.js';
import type { CliContext } from '../context.js';
import { modelInputs, PHOTO_EXTENSIONS, planJobs, readPhoto, skipNote, writeFileAtomic } from '../files.js';
import { CliError, UsageError } from '../errors.js';
import { chooseModel, defaultDownscalePreset } from '../model-choice.js';
import { findPreset, presetRoots } from '../model-path.js';
import { addForceOption, addTilingOptions, tilingNote, withTileAdvice, type TilingFlags } from '../options.js';

interface DownscaleOptions extends TilingFlags {
  format?: LrFormat;
  quality?: number;
  effort?: 'fast' | 'max';
  model?: string;
  scale?: string;
  refine: number;
  maxSize?: number;
  maxBpp?: number;
  force?: boolean;
}

/**
 * `irn downscale --model <dir|preset> [--scale 2|4] [--format png|webp|jpeg|avif] [--quality Q | --max-size S | --max-bpp R]
 * [--effort fast|max] [--refine N] [--tile px] [--overlap px] [--verbose] [--force] <input> <output>`. The format defaults to the output file's
 * extension (`.png`, `.webp`, `.jpg`, `.jpeg`, `.avif`), else PNG; an output file must carry its
 * format's extension (no other, none missing), refused before any work otherwise; in a
 * directory, outputs are named `<name>.png` / `<name>.webp` / `<name>.jpg` / `<name>.avif`. The model defaults to `irn-x2-<codec>` for a lossy format
 * when that preset exists, else `irn-x2` (`--scale 4`: `irn-x4`, `irn-x4-<codec>`); a decoder preset (metadata `encoder`) makes its LRs
 * with its encoder preset's forward pass. The LR metadata names the chosen preset (`model`).
 * `--max-size` / `--max-bpp` give each lossy LR a byte budget instead of a quality: the highest
 * quality whose file (metadata included) fits (core's fitQuality). `--refine` of a JPEG or AVIF LR
 * keeps the refined LR only where, coded within the plain LR's bytes (or the budget), it restores
 * better than the plain LR.
 */
export function registerDownscale(program: Command, ctx: CliContext): void {
  const command = program
    .command('downscale')
    .description(
      'downscale PNG, JPEG, WebP or AVIF photos with IRN: 8-bit RGB(A) LR images 1/scale the size, which record the original size for upscale',
    )
    .option(
      '-m, --model <dir>',
      'directory of an IRN model made by "irn convert", or a preset name (default: weights/irn-x2, the shipped x2 preset); without it, a lossy format uses the presets made for it (avif: irn-x2-avif-v2; jpeg: irn-x2-jpeg up to quality 89, irn-x2-jpeg-q90 from 90 to 97, irn-x2 above), and each LR names the preset that restores it',
    )
    .addOption(
      new Option('--scale <n>', 'downscaling factor: picks the preset irn-x<n> without --model (for a lossy format, the irn-x<n>-<format>* presets made for it, each LR naming its own); with --model, checks that the model has this scale (default: 2)').choices(['2', '4']),
    );
  addForceOption(addTilingOptions(command))
    .addOption(
      new Option('--format <format>', 'file format of the LR images: png or webp (lossless; webp is smaller), jpeg or avif (lossy; see --quality; avif is smaller at the same quality, slower to encode); default: from the output file\'s extension (which must name the format: .png, .webp, .jpg or .jpeg, .avif), png for a folder').choices(LR_FORMATS),
    )
    .option('--quality <q>', `quality of the lossy formats: jpeg 1 to 100 (default ${DEFAULT_QUALITY}), avif 0 to 100 (default ${DEFAULT_AVIF_QUALITY})`, parseQuality)
    .addOption(
      new Option(
        '--effort <effort>',
        'png, webp and avif: how hard the encoder searches, max or fast (default: max for png; fast for webp, whose max takes tens of seconds per LR for files 0-2 % smaller; fast for avif, whose max encodes about 9x slower and restores about 0.3 dB better at the same bytes); jpeg has one setting',
      ).choices(['fast', 'max']),
    )
    .option('--max-size <size>', 'jpeg or avif: instead of --quality, the highest quality whose LR file is at most this size (e.g. 30000, 30k, 30KiB, 1.5M)', parseSize)
    .option('--max-bpp <bits>', 'jpeg or avif: the same, the budget in bits per pixel of the full-size photo (the unit of the README and bench:rd; above 0, at most 48; e.g. 0.3); not with --max-size', parseBpp)
    .option(
      '--refine <steps>',
      'refine the LR for the upscaler and the chosen format and quality, by N gradient steps on the whole image (slow: seconds per step per megapixel; never worse; jpeg and avif: the refined LR is kept only where it restores better within the plain LR\'s bytes; 0, the default)',
      parseSteps,
      0,
    )
    .argument('<input>', 'a PNG, JPEG, WebP or AVIF photo, or a directory: every *.png, *.jpg, *.jpeg, *.webp and *.avif in it')
    .argument('<output>', 'the LR image file, or a directory for the LR images (same names, extension of the format)')
    .action(async (input: string, output: string, opts: DownscaleOptions) => {
      const out = ctx.out();
      const format: LrFormat = opts.format ?? FORMAT_OF_EXTENSION[extname(output).toLowerCase()] ?? 'png';
      // Lossless formats (PNG, WebP as written here) keep the lossless preset; a lossy one takes its decoder preset if shipped.
      const scale = opts.scale == null ? undefined : Number(opts.scale);
      const fallback = defaultDownscalePreset(format === 'png' || format === 'webp' ? undefined : format, scale ?? 2);
      // A scale asked for must not quietly fall back to the x2 preset.
      if (opts.model == null && scale != null && findPreset(fallback) == null) {
        throw new CliError(`--scale ${scale}: the preset ${fallback} is not installed (looked in ${presetRoots().join(', ')}); pass --model`);
      }
      const choice = await chooseModel(opts.model, fallback);
      if (opts.quality != null && format !== 'jpeg' && format !== 'avif') throw new UsageError(`--quality only applies to --format jpeg or avif (${format} is lossless)`);
      if (opts.quality === 0 && format === 'jpeg') throw new UsageError('the JPEG quality must be from 1 to 100 (0 is for avif)');
      const budgeted = opts.maxSize != null || opts.maxBpp != null;
      if (budgeted && format !== 'jpeg' && format !== 'avif') throw new UsageError(`--max-size and --max-bpp only apply to --format jpeg or avif (${format} is lossless)`);
      if (budgeted && opts.quality != null) throw new UsageError('give --quality or a budget (--max-size, --max-bpp), not both');
      if (opts.maxSize != null && opts.maxBpp != null) throw new UsageError('give one budget: --max-size or --max-bpp, not both');
      // MozJPEG runs at one setting here (core's lrEncoderOptions): an --effort would change nothing.
      if (opts.effort != null && format === 'jpeg') throw new UsageError('--effort does not apply to jpeg (it is for png, webp and avif)');
      // a.png keeps its name as a PNG LR; a.jpg (a.webp, a.avif) becomes a.png, a.webp, a.jpg or a.avif by the format.
      const outputName = (name: string) =>
        format === 'png' && /\.png$/i.test(name) ? name : `${name.replace(/\.(png|jpe?g|webp|avif)$/i, '')}${LR_EXTENSIONS[format]}`;
      const { jobs, directory } = await planJobs(input, output, {
        outputName,
        extensions: PHOTO_EXTENSIONS,
        onSkip: skipNote(ctx.out()),
        force: opts.force,
        modelFiles: await modelInputs([choice.dir]),
        checkOutputName: (file) => checkLrName(file, format, opts.format != null),
      });
      await ctx.backend();
      // TensorFlow.js loads only now (see CliContext.backend).
      const { loadDownscaleModels } = await import('../model-choice.js');
      const { downscaleImage } = await import('@irn/core');
      const { receptiveField } = await import('@irn/core');
      const { withPeakMemory } = await import('@irn/core');
      const { decodeLr, encodeLr } = await import('../../image/lr-codecs.js');
      const { refineLr, jpegProxy } = await import('@irn/core');
      // `model` makes the LR; `models.atQuality(q).restorer()` restores it (the same model, unless
      // the chosen one is a decoder preset with an encoder: then the decoder for quality q).
      // Without --model, the default decoder's siblings by name (irn-x2-jpeg-q90 beside
      // irn-x2-jpeg) take the qualities they are for.
      const models = await loadDownscaleModels(choice, ctx.limits(), opts.model == null && choice.preset === fallback ? { family: fallback } : {});
      const { encoder: model } = models;
      if (scale != null && model.scale !== scale) {
        models.dispose();
        throw new CliError(`--scale ${scale}, but the model in ${choice.dir} is x${model.scale}`);
      }
      const overlap = opts.overlap ?? receptiveField(model.config);
      // The machine's memory bounds a pass on the cpu backend; the wasm heap's 4 GiB, smaller,
      // is applied by the rescale functions themselves.
      const memoryBudget = totalmem();
      try {
        await runJobs(out, jobs, directory, { doing: 'downscaling', done: 'downscaled' }, async (job) => {
          const img = await readPhoto(job.input, ctx.limits());
          let tiles = 1;
          const tiling = { tileSize: opts.tile, overlap, memoryBudget, onProgress: (p: { total: number }) => void (tiles = p.total) };
          const run = () => downscaleImage(model, img, tiling).catch((e: unknown) => Promise.reject(withTileAdvice(e)));
          const start = performance.now();
          const measured = opts.verbose ? await withPeakMemory(run) : { result: await run(), peakBytes: 0, startBytes: 0 };
          let lr = measured.result;
          // The LR names the model that restores it best at its quality (a decoder preset may be
          // for lower qualities only: above them, its encoder; DownscaleModels.atQuality). A
          // lossless LR counts as quality 100.
          const lossless = format === 'png' || format === 'webp';
          const atQuality = (q: number | undefined) => models.atQuality(lossless ? 100 : (q ?? (format === 'avif' ? DEFAULT_AVIF_QUALITY : DEFAULT_QUALITY)));
          const metadataAt = (q: number | undefined) => {
            const { lrModel } = atQuality(q);
            return { scale: model.scale, width: img.width, height: img.height, ...(lrModel != null ? { model: lrModel } : {}) };
          };
          const encodeAt = (x: typeof lr, quality: number | undefined) => encodeLr(x, { format, metadata: metadataAt(quality), quality, effort: opts.effort ?? (format === 'png' ? 'max' : 'fast') });
          // A byte budget: the bytes for this photo, and the highest quality whose file fits.
          const budget = opts.maxSize ?? (opts.maxBpp != null ? Math.floor((opts.maxBpp * img.width * img.height) / 8) : null);
          let quality = opts.quality;
          let file: Uint8Array | undefined;
          const lowest = format === 'jpeg' ? 1 : 0;
          const fit = async (x: typeof lr): Promise<void> => {
            const asked = opts.maxSize != null ? `--max-size ${budget} bytes` : `--max-bpp ${opts.maxBpp} (${budget} bytes for ${img.width}x${img.height})`;
            if (budget! < 1) throw new CliError(`${asked} is too small for any ${format} file`);
            const r = await fitQuality((q) => encodeAt(x, q), budget!, lowest, 100);
            if (!r.fits) throw new CliError(`${asked} is too small: the smallest ${format} LR (quality ${lowest}) is ${r.smallest} bytes`);
            quality = r.quality;
            file = r.file;
          };
          if (budget != null) await fit(lr);
          let refined = '';
          if (opts.refine > 0) {
            const lossy = format === 'jpeg' || format === 'avif';
            // What the browser will decode: the lossy format's round trip at a quality, or the stored pixels.
            const roundTripAt = (q: number | undefined) => async (x: typeof lr) => {
              const bytes = await encodeLr(x, { format, quality: q });
              return { image: (await decodeLr(bytes, ctx.limits())).image, bytes: bytes.length };
            };
            // JPEG has a differentiable stand-in (core's jpegProxy, MozJPEG as written here): its
            // gradient instead of the identity, and its bit estimate priced so that the file
            // keeps about its size (bench/refine.ts; the README, `downscale --refine`).
            const jpegQuality = quality ?? DEFAULT_QUALITY;
            const jpeg = format === 'jpeg' ? { gradientProxy: (x: Tensor4D) => jpegProxy(x, jpegQuality, { rounding: REFINE_JPEG_ROUNDING }), relativeRate: REFINE_JPEG_RELATIVE_RATE } : {};
            const result = await refineLr(await atQuality(quality).restorer(), img, lr, { steps: opts.refine, roundTrip: lossy ? roundTripAt(quality) : undefined, ...jpeg });
            const rate = result.initialBpp != null && result.bestBpp != null ? `, ${result.initialBpp.toFixed(3)} -> ${result.bestBpp.toFixed(3)} bpp` : '';
            refined = `, refined: ${result.initialPsnr.toFixed(2)} -> ${result.bestPsnr.toFixed(2)} dB RGB PSNR restored${rate} (best of ${opts.refine} steps: ${result.bestStep})`;
            if (!lossy) {
              lr = result.lr;
            } else if (result.bestStep > 0) {
              // A refined LR codes to another size, and more bytes buy quality without it. So it
              // competes at equal bytes: coded at the highest quality whose file is no bigger than
              // the plain LR's (or the budget), it is kept only if it restores better than the
              // plain LR does. (bench/refine.ts: straight through AVIF, the refined LR is 9-19 %
              // bigger at the same quality and 0.3-0.5 dB worse at equal bytes.)
              const plainFile = file ?? (await encodeAt(lr, quality));
              const cap = budget ?? plainFile.length;
              const fitted = await fitQuality((q) => encodeAt(result.lr, q), cap, lowest, 100);
              let verdict = `no quality of the refined LR fits in ${cap} bytes`;
              let kept = false;
              if (fitted.fits) {
                // Scored from the fitted file itself (steps 0 only measures), not coded again.
                const fittedFile = fitted.file;
                const check = await refineLr(await atQuality(fitted.quality).restorer(), img, result.lr, { steps: 0, roundTrip: async () => ({ image: (await decodeLr(fittedFile, ctx.limits())).image, bytes: fittedFile.length }) });
                kept = check.initialPsnr > result.initialPsnr;
                verdict = `at quality ${fitted.quality} within ${cap} bytes it restores ${check.initialPsnr.toFixed(2)} dB${kept ? '' : `, not above the plain LR's ${result.initialPsnr.toFixed(2)}`}`;
                if (kept) {
                  lr = result.lr;
                  quality = fitted.quality;
                }
              }
              file = kept && fitted.fits ? fitted.file : plainFile;
              refined += `; ${verdict}: ${kept ? 'the refined LR' : 'the plain LR'} written (${file.length} bytes)`;
            }
          }
          const seconds = (performance.now() - start) / 1000;
          file ??= await encodeAt(lr, quality);
          await writeFileAtomic(job.output, file, { replace: opts.force });
          const spent = budget != null ? `, ${format} quality ${quality}: ${file.length} bytes (${((8 * file.length) / (img.width * img.height)).toFixed(3)} bpp, budget ${budget})` : '';
          const note = opts.verbose ? tilingNote(tiles, opts.tile, overlap, measured.peakBytes, measured.startBytes) : '';
          return `${img.width}x${img.height} -> ${lr.width}x${lr.height} in ${seconds.toFixed(2)} s${spent}${refined}${note}`;
        });
      } finally {
        models.dispose();
      }
    });
}

/** The LR format each extension of an output file names. */
const FORMAT_OF_EXTENSION: Record<string, LrFormat> = { '.png': 'png', '.webp': 'webp', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.avif': 'avif' };

/**
 * Refuses an output file name whose extension is not `format`'s (`--format jpeg` into
 * `o.png`, `o.tif`, `o`): the file would hold another format than its name says, which
 * viewers, servers (by extension) and `irn upscale`'s folder runs trust. `explicit`: the
 * format came from `--format`, not from the name.
 * @throws UsageError saying which name to give.
 */
function checkLrName(file: string, format: LrFormat, explicit: boolean): void {
  const ext = extname(file);
  const named = FORMAT_OF_EXTENSION[ext.toLowerCase()];
  if (named === format) return;
  const stem = ext === '' ? file : file.slice(0, -ext.length);
  const fix = `${stem}${LR_EXTENSIONS[format]}`;
  if (ext === '') throw new UsageError(`the output ${file} has no extension: name the file ${fix} (a ${format} LR), or ${file}/ for a folder`);
  if (named != null) throw new UsageError(`--format ${format} writes a ${format} file, but the output ${file} is named as ${named}: name it ${fix}, or leave out --format`);
  const which = explicit ? fix : `${stem}.png, .webp, .jpg (.jpeg) or .avif`;
  throw new UsageError(`the output ${file} ends in ${ext}, not an LR format irn writes: name it ${which}`);
}

/** The JPEG quality unless told (lr-codecs' DEFAULT_JPEG_QUALITY, not imported: that module loads lazily). */
const DEFAULT_QUALITY = 90;

/**
 * `--refine` of a JPEG LR: the stand-in's rounding and the rate's weight relative to the plain
 * LR (refineLr's relativeRate: about the slope of a JPEG quality sweep, so a step is kept
 * where it beats turning the quality up), chosen by bench/refine.ts (bench/README.md,
 * "`bench/refine.ts`"): at quality 90, +0.25 dB for 4 % more bytes; at 50, +0.04 dB for 2 %.
 */
const REFINE_JPEG_ROUNDING = 'cubic';
const REFINE_JPEG_RELATIVE_RATE = 0.5;

/** The AVIF quality unless told (lr-codecs' DEFAULT_AVIF_QUALITY, not imported for the same reason). */
const DEFAULT_AVIF_QUALITY = 60;

/** Parses `--quality`: a whole number from 0 to 100 (the action refuses 0 for JPEG, whose scale starts at 1). */
function parseQuality(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 100) throw new InvalidArgumentError('The quality must be a whole number from 0 to 100 (jpeg: 1 to 100).');
  return n;
}

/** Parses `--max-size`: bytes, with k/kB/KiB/M/MB/MiB (core's parseByteSize). */
function parseSize(value: string): number {
  try {
    return parseByteSize(value);
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
}

/** Parses `--max-bpp`: bits per full-size pixel, a number > 0 and at most 48 (16-bit RGB). */
function parseBpp(value: string): number {
  const n = Number(value);
  if (!/^\s*\d*\.?\d+\s*$/.test(value) || !(n > 0 && n <= 48)) throw new InvalidArgumentError('The budget must be a number of bits per pixel above 0 and at most 48 (16-bit RGB), e.g. 0.3.');
  return n;
}

/** Parses `--refine`: a whole number of steps from 0 to 1000. */
function parseSteps(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 1000) throw new InvalidArgumentError('The number of refinement steps must be a whole number from 0 to 1000.');
  return n;
}
