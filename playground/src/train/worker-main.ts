// The fine-tuning worker's logic (worker.ts is the entry): trains an IRN model with
// @irn/core's IrnTrainer on the best backend that starts, one step at a time, handling the
// page's messages (pause, resume, stop, learning rate, export, validate) between steps.
import * as tf from '@tensorflow/tfjs-core';
import {
  activateBackend,
  autoBackendOrder,
  BACKEND_ORDER,
  IrnModel,
  IrnTrainer,
  roundTripPsnrY,
  samplePatches,
  type BackendName,
  type LrSchedule,
  type TrainerState,
  type TrainImage,
} from '@irn/core/browser';
import {
  checkConfig,
  FINE_TUNE_LOCK_PREFIX,
  serializeError,
  splitImages,
  validationCrop,
  type FineTuneReady,
  type FineTuneState,
  type FineTuneValidation,
  type FromTrainWorker,
  type ToTrainWorker,
  type WorkerConfig,
} from './protocol.js';
import { FINE_TUNED_PREFIX } from '../trained-z.js';

/** The part of a worker's global scope this module uses. */
export interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void;
}

const constant = (lr: number): LrSchedule => ({ kind: 'multistep', base: lr, milestones: [] });

/** Lets queued messages run: a macrotask, so the page's messages are handled between steps. */
const yieldToMessages = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * Serves one fine-tuning session from inside a module worker. The page sends `start` once;
 * the training loop then runs by itself and reports `step`, `validation` and `state`
 * messages. Everything that touches the model (a step, a validation, an export) runs under
 * one lock, so an export never sees weights halfway through an update.
 */
export function serveFineTune(scope: WorkerScope): void {
  let session: Promise<FineTuneRun> | null = null;
  const post = (message: FromTrainWorker, transfer: Transferable[] = []): void => scope.postMessage(message, transfer);

  scope.addEventListener('message', (event) => {
    const msg = event.data as ToTrainWorker;
    if (msg.type === 'start') {
      if (session != null) {
        post({ type: 'error', id: msg.id, error: serializeError(new Error('this fine-tuning worker already has a session; start another worker')) });
        return;
      }
      holdLock(msg.lockId);
      session = FineTuneRun.create(msg.config, post);
      session.then(
        (run) => {
          post({ type: 'ready', id: msg.id, ready: run.ready });
          void run.loop();
        },
        (e) => {
          session = null;
          post({ type: 'error', id: msg.id, error: serializeError(e) });
        },
      );
      return;
    }
    const id = 'id' in msg ? msg.id : 0;
    void (async () => {
      try {
        if (session == null) throw new Error(`the fine-tuning worker got "${msg.type}" before start`);
        const run = await session;
        switch (msg.type) {
          case 'pause':
            run.pause();
            return;
          case 'resume':
            run.resume();
            return;
          case 'set-lr':
            run.setLearningRate(msg.lr);
            return;
          case 'stop':
            post({ type: 'stopped', id, step: await run.stop() });
            return;
          case 'export': {
            const { artifacts, step } = await run.exportModel();
            post({ type: 'exported', id, artifacts, step }, [artifacts.weightData as ArrayBuffer]);
            return;
          }
          case 'validate':
            post({ type: 'validated', id, validation: await run.validate() });
            return;
          case 'memory': {
            const { numTensors, numBytes } = tf.memory();
            post({ type: 'memory', id, memory: { numTensors, numBytes, backend: run.backend } });
            return;
          }
        }
      } catch (e) {
        // pause, resume and set-lr expect no answer (the page checks their arguments).
        if (id !== 0) post({ type: 'error', id, error: serializeError(e) });
        else console.error(`fine-tuning worker: "${msg.type}" failed:`, e);
      }
    })();
  });
}

/** One fine-tune: the model and trainer on the active backend, and the loop's state. */
class FineTuneRun {
  private state: FineTuneState = 'running';
  private stopRequested = false;
  private wake: (() => void) | null = null;
  private finished: Promise<void> = Promise.resolve();
  private lock: Promise<unknown> = Promise.resolve();
  private trainMs = 0;
  private lastValidatedStep = -1;
  /** The trainer's state at the last validation: where a fallback to another backend resumes. */
  private snapshot: TrainerState | null = null;

  private constructor(
    private model: IrnModel,
    private trainer: IrnTrainer,
    private crops: tf.Tensor4D[],
    public backend: BackendName,
    readonly ready: FineTuneReady,
    private readonly config: WorkerConfig,
    private readonly train: TrainImage[],
    private readonly validation: TrainImage[],
    private readonly post: (message: FromTrainWorker, transfer?: Transferable[]) => void,
  ) {}

  /** Checks the config, starts a backend and builds the model, trainer and validation crops there. */
  static async create(config: WorkerConfig, post: (message: FromTrainWorker, transfer?: Transferable[]) => void): Promise<FineTuneRun> {
    checkConfig(config);
    const choice = config.backend ?? 'auto';
    const candidates = choice === 'auto' ? await autoBackendOrder() : [choice];
    const skipped: FineTuneReady['skipped'] = [];
    const { train, validation, heldOut } = splitImages(config);
    for (const name of candidates) {
      const started = await startOn(name, config, null);
      if ('reason' in started) {
        if (choice !== 'auto') throw new Error(`the ${name} backend cannot run here: ${started.reason}`);
        skipped.push({ backend: name, reason: started.reason });
        continue;
      }
      const { model, trainer, crops } = started;
      const ready: FineTuneReady = {
        backend: name,
        skipped,
        scale: model.scale,
        params: model.countParams(),
        validation: crops.map((c, i) => ({
          width: c.shape[2],
          height: c.shape[1],
          source: `${heldOut ? 'held-out image' : config.validation?.length ? 'validation image' : 'centre crop of training image'} ${validation[i].name ?? i}`,
        })),
      };
      return new FineTuneRun(model, trainer, crops, name, ready, config, train, validation, post);
    }
    throw new Error(`no TensorFlow.js backend could run the fine-tune here: ${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')}`);
  }

  /** Steps done. */
  get step(): number {
    return this.trainer.step;
  }

  /** Runs the training loop to the end (or a stop, or an error), then stays for exports. */
  loop(): Promise<void> {
    this.finished = this.runLoop();
    return this.finished;
  }

  private async runLoop(): Promise<void> {
    const { steps, batch, patch } = this.config;
    const reportEvery = this.config.reportEvery ?? 1;
    const validateEvery = this.config.validateEvery ?? 50;
    this.setState('running');
    let sinceReport = 0;
    let msSinceReport = 0;
    try {
      if (this.trainer.step === 0) await this.reportValidation();
      while (this.trainer.step < steps) {
        await yieldToMessages();
        if (this.stopRequested) break;
        if (this.state === 'paused') {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
          continue;
        }
        let done;
        try {
          done = await this.exclusive(() => {
            // An export may have held the lock meanwhile, and a pause or stop come in.
            if (this.state === 'paused' || this.stopRequested) return null;
            const t0 = performance.now();
            const x = samplePatches(this.train, this.trainer.rng, batch, patch);
            try {
              return { report: this.trainer.trainStep(x), ms: performance.now() - t0 };
            } finally {
              x.dispose();
            }
          });
        } catch (e) {
          if (await this.fallBack(e as Error)) continue;
          throw e;
        }
        if (done == null) continue;
        const { report, ms } = done;
        this.trainMs += ms;
        sinceReport++;
        msSinceReport += ms;
        if (!Number.isFinite(report.total)) {
          // The step has already moved the weights: go back to the last validation's state
          // and pause, so that the page can lower the learning rate and resume.
          const snapshot = this.snapshot;
          if (snapshot == null) {
            throw new Error(`the loss is ${report.total} at step ${report.step}; the weights are no longer usable: start again with a lower learning rate`);
          }
          await this.exclusive(() => this.trainer.restoreState(snapshot));
          sinceReport = 0;
          msSinceReport = 0;
          this.post({ type: 'diverged', step: report.step, loss: report.total, restoredStep: snapshot.step });
          this.setState('paused');
          continue;
        }
        if (report.step % reportEvery === 0 || report.step === steps) {
          this.post({ type: 'step', step: { ...report, stepsPerSecond: sinceReport / (msSinceReport / 1000), elapsedMs: this.trainMs } });
          sinceReport = 0;
          msSinceReport = 0;
        }
        if ((validateEvery > 0 && report.step % validateEvery === 0) || report.step === steps) await this.reportValidation();
      }
      this.setState(this.stopRequested ? 'stopped' : 'done');
    } catch (e) {
      this.setState('error', e);
    }
  }

  pause(): void {
    if (this.state === 'running' && !this.stopRequested) this.setState('paused');
  }

  resume(): void {
    if (this.state !== 'paused') return;
    this.setState('running');
    this.wake?.();
  }

  setLearningRate(lr: number): void {
    if (!(typeof lr === 'number' && Number.isFinite(lr) && lr > 0)) throw new RangeError(`learning rate must be a finite number > 0, got ${String(lr)}`);
    this.trainer.setSchedule(constant(lr));
  }

  /** Stops after the running step; resolves with the step count once the loop has ended. */
  async stop(): Promise<number> {
    this.stopRequested = true;
    this.wake?.();
    await this.finished;
    return this.trainer.step;
  }

  /** The current weights as model artifacts (one weight buffer), with a `source` note. */
  exportModel(): Promise<{ artifacts: tf.io.ModelArtifacts; step: number }> {
    return this.exclusive(async () => {
      const from =
        this.config.init.kind === 'fresh'
          ? `a fresh x${this.model.scale} model (${this.model.config.blocks} block${this.model.config.blocks === 1 ? '' : 's'}, growth ${this.model.config.growth})`
          : ((this.config.init.artifacts.userDefinedMetadata as { irn?: { source?: string } } | undefined)?.irn?.source ?? 'a saved model');
      // The z scale (left out at the default, 0) sets the Latents tab's temperature (trained-z.ts).
      const z = (this.config.zScale ?? 0) > 0 ? ` with z scale ${this.config.zScale}` : '';
      this.model.source = `${FINE_TUNED_PREFIX} (${this.backend}) for ${this.trainer.step} steps${z} from ${from}`;
      const artifacts = await this.model.toArtifacts();
      return { artifacts, step: this.trainer.step };
    });
  }

  /** Mean round-trip PSNR-Y over the validation crops with the current weights. */
  validate(): Promise<FineTuneValidation> {
    return this.exclusive(() => {
      const scores = this.crops.map((x) => roundTripPsnrY(this.model, x));
      return { step: this.trainer.step, psnr: scores.reduce((a, b) => a + b, 0) / scores.length };
    });
  }

  private async reportValidation(): Promise<void> {
    if (this.lastValidatedStep === this.trainer.step) return;
    const validation = await this.validate();
    this.lastValidatedStep = validation.step;
    this.post({ type: 'validation', validation });
    // A fallback after a lost device cannot read the weights any more: keep them now.
    this.snapshot = await this.exclusive(() => this.trainer.saveState());
  }

  /**
   * After a failing step: moves to the next backend of BACKEND_ORDER that starts, rebuilds
   * the model and trainer there from the last snapshot (taken at each validation), and
   * says so. False when no snapshot or backend is left; the error then ends the run.
   */
  private async fallBack(error: Error): Promise<boolean> {
    if (this.snapshot == null) return false;
    const from = this.backend;
    for (const to of BACKEND_ORDER.slice(BACKEND_ORDER.indexOf(from) + 1)) {
      const started = await startOn(to, this.config, this.snapshot);
      if ('reason' in started) continue;
      const old = [this.model, this.trainer, ...this.crops];
      [this.model, this.trainer, this.crops, this.backend] = [started.model, started.trainer, started.crops, to];
      for (const o of old) {
        try {
          o.dispose();
        } catch {
          // A lost device may fail to free its tensors too; they are gone with it.
        }
      }
      this.post({ type: 'fallback', from, to, step: this.trainer.step, error: serializeError(error) });
      return true;
    }
    return false;
  }

  private setState(state: FineTuneState, error?: unknown): void {
    this.state = state;
    this.post({ type: 'state', state, step: this.trainer.step, ...(error == null ? {} : { error: serializeError(error) }) });
  }

  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const job = this.lock.then(fn);
    this.lock = job.catch(() => undefined);
    return job;
  }
}

/**
 * Activates `name`, builds the model, a trainer (restored from `snapshot` when given) and
 * the validation crops there, or says why it could not.
 */
async function startOn(
  name: BackendName,
  config: WorkerConfig,
  snapshot: TrainerState | null,
): Promise<{ model: IrnModel; trainer: IrnTrainer; crops: tf.Tensor4D[] } | { reason: string }> {
  const started = await activateBackend(name, { wasmPaths: config.wasmPaths });
  if (!started.ok) return { reason: started.reason };
  let model: IrnModel | null = null;
  try {
    const { init } = config;
    model = init.kind === 'fresh' ? IrnModel.create(init) : await IrnModel.load(tf.io.fromMemory(init.artifacts));
    const trainer = new IrnTrainer(model, { lr: constant(config.lr), seed: config.seed ?? 0, loss: { zScale: config.zScale ?? 0 } });
    if (snapshot != null) await trainer.restoreState(snapshot);
    const size = config.validationSize ?? 128;
    const crops = splitImages(config).validation.map((img) => {
      const c = validationCrop(img, size, model!.scale);
      return tf.tensor4d(c.data, [1, c.height, c.width, 3]);
    });
    return { model, trainer, crops };
  } catch (e) {
    model?.dispose();
    return { reason: `the model could not be built: ${(e as Error).message}` };
  }
}

/**
 * Holds the Web Lock `FINE_TUNE_LOCK_PREFIX + id` for the worker's lifetime: it is released
 * only when the worker ends, so the page can see which fine-tuning workers are alive with
 * `navigator.locks.query()`.
 */
function holdLock(id: string): void {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  if (locks == null) return;
  void locks.request(FINE_TUNE_LOCK_PREFIX + id, () => new Promise<never>(() => undefined));
}
