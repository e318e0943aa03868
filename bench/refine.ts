// Encoder-side refinement (issue 13 item 5): what `refineLr` gains at the same codec and
// quality. For each photo, the IRN LR is encoded as JPEG or AVIF (or lossless WebP, PNG) at each quality, restored
// (z = 0) and scored; then the LR is refined for --steps steps through the same codec and
// scored again. Bits per full-size pixel and Y-PSNR (shave = scale) before and after.
//   node --import tsx bench/refine.ts [--data ../shared/datasets/eval/kodak24] [--first 4]
//        [--model weights/irn-x2] [--format jpeg|avif|webp|png] [--qualities 50,70,90 (jpeg, avif)] [--steps 10]
//        [--learning-rate 0.0039] [--crop 256 (centre crops, for quick tuning)]
//        [--gradient identity|proxy (jpegProxy's gradient instead of straight through; AVIF: with --proxy-quality Q)]
//        [--rounding ste|cubic|noise|none (the proxy's rounding, default ste)]
//        [--rate-weight W (with --gradient proxy: price the bits, mse + W * bpp; default 0)]
//        [--relative-rate K (instead: W = K * mse0 / bpp0 of each plain LR)]
// AVIF (libavif speed 6, 4:4:4, as `irn downscale --format avif` writes it) has no stand-in:
// its refinement goes straight through the real round trip, unpriced, as the CLI's does.
// Runs on wasm (single-threaded in Node); about 1.5 s per step for a Kodak photo at x2 here.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
// Through the built packages (as the CLI's codecs are), so that one copy of the layers is registered.
import { IrnModel, decodePng, fitQuality, jpegProxy, downscaleImage, psnrY, refineLr, ssimY, upscaleImage, type RasterImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { decodeLr, encodeLr } from '../packages/cli/src/image/lr-codecs.js';

const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: process.env.IRN_EVAL_DATA ?? '../shared/datasets/eval/kodak24' },
    first: { type: 'string', default: '4' },
    model: { type: 'string', default: 'weights/irn-x2' },
    format: { type: 'string', default: 'jpeg' },
    qualities: { type: 'string' },
    steps: { type: 'string', default: '10' },
    'learning-rate': { type: 'string', default: String(1 / 255) },
    crop: { type: 'string' },
    gradient: { type: 'string', default: 'identity' },
    rounding: { type: 'string', default: 'ste' },
    'rate-weight': { type: 'string', default: '0' },
    'relative-rate': { type: 'string', default: '0' },
    /** The JPEG stand-in's quality (default: the LR's quality; with --format avif, which has no stand-in of its own, required). */
    'proxy-quality': { type: 'string' },
  },
});
const format = args.format as 'jpeg' | 'avif' | 'webp' | 'png';
if (!['jpeg', 'avif', 'webp', 'png'].includes(format)) throw new Error(`--format must be jpeg, avif, webp or png, got ${args.format}`);
if (!['identity', 'proxy'].includes(args.gradient)) throw new Error(`--gradient must be identity or proxy, got ${args.gradient}`);
if (args.gradient === 'proxy' && format !== 'jpeg' && format !== 'avif') throw new Error('--gradient proxy needs --format jpeg or avif (the JPEG stand-in)');
if (args.gradient === 'proxy' && format === 'avif' && args['proxy-quality'] == null) throw new Error('--gradient proxy with --format avif needs --proxy-quality Q (the JPEG stand-in at Q stands in for AVIF)');
const proxyQuality = (q: number) => (args['proxy-quality'] != null ? Number(args['proxy-quality']) : q);
const rounding = args.rounding as 'ste' | 'cubic' | 'noise' | 'none';
const rateWeight = Number(args['rate-weight']);
const relativeRate = Number(args['relative-rate']);
if ((rateWeight > 0 || relativeRate > 0) && args.gradient !== 'proxy') throw new Error('--rate-weight and --relative-rate need --gradient proxy');
const learningRate = Number(args['learning-rate']);
const lossless = format === 'png' || format === 'webp';
if (lossless && args.qualities != null) throw new Error(`--qualities is for --format jpeg or avif; a ${format} LR has none`);
// A lossless LR is refined once (quality means nothing to its coder; shown as 100).
const qualities = lossless ? [100] : (args.qualities ?? '50,70,90').split(',').map(Number);
const steps = Number(args.steps);

await useNodeBackend('wasm');
const model = await IrnModel.load(fileSystem(args.model));
const s = model.scale;
const files = readdirSync(args.data).filter((f) => f.toLowerCase().endsWith('.png')).sort().slice(0, Number(args.first));
if (files.length === 0) throw new Error(`no PNG files in ${args.data}`);

const encode = (lr: RasterImage, quality: number) => encodeLr(lr, { format, quality, effort: 'fast' });
// [plain, refined at the same quality, refined at the highest quality whose file is no bigger than the plain one's (what --max-size does)]
const rows = qualities.map((q) => ({ q, bpp: [0, 0, 0], psnr: [0, 0, 0], ssim: [0, 0, 0], fitQ: [] as number[], seconds: 0 }));
const lossy = format === 'jpeg' || format === 'avif';
for (const f of files) {
  const full = decodePng(new Uint8Array(readFileSync(join(args.data, f))));
  const photo = args.crop === undefined ? full : centreCrop(full, Number(args.crop));
  const pixels = photo.width * photo.height;
  const lr = await downscaleImage(model, photo);
  for (const row of rows) {
    /** Scores `candidate` coded at the row's quality (or the file `given`) into column `k`; returns the file's size. */
    const score = async (candidate: RasterImage, k: 0 | 1 | 2, given?: Uint8Array): Promise<number> => {
      const bytes = given ?? (await encode(candidate, row.q));
      const restored = await upscaleImage(model, (await decodeLr(bytes)).image, { width: photo.width, height: photo.height });
      row.bpp[k] += (bytes.length * 8) / pixels / files.length;
      row.psnr[k] += psnrY(restored, photo, { shave: s }) / files.length;
      row.ssim[k] += ssimY(restored, photo, { shave: s }) / files.length;
      return bytes.length;
    };
    const plainBytes = await score(lr, 0);
    const t0 = performance.now();
    const roundTrip = async (img: RasterImage) => {
      const bytes = await encode(img, row.q);
      return { image: (await decodeLr(bytes)).image, bytes: bytes.length };
    };
    const refined = await refineLr(model, photo, lr, { steps, learningRate, roundTrip: format === 'png' ? undefined : roundTrip, gradientProxy: args.gradient === 'proxy' ? (x) => jpegProxy(x, proxyQuality(row.q), { rounding }) : undefined, rateWeight, relativeRate, onStep: process.env.REFINE_TRACE ? (r) => console.error(`  step ${r.step}: ${r.psnr.toFixed(3)} dB`) : undefined });
    row.seconds += (performance.now() - t0) / 1000;
    await score(refined.lr, 1);
    if (lossy) {
      const fit = await fitQuality((q) => encode(refined.lr, q), plainBytes, format === 'jpeg' ? 1 : 0, 100);
      if (!fit.fits) throw new Error(`${f} q${row.q}: no quality of the refined LR fits ${plainBytes} bytes`);
      row.fitQ.push(fit.quality);
      await score(refined.lr, 2, fit.file);
    }
    console.error(`${f}${lossless ? '' : ` q${row.q}`}: RGB PSNR ${refined.initialPsnr.toFixed(2)} -> ${refined.bestPsnr.toFixed(2)} dB (best step ${refined.bestStep})`);
  }
}
console.log(
  `\nx${model.scale}, ${format.toUpperCase()} LR, ${files.length} photos of ${args.data}${args.crop ? ` (centre ${args.crop}x${args.crop})` : ''}, ${steps} steps at ${(learningRate * 255).toFixed(2)}/255, gradient ${args.gradient === 'proxy' ? `jpegProxy (${rounding}${args['proxy-quality'] != null ? `, quality ${args['proxy-quality']}` : ''})` : 'identity'}${rateWeight > 0 ? `, rate weight ${rateWeight}` : ''}${relativeRate > 0 ? `, relative rate weight ${relativeRate}` : ''}\n`,
);
const equal = lossy ? ' equal-bytes quality | equal-bytes bpp | equal-bytes Y-PSNR dB | equal-bytes gain dB |' : '';
console.log(`| quality | bpp | Y-PSNR dB | SSIM | refined bpp | refined Y-PSNR dB | refined SSIM | gain dB |${equal} s per photo |`);
console.log(`|---|---|---|---|---|---|---|---|${lossy ? '---|---|---|---|' : ''}---|`);
for (const r of rows) {
  const eq = lossy ? ` ${r.fitQ.join('/')} | ${r.bpp[2].toFixed(3)} | ${r.psnr[2].toFixed(2)} | ${(r.psnr[2] - r.psnr[0]).toFixed(2)} |` : '';
  console.log(
    `| ${lossless ? 'lossless' : r.q} | ${r.bpp[0].toFixed(3)} | ${r.psnr[0].toFixed(2)} | ${r.ssim[0].toFixed(4)} | ${r.bpp[1].toFixed(3)} | ${r.psnr[1].toFixed(2)} | ${r.ssim[1].toFixed(4)} | ${(r.psnr[1] - r.psnr[0]).toFixed(2)} |${eq} ${(r.seconds / files.length).toFixed(1)} |`,
  );
}
if (lossy) console.log(`\n(equal bytes: the refined LR at the highest quality whose file is no bigger than the plain LR's at that quality, per photo, as \`irn downscale --max-size\` codes it after --refine.)`);

/** The centre `size x size` of `img` (or all of it, where smaller). */
function centreCrop(img: RasterImage, size: number): RasterImage {
  const w = Math.min(size, img.width);
  const h = Math.min(size, img.height);
  const [x0, y0] = [Math.floor((img.width - w) / 2), Math.floor((img.height - h) / 2)];
  const c = img.channels;
  const data = new Float32Array(w * h * c);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * c, ((y0 + y) * img.width + x0 + w) * c), y * w * c);
  return { width: w, height: h, channels: c, data };
}
