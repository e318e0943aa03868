import * as tf from '@tensorflow/tfjs-core';
import { channelCopier, type CopyRecord } from './channel-copy.js';
import { isWasmHeapBackend, runOrFree, type WasmHeapBackend } from './wasm-heap.js';

/**
 * Concatenation along the channel (last) axis of NHWC tensors, as the dense blocks need it,
 * with a faster kernel on the wasm backend.
 *
 * Why: tfjs-backend-wasm 4.22 concatenates in JavaScript with a `subarray` + `set` per pixel
 * and input, and allocates a zero-filled output. In IRN's dense blocks (3 to 73 channels, 16
 * added per conv) that made Concat about 30 % of the kernel time of an upscale
 * (`bench/model-vs-conv.ts --profile`). The kernel here allocates the output without zeroing
 * and fills it pixel by pixel, in order, with a small WebAssembly SIMD kernel that runs on the
 * backend's own memory (channel-copy.ts); where that cannot run, with `copyWithin` on the
 * wasm heap, input by input. Timings against the built-in kernels: bench/concat-kernels.ts.
 *
 * On the SIMD path it can also apply LeakyReLU to chosen inputs as it copies them
 * (`concatChannels(tensors, { leaky, alpha })`), which the dense blocks use instead of a
 * separate activation pass over every conv output; its gradient then applies LeakyReLU's
 * derivative as it splits dy (`IrnSplitChannelsLeakyGrad`), instead of tfjs's three ops.
 *
 * It is registered under its own kernel name, {@link CONCAT_CHANNELS}, for the wasm backend
 * only, so tfjs's own `Concat` stays as it is for everyone else. Other backends, dtypes and
 * shapes go to `tf.concat`. Its gradient (slices of dy) is registered too, so training on
 * wasm uses it as well.
 */
export const CONCAT_CHANNELS = 'IrnConcatChannels';

/**
 * {@link CONCAT_CHANNELS} with LeakyReLU on some inputs (attrs `leaky`, `alpha`). A kernel
 * name of its own because its gradient keeps the inputs (for LeakyReLU's derivative), which
 * the plain concatenation's gradient does not need to hold on to.
 */
export const CONCAT_CHANNELS_LEAKY = 'IrnConcatChannelsLeaky';

/**
 * The inverse kernel, used by {@link CONCAT_CHANNELS}'s gradient on wasm: splits the last axis
 * into parts of `attrs.channels` channels, 4-7x faster than tfjs-wasm's own `SplitV` (what
 * `tf.split` runs) on the dense blocks' shapes (bench/concat-kernels.ts).
 */
export const SPLIT_CHANNELS = 'IrnSplitChannels';

/**
 * The gradient of a {@link CONCAT_CHANNELS} with LeakyReLU on some inputs, on wasm: splits dy
 * like {@link SPLIT_CHANNELS} and multiplies the LeakyReLU parts by LeakyReLU's derivative at
 * their inputs (1 where the input is > 0, else alpha), in the same pass. Inputs: `dy`, and
 * `m<i>` (the concatenation's input i) for each LeakyReLU part i. Not differentiable.
 */
export const LEAKY_GRAD_SPLIT = 'IrnSplitChannelsLeakyGrad';

/** Attributes of the {@link CONCAT_CHANNELS} kernel. */
interface ConcatAttrs {
  channels: number[];
  /** 1 where the input goes through LeakyReLU(alpha) as it is copied (SIMD path only). */
  leaky?: number[];
  alpha?: number;
}

function concatChannelsWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const backend = args.backend;
  if (!isWasmHeapBackend(backend)) throw new Error(`${CONCAT_CHANNELS}: the backend does not expose its wasm heap`);
  const attrs = (args.attrs ?? {}) as unknown as Partial<ConcatAttrs>;
  const leaky = attrs.leaky ?? [];
  const inputs = Object.values(args.inputs) as tf.TensorInfo[];
  const first = inputs[0].shape;
  const channels = inputs.map((t) => t.shape[t.shape.length - 1]);
  const total = channels.reduce((a, b) => a + b, 0);
  const copier = channelCopier(backend.wasm);
  if (copier == null && leaky.some((l) => l)) throw new Error(`${CONCAT_CHANNELS}: LeakyReLU needs the SIMD copy kernel`);
  const out = backend.makeOutput([...first.slice(0, -1), total], 'float32');
  // Views are taken after makeOutput (it may grow the heap).
  const outView = backend.typedArrayFromHeap(out) as Float32Array;
  const pixels = outView.length / total;
  if (copier != null) {
    let offset = 0;
    const records: CopyRecord[] = inputs.map((t, i) => {
      const c = channels[i];
      const r: CopyRecord = {
        src: (backend.typedArrayFromHeap(t) as Float32Array).byteOffset,
        srcStride: 4 * c,
        dst: outView.byteOffset + 4 * offset,
        dstStride: 4 * total,
        bytes: 4 * c,
        mode: leaky[i] === 1 ? 'leaky' : 'copy',
      };
      offset += c;
      return r;
    });
    runOrFree(backend, [out], () => copier.run(records, pixels, attrs.alpha ?? 0));
    return out;
  }
  // One Float32Array over the whole heap: `copyWithin` copies each pixel's channels inside it
  // without creating a view per pixel.
  const heap = new Float32Array(outView.buffer);
  const outStart = outView.byteOffset / 4;
  let offset = 0;
  for (let i = 0; i < inputs.length; i++) {
    const c = channels[i];
    const view = backend.typedArrayFromHeap(inputs[i]) as Float32Array;
    let src = view.byteOffset / 4;
    let dst = outStart + offset;
    for (let p = 0; p < pixels; p++, src += c, dst += total) heap.copyWithin(dst, src, src + c);
    offset += c;
  }
  return out;
}

/**
 * The copy records that split `src` (channels last) into `outs`, one per part; a part with a
 * mask (the LeakyReLU input of that part) gets LeakyReLU's derivative applied.
 */
function splitRecords(
  backend: WasmHeapBackend,
  src: Float32Array,
  outs: tf.TensorInfo[],
  channels: number[],
  masks: (tf.TensorInfo | null)[] = [],
): CopyRecord[] {
  const total = channels.reduce((a, b) => a + b, 0);
  let offset = 0;
  return outs.map((o, i) => {
    const c = channels[i];
    const m = masks[i];
    const r: CopyRecord = {
      src: src.byteOffset + 4 * offset,
      srcStride: 4 * total,
      dst: (backend.typedArrayFromHeap(o) as Float32Array).byteOffset,
      dstStride: 4 * c,
      bytes: 4 * c,
      mode: m == null ? 'copy' : 'leakyGrad',
    };
    if (m != null) Object.assign(r, { mask: (backend.typedArrayFromHeap(m) as Float32Array).byteOffset, maskStride: 4 * c });
    offset += c;
    return r;
  });
}

function splitChannelsWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): tf.TensorInfo[] {
  const backend = args.backend;
  if (!isWasmHeapBackend(backend)) throw new Error(`${SPLIT_CHANNELS}: the backend does not expose its wasm heap`);
  const x = args.inputs.x as tf.TensorInfo;
  const channels = (args.attrs as unknown as { channels: number[] }).channels;
  const total = channels.reduce((a, b) => a + b, 0);
  if (total !== x.shape[x.shape.length - 1]) throw new Error(`${SPLIT_CHANNELS}: parts of ${total} channels for ${x.shape[x.shape.length - 1]}`);
  const lead = x.shape.slice(0, -1);
  const outs = channels.map((c) => backend.makeOutput([...lead, c], 'float32'));
  // Heap views only after every makeOutput (each may grow the heap).
  const xView = backend.typedArrayFromHeap(x) as Float32Array;
  const pixels = xView.length / total;
  const copier = channelCopier(backend.wasm);
  if (copier != null) {
    const records = splitRecords(backend, xView, outs, channels);
    runOrFree(backend, outs, () => copier.run(records, pixels, 0));
    return outs;
  }
  const heap = new Float32Array(xView.buffer);
  let offset = xView.byteOffset / 4;
  for (let i = 0; i < outs.length; i++) {
    const c = channels[i];
    let dst = (backend.typedArrayFromHeap(outs[i]) as Float32Array).byteOffset / 4;
    for (let p = 0, src = offset; p < pixels; p++, src += total, dst += c) heap.copyWithin(dst, src, src + c);
    offset += c;
  }
  return outs;
}

function leakyGradSplitWasm(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: tf.NamedAttrMap }): tf.TensorInfo[] {
  const backend = args.backend;
  if (!isWasmHeapBackend(backend)) throw new Error(`${LEAKY_GRAD_SPLIT}: the backend does not expose its wasm heap`);
  const copier = channelCopier(backend.wasm);
  if (copier == null) throw new Error(`${LEAKY_GRAD_SPLIT}: needs the SIMD copy kernel`);
  const { channels, leaky = [], alpha = 0 } = args.attrs as unknown as ConcatAttrs;
  const dy = args.inputs.dy as tf.TensorInfo;
  const total = channels.reduce((a, b) => a + b, 0);
  if (total !== dy.shape[dy.shape.length - 1]) throw new Error(`${LEAKY_GRAD_SPLIT}: parts of ${total} channels for ${dy.shape[dy.shape.length - 1]}`);
  const lead = dy.shape.slice(0, -1);
  // Checked before any output is made, so that an error leaves nothing behind.
  const masks = channels.map((c, i) => {
    if (leaky[i] !== 1) return null;
    const m = args.inputs[`m${i}`] as tf.TensorInfo | undefined;
    if (m == null || m.shape.length !== dy.shape.length || m.shape.some((d, j) => d !== (j < lead.length ? lead[j] : c))) {
      throw new Error(`${LEAKY_GRAD_SPLIT}: no input of shape [${[...lead, c]}] for part ${i}`);
    }
    return m;
  });
  const outs = channels.map((c) => backend.makeOutput([...lead, c], 'float32'));
  // Heap views only after every makeOutput (each may grow the heap).
  const dyView = backend.typedArrayFromHeap(dy) as Float32Array;
  const records = splitRecords(backend, dyView, outs, channels, masks);
  runOrFree(backend, outs, () => copier.run(records, dyView.length / total, alpha));
  return outs;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  for (const kernelName of [CONCAT_CHANNELS, CONCAT_CHANNELS_LEAKY]) {
    if (tf.getKernel(kernelName, 'wasm') == null) {
      tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: concatChannelsWasm as unknown as tf.KernelFunc });
    }
  }
  if (tf.getKernel(SPLIT_CHANNELS, 'wasm') == null) {
    tf.registerKernel({ kernelName: SPLIT_CHANNELS, backendName: 'wasm', kernelFunc: splitChannelsWasm as unknown as tf.KernelFunc });
  }
  if (tf.getKernel(LEAKY_GRAD_SPLIT, 'wasm') == null) {
    tf.registerKernel({ kernelName: LEAKY_GRAD_SPLIT, backendName: 'wasm', kernelFunc: leakyGradSplitWasm as unknown as tf.KernelFunc });
  }
  const gradsOf = (parts: tf.Tensor[]) => {
    const grads: Record<string, () => tf.Tensor> = {};
    parts.forEach((p, i) => {
      grads[String(i)] = () => p;
    });
    return grads;
  };
  if (tf.getGradient(CONCAT_CHANNELS) == null) {
    tf.registerGradient({
      kernelName: CONCAT_CHANNELS,
      gradFunc: (dy, _saved, attrs) => gradsOf(splitChannels(dy as tf.Tensor, (attrs as unknown as ConcatAttrs).channels)),
    });
  }
  if (tf.getGradient(CONCAT_CHANNELS_LEAKY) == null) {
    tf.registerGradient({
      kernelName: CONCAT_CHANNELS_LEAKY,
      // The inputs are kept for LeakyReLU's derivative (the engine passes them as `saved`, in
      // order; it needs the kernel's inputs as an array for that).
      saveAllInputs: true,
      gradFunc: (dy, saved, attrs) => {
        const { channels, leaky = [], alpha = 0 } = attrs as unknown as ConcatAttrs;
        if (channelCopier((tf.backend() as { wasm?: unknown }).wasm) == null) {
          // The SIMD kernel went away between forward and backward (turned off, or another
          // backend): tfjs ops, as tf.leakyRelu's own gradient computes it.
          const parts = splitChannels(dy as tf.Tensor, channels);
          return gradsOf(parts.map((p, i) => (leaky[i] === 1 ? tf.where(tf.greater(saved[i], 0), p, tf.mul(p, alpha)) : p)));
        }
        const inputs: tf.NamedTensorMap = { dy: dy as tf.Tensor };
        leaky.forEach((l, i) => {
          if (l === 1) inputs[`m${i}`] = saved[i];
        });
        return gradsOf(tf.engine().runKernel(LEAKY_GRAD_SPLIT, inputs, { channels, leaky, alpha } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[]);
      },
    });
  }
  if (tf.getGradient(SPLIT_CHANNELS) == null) {
    tf.registerGradient({
      kernelName: SPLIT_CHANNELS,
      // The engine passes zeros for outputs that are not on the path to the loss.
      // With a single part the engine passes one tensor, not an array.
      gradFunc: (dys) => ({ x: () => concatChannels(Array.isArray(dys) ? dys : [dys]) }),
    });
  }
}

/**
 * `tf.split(x, channels, -1)` for a float32 tensor of rank 2 or more; on the wasm backend
 * through the {@link SPLIT_CHANNELS} kernel, elsewhere exactly `tf.split`. Differentiable on
 * every backend (the gradient concatenates, with zeros for parts that got none).
 */
export function splitChannels(x: tf.Tensor, channels: number[]): tf.Tensor[] {
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || x.rank < 2 || channels.some((c) => !(Number.isInteger(c) && c > 0))) {
    return tf.split(x, channels, -1);
  }
  register();
  return tf.engine().runKernel(SPLIT_CHANNELS, { x }, { channels } as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/** LeakyReLU for some inputs of {@link concatChannels}. */
export interface ConcatLeakyRelu {
  /** Per input: whether it goes through LeakyReLU before it is concatenated. */
  leaky: boolean[];
  /** The slope for negative values, as in `tf.leakyRelu`. */
  alpha: number;
}

/**
 * `tf.concat(tensors, -1)` for float32 tensors of rank 2 or more that agree on every other
 * axis; on the wasm backend through the faster {@link CONCAT_CHANNELS} kernel, elsewhere
 * exactly `tf.concat`. Differentiable on every backend.
 *
 * With `activation`, the inputs it marks go through `tf.leakyRelu(t, alpha)` first. On wasm
 * with the SIMD copy kernel, the kernel applies it while copying (no
 * separate pass, no intermediate tensor), and the gradient applies LeakyReLU's derivative
 * while splitting dy; otherwise it runs `tf.leakyRelu` and then concatenates.
 */
export function concatChannels<T extends tf.Tensor>(tensors: T[], activation?: ConcatLeakyRelu): T {
  if (tensors.length === 0) throw new Error('concatChannels: no tensors given');
  const leaky = activation?.leaky ?? [];
  if (activation != null && leaky.length !== tensors.length) {
    throw new Error(`concatChannels: ${leaky.length} LeakyReLU flags for ${tensors.length} tensors`);
  }
  if (!leaky.some((l) => l)) return concatPlain(tensors);
  const alpha = activation!.alpha;
  const fused =
    tf.getBackend() === 'wasm' &&
    Number.isFinite(alpha) &&
    tensors.length > 1 &&
    fastShapes(tensors) &&
    channelCopier((tf.backend() as { wasm?: unknown }).wasm) != null;
  if (!fused) {
    return tf.tidy(() => concatPlain(tensors.map((t, i) => (leaky[i] ? tf.leakyRelu(t, alpha) : t)))) as T;
  }
  return runConcat(CONCAT_CHANNELS_LEAKY, tensors, { channels: channelsOf(tensors), leaky: leaky.map((l) => (l ? 1 : 0)), alpha });
}

/**
 * Whether {@link concatChannels} applies LeakyReLU inside its copy kernel (and, under the
 * gradient tape, LeakyReLU's derivative inside its gradient's split) right now: the wasm
 * backend with the SIMD copy kernel.
 */
export function concatFusesLeakyRelu(): boolean {
  return tf.getBackend() === 'wasm' && channelCopier((tf.backend() as { wasm?: unknown }).wasm) != null;
}

function channelsOf(tensors: tf.Tensor[]): number[] {
  return tensors.map((t) => t.shape[t.rank - 1]);
}

/** Whether the wasm kernel takes these tensors (float32, rank >= 2, same leading shape). */
function fastShapes(tensors: tf.Tensor[]): boolean {
  const first = tensors[0];
  const lead = first.shape.slice(0, -1);
  return (
    first.rank >= 2 &&
    tensors.every(
      (t) =>
        t.dtype === 'float32' &&
        t.rank === first.rank &&
        t.shape[t.rank - 1] > 0 &&
        t.shape.slice(0, -1).every((d, i) => d === lead[i]),
    )
  );
}

function concatPlain<T extends tf.Tensor>(tensors: T[]): T {
  if (tensors.length === 1) return tensors[0].clone() as T;
  if (tf.getBackend() !== 'wasm' || !fastShapes(tensors)) return tf.concat(tensors, -1) as T;
  return runConcat(CONCAT_CHANNELS, tensors, { channels: channelsOf(tensors) });
}

function runConcat<T extends tf.Tensor>(kernelName: string, tensors: T[], attrs: ConcatAttrs): T {
  register();
  // An array, as tfjs's own Concat passes it: saveAllInputs needs one. A copy: the tape keeps
  // it as the node's inputs, and callers (the dense blocks) grow theirs.
  return tf.engine().runKernel(kernelName, [...tensors] as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as T;
}
