// Tiled rescaling: peak tensor memory and time against image size and tile size, and what
// each overlap setting costs in PSNR against the untiled result (bench/README.md).
//   node --import tsx bench/tiling.ts [--model weights/irn-x2] [--skip-16mp] [--skip-published]
// Runs on the wasm backend (single-threaded in Node). Prints Markdown tables.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import {
  DEFAULT_TILE_SIZE,
  IrnModel,
  decodePng,
  downscaleImage,
  receptiveField,
  upscaleImage,
  type RasterImage,
  type TileOptions,
} from '../packages/core/src/index.js';
import { fileSystem, useNodeBackend } from '../packages/core/src/node.js';
import { perturbWeights } from '../packages/core/src/testing/perturb.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'weights/irn-x2' },
    samples: { type: 'string', default: 'samples' },
    'skip-16mp': { type: 'boolean', default: false },
    'skip-published': { type: 'boolean', default: false },
  },
});

/** Tile side for the overlap table: small enough that the sample photos have several seams. */
const PHOTO_TILE = 64;
/** The 1 MP and 16 MP images: the largest sample photo mirrored out to the size. */
const SIZES = [
  { name: '1 MP', width: 1000, height: 1000 },
  { name: '16 MP', width: 4000, height: 4000 },
];

/** PSNR cost of each overlap on the sample photos, and its time on 1 MP at the default tile. */
async function overlapTable(): Promise<void> {
  const overlaps = [...new Set([0, 8, 16, 32, 64, rf])].sort((a, b) => a - b);
  const exact = await Promise.all(photos.map(async ({ image }) => {
    const lr = await downscaleImage(model, image, { tileSize: 0 });
    const hr = await upscaleImage(model, lr, { tileSize: 0, width: image.width, height: image.height });
    return { lr, hr };
  }));
  const big = mirrored(source.image, SIZES[0].width, SIZES[0].height);
  const untiled = await timeRoundTrip(big, { tileSize: 0 });
  const rows: string[][] = [];
  for (const overlap of overlaps) {
    const lrDiff = new Diff8();
    const hrDiff = new Diff8();
    for (const [i, { image }] of photos.entries()) {
      const tiling = { tileSize: PHOTO_TILE, overlap };
      lrDiff.add((await downscaleImage(model, image, tiling)).data, exact[i].lr.data);
      // From the untiled LR, so that the column shows the upscale's own seams only.
      const hr = await upscaleImage(model, exact[i].lr, { ...tiling, width: image.width, height: image.height });
      hrDiff.add(hr.data, exact[i].hr.data);
    }
    const t = await timeRoundTrip(big, { tileSize: DEFAULT_TILE_SIZE, overlap });
    rows.push([
      `${overlap}${overlap >= rf ? ' (exact)' : ''}`,
      lrDiff.psnr(),
      lrDiff.changed(),
      hrDiff.psnr(),
      hrDiff.changed(),
      `${hrDiff.maxLevels}`,
      `${t.down.toFixed(1)} + ${t.up.toFixed(1)}`,
      `${((t.down + t.up) / (untiled.down + untiled.up)).toFixed(2)}x`,
    ]);
  }
  console.log(`## Overlap: cost against the untiled result (8-bit values)\n`);
  console.log(`PSNR and changed values over ${photos.map((p) => p.name).join(', ')} with ${PHOTO_TILE}-px tiles (LR: downscaled tiled; HR: upscaled tiled from the untiled LR, z = 0).`);
  console.log(`Time: CPU seconds to downscale + upscale a 1 MP photo with ${DEFAULT_TILE_SIZE}-px tiles; untiled ${untiled.down.toFixed(1)} + ${untiled.up.toFixed(1)} s.\n`);
  printTable(['overlap (LR px)', 'LR PSNR dB', 'LR values changed', 'HR PSNR dB', 'HR values changed', 'HR max diff (levels)', '1 MP CPU s (down + up)', 'vs untiled'], rows);
}

/** Peak memory and time on 1 MP for several tile sizes at the default overlap. */
async function tileSizeTable(): Promise<void> {
  const big = mirrored(source.image, SIZES[0].width, SIZES[0].height);
  const rows: string[][] = [];
  for (const tileSize of [64, 128, 256, 512, 0]) {
    const m = await measure(big, { tileSize });
    rows.push([tileSize === 0 ? '0 (whole image)' : `${tileSize}`, `${m.tiles}`, mb(m.downPeak), mb(m.upPeak), m.down.toFixed(1), m.up.toFixed(1)]);
  }
  console.log(`## Tile size: 1 MP (${SIZES[0].width}x${SIZES[0].height}), overlap ${rf} (exact)\n`);
  console.log(`Peak: tf.profile's peakBytes (the engine's byte count after every kernel) minus the model's weights (${mb(weightBytes())} MB). Time: CPU seconds.\n`);
  printTable(['tile (LR px)', 'tiles', 'peak down MB', 'peak up MB', 'down CPU s', 'up CPU s'], rows);
}

/** Peak memory and time for 1 MP and 16 MP at the default settings. */
async function imageSizeTable(): Promise<void> {
  const rows: string[][] = [];
  for (const { name, width, height } of SIZES) {
    if (name === '16 MP' && args['skip-16mp']) continue;
    const m = await measure(mirrored(source.image, width, height), {});
    rows.push([`${name} (${width}x${height})`, `${m.tiles}`, mb(m.downPeak), mb(m.upPeak), m.down.toFixed(1), m.up.toFixed(1), m.wall.toFixed(1)]);
  }
  console.log(`## Image size: default tile ${DEFAULT_TILE_SIZE}, overlap ${rf} (exact)\n`);
  printTable(['image', 'tiles', 'peak down MB', 'peak up MB', 'down CPU s', 'up CPU s', 'wall s (both)'], rows);
}

/**
 * Peak memory of one inner tile of the default size for the published x2 architecture
 * (8 blocks, growth 32; perturbed weights: memory and time do not depend on their values),
 * measured on an image exactly one tile's crop in size.
 */
async function publishedTileTable(): Promise<void> {
  const published = IrnModel.create({ scale: 2, blocks: 8, growth: 32, seed: 1 });
  tf.tidy(() => void published.forward(tf.zeros([1, 2, 2, 3])));
  perturbWeights(published.flow.trainableWeights, 1, 0.02);
  const prf = receptiveField(published.config);
  const side = DEFAULT_TILE_SIZE + 2 * prf;
  const m = await measure(mirrored(source.image, 2 * side, 2 * side), { tileSize: 0 }, published);
  published.dispose();
  console.log(`## Published x2 architecture: one ${DEFAULT_TILE_SIZE}-px tile with overlap ${prf} (${side}x${side} LR px computed)\n`);
  printTable(['model', 'peak down MB', 'peak up MB', 'down CPU s', 'up CPU s'], [
    ['x2, 8 blocks, growth 32 (1,667,952 weights)', mb(m.downPeak), mb(m.upPeak), m.down.toFixed(1), m.up.toFixed(1)],
  ]);
}

/** Downscale and upscale `image` under tf.profile: peak tensor bytes above the weights, and seconds. */
async function measure(image: RasterImage, tiling: TileOptions, net: IrnModel = model) {
  let tiles = 1;
  const onProgress = (p: { total: number }) => void (tiles = p.total);
  let lr: RasterImage | undefined;
  const down = await timed(() =>
    tf.profile(async () => {
      lr = await downscaleImage(net, image, { ...tiling, onProgress });
      return [];
    }),
  );
  const up = await timed(() =>
    tf.profile(async () => {
      await upscaleImage(net, lr!, { ...tiling, width: image.width, height: image.height });
      return [];
    }),
  );
  const base = weightBytes(net);
  return {
    tiles,
    downPeak: down.result.peakBytes - base,
    upPeak: up.result.peakBytes - base,
    down: down.cpu,
    up: up.cpu,
    wall: down.wall + up.wall,
  };
}

async function timeRoundTrip(image: RasterImage, tiling: TileOptions): Promise<{ down: number; up: number }> {
  const down = await timed(() => downscaleImage(model, image, tiling));
  const up = await timed(() => upscaleImage(model, down.result, { ...tiling, width: image.width, height: image.height }));
  return { down: down.cpu, up: up.cpu };
}

/**
 * Runs `run` and measures this process's CPU seconds (user + system) and wall seconds. The
 * wasm backend runs on one thread, so CPU time is the compute time, and unlike wall time it
 * hardly changes when other processes share the cores.
 */
async function timed<T>(run: () => Promise<T>): Promise<{ result: T; cpu: number; wall: number }> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await run();
  const cpu = process.cpuUsage(cpu0);
  return { result, cpu: (cpu.user + cpu.system) / 1e6, wall: (performance.now() - t0) / 1000 };
}

function weightBytes(net: IrnModel = model): number {
  return net.flow.weights.reduce((n, w) => n + tf.util.sizeFromShape(w.shape as number[]) * 4, 0);
}

/** Squared error on the 8-bit scale over several image pairs. */
class Diff8 {
  private se = 0;
  private n = 0;
  private differing = 0;
  maxLevels = 0;
  add(a: Float32Array, b: Float32Array): void {
    for (let i = 0; i < a.length; i++) {
      const d = Math.abs(Math.round(a[i] * 255) - Math.round(b[i] * 255));
      this.se += d * d;
      if (d > 0) this.differing++;
      this.maxLevels = Math.max(this.maxLevels, d);
    }
    this.n += a.length;
  }
  psnr(): string {
    return this.se === 0 ? 'identical' : (10 * Math.log10((255 * 255 * this.n) / this.se)).toFixed(1);
  }
  changed(): string {
    return this.differing === 0 ? '0' : `${this.differing} (${((100 * this.differing) / this.n).toFixed(3)} %)`;
  }
}

/** `image` (RGB) mirrored out to `width x height`, so that a real photo fills any size. */
function mirrored(image: RasterImage, width: number, height: number): RasterImage {
  const c = image.channels;
  const data = new Float32Array(width * height * 3);
  const fold = (i: number, n: number) => {
    const p = i % (2 * n);
    return p < n ? p : 2 * n - 1 - p;
  };
  for (let y = 0; y < height; y++) {
    const sy = fold(y, image.height);
    for (let x = 0; x < width; x++) {
      const s = (sy * image.width + fold(x, image.width)) * c;
      const d = (y * width + x) * 3;
      for (let k = 0; k < 3; k++) data[d + k] = image.data[s + (c >= 3 ? k : 0)];
    }
  }
  return { width, height, channels: 3, data };
}

/** The trained x2 model if it loads, else a 4-block growth-16 x2 model with perturbed weights. */
async function loadModel(dir: string): Promise<{ model: IrnModel; modelNote: string }> {
  if (existsSync(join(dir, 'model.json'))) {
    try {
      const loaded = await IrnModel.load(fileSystem(dir));
      const c = loaded.config;
      const saved = statSync(join(dir, 'model.json')).mtime.toISOString().slice(0, 16);
      return { model: loaded, modelNote: `${dir} (x${c.scale}, ${c.blocks} blocks, growth ${c.growth}; saved ${saved}Z)` };
    } catch (e) {
      console.warn(`cannot load ${dir} (${(e as Error).message}); using a perturbed model`);
    }
  }
  const created = IrnModel.create({ scale: 2, blocks: 4, growth: 16, seed: 1 });
  tf.tidy(() => void created.forward(tf.zeros([1, 2, 2, 3])));
  perturbWeights(created.flow.trainableWeights, 1, 0.02);
  return { model: created, modelNote: 'IrnModel.create({ scale: 2, blocks: 4, growth: 16 }) with N(0, 0.02^2) weights' };
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

function printTable(head: string[], rows: string[][]): void {
  console.log(`| ${head.join(' | ')} |`);
  console.log(`|${head.map(() => '---').join('|')}|`);
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log('');
}

// Main, after the helpers above (classes must be defined before use).
await useNodeBackend('wasm');
const { model, modelNote } = await loadModel(args.model);
const rf = receptiveField(model.config);
const photos = readdirSync(args.samples)
  .filter((f) => f.endsWith('.png'))
  .sort()
  .map((f) => ({ name: f, image: decodePng(new Uint8Array(readFileSync(join(args.samples, f)))) as RasterImage }));
/** The largest sample, mirrored out to the 1 MP and 16 MP sizes. */
const source = photos.reduce((a, b) => (b.image.width * b.image.height > a.image.width * a.image.height ? b : a));

console.log(`# bench/tiling.ts, ${new Date().toISOString().slice(0, 10)}`);
console.log(`machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; Node ${process.version}; tfjs ${tf.version_core} ${tf.getBackend()} backend`);
console.log(`model: ${modelNote}; receptive field ${rf} LR px; default tile ${DEFAULT_TILE_SIZE} LR px; large images mirrored from ${source.name}\n`);

// Warm-up: the first run pays for wasm compilation and heap growth.
await downscaleImage(model, mirrored(source.image, 512, 512), { tileSize: 0 });

await overlapTable();
await tileSizeTable();
await imageSizeTable();
if (!args['skip-published']) await publishedTileTable();
model.dispose();
