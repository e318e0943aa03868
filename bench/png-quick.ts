// PNG writers for a restored image that is only shown (`<irn-image>`, an upscale asked for a
// 'blob'): encodePng (adaptive filters, zlib level 9 through pako) against encodePngQuick (one
// row filter, fflate) at several settings, on whole photos, as the restored images are.
//   pnpm bench:png-quick [--data ../shared/datasets/eval/kodak24] [--reps 3]
// Prints bits per pixel (mean), milliseconds per image (the fastest of --reps runs of each
// writer on each photo, the writers interleaved in one process), the ratio of each to
// encodePng's time, and checks that every file decodes to the same pixels.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodePng } from '../packages/core/src/image/png.js';
import { encodePng } from '../packages/core/src/image/png-write.js';
import { encodePngQuick, PNG_QUICK_DEFAULTS, type PngQuickOptions } from '../packages/core/src/image/png-quick.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.IRN_EVAL_DATA ?? '../shared/datasets/eval/kodak24' },
    reps: { type: 'string', default: '3' },
  },
});
const reps = Number(args.reps);
const files = readdirSync(args.data).filter((f) => f.toLowerCase().endsWith('.png')).sort();
if (files.length === 0) throw new Error(`no PNG files in ${args.data}`);

const quick: PngQuickOptions[] = [
  { filter: 0, level: 0 },
  { filter: 0, level: 1 },
  { filter: 2, level: 1 },
  { filter: 'adaptive', level: 1 },
  { filter: 2, level: 2 },
  { filter: 'adaptive', level: 4 },
];
const name = (o: PngQuickOptions) => `encodePngQuick filter ${o.filter} level ${o.level}${o.filter === PNG_QUICK_DEFAULTS.filter && o.level === PNG_QUICK_DEFAULTS.level ? ' (default)' : ''}`;
const writers: [string, (img: Parameters<typeof encodePng>[0]) => Uint8Array][] = [
  ["encodePng 'fast' (pako)", (img) => encodePng(img)],
  ...quick.map((o): [string, (img: Parameters<typeof encodePng>[0]) => Uint8Array] => [name(o), (img) => encodePngQuick(img, o)]),
];
const bits = writers.map(() => 0);
const ms = writers.map(() => 0);
let pixels = 0;
for (const f of files) {
  const photo = decodePng(new Uint8Array(readFileSync(join(args.data, f))));
  pixels += photo.width * photo.height;
  const best = writers.map(() => Infinity);
  let reference: Float32Array | null = null;
  for (let r = 0; r < reps; r++) {
    writers.forEach(([label, write], i) => {
      const t = performance.now();
      const file = write(photo);
      best[i] = Math.min(best[i], performance.now() - t);
      if (r === 0) {
        bits[i] += file.length * 8;
        const back = decodePng(file).data;
        reference ??= back;
        if (back.length !== reference.length || back.some((v, k) => v !== reference![k])) throw new Error(`${label} on ${f}: other pixels than encodePng's`);
      }
    });
  }
  best.forEach((t, i) => (ms[i] += t));
}
console.log(`${files.length} photos of ${args.data}, ${(pixels / files.length / 1e6).toFixed(2)} MP each; the fastest of ${reps} runs per photo\n`);
console.log('| writer | bpp | ms per image | time vs encodePng |');
console.log('|---|---:|---:|---:|');
writers.forEach(([label], i) => {
  console.log(`| ${label} | ${(bits[i] / pixels).toFixed(3)} | ${(ms[i] / files.length).toFixed(1)} | ${(ms[i] / ms[0]).toFixed(2)}x |`);
});
