// Codec settings for IRN's lossy LRs (issue 13): does another setting of the same codec give a
// better restore at equal bytes than what `irn downscale` writes? For each photo the model's
// LR is coded at each quality with the shipped setting and with each variant, restored (z = 0)
// and scored (Y-PSNR, shave = scale); per photo the BD-PSNR of each variant against the
// shipped setting (Bjøntegaard, bench/rd/bd.ts; positive: the variant is better).
//   node --import tsx bench/lr-settings.ts [--codec avif|jpeg] [--model weights/irn-x2-avif-v2]
//        [--data ../shared/datasets/eval/kodak24] [--photos kodim01,kodim03,...] [--qualities 25,45,62,80]
// Variants: AVIF (shipped: 4:4:4, speed 6, 8 bits) with libaom's chroma delta-q, coded at
// 10 bits (8-bit values scaled to 10, decoded back to 8), and at libavif speeds 4 and 2
// (slower, searching more; encode seconds per variant printed); JPEG (shipped: MozJPEG's own chroma
// subsampling, 4:2:0 below quality 80) at 4:4:4 at every quality.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { decodePng, downscaleImage, IrnModel, psnrY, upscaleImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { bdPsnr, type RdPoint } from './rd/bd.js';
import type { Rgba } from './rd/codecs.js';
import { modCropRgb, toRaster, toRgba } from './rd/images.js';

const { values: args } = parseArgs({
  options: {
    codec: { type: 'string', default: 'avif' },
    model: { type: 'string' },
    data: { type: 'string', default: process.env.IRN_EVAL_DATA ?? '../shared/datasets/eval/kodak24' },
    photos: { type: 'string', default: 'kodim01,kodim03,kodim05,kodim13,kodim19,kodim23' },
    qualities: { type: 'string' },
  },
});
const codec = args.codec as 'avif' | 'jpeg';
if (codec !== 'avif' && codec !== 'jpeg') throw new Error(`--codec must be avif or jpeg, got ${args.codec}`);
const qualities = (args.qualities ?? (codec === 'avif' ? '25,45,62,80' : '30,50,70,85')).split(',').map(Number);
if (qualities.length < 4 || !qualities.every((q) => Number.isInteger(q) && q >= 0 && q <= 100)) throw new Error('--qualities: at least 4 whole numbers 0-100 (a cubic fit per curve)');

type Coder = (lr: Rgba, quality: number) => Promise<{ bytes: number; decoded: Rgba; encodeMs: number }>;

async function jsquash(name: 'avif' | 'jpeg'): Promise<{ encode: (img: unknown, o: object) => Promise<ArrayBuffer>; decode: (b: ArrayBuffer) => Promise<{ width: number; height: number; data: ArrayLike<number> }> }> {
  const wasm = name === 'avif' ? ['codec/enc/avif_enc.wasm', 'codec/dec/avif_dec.wasm'] : ['codec/enc/mozjpeg_enc.wasm', 'codec/dec/mozjpeg_dec.wasm'];
  const [enc, dec] = await Promise.all([import(`@jsquash/${name}/encode.js`), import(`@jsquash/${name}/decode.js`)]);
  await enc.init(await WebAssembly.compile(await readFile(new URL(wasm[0], import.meta.resolve(`@jsquash/${name}/encode.js`)))));
  await dec.init(await WebAssembly.compile(await readFile(new URL(wasm[1], import.meta.resolve(`@jsquash/${name}/decode.js`)))));
  return { encode: enc.default, decode: dec.default };
}

const lib = await jsquash(codec);
/** A coder with these encoder options (`tenBit`: the 8-bit values scaled to 10 bits and back). */
const coder = (options: object, tenBit = false): Coder => async (lr, quality) => {
  const data = tenBit ? Uint16Array.from(lr.data, (v) => Math.round((v * 1023) / 255)) : new Uint8ClampedArray(lr.data);
  const t0 = performance.now();
  const file = await lib.encode({ width: lr.width, height: lr.height, data }, { ...options, quality });
  const encodeMs = performance.now() - t0;
  const out = await lib.decode(file.slice(0));
  const pixels = out.data instanceof Uint16Array ? Uint8ClampedArray.from(out.data, (v) => Math.round((v * 255) / 1023)) : new Uint8ClampedArray(out.data);
  return { bytes: file.byteLength, decoded: { width: out.width, height: out.height, data: pixels }, encodeMs };
};
// The shipped settings (packages/cli/src/image/lr-codecs.ts) first.
const variants: [string, Coder][] =
  codec === 'avif'
    ? [
        ['shipped (4:4:4, speed 6)', coder({ speed: 6, subsample: 3 })],
        ['chroma delta-q', coder({ speed: 6, subsample: 3, chromaDeltaQ: true })],
        ['10-bit', coder({ speed: 6, subsample: 3, bitDepth: 10 }, true)],
        ['speed 4', coder({ speed: 4, subsample: 3 })],
        ['speed 2', coder({ speed: 2, subsample: 3 })],
      ]
    : [
        ['shipped (MozJPEG auto subsampling)', coder({})],
        ['4:4:4 at every quality', coder({ auto_subsample: false, chroma_subsample: 1 })],
      ];

await useNodeBackend('wasm');
const modelDir = args.model ?? (codec === 'avif' ? 'weights/irn-x2-avif-v2' : 'weights/irn-x2');
const model = await IrnModel.load(fileSystem(modelDir));
console.log(`${modelDir} (x${model.scale}), ${codec} qualities ${qualities.join(', ')}; BD-PSNR of each variant against the shipped setting`);
const gains = variants.slice(1).map(() => [] as number[]);
const encodeMs = variants.map(() => 0);
for (const name of args.photos!.split(',')) {
  const hr = modCropRgb(decodePng(readFileSync(join(args.data!, `${name}.png`))), model.scale);
  const lr = toRgba(await downscaleImage(model, hr, { tileSize: 0 }));
  const curves: RdPoint[][] = [];
  for (const [v, [, code]] of variants.entries()) {
    const curve: RdPoint[] = [];
    for (const q of qualities) {
      const { bytes, decoded, encodeMs: ms } = await code(lr, q);
      encodeMs[v] += ms;
      const up = await upscaleImage(model, toRaster(decoded), { tileSize: 0 });
      curve.push({ rate: (8 * bytes) / (hr.width * hr.height), quality: psnrY(up, hr, { shave: model.scale }) });
    }
    curves.push(curve);
  }
  const line = variants.slice(1).map(([label], i) => {
    const d = bdPsnr(curves[0], curves[i + 1]);
    if (d != null) gains[i].push(d);
    return `${label} ${d == null ? 'n/a' : `${d >= 0 ? '+' : ''}${d.toFixed(3)} dB`}`;
  });
  console.log(`${name}: shipped ${curves[0].map((p) => `${p.rate.toFixed(3)}:${p.quality.toFixed(2)}`).join(' ')}; ${line.join(', ')}`);
}
for (const [i, [label]] of variants.slice(1).entries()) {
  const g = gains[i];
  console.log(`mean ${label}: ${g.length === 0 ? 'n/a' : `${(g.reduce((a, b) => a + b, 0) / g.length).toFixed(3)} dB over ${g.length} photos (range ${Math.min(...g).toFixed(2)} to ${Math.max(...g).toFixed(2)})`}`);
}
console.log(`encode time, all photos and qualities: ${variants.map(([label], v) => `${label} ${(encodeMs[v] / 1000).toFixed(1)} s (${(encodeMs[v] / encodeMs[0]).toFixed(2)}x)`).join(', ')}`);
