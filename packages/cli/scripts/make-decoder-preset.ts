/**
 * Writes a decoder trained by train-decoder.ts as a preset folder under weights/: the model
 * with its `encoder` preset and `lrCodec` in the metadata (runs started before
 * train-decoder.ts recorded them lack them), with `--quality-max Q` the highest codec quality
 * it is for (`lrQualityMax`: `irn downscale` names the encoder above it), with `--quality-min Q`
 * the lowest (`lrQualityMin`: below it another decoder or the encoder), and its best.json. The weights are copied as
 * they are; PROVENANCE.md is written by hand, and `pnpm weights:manifest` afterwards.
 *
 *   node --import tsx packages/cli/scripts/make-decoder-preset.ts <best-folder> <weights/name> --encoder irn-x2 --codec jpeg [--quality-max 89] [--quality-min 0]
 */
import { copyFile, mkdir, readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { IrnModel, type LrCodec } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { encoder: { type: 'string' }, codec: { type: 'string' }, 'quality-max': { type: 'string' }, 'quality-min': { type: 'string' } },
});
const [from, to] = positionals;
if (from == null || to == null || args.encoder == null || args.codec == null) {
  throw new Error('usage: make-decoder-preset.ts <best-folder> <weights/name> --encoder <preset> --codec jpeg|webp|avif [--quality-max Q] [--quality-min Q]');
}
await useNodeBackend('cpu');
const model = await IrnModel.load(fileSystem(resolve(from)));
model.encoder = args.encoder;
model.lrCodec = args.codec as LrCodec;
if (args['quality-max'] != null) model.lrQualityMax = Number(args['quality-max']);
if (args['quality-min'] != null) model.lrQualityMin = Number(args['quality-min']);
await mkdir(resolve(to), { recursive: true });
if ((await readdir(resolve(to))).length > 0) throw new Error(`${to} is not empty; not overwriting a preset`);
await model.save(fileSystem(resolve(to)));
await copyFile(join(resolve(from), 'best.json'), join(resolve(to), 'best.json'));
console.log(`${to}: x${model.scale}, ${model.countParams()} weights, encoder ${model.encoder}, lrCodec ${model.lrCodec}${model.lrQualityMin != null ? `, qualities from ${model.lrQualityMin}` : ''}${model.lrQualityMax != null ? `, qualities up to ${model.lrQualityMax}` : ''}, source "${model.source ?? ''}"`);
