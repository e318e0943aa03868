// What storing a model's weights more compactly costs in quality: the same float32 model
// stored as float16, as 8 bits with a range per output channel (what the shipped presets use,
// `IrnModel.save(.., { weights: 'uint8' })`; and the same with each value rounded to its nearest
// step, without keeping the filters' sums) and, for comparison, as TensorFlow.js's own 8-bit
// form (one range per tensor, which IRN's loader refuses), each scored with `irn eval`'s
// protocol (z = 0, Y-channel PSNR/SSIM, shave = scale; RGB PSNR too, where a colour shift shows
// that Y hides) against the float32 model on the same photos. float16 and uint8 go through IrnModel.save and IrnModel.load in memory (the code a
// page runs); tfjs's form is applied to the weights directly (tfjs-converter's affine
// quantization: min, scale = (max - min) / 255, rounded).
//
//   pnpm bench:weights --model weights/irn-x2 --rev 649a9c8 [--data ../shared/datasets/eval/kodak24] [--first N]
//
// --rev reads the model folder from that git commit (the presets' float32 files are in git at
// 649a9c8), since the shipped ones are already rounded; without it the folder must hold
// float32 weights.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel, decodePng, type RasterImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { fromFloat16Bits, toFloat16Bits } from '../packages/core/src/io/float16.js';
import { decodeUint8Channels, encodeUint8Channels, fitsUint8Channels } from '../packages/core/src/io/uint8-channels.js';
import { evaluateImage, meanEvaluation, type ImageEvaluation } from '../packages/cli/src/eval/evaluate.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: 'weights/irn-x2' },
    rev: { type: 'string' },
    data: { type: 'string', default: process.env.IRN_EVAL_DATA ?? '../shared/datasets/eval/kodak24' },
    first: { type: 'string' },
  },
});

/** The model folder, or a copy of it from git at `rev` in a temporary folder. */
function modelFolder(): { dir: string; done: () => void } {
  if (args.rev == null) return { dir: args.model!, done: () => {} };
  const dir = mkdtempSync(join(tmpdir(), 'irn-weight-storage-'));
  const show = (file: string) => execFileSync('git', ['show', `${args.rev}:${join(args.model!, file)}`], { maxBuffer: 1 << 28 });
  const json = show('model.json');
  writeFileSync(join(dir, 'model.json'), json);
  for (const p of (JSON.parse(json.toString('utf8')) as tf.io.ModelJSON).weightsManifest.flatMap((g) => g.paths)) writeFileSync(join(dir, p), show(p));
  return { dir, done: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `model` saved with `weights` and loaded back, in memory; with the bytes its weights took. */
async function stored(model: IrnModel, weights: 'float16' | 'uint8'): Promise<{ model: IrnModel; bytes: number }> {
  let saved: tf.io.ModelArtifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    { weights },
  );
  const artifacts = saved! as tf.io.ModelArtifacts;
  const data = artifacts.weightData!;
  return { model: await IrnModel.load(tf.io.fromMemory(artifacts)), bytes: data instanceof ArrayBuffer ? data.byteLength : data.reduce((n, b) => n + b.byteLength, 0) };
}

/** A copy of the model in `dir` with each kernel stored as 8 bits per channel, every value rounded to its nearest step (no filter sums kept), biases as halves. */
async function nearestUint8(dir: string): Promise<{ model: IrnModel; bytes: number }> {
  const model = await IrnModel.load(fileSystem(dir));
  let bytes = 0;
  for (const w of model.flow.weights) {
    const v = w.read().dataSync() as Float32Array;
    const shape = w.shape as number[];
    let q: Float32Array;
    if (fitsUint8Channels(shape)) {
      const stored = encodeUint8Channels(v, shape, w.name, { keepSums: false });
      q = decodeUint8Channels(stored, v.length, shape[shape.length - 1], w.name);
      bytes += stored.length;
    } else {
      q = v.map((x) => fromFloat16Bits(toFloat16Bits(x)));
      bytes += 2 * v.length;
    }
    w.write(tf.tensor(q, shape));
  }
  return { model, bytes };
}

/** A copy of `model` with each weight rounded as tfjs-converter's uint8 quantization does (one range per tensor). */
async function tfjsUint8(dir: string): Promise<{ model: IrnModel; bytes: number }> {
  const model = await IrnModel.load(fileSystem(dir));
  let bytes = 0;
  for (const w of model.flow.weights) {
    const v = w.read().dataSync() as Float32Array;
    let min = Infinity;
    let max = -Infinity;
    for (const x of v) {
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const scale = (max - min) / 255;
    const q = scale === 0 ? new Float32Array(v.length).fill(min) : v.map((x) => Math.round((x - min) / scale) * scale + min);
    w.write(tf.tensor(q, w.shape as number[]));
    bytes += v.length;
  }
  return { model, bytes };
}

await useNodeBackend('wasm');
const folder = modelFolder();
try {
  const reference = await IrnModel.load(fileSystem(folder.dir));
  const specs = (JSON.parse(readFileSync(join(folder.dir, 'model.json'), 'utf8')) as tf.io.ModelJSON).weightsManifest.flatMap((g) => g.weights);
  if (specs.some((s) => s.quantization != null)) throw new Error(`${args.model} does not hold float32 weights (give --rev with a commit where it does)`);
  const forms: { name: string; model: IrnModel; bytes: number }[] = [
    { name: 'float32', model: reference, bytes: 4 * reference.countParams() },
    { name: 'float16', ...(await stored(reference, 'float16')) },
    { name: 'uint8 per channel (shipped)', ...(await stored(reference, 'uint8')) },
    { name: 'uint8 per channel, nearest rounding (filter sums not kept)', ...(await nearestUint8(folder.dir)) },
    { name: "tfjs's uint8 (one range per tensor)", ...(await tfjsUint8(folder.dir)) },
  ];
  let files = readdirSync(args.data!).filter((f) => f.toLowerCase().endsWith('.png')).sort();
  if (args.first != null) files = files.slice(0, Number(args.first));
  const rows = forms.map((): ImageEvaluation[] => []);
  for (const f of files) {
    const png = decodePng(new Uint8Array(readFileSync(join(args.data!, f))));
    const image: RasterImage = { width: png.width, height: png.height, channels: png.channels, data: png.data };
    for (const [i, form] of forms.entries()) rows[i].push(await evaluateImage(form.model, f, image));
    process.stderr.write(`${f} `);
  }
  process.stderr.write('\n');
  const ref = meanEvaluation(rows[0]).irn;
  console.log(`${args.model}${args.rev != null ? ` at ${args.rev}` : ''}, x${reference.scale}, ${files.length} photos of ${args.data} (z = 0, Y channel, shave ${reference.scale})`);
  console.log();
  console.log('| stored as | weight bytes | PSNR-Y dB | vs float32 | SSIM-Y | worst photo vs float32 | PSNR-RGB dB | vs float32 |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [i, form] of forms.entries()) {
    const m = meanEvaluation(rows[i]).irn;
    const worst = rows[i].reduce((w, r, j) => Math.min(w, r.irn.psnrY - rows[0][j].irn.psnrY), Infinity);
    const signed = (d: number) => (d >= 0 ? '+' : '') + d.toFixed(4);
    console.log(
      `| ${form.name} | ${form.bytes.toLocaleString('en-US')} | ${m.psnrY.toFixed(4)} | ${signed(m.psnrY - ref.psnrY)} | ${m.ssimY.toFixed(5)} | ${worst.toFixed(4)} | ${m.psnrRgb.toFixed(3)} | ${signed(m.psnrRgb - ref.psnrRgb)} |`,
    );
  }
  for (const f of forms) f.model.dispose();
} finally {
  folder.done();
}
