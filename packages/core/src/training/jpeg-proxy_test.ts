// The differentiable JPEG stand-in on its own (against MozJPEG itself: packages/cli's
// training/jpeg-proxy-mozjpeg_test.ts, which has the codec).
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { useNodeBackend } from '../backend/node-backend.js';
import { decodePng } from '../image/png.js';
import { imresize } from '../image/imresize.js';
import { blockDct, blockIdct, dctMatrix, jpegProxy, mozjpegQuantTable, mozjpegSubsampling, realWithProxyGradient, type JpegRounding } from './jpeg-proxy.js';

await tf.setBackend('cpu');

/** The repository's astronaut sample (256x256) at x2 LR size, 8-bit, as [1, 128, 128, 3]. */
function astronautLr(): tf.Tensor4D {
  const png = decodePng(readFileSync(new URL('../../../../samples/astronaut.png', import.meta.url)));
  const lr = imresize({ width: png.width, height: png.height, channels: png.channels, data: png.data }, png.width / 2, png.height / 2);
  const data = Float32Array.from(lr.data, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255) / 255);
  return tf.tensor4d(data, [1, lr.height, lr.width, 3]);
}

test('the DCT basis is orthonormal and the block DCT round trip is exact', () => {
  const d = dctMatrix();
  let worst = 0;
  for (let i = 0; i < 64; i++) {
    for (let j = 0; j < 64; j++) {
      let s = 0;
      for (let k = 0; k < 64; k++) s += d[k * 64 + i] * d[k * 64 + j];
      worst = Math.max(worst, Math.abs(s - (i === j ? 1 : 0)));
    }
  }
  assert.ok(worst < 1e-6, `D^T D differs from I by ${worst}`);
  // A constant block has only a DC coefficient, 8 times its value (JPEG's scaling).
  const flat = blockDct(tf.fill([1, 8, 8], 3) as tf.Tensor3D).dataSync();
  assert.ok(Math.abs(flat[0] - 24) < 1e-4 && flat.slice(1).every((v) => Math.abs(v) < 1e-4), `DC ${flat[0]}`);
  // A horizontal cosine of frequency 1 lands in coefficient (u, v) = (0, 1) alone.
  const cos = new Float32Array(64).map((_, i) => Math.cos(((2 * (i % 8) + 1) * Math.PI) / 16));
  const f = Array.from(blockDct(tf.tensor3d(cos, [1, 8, 8])).dataSync());
  const top = f.reduce((best, v, i) => (Math.abs(v) > Math.abs(f[best]) ? i : best), 0);
  assert.equal(top, 1);
  const x = tf.randomUniform([3, 32, 48], -128, 128, 'float32', 7) as tf.Tensor3D;
  const back = blockIdct(blockDct(x), 32, 48);
  const err = tf.max(tf.abs(tf.sub(back, x))).dataSync()[0] / 128;
  assert.ok(err < 1e-5, `relative round-trip error ${err}`);
});

test("MozJPEG's tables and subsampling by quality", () => {
  // The values MozJPEG writes into its DQT segments (read from @jsquash/jpeg files by the
  // cli test): q50 is the base table, q75 halves it with libjpeg's rounding, q10 is x5, clamped to 255 as baseline files are.
  assert.deepEqual([...mozjpegQuantTable(50).slice(0, 8)], [16, 16, 16, 18, 25, 37, 56, 85]);
  assert.deepEqual([mozjpegQuantTable(75)[0], mozjpegQuantTable(75)[9], mozjpegQuantTable(75)[63]], [8, 9, 209]);
  assert.deepEqual([mozjpegQuantTable(10)[0], mozjpegQuantTable(10)[63]], [80, 255]);
  assert.ok(mozjpegQuantTable(100).every((v) => v === 1));
  assert.deepEqual([79, 80, 89, 90].map(mozjpegSubsampling), ['420', '422', '422', '444']);
  assert.throws(() => mozjpegQuantTable(0), /1 to 100/);
});

test('with rounding off the proxy is the identity up to YCbCr, chroma subsampling and 8 bits', async () => {
  const x = astronautLr();
  // 4:4:4 (quality >= 90): nothing is lost but the final 8-bit rounding of exact values.
  const same = jpegProxy(x, 95, { rounding: 'none' });
  const err444 = tf.max(tf.abs(tf.sub(same.image, x))).dataSync()[0];
  assert.ok(err444 < 0.5 / 255, `4:4:4 identity off by ${err444 * 255} levels`);
  // 4:2:0: a plain-JavaScript reference of box-mean downsampling and libjpeg's triangular
  // upsampling of Cb and Cr, luma untouched.
  const out = jpegProxy(x, 50, { rounding: 'none' }).image.dataSync();
  const src = x.dataSync();
  const n = 128;
  const ycc = (i: number) => {
    const [r, g, b] = [src[3 * i] * 255, src[3 * i + 1] * 255, src[3 * i + 2] * 255];
    return [0.299 * r + 0.587 * g + 0.114 * b, -0.168736 * r - 0.331264 * g + 0.5 * b, 0.5 * r - 0.418688 * g - 0.081312 * b];
  };
  const half = n / 2;
  const down = [new Float64Array(half * half), new Float64Array(half * half)];
  for (let y = 0; y < half; y++) {
    for (let xx = 0; xx < half; xx++) {
      for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]]) {
        const v = ycc((2 * y + dy) * n + 2 * xx + dx);
        down[0][y * half + xx] += v[1] / 4;
        down[1][y * half + xx] += v[2] / 4;
      }
    }
  }
  const clampI = (i: number) => Math.min(half - 1, Math.max(0, i));
  const up = (p: Float64Array, y: number, xx: number) => {
    const cy = y >> 1;
    const ny = clampI(y % 2 === 0 ? cy - 1 : cy + 1);
    const cx = xx >> 1;
    const nx = clampI(xx % 2 === 0 ? cx - 1 : cx + 1);
    const row = (r: number) => 0.75 * p[r * half + cx] + 0.25 * p[r * half + nx];
    return 0.75 * row(cy) + 0.25 * row(ny);
  };
  let worst = 0;
  for (let y = 0; y < n; y++) {
    for (let xx = 0; xx < n; xx++) {
      const i = y * n + xx;
      const Y = ycc(i)[0];
      const cb = up(down[0], y, xx);
      const cr = up(down[1], y, xx);
      const rgb = [Y + 1.402 * cr, Y - 0.344136 * cb - 0.714136 * cr, Y + 1.772 * cb];
      for (let c = 0; c < 3; c++) {
        const want = Math.round(Math.min(255, Math.max(0, rgb[c])));
        worst = Math.max(worst, Math.abs(out[3 * i + c] * 255 - want));
      }
    }
  }
  assert.ok(worst <= 1.0001, `4:2:0 proxy differs from the reference by ${worst} levels`);
  // And the subsampling does lose something on a real photo (the reference is not trivial).
  let diff = 0;
  for (let i = 0; i < out.length; i++) diff = Math.max(diff, Math.abs(out[i] - src[i]) * 255);
  assert.ok(diff > 10, `4:2:0 changed no pixel by more than ${diff} levels`);
});

test('edge padding to 16 and per-sample qualities', () => {
  const x = tf.slice(astronautLr(), [0, 0, 0, 0], [1, 37, 45, 3]) as tf.Tensor4D;
  const two = tf.concat([x, x], 0) as tf.Tensor4D;
  const { image, bits } = jpegProxy(two, [30, 95]);
  assert.deepEqual(image.shape, [2, 37, 45, 3]);
  const [lo, hi] = tf.split(image, 2, 0);
  const e = (t: tf.Tensor) => tf.mean(tf.square(tf.sub(t, x))).dataSync()[0];
  assert.ok(e(lo) > 4 * e(hi), `q30 mse ${e(lo)} vs q95 ${e(hi)}`);
  const [b30, b95] = bits.dataSync();
  assert.ok(b95 > 2 * b30, `bits q30 ${b30}, q95 ${b95}`);
  // Each sample as it would be alone.
  const alone = jpegProxy(x, 30).image;
  assert.equal(tf.max(tf.abs(tf.sub(alone, lo))).dataSync()[0], 0);
  assert.throws(() => jpegProxy(two, [50]), /2 qualities|1 qualities/);
});

test('the rate proxy grows with quality on a real photo', () => {
  const x = astronautLr();
  const qs = [20, 40, 60, 75, 85, 95];
  const bits = qs.map((q) => jpegProxy(x, q).bits.dataSync()[0]);
  for (let i = 1; i < qs.length; i++) assert.ok(bits[i] > bits[i - 1], `bits ${bits.join(', ')} at qualities ${qs.join(', ')}`);
});

for (const rounding of ['ste', 'cubic', 'noise'] as JpegRounding[]) {
  test(`finite, non-zero gradients through '${rounding}' rounding, to the image and to the rate`, () => {
    const x = tf.slice(astronautLr(), [0, 16, 16, 0], [1, 32, 32, 3]) as tf.Tensor4D;
    const target = tf.randomUniform(x.shape, 0, 1, 'float32', 3);
    const before = tf.memory().numTensors;
    const gImage = tf.grad((v: tf.Tensor) => tf.sum(tf.square(tf.sub(jpegProxy(v as tf.Tensor4D, 60, { rounding, seed: 4 }).image, target))))(x);
    const gRate = tf.grad((v: tf.Tensor) => tf.sum(jpegProxy(v as tf.Tensor4D, 60, { rounding }).bits))(x);
    for (const [name, g] of [['image', gImage], ['rate', gRate]] as const) {
      const d = g.dataSync();
      assert.ok(d.every(Number.isFinite), `${name} gradient not finite`);
      const nonZero = d.filter((v) => v !== 0).length;
      assert.ok(nonZero > d.length / 4, `${name} gradient: only ${nonZero} of ${d.length} non-zero`);
    }
    // Lowering the rate: a step against its gradient lowers the estimated bits.
    tf.dispose(gImage);
    assert.equal(tf.memory().numTensors, before + 1, 'jpegProxy or its gradient leaked tensors');
    const bitsOf = (v: tf.Tensor4D) => tf.tidy(() => jpegProxy(v, 60).bits.dataSync()[0]);
    const stepped = tf.sub(x, tf.mul(tf.sign(gRate), 2 / 255)) as tf.Tensor4D;
    const [b0, b1] = [bitsOf(x), bitsOf(stepped)];
    assert.ok(b1 < b0, `bits ${b0} -> ${b1} after a step down the rate gradient`);
    tf.dispose([gRate, stepped, target, x]);
  });
}

test('on wasm (no Conv2DBackprop kernels there) the same image, bits and gradients as on cpu', async () => {
  // Qualities that take each chroma subsampling; 37x45 pads to 48x48.
  const qs = [40, 85, 95];
  const runOn = async (backend: 'cpu' | 'wasm') => {
    await useNodeBackend(backend);
    return tf.tidy(() => {
      const x = tf.tile(tf.slice(astronautLr(), [0, 20, 30, 0], [1, 37, 45, 3]), [3, 1, 1, 1]) as tf.Tensor4D;
      const p = jpegProxy(x, qs);
      const gImage = tf.grad((v: tf.Tensor) => tf.sum(tf.square(jpegProxy(v as tf.Tensor4D, qs, { rounding: 'cubic' }).image)))(x);
      const gRate = tf.grad((v: tf.Tensor) => tf.sum(jpegProxy(v as tf.Tensor4D, qs).bits))(x);
      return [p.image, p.bits, gImage, gRate].map((t) => Array.from(t.dataSync()));
    });
  };
  const want = await runOn('cpu');
  const got = await runOn('wasm');
  await useNodeBackend('cpu');
  ['image', 'bits', 'dImage', 'dRate'].forEach((name, k) => {
    let d = 0;
    let n = 0;
    want[k].forEach((v, i) => {
      d += (got[k][i] - v) ** 2;
      n += v ** 2;
    });
    assert.ok(n > 0 && Math.sqrt(d / n) < 2e-3, `${name}: relative difference ${Math.sqrt(d / n)} between wasm and cpu`);
  });
});

test("realWithProxyGradient: the real image forward, the proxy's gradient backward", () => {
  const x = tf.slice(astronautLr(), [0, 40, 40, 0], [1, 32, 32, 3]) as tf.Tensor4D;
  // A stand-in for the real codec's output: anything made off the tape.
  const real = tf.tidy(() => tf.clipByValue(tf.add(jpegProxy(x, 50).image, 0.01), 0, 1)) as tf.Tensor4D;
  const target = tf.randomUniform(x.shape, 0, 1, 'float32', 5);
  const loss = (img: tf.Tensor) => tf.sum(tf.mul(img, target));
  const value = tf.tidy(() => realWithProxyGradient(real, jpegProxy(x, 50).image).dataSync());
  assert.deepEqual(Array.from(value), Array.from(real.dataSync()));
  const want = tf.grad((v: tf.Tensor) => loss(jpegProxy(v as tf.Tensor4D, 50).image))(x);
  const got = tf.grad((v: tf.Tensor) => loss(realWithProxyGradient(real, jpegProxy(v as tf.Tensor4D, 50).image)))(x);
  const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0];
  assert.ok(diff === 0 && tf.max(tf.abs(want)).dataSync()[0] > 0, `gradient differs by ${diff}`);
  assert.throws(() => realWithProxyGradient(real, tf.slice(x, [0, 0, 0, 0], [1, 16, 32, 3])), /is \[1, 32, 32, 3\], the proxy's \[1, 16, 32, 3\]/);
  tf.dispose([x, real, target, want, got]);
});
