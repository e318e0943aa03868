// LatentsClient against the real worker logic (worker-main.ts) in this process, behind a fake
// Worker that delivers messages as a browser does (structured clone, transfer, in a later task).
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { IrnModel, type RasterImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';
import { LatentsClient } from './client.js';
import type { ToLatentsWorker } from './protocol.js';
import { serveLatents } from './worker-main.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** A module worker running serveLatents here; every instance and what it was sent are kept. */
class FakeWorker {
  static made: FakeWorker[] = [];
  /** Called with each message as the page posts it. */
  static onPost: ((message: ToLatentsWorker) => void) | null = null;
  readonly received: ToLatentsWorker[] = [];
  terminated = false;
  private readonly toPage: ((event: { data: unknown }) => void)[] = [];
  private readonly toWorker: ((event: { data: unknown }) => void)[] = [];

  constructor(readonly url: string) {
    FakeWorker.made.push(this);
    serveLatents({
      postMessage: (message, transfer) => this.deliver(this.toPage, message, transfer),
      addEventListener: (_type, listener) => this.toWorker.push(listener as (event: { data: unknown }) => void),
    });
  }

  postMessage(message: ToLatentsWorker, transfer: Transferable[] = []): void {
    this.received.push(message);
    this.deliver(this.toWorker, message, transfer);
    FakeWorker.onPost?.(message);
  }

  addEventListener(type: string, listener: (event: { data: unknown }) => void): void {
    if (type === 'message') this.toPage.push(listener);
  }

  terminate(): void {
    this.terminated = true;
  }

  private deliver(to: ((event: { data: unknown }) => void)[], message: unknown, transfer: Transferable[] = []): void {
    const data = structuredClone(message, { transfer });
    setTimeout(() => {
      if (!this.terminated) for (const listener of to) listener({ data });
    }, 0);
  }
}

const photo = (w: number, h: number, seed: number): RasterImage => ({
  width: w,
  height: h,
  channels: 3,
  data: Float32Array.from({ length: w * h * 3 }, () => ((seed = (seed * 16807) % 2147483647) / 2147483647)),
});

let model: IrnModel;
const realWorker = globalThis.Worker;

before(async () => {
  await useNodeBackend('cpu');
  model = await IrnModel.load(fileSystem(`${root}weights/irn-x2`));
  globalThis.Worker = FakeWorker as unknown as typeof Worker;
});

after(() => {
  globalThis.Worker = realWorker;
  model.dispose();
});

test('the worker keeps the model and the photo: each is sent once, and restores are scored against the photo held', async () => {
  FakeWorker.made = [];
  const client = new LatentsClient('latents-worker.js', 'wasm/');
  const a = photo(24, 16, 1);
  const first = await client.latents(model, 'cpu', a);
  assert.deepEqual([first.width, first.height, first.z.length], [12, 8, 9]);
  assert.equal(client.holds(model, 'cpu'), true);
  const b = photo(24, 16, 2);
  await client.latents(model, 'cpu', b);
  // The page's photos stay usable: copies went to the worker.
  assert.equal(a.data.length, 24 * 16 * 3);
  const restored = photo(24, 16, 3);
  const values = restored.data.slice();
  const { scores, image } = await client.scores(restored, b, 2);
  assert.ok(Number.isFinite(scores.psnr) && scores.ssim < 1);
  assert.deepEqual(image.data, values);
  // Its buffer went to the worker and came back.
  assert.equal(restored.data.length, 0);
  await client.scores(image, a, 2);
  const [worker] = FakeWorker.made;
  assert.equal(FakeWorker.made.length, 1);
  assert.deepEqual(
    worker.received.map((m) => [m.type, m.type === 'latents' ? m.artifacts != null : null, m.type === 'latents' ? m.photo != null : m.reference != null]),
    [
      ['latents', true, true],
      ['latents', false, true],
      ['scores', null, false],
      // Another reference than the photo held: sent, and held from then on.
      ['scores', null, true],
    ],
  );
  client.dispose();
  assert.equal(worker.terminated, true);
});

test('a call aborted before it is sent leaves the worker; one aborted after stops it, and the next starts a fresh one that is sent everything', async () => {
  FakeWorker.made = [];
  const client = new LatentsClient('latents-worker.js', 'wasm/');
  const a = photo(16, 12, 4);
  await client.latents(model, 'cpu', a);
  // Aborted while the photo is copied for the worker: nothing was sent.
  const early = new AbortController();
  const copying = client.latents(model, 'cpu', photo(16, 12, 5), early.signal);
  early.abort();
  await assert.rejects(copying, { name: 'AbortError' });
  assert.equal(FakeWorker.made[0].terminated, false);
  assert.equal(client.holds(model, 'cpu'), true);
  // Aborted once the worker has it: the forward pass cannot be interrupted, the worker goes.
  const late = new AbortController();
  FakeWorker.onPost = (message) => {
    if (message.type === 'latents') late.abort();
  };
  try {
    await assert.rejects(client.latents(model, 'cpu', photo(16, 12, 6), late.signal), { name: 'AbortError' });
  } finally {
    FakeWorker.onPost = null;
  }
  assert.equal(FakeWorker.made[0].terminated, true);
  assert.equal(client.holds(model, 'cpu'), false);
  await client.latents(model, 'cpu', a);
  assert.equal(FakeWorker.made.length, 2);
  const [again] = FakeWorker.made[1].received;
  assert.ok(again.type === 'latents' && again.artifacts != null && again.photo != null);
  client.dispose();
});

test('a backend the worker cannot start is one line naming it; the next call sends everything again', async () => {
  FakeWorker.made = [];
  const client = new LatentsClient('latents-worker.js', 'wasm/');
  await assert.rejects(client.latents(model, 'webgpu', photo(16, 12, 6)), /^Error: the webgpu backend could not start in the latents worker: /);
  assert.equal(client.holds(model, 'webgpu'), false);
  await client.latents(model, 'cpu', photo(16, 12, 6));
  const sent = FakeWorker.made[0].received;
  assert.ok(sent[1].type === 'latents' && sent[1].artifacts != null && sent[1].photo != null);
  client.dispose();
});
