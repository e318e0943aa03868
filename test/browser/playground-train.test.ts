// The playground's fine-tuning worker (playground/src/train/), started from its sources
// through the test runner's dev server, training for real on WebGPU (SwiftShader here): a
// tiny fresh x2 model on a crop of samples/coffee.png. On this software adapter a step of
// even the tiny model takes seconds, so one session goes through everything in turn.
import * as tf from '@tensorflow/tfjs-core';
import { activateBackend, decodePng, IrnModel, IrnTrainer, roundTripPsnrY, samplePatches, type StepReport, type TrainImage } from '@irn/core/browser';
import {
  FINE_TUNE_LOCK_PREFIX,
  FineTuneSession,
  validationCrop,
  type FineTuneConfig,
  type FineTuneEventMap,
  type FineTuneStep,
} from '../../playground/src/train/client.js';

const WORKER_URL = new URL('../../playground/src/train/worker.ts', import.meta.url);
/** The tiny x2 test model (1 block, growth 4, perturbed weights; test/browser/make-fixtures.ts). */
const FIXTURE_MODEL = new URL('./fixtures/weights/irn-x2/model.json', import.meta.url).href;

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

/** An 8-bit RGB crop of a sample photo. */
async function photoCrop(name: string, left: number, top: number, w: number, h: number): Promise<TrainImage> {
  const png = decodePng(new Uint8Array(await (await fetch(new URL(`../../samples/${name}`, import.meta.url))).arrayBuffer()));
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) data[(y * w + x) * 3 + c] = Math.round(png.data[((top + y) * png.width + left + x) * png.channels + c] * 255);
    }
  }
  return { width: w, height: h, data, name: `${name}@${left},${top}` };
}

/** The next `type` event whose detail passes `pred`, or a rejection after `ms`. */
function nextEvent<K extends keyof FineTuneEventMap>(
  session: FineTuneSession,
  type: K,
  pred: (detail: FineTuneEventMap[K]['detail']) => boolean = () => true,
  ms = 30_000,
): Promise<FineTuneEventMap[K]['detail']> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      session.removeEventListener(type, listener as EventListener);
      reject(new Error(`no matching "${type}" event within ${ms} ms (state ${session.state}, step ${session.step})`));
    }, ms);
    const listener = (event: FineTuneEventMap[K]): void => {
      if (!pred(event.detail)) return;
      clearTimeout(timer);
      session.removeEventListener(type, listener as EventListener);
      resolve(event.detail);
    };
    session.addEventListener(type, listener as EventListener);
  });
}

async function rejection(promise: Promise<unknown>, what: string): Promise<Error> {
  try {
    await promise;
  } catch (e) {
    return e as Error;
  }
  throw new Error(`${what}: expected a rejection, it resolved`);
}

/** Names of the Web Locks that live fine-tuning workers hold. */
async function liveWorkerLocks(): Promise<string[]> {
  const { held = [] } = await navigator.locks.query();
  return held.map((l) => l.name ?? '').filter((n) => n.startsWith(FINE_TUNE_LOCK_PREFIX));
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('playground fine-tuning worker', () => {
  let photo: TrainImage;

  before(async () => {
    // 32x32 (one patch): every batch is this crop under the 8 flips/transposes, so the loss
    // is smooth enough to go down visibly in a dozen steps.
    photo = await photoCrop('coffee.png', 190, 120, 32, 32);
  });

  it('rejects bad configs from start with a clear message, before or without a worker', async function () {
    const good: FineTuneConfig = {
      init: { kind: 'fresh', scale: 2, blocks: 1, growth: 4 },
      images: [photo],
      steps: 10,
      batch: 2,
      patch: 32,
      lr: 1e-3,
      keepImages: true,
    };
    const rgba = { width: 32, height: 32, data: new Uint8Array(32 * 32 * 4), name: 'rgba' };
    const cases: [string, Partial<FineTuneConfig>, RegExp][] = [
      ['no images', { images: [] }, /no training images/],
      ['an image smaller than the patch', { images: [{ ...photo, width: 16, height: 16, data: photo.data.slice(0, 16 * 16 * 3) }] }, /16x16, smaller than the 32 px patch/],
      ['steps < 1', { steps: 0 }, /steps must be an integer >= 1, got 0/],
      ['a fractional batch', { batch: 1.5 }, /batch must be an integer >= 1/],
      ['a patch that is not a multiple of the scale', { patch: 31 }, /patch must be a positive multiple of the model's scale 2/],
      ['RGBA pixels', { images: [rgba] }, /4096 bytes; 8-bit RGB needs 3072.*RGBA/],
      ['lr 0', { lr: 0 }, /lr must be a finite number > 0/],
      ['an unknown backend', { backend: 'webgl2' as never }, /backend must be one of/],
      ['scale 3', { init: { kind: 'fresh', scale: 3 as never, blocks: 1, growth: 4 } }, /init.scale must be 2, 4 or 8/],
      ['artifacts that are not an IRN model', { init: { kind: 'artifacts', artifacts: { modelTopology: {}, weightData: new ArrayBuffer(4) } } }, /not an IRN model/],
    ];
    for (const [what, change, message] of cases) {
      const e = await rejection(FineTuneSession.start(WORKER_URL, { ...good, ...change }), what);
      assert(message.test(e.message), `${what}: "${e.message}"`);
    }
    assert((await liveWorkerLocks()).length === 0, 'a worker was started for a config the page could check');
    // Found by the worker: a named backend that cannot start (wasm where its .wasm files are
    // not), and a worker script that does not load.
    const noWasm = new URL('./fixtures/no-such-folder/', import.meta.url).href;
    const wasm = await rejection(FineTuneSession.start(WORKER_URL, { ...good, backend: 'wasm', wasmPaths: noWasm }), 'wasm where its files are not');
    assert(/the wasm backend cannot run here/.test(wasm.message), wasm.message);
    const missing = await rejection(FineTuneSession.start(new URL('./fixtures/no-such-worker.js', import.meta.url), good), 'bad worker URL');
    assert(/fine-tuning worker failed/.test(missing.message), missing.message);
    for (let i = 0; i < 50 && (await liveWorkerLocks()).length > 0; i++) await sleep(100);
    assert((await liveWorkerLocks()).length === 0, 'a failed start left its worker running');
  });

  it('a loss that is not finite sends the weights back to the last validation and pauses; a lower learning rate resumes', async () => {
    // Adam moves every weight by about lr per step: 1e6 blows the model up within a step or two.
    const session = await FineTuneSession.start(WORKER_URL, {
      init: { kind: 'fresh', scale: 2, blocks: 1, growth: 4, seed: 6 },
      images: [photo],
      steps: 4,
      batch: 2,
      patch: 32,
      lr: 1e6,
      backend: 'cpu',
      validateEvery: 0,
      keepImages: true,
    });
    try {
      const paused = nextEvent(session, 'state', (s) => s.state === 'paused', 120_000);
      const diverged = await nextEvent(session, 'diverged', () => true, 120_000);
      assert(!Number.isFinite(diverged.loss) && diverged.step >= 1 && diverged.restoredStep === 0, JSON.stringify(diverged));
      await paused;
      assert(session.step === 0, `step ${session.step} after going back`);
      const v = await session.validate();
      assert(v.step === 0 && Number.isFinite(v.psnr) && v.psnr > 20, `validation after going back: ${JSON.stringify(v)}`);
      session.setLearningRate(1e-4);
      session.resume();
      const lrs: number[] = [];
      session.addEventListener('step', (e) => lrs.push(e.detail.lr));
      await nextEvent(session, 'state', (s) => s.state === 'done', 120_000);
      assert(lrs.length === 4 && lrs.every((lr) => lr === 1e-4), `learning rates after resuming: ${lrs.join()}`);
      assert((await activateBackend('cpu')).ok, 'no cpu backend on the page');
      const model = await IrnModel.load(tf.io.fromMemory(await session.exportModel()));
      const psnr = tf.tidy(() => roundTripPsnrY(model, tf.randomUniform([1, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D));
      assert(Number.isFinite(psnr), `exported model: round trip ${psnr} dB`);
      model.dispose();
    } finally {
      session.dispose();
    }
  });

  it("'auto' takes wasm before software WebGL and WebGPU (SwiftShader), holds out the last of several images, runs to done", async () => {
    const other = await photoCrop('chelsea.png', 200, 120, 40, 36);
    const session = await FineTuneSession.start(WORKER_URL, {
      init: { kind: 'fresh', scale: 2, blocks: 1, growth: 4, seed: 5 },
      images: [photo, other],
      steps: 2,
      batch: 2,
      patch: 32,
      lr: 1e-3,
      reportEvery: 2,
      validateEvery: 0,
      keepImages: true,
    });
    try {
      // CI's WebGL and WebGPU are SwiftShader, software (see autoBackendPlan).
      assert(session.backend === 'wasm', `auto picked ${session.backend}`);
      assert(other.data.byteLength === 40 * 36 * 3, 'keepImages: the page lost its pixels');
      const crops = session.validationCrops;
      assert(crops.length === 1 && crops[0].width === 40 && crops[0].height === 36 && /held-out image chelsea/.test(crops[0].source), JSON.stringify(crops));
      const steps: number[] = [];
      const validations: number[] = [];
      session.addEventListener('step', (e) => steps.push(e.detail.step));
      session.addEventListener('validation', (e) => validations.push(e.detail.step));
      await nextEvent(session, 'state', (s) => s.state === 'done', 60_000);
      assert(steps.join() === '2' && validations.join() === '0,2', `steps ${steps.join()}, validations at ${validations.join()}`);
      assert((await session.stop()) === 2 && session.state === 'done', `stop after done: ${session.state}`);
      assert((await activateBackend('cpu')).ok, 'no cpu backend on the page');
      const artifacts = await session.exportModel();
      const source = (artifacts.userDefinedMetadata as { irn: { source: string } }).irn.source;
      assert(source === 'fine-tuned in the browser (wasm) for 2 steps from a fresh x2 model (1 block, growth 4)', source);
      const model = await IrnModel.load(tf.io.fromMemory(artifacts));
      assert(model.scale === 2 && model.countParams() === session.params, `exported x${model.scale}, ${model.countParams()} weights`);
      model.dispose();
    } finally {
      session.dispose();
    }
  });

  it('fine-tunes a tiny model on WebGPU: loss goes down, pause, resume, learning rate, stop, export, dispose', async function () {
    // Over the 2 min default only if the machine is very busy: about 2.5 s a step here.
    (this as { timeout(ms: number): void }).timeout(240_000);
    const t0 = performance.now();
    const images = [{ ...photo, data: photo.data.slice() }];
    const lr0 = 4e-3;
    const lr1 = 2e-3;
    // The tiny test model (x2, 1 block, growth 4) with perturbed weights, loaded by the page:
    // its loss falls steeply. (A fresh model starts at the Haar transform, a good point that
    // the first Adam steps leave: its loss rises for a few steps and is back at the start
    // only after ~40 steps, too slow to test on SwiftShader.)
    const artifacts = await tf.io.browserHTTPRequest(FIXTURE_MODEL).load!();
    const session = await FineTuneSession.start(WORKER_URL, {
      init: { kind: 'artifacts', artifacts },
      images,
      steps: 1000,
      batch: 2,
      patch: 32,
      lr: lr0,
      backend: 'webgpu',
      validationSize: 32,
      validateEvery: 0,
      seed: 3,
    });
    const steps: FineTuneStep[] = [];
    const states: string[] = [];
    session.addEventListener('step', (e) => steps.push(e.detail));
    session.addEventListener('state', (e) => states.push(e.detail.state));
    try {
      const startMs = performance.now() - t0;
      assert(session.backend === 'webgpu' && session.skippedBackends.length === 0, `backend ${session.backend}, skipped ${JSON.stringify(session.skippedBackends)}`);
      assert(session.scale === 2 && session.params > 0, `scale ${session.scale}, ${session.params} weights`);
      assert(images[0].data.byteLength === 0, 'the image was copied, not transferred');
      assert(session.validationCrops.length === 1 && session.validationCrops[0].width === 32, JSON.stringify(session.validationCrops));
      const locks = await liveWorkerLocks();
      assert(locks.length === 1, `live worker locks ${JSON.stringify(locks)}`);

      // The worker trains what @irn/core's trainer computes on the page's cpu backend for the
      // same model, photo and seed: the same loss and gradient norm (clipping depends on it).
      const reference = await cpuReference(artifacts, photo, lr0, 3, 2);
      await nextEvent(session, 'step', (s) => s.step >= 2, 60_000);
      for (const [i, ref] of reference.entries()) {
        const got = steps[i];
        const close = (a: number, b: number, rel: number) => Math.abs(a - b) <= rel * Math.abs(b);
        assert(
          got.step === ref.step && close(got.total, ref.total, 1e-3) && close(got.gradNorm, ref.gradNorm, 1e-3) && got.lr === ref.lr,
          `step ${got.step} on webgpu in the worker: loss ${got.total}, |g| ${got.gradNorm}; on cpu in the page: loss ${ref.total}, |g| ${ref.gradNorm}`,
        );
      }

      // A few steps at lr0, then lr1 from the next step on.
      await nextEvent(session, 'step', (s) => s.step >= 3, 60_000);
      const asked = session.step;
      session.setLearningRate(lr1);
      await nextEvent(session, 'step', (s) => s.step >= asked + 2);
      const switched = steps.find((s) => s.lr !== lr0)!;
      assert(switched.lr === lr1 && switched.step <= asked + 2, `asked at step ${asked}; lrs ${steps.map((s) => `${s.step}:${s.lr}`).join(' ')}`);
      assert(steps.filter((s) => s.step >= switched.step).every((s) => s.lr === lr1), 'the learning rate went back');

      // Pause: the step count stops.
      session.pause();
      const paused = await nextEvent(session, 'state', (s) => s.state === 'paused');
      const memory1 = await session.memory();
      const at = session.step;
      const reported = steps.length;
      // Longer than a step: one that started after the pause would have been reported.
      await sleep(Math.max(2000, 1.5 * mean(steps.slice(1).map((s) => 1000 / s.stepsPerSecond))));
      assert(session.step === at && steps.length === reported && paused.step === at, `paused at ${paused.step}, now at ${session.step} (${steps.length - reported} reports since)`);

      // While paused: the exported weights give the worker's validation score on the page.
      const workerScore = await session.validate();
      assert(workerScore.step === at, `validated at ${workerScore.step}, paused at ${at}`);
      await checkExport(session, photo, workerScore.psnr);

      // Resume: steps continue; a second pause shows no tensor grew in between.
      session.resume();
      await nextEvent(session, 'step', (s) => s.step >= at + 2);
      session.pause();
      await nextEvent(session, 'state', (s) => s.state === 'paused');
      const memory2 = await session.memory();
      assert(memory2.numTensors === memory1.numTensors && memory2.numBytes === memory1.numBytes, `tensors ${JSON.stringify(memory1)} -> ${JSON.stringify(memory2)}`);
      const at2 = session.step;
      session.resume();
      await nextEvent(session, 'step', (s) => s.step > at2);

      const stopped = await session.stop();
      assert(session.state === 'stopped' && states.at(-1) === 'stopped', `state ${session.state}, states ${states.join()}`);
      assert(stopped === steps.at(-1)!.step, `stop() says ${stopped}, last report ${steps.at(-1)!.step}`);
      await sleep(500);
      assert(steps.at(-1)!.step === stopped, 'steps after stop');

      // The loss went down (one 32x32 crop: batches differ only by flips and transposes).
      const totals = steps.map((s) => s.total);
      const [first, last] = [mean(totals.slice(0, 3)), mean(totals.slice(-3))];
      assert(last < 0.5 * first, `loss ${first.toFixed(2)} -> ${last.toFixed(2)}: ${totals.map((t) => t.toFixed(1)).join(' ')}`);
      assert(states.join() === 'running,paused,running,paused,running,stopped', `states ${states.join()}`);

      // After stop: export still works and matches the worker's score of the final weights.
      const finalScore = await session.validate();
      await checkExport(session, photo, finalScore.psnr);

      const later = steps.slice(2);
      const ms = mean(later.map((s) => 1000 / s.stepsPerSecond));
      console.log(
        `fine-tune on ${session.backend} (SwiftShader), x2 1 block growth 4 (${session.params} weights), patch 32, batch 2: ` +
          `start ${startMs.toFixed(0)} ms, ${ms.toFixed(0)} ms/step (mean of steps ${later[0].step}-${later.at(-1)!.step}), ` +
          `${stopped} steps, loss ${totals.map((t) => t.toFixed(1)).join(' ')}, val PSNR-Y ${finalScore.psnr.toFixed(2)} dB, test ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      );
    } finally {
      session.dispose();
    }
    const e = await rejection(session.memory(), 'a call after dispose');
    assert(e.name === 'AbortError' && /disposed/.test(e.message), `${e.name}: ${e.message}`);
    for (let i = 0; i < 50 && (await liveWorkerLocks()).length > 0; i++) await sleep(100);
    assert((await liveWorkerLocks()).length === 0, 'the worker still holds its lock after dispose');
  });
});

/** The first `n` step reports of @irn/core's trainer on the page's cpu backend, as the worker is configured. */
async function cpuReference(artifacts: tf.io.ModelArtifacts, image: TrainImage, lr: number, seed: number, n: number): Promise<StepReport[]> {
  assert((await activateBackend('cpu')).ok, 'no cpu backend on the page');
  const model = await IrnModel.load(tf.io.fromMemory(artifacts));
  const trainer = new IrnTrainer(model, { lr: { kind: 'multistep', base: lr, milestones: [] }, seed, loss: { zScale: 0 } });
  const reports: StepReport[] = [];
  for (let i = 0; i < n; i++) {
    const x = samplePatches([image], trainer.rng, 2, 32);
    reports.push(trainer.trainStep(x));
    x.dispose();
  }
  trainer.dispose();
  model.dispose();
  return reports;
}

/**
 * Exports the session's model, loads it on the page (WebGPU, as the worker) and checks that
 * its round-trip PSNR-Y on the worker's validation crop is the worker's `psnr`.
 */
async function checkExport(session: FineTuneSession, image: TrainImage, psnr: number): Promise<void> {
  const artifacts = await session.exportModel();
  assert(artifacts.weightData instanceof ArrayBuffer && artifacts.weightData.byteLength === 4 * session.params, `weightData ${String(artifacts.weightData)}`);
  const source = (artifacts.userDefinedMetadata as { irn: { source: string } }).irn.source;
  assert(/^fine-tuned in the browser \(webgpu\) for \d+ steps from test fixture/.test(source), source);
  const started = await activateBackend('webgpu');
  assert(started.ok, JSON.stringify(started));
  const before = tf.memory().numTensors;
  const model = await IrnModel.load(tf.io.fromMemory(artifacts));
  const crop = validationCrop(image, 32, 2);
  const x = tf.tensor4d(crop.data, [1, crop.height, crop.width, 3]);
  try {
    const page = roundTripPsnrY(model, x);
    assert(Math.abs(page - psnr) < 1e-3, `page ${page} dB vs worker ${psnr} dB`);
  } finally {
    x.dispose();
    model.dispose();
  }
  assert(tf.memory().numTensors === before, 'tensors left on the page');
}
