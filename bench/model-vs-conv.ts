/**
 * How close IRN's inverse (upscale) comes to the backend's plain conv2d speed, in Node on
 * wasm (single-threaded), for the shipped x2 and x4 models on one LR tile:
 *
 *   node --import tsx bench/model-vs-conv.ts [--crop 256] [--rounds 5] [--backend wasm|cpu]
 *
 * The x2 model runs on a `crop` x `crop` LR tile, x4 on `crop / 2` (its first level then works
 * at the same size as x2's; wasm's 32-bit heap does not hold x4's activations at 256 LR px
 * next to the conv inputs).
 *
 * Per scale, in one process and interleaved round by round (so load from other processes hits
 * all three alike): `conv2d`, plain `tf.conv2d` ('same', no bias) with the shapes of every
 * dense-block conv of the model, on inputs made beforehand; `IrnModel.upscale` (z = 0) with the
 * default inference path (conv + bias fused, LeakyReLU applied inside the concatenations by the
 * SIMD channel-copy kernel, conv + bias by core's SIMD conv kernel where it takes the shape);
 * the same with tfjs-wasm's XNNPACK conv for every conv (`withConvForwardKernel(false)`, the
 * path before that kernel); the same with the JavaScript concatenations and tfjs's fused
 * conv + bias + LeakyReLU (`setChannelCopyEnabled(false)`, the path before the copy kernel,
 * with the SIMD conv kernel still on); and with separate ops (`setFusedInference(false)`, the
 * path before fusing). Each round is read back with `data()`.
 * Prints the median ms and GFLOP/s (dense-block conv FLOPs, bench/irn-flops.ts) and the ratio
 * model / conv2d, the issue's "how close the pipeline comes to the backend's limit". The
 * speed-ups: from the SIMD conv (XNNPACK convs against the default), from the SIMD copy (the
 * JavaScript concatenations against the XNNPACK-conv path, the copy kernel's only change),
 * from fusing (separate ops against the default).
 * `--profile` also prints where the model's time goes, per tfjs kernel (`tf.profile`).
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { IrnModel } from '../packages/core/src/index.js';
import { withChannelCopy } from '../packages/core/src/layers/channel-copy.js';
import { withConvForwardKernel } from '../packages/core/src/layers/conv-simd.js';
import { setFusedInference } from '../packages/core/src/layers/dense-block.js';
import { fileSystem, useNodeBackend } from '../packages/core/src/node.js';
import { irnConvShapes, irnCropFlops } from './irn-flops.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: {
    crop: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '5' },
    backend: { type: 'string', default: 'wasm' },
    profile: { type: 'boolean', default: false },
  },
});
const baseCrop = Number(args.crop);
const rounds = Number(args.rounds);
await useNodeBackend(args.backend as 'wasm' | 'cpu');


console.log(`backend ${tf.getBackend()}, ${rounds} interleaved rounds after one warmup round each`);
console.log(
  '| model | LR crop | GFLOP | conv2d ms | conv2d GFLOP/s | IRN ms | IRN GFLOP/s | IRN / conv2d | IRN with XNNPACK convs ms | XNNPACK convs / conv2d | IRN with JS concat ms | JS concat / conv2d | ' +
    'IRN separate ops ms | separate / conv2d | speed-up from the SIMD conv | speed-up from the SIMD copy | speed-up from fusing |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const name of ['irn-x2', 'irn-x4']) {
  const model = await IrnModel.load(fileSystem(`weights/${name}`));
  const arch = model.config;
  const crop = arch.scale === 2 ? baseCrop : baseCrop / 2;
  const flops = irnCropFlops(arch, crop, crop);
  const shapes = irnConvShapes(arch);
  const xs = new Map<string, tf.Tensor4D>();
  const ws = new Map<string, tf.Tensor4D>();
  for (const s of shapes) {
    const side = Math.round((crop * arch.scale) / s.down);
    if (!xs.has(`${s.cin}:${s.down}`)) xs.set(`${s.cin}:${s.down}`, tf.randomNormal([1, side, side, s.cin], 0, 1, 'float32', 1) as tf.Tensor4D);
    if (!ws.has(`${s.cin}:${s.cout}`)) ws.set(`${s.cin}:${s.cout}`, tf.randomNormal([3, 3, s.cin, s.cout], 0, 0.05, 'float32', 2) as tf.Tensor4D);
  }
  const lr = tf.randomUniform([1, crop, crop, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const conv = async () => {
    const t0 = performance.now();
    let last: tf.Tensor | null = null;
    for (const s of shapes) {
      last?.dispose();
      last = tf.conv2d(xs.get(`${s.cin}:${s.down}`)!, ws.get(`${s.cin}:${s.cout}`)!, 1, 'same');
    }
    await last!.data();
    last!.dispose();
    return performance.now() - t0;
  };
  const irn = (fused: boolean, simd: boolean, simdConv = true) => async () => {
    setFusedInference(fused);
    try {
      const t0 = performance.now();
      const y = withConvForwardKernel(simdConv, () => withChannelCopy(simd, () => model.upscale(lr)));
      await y.data();
      y.dispose();
      return performance.now() - t0;
    } finally {
      setFusedInference(true);
    }
  };
  const runs = { conv, fused: irn(true, true), xnn: irn(true, true, false), js: irn(true, false), plain: irn(false, true) };
  const times: Record<keyof typeof runs, number[]> = { conv: [], fused: [], xnn: [], js: [], plain: [] };
  for (const r of Object.values(runs)) await r(); // warmup
  for (let i = 0; i < rounds; i++) for (const [k, r] of Object.entries(runs)) times[k as keyof typeof runs].push(await r());
  const m = { conv: median(times.conv), fused: median(times.fused), xnn: median(times.xnn), js: median(times.js), plain: median(times.plain) };
  const g = (ms: number) => flops / (ms / 1000) / 1e9;
  console.log(
    `| ${name} (x${arch.scale}, ${arch.blocks} blocks, growth ${arch.growth}) | ${crop}x${crop} | ${(flops / 1e9).toFixed(2)} | ${m.conv.toFixed(0)} | ${g(m.conv).toFixed(1)} | ${m.fused.toFixed(0)} | ${g(m.fused).toFixed(1)} | ${((100 * m.conv) / m.fused).toFixed(0)} % | ` +
      `${m.xnn.toFixed(0)} | ${((100 * m.conv) / m.xnn).toFixed(0)} % | ` +
      `${m.js.toFixed(0)} | ${((100 * m.conv) / m.js).toFixed(0)} % | ${m.plain.toFixed(0)} | ${((100 * m.conv) / m.plain).toFixed(0)} % | ${(m.xnn / m.fused).toFixed(2)}x | ${(m.js / m.xnn).toFixed(2)}x | ${(m.plain / m.fused).toFixed(2)}x |`,
  );
  if (args.profile) {
    const info = await tf.profile(() => model.upscale(lr));
    const byKernel = new Map<string, { ms: number; calls: number }>();
    // Kernels only: tf.profile also lists the op wrappers (`fusedConv2d__op`) around them.
    for (const k of info.kernels.filter((k) => !k.name.endsWith('__op'))) {
      const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls++;
      byKernel.set(k.name, e);
    }
    const total = [...byKernel.values()].reduce((a, e) => a + e.ms, 0);
    const rows = [...byKernel.entries()].sort((a, b) => b[1].ms - a[1].ms).filter(([, e]) => e.ms / total >= 0.001);
    console.log(`  ${name} kernels (one profiled upscale, ${total.toFixed(0)} ms in kernels): ${rows.map(([k, e]) => `${k} ${((100 * e.ms) / total).toFixed(1)} % (${e.calls} calls)`).join(', ')}`);
  }
  tf.dispose([lr, ...xs.values(), ...ws.values()]);
  model.dispose();
}
