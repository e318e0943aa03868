import type { Command } from 'commander';
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { IrnModel } from '@irn/core';
import type { CliContext } from '../context.js';
import { failure, oneLine } from '../errors.js';
import { formatBytes, formatCount } from '../format.js';
import { modelDirectory } from '../model-path.js';

/**
 * The files of a saved model: model.json and the weight files it names, with sizes. model.json
 * is read as core's loader reads it, after the model loaded; should it have changed since,
 * the error names the file and never quotes it (it may be anything a link points at).
 */
async function modelFiles(dir: string): Promise<{ name: string; bytes: number }[]> {
  const { readModelWeightPaths } = await import('@irn/core/node');
  const paths = await readModelWeightPaths(dir).catch((e: unknown) => {
    throw failure(oneLine(e), e);
  });
  const names = ['model.json', ...paths];
  return Promise.all(names.map(async (name) => ({ name, bytes: (await stat(join(dir, name))).size })));
}

function describe(model: IrnModel, dir: string, files: { name: string; bytes: number }[]) {
  const { scale, blocks, growth, clamp } = model.config;
  return {
    model: resolve(dir),
    scale,
    levels: model.levels,
    blocks,
    growth,
    clamp,
    zChannels: model.zChannels,
    params: model.countParams(),
    source: model.source ?? null,
    // Lossy decoders only: the preset whose forward makes the LRs it restores, and their codec.
    encoder: model.encoder ?? null,
    lrCodec: model.lrCodec ?? null,
    lrQualityMax: model.lrQualityMax ?? null,
    lrQualityMin: model.lrQualityMin ?? null,
    files,
    totalBytes: files.reduce((n, f) => n + f.bytes, 0),
  };
}

/** A decoder's codec qualities for `irn info`: `up to 89`, `90 to 97`, `from 90`. */
function qualityRange(min: number | null, max: number | null): string {
  if (min != null && max != null) return `${min} to ${max}`;
  return min != null ? `from ${min}` : `up to ${max}`;
}

/** `irn info --model <dir> [--json]`. */
export function registerInfo(program: Command, ctx: CliContext): void {
  program
    .command('info')
    .description('describe a converted IRN model: architecture, parameters, provenance, files')
    .option('-m, --model <dir>', 'directory of an IRN model, or a preset name (default: weights/irn-x2, the shipped x2 preset)')
    .option('--json', 'print JSON instead of text')
    .action(async (opts: { model?: string; json?: boolean }) => {
      const out = ctx.out();
      const dir = await modelDirectory(opts.model);
      await ctx.backend();
      // TensorFlow.js loads only now (see CliContext.backend).
      const { loadModel } = await import('../model-dir.js');
      const model = await loadModel(dir, ctx.limits());
      let d: ReturnType<typeof describe>;
      try {
        d = describe(model, dir, await modelFiles(dir));
      } finally {
        model.dispose();
      }
      if (opts.json) {
        // A line at a time: out.result keeps each to one line (JSON.stringify escapes a
        // newline inside a string, so the only ones here are its own).
        for (const line of JSON.stringify(d, null, 2).split('\n')) out.result(line);
        return;
      }
      const width = Math.max(...d.files.map((f) => f.name.length), 5);
      const lines = [
        `model       ${d.model}`,
        `scale       x${d.scale} (${d.levels} Haar level${d.levels > 1 ? 's' : ''}, z has ${d.zChannels} channels)`,
        `blocks      ${d.blocks} per level`,
        `growth      ${d.growth}`,
        `clamp       ${d.clamp}`,
        `params      ${formatCount(d.params)}`,
        `source      ${d.source ?? 'unknown'}`,
        ...(d.encoder != null ? [`encoder     ${d.encoder} (its forward pass makes the LRs this model restores)`] : []),
        ...(d.lrCodec != null ? [`lr codec    ${d.lrCodec} (trained to restore LRs in this format)`] : []),
        ...(d.lrQualityMax != null || d.lrQualityMin != null ? [`lr quality  ${qualityRange(d.lrQualityMin, d.lrQualityMax)} (irn downscale names another decoder or ${d.encoder ?? 'the encoder'} in LRs coded outside it)`] : []),
        `files`,
        ...d.files.map((f) => `  ${f.name.padEnd(width)}  ${formatBytes(f.bytes).padStart(8)}`),
        `  ${'total'.padEnd(width)}  ${formatBytes(d.totalBytes).padStart(8)}`,
      ];
      for (const line of lines) out.result(line);
    });
}
