// Lossless LR file size: bits per full-size pixel of IRN's LR images written by each PNG
// writer, next to OptiPNG and lossless WebP (cwebp) when they are on the PATH (bench/README.md).
//   node --import tsx bench/png-size.ts [--data ../shared/datasets/eval/kodak24] [--models weights/irn-x2,weights/irn-x4]
// Downscales every PNG in --data with each model on wasm (single-threaded in Node), then
// writes each LR with fast-png (the writer before this bench), with encodePngSamples 'fast'
// and 'max', as lossless WebP by encodeLr (what `irn downscale --format webp` writes: libwebp
// through @jsquash/webp, with the XMP metadata), and with the external tools. Prints a
// Markdown table and the time per writer.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode } from 'fast-png';
import { IrnModel, decodePng, downscaleImage } from '../packages/core/src/index.js';
import { encodePngSamples, type PngEffort } from '../packages/core/src/image/png-encode.js';
import { encodeLr } from '../packages/cli/src/image/lr-codecs.js';
import { fileSystem, useNodeBackend } from '../packages/core/src/node.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: '../shared/datasets/eval/kodak24' },
    models: { type: 'string', default: 'weights/irn-x2,weights/irn-x4' },
  },
});

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

await useNodeBackend('wasm');
const files = readdirSync(args.data).filter((f) => f.toLowerCase().endsWith('.png')).sort();
const limit = Number(process.env.PNG_SIZE_FILES ?? files.length);
files.splice(limit);
if (files.length === 0) throw new Error(`no PNG files in ${args.data}`);
const tools = { optipng: onPath('optipng'), cwebp: onPath('cwebp') };
const scratch = mkdtempSync(join(tmpdir(), 'png-size-'));

console.log(`| model | writer | bpp (mean of ${files.length}) | vs fast-png | ms per LR |`);
console.log('|---|---|---|---|---|');
try {
  for (const dir of args.models.split(',')) {
    const model = await IrnModel.load(fileSystem(dir));
    const bits: Record<string, number[]> = {};
    const ms: Record<string, number> = {};
    const add = (writer: string, bytes: number, pixels: number, t: number) => {
      (bits[writer] ??= []).push((bytes * 8) / pixels);
      ms[writer] = (ms[writer] ?? 0) + t;
    };
    for (const f of files) {
      const photo = decodePng(new Uint8Array(readFileSync(join(args.data, f))));
      const pixels = photo.width * photo.height;
      const lr = await downscaleImage(model, photo);
      const samples = new Uint8Array(lr.data.length);
      for (let i = 0; i < samples.length; i++) samples[i] = Math.round(Math.min(1, Math.max(0, lr.data[i])) * 255);
      const img = { width: lr.width, height: lr.height, channels: lr.channels as 3, depth: 8 as const, data: samples };
      let t = performance.now();
      const plain = encode({ ...img });
      add('fast-png 8.0.0 (level 3, no filter)', plain.length, pixels, performance.now() - t);
      for (const effort of ['fast', 'max'] as PngEffort[]) {
        t = performance.now();
        const png = encodePngSamples(img, [], effort);
        add(`encodePngSamples '${effort}'`, png.length, pixels, performance.now() - t);
        if (effort === 'max') writeFileSync(join(scratch, 'lr.png'), png);
      }
      t = performance.now();
      const webp = await encodeLr(lr, { format: 'webp', metadata: { scale: model.scale, width: photo.width, height: photo.height } });
      add("encodeLr 'webp' (@jsquash/webp 1.5.0, + XMP)", webp.length, pixels, performance.now() - t);
      if (tools.optipng) {
        t = performance.now();
        execFileSync('optipng', ['-quiet', '-o7', '-out', join(scratch, 'opt.png'), '-force', join(scratch, 'lr.png')]);
        add('optipng -o7', statSync(join(scratch, 'opt.png')).size, pixels, performance.now() - t);
        rmSync(join(scratch, 'opt.png'));
      }
      if (tools.cwebp) {
        t = performance.now();
        execFileSync('cwebp', ['-quiet', '-lossless', '-z', '9', join(scratch, 'lr.png'), '-o', join(scratch, 'lr.webp')]);
        add('cwebp -lossless -z 9', statSync(join(scratch, 'lr.webp')).size, pixels, performance.now() - t);
      }
    }
    model.dispose();
    const base = mean(bits['fast-png 8.0.0 (level 3, no filter)']);
    for (const [writer, values] of Object.entries(bits)) {
      const m = mean(values);
      console.log(`| ${dir} | ${writer} | ${m.toFixed(3)} | ${(m / base).toFixed(3)}x | ${(ms[writer] / files.length).toFixed(0)} |`);
    }
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

function mean(values: number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}
