// How long building a restoring model from its files takes, before the first tile: IrnModel.load
// (tfjs-layers: builds the layer graph and initialises every weight, then overwrites them with
// the file's) against IrnInference.fromArtifacts (tfjs-core only: decodes the weights into
// tensors), on the same artifacts in memory, alternating, in one process. What the rescaler's
// engine does on `init` (in a page or its worker) after the download.
//
//   pnpm bench:model-load [--backend wasm|cpu] [--runs N] [models...]   (default weights/irn-x2 weights/irn-x4)
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { IrnInference, IrnModel } from '@irn/core';
import { fileSystem, useNodeBackend, type NodeBackendName } from '@irn/core/node';
import { median } from './stats.js';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: { backend: { type: 'string', default: 'wasm' }, runs: { type: 'string', default: '9' } },
});
const runs = Number(args.runs);
if (!(Number.isInteger(runs) && runs > 0)) throw new Error(`--runs must be a positive integer, got ${args.runs}`);
const models = positionals.length > 0 ? positionals : ['weights/irn-x2', 'weights/irn-x4'];
console.log(`backend ${await useNodeBackend(args.backend as NodeBackendName)}, ${runs} runs each, alternating; median ms`);


console.log('| model | IrnModel.load | IrnInference.fromArtifacts | ratio |');
console.log('|---|---:|---:|---:|');
for (const dir of models) {
  const handler = fileSystem(dir);
  const artifacts = await handler.load!();
  const times = { layers: [] as number[], light: [] as number[] };
  // One of each first, not timed: kernels, wasm heap and JIT warmed for both.
  for (let i = 0; i <= runs; i++) {
    let t = performance.now();
    const a = await IrnModel.load(tf.io.fromMemory(artifacts));
    const layers = performance.now() - t;
    t = performance.now();
    const b = IrnInference.fromArtifacts(artifacts);
    const light = performance.now() - t;
    if (a.countParams() !== b.countParams()) throw new Error(`${dir}: the two models hold ${a.countParams()} and ${b.countParams()} weights`);
    a.dispose();
    b.dispose();
    if (i === 0) continue;
    times.layers.push(layers);
    times.light.push(light);
  }
  const [l, g] = [median(times.layers), median(times.light)];
  console.log(`| ${dir} | ${l.toFixed(1)} | ${g.toFixed(1)} | ${(l / g).toFixed(1)}x |`);
}
