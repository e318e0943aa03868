// The README's main command (`pnpm demo`): downscales the sample photos with the shipped
// IRN x2 model, restores them, and prints how close the restored photos are to the originals.
// Writes out/demo/<name>.lr.png (what a server would ship) and out/demo/<name>.png.
//   pnpm demo [--model weights/irn-x2] [--samples samples] [--out out/demo]
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, parse } from 'node:path';
import { parseArgs } from 'node:util';
import { IrnModel, decodePng, downscaleImage, encodePng, psnrY, ssimY, upscaleImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'weights/irn-x2' },
    samples: { type: 'string', default: 'samples' },
    out: { type: 'string', default: 'out/demo' },
  },
});

await useNodeBackend('wasm');
const model = await IrnModel.load(fileSystem(values.model));
console.log(`model ${values.model}: x${model.scale}, ${model.config.blocks} blocks, growth ${model.config.growth}, ${model.countParams().toLocaleString('en')} weights`);
await mkdir(values.out, { recursive: true });
const rows = [];
for (const file of (await readdir(values.samples)).filter((f) => f.endsWith('.png')).sort()) {
  const original = decodePng(new Uint8Array(await readFile(join(values.samples, file))));
  const t0 = performance.now();
  const lr = await downscaleImage(model, original);
  const t1 = performance.now();
  const restored = await upscaleImage(model, lr, { z: 'zeros', width: original.width, height: original.height });
  const t2 = performance.now();
  const lrPng = encodePng(lr);
  const name = parse(file).name;
  await writeFile(join(values.out, `${name}.lr.png`), lrPng);
  await writeFile(join(values.out, `${name}.png`), encodePng(restored));
  const metric = { shave: model.scale };
  rows.push({
    photo: file,
    size: `${original.width}x${original.height}`,
    'LR size': `${lr.width}x${lr.height}`,
    'LR PNG kB': (lrPng.length / 1024).toFixed(1),
    'PSNR-Y dB': psnrY(restored, original, metric).toFixed(2),
    'SSIM-Y': ssimY(restored, original, metric).toFixed(4),
    'down s': ((t1 - t0) / 1000).toFixed(2),
    'up s': ((t2 - t1) / 1000).toFixed(2),
  });
}
console.table(rows);
console.log(`restored photos and their LR PNGs are in ${values.out}/`);
model.dispose();
