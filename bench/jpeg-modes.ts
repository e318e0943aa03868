// MozJPEG's two ways to lay out a file, on the images a page sends: full photos, and x2 and x4
// thumbnails (the size of an IRN LR). `lrEncoderOptions('jpeg', q)` is progressive with
// MozJPEG's quantization table 3, whose largest entry passes 255 below quality 70: the file
// then carries 16-bit tables (128 bytes more) and several scans, each with its own header and
// Huffman tables. `baseline: true` (Squoosh's option) writes one scan and clamps the tables to
// 8 bits. Which is smaller depends on the image's size; this measures it, with the Y-PSNR of
// each against the image it codes (not a restore), and the BD-rate of baseline against
// progressive per size.
//
//   pnpm bench:jpeg-modes [folder] [--first N]     (default: Kodak24 in ../shared/datasets/eval)
//
// Results: bench/README.md ("JPEG: progressive or baseline"); why `irn downscale` and
// `pnpm bench:rd` keep the smaller of the two files (core's lrEncoderVariants).
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodePng, imresize, lrEncoderVariants, psnrY, type RasterImage } from '@irn/core';
import { bdPsnr, bdRate, type RdPoint } from './rd/bd.js';
import { decode, encodeRaw } from './rd/codecs.js';
import { modCropRgb, toRaster, toRgba } from './rd/images.js';

const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const { values: args, positionals } = parseArgs({ options: { first: { type: 'string' } }, allowPositionals: true });
const dir = positionals[0] ?? join(root, '../shared/datasets/eval/kodak24');
let files = readdirSync(dir).filter((f) => f.endsWith('.png')).sort();
if (args.first != null) files = files.slice(0, Number(args.first));
if (files.length === 0) throw new Error(`no PNG photos in ${dir}`);

const QUALITIES = [5, 10, 20, 30, 40, 50, 60, 69, 70, 75, 85, 95];
const SIZES = [
  { name: 'full photo', scale: 1 },
  { name: 'x2 thumbnail', scale: 2 },
  { name: 'x4 thumbnail', scale: 4 },
] as const;
const MODES = ['progressive', 'baseline'] as const;

console.log(`${files.length} photos from ${dir}; MozJPEG (@jsquash/jpeg), core's lrEncoderVariants('jpeg', q); bpp per pixel of the full photo`);
for (const size of SIZES) {
  // sum[mode][quality index]: mean bpp and Y-PSNR; wins: photos where baseline is smaller.
  const sum = MODES.map(() => QUALITIES.map(() => ({ rate: 0, quality: 0 })));
  const baselineSmaller = QUALITIES.map(() => 0);
  let heading = '';
  for (const f of files) {
    const photo = modCropRgb(decodePng(readFileSync(join(dir, f))) as RasterImage, 4);
    const img = size.scale === 1 ? photo : imresize(photo, photo.width / size.scale, photo.height / size.scale);
    if (f === files[0]) heading = ` (${img.width}x${img.height} for ${f})`;
    const rgba = toRgba(img);
    for (let i = 0; i < QUALITIES.length; i++) {
      const variants = lrEncoderVariants('jpeg', QUALITIES[i]);
      if (variants.length !== 2 || variants[1].baseline !== true) throw new Error('lrEncoderVariants(jpeg) is no longer [progressive, baseline]: update this script');
      const bytes: number[] = [];
      for (let k = 0; k < 2; k++) {
        const file = await encodeRaw(rgba, 'jpeg', variants[k]);
        const back = toRaster(await decode(file, 'jpeg', img.width, img.height));
        sum[k][i].rate += (file.length * 8) / (photo.width * photo.height) / files.length;
        sum[k][i].quality += psnrY(back, img) / files.length;
        bytes.push(file.length);
      }
      if (bytes[1] < bytes[0]) baselineSmaller[i]++;
    }
  }
  console.log(`\n${size.name}${heading}:\n`);
  console.log('| quality | progressive bpp | dB | baseline bpp | dB | baseline bytes | baseline smaller on |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  for (let i = 0; i < QUALITIES.length; i++) {
    const [p, b] = [sum[0][i], sum[1][i]];
    const d = 100 * (b.rate / p.rate - 1);
    console.log(`| ${QUALITIES[i]} | ${p.rate.toFixed(4)} | ${p.quality.toFixed(2)} | ${b.rate.toFixed(4)} | ${b.quality.toFixed(2)} | ${d >= 0 ? '+' : ''}${d.toFixed(1)} % | ${baselineSmaller[i]} of ${files.length} |`);
  }
  const below = (k: number): RdPoint[] => sum[k].filter((_, i) => QUALITIES[i] < 70);
  const above = (k: number): RdPoint[] => sum[k].filter((_, i) => QUALITIES[i] >= 70);
  const fmt = (x: number | null, pct = false) => (x == null ? 'n/a' : pct ? `${(100 * x).toFixed(1)} %` : `${x.toFixed(3)} dB`);
  console.log(`\nbaseline against progressive, qualities 5-69: BD-rate ${fmt(bdRate(below(0), below(1)), true)}, BD-PSNR ${fmt(bdPsnr(below(0), below(1)))}; 70-95: BD-rate ${fmt(bdRate(above(0), above(1)), true)}, BD-PSNR ${fmt(bdPsnr(above(0), above(1)))}`);
}
