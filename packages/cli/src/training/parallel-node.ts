import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { NodeBackendName } from '@irn/core/node';
import { parallelWorkerUrl } from './parallel-locations.js';
import type { ParallelReply, ParallelRequest, ParallelWorkerInit } from './parallel-protocol.js';
import { shardGradients, type IrnTrainer, type ShardGradients, type StepReport } from '@irn/core';

/** Options of {@link DataParallelTrainer.start}. */
export interface DataParallelOptions {
  /**
   * Worker threads besides the calling thread, which computes a shard itself. Default:
   * {@link defaultTrainingWorkers}, at least 1.
   */
  workers?: number;
  /** The workers' tfjs backend. Default: the calling thread's (`tf.getBackend()`). */
  backend?: NodeBackendName;
}

interface WorkerHandle {
  worker: Worker;
  pending: Map<number, { resolve: (r: Extract<ParallelReply, { kind: 'grads' }>) => void; reject: (e: Error) => void }>;
  failure: Error | null;
}

/** The default number of training workers: available cores minus the calling thread (0 on one core). */
export function defaultTrainingWorkers(): number {
  return Math.max(0, availableParallelism() - 1);
}

/** `n` split into `parts` sizes that differ by at most one, larger first. */
function shardSizes(n: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor(n / parts) + (i < n % parts ? 1 : 0));
}

/**
 * Data-parallel training in Node with worker threads: each step splits the batch into shards,
 * the calling thread and each worker compute the gradients of one shard on a replica of the
 * model, and the calling thread sums them and finishes the step with the wrapped
 * {@link IrnTrainer} (clipping, weight decay, Adam). The workers get the current weights with
 * every step (about 1 MB for the default x2 model), so they never drift.
 *
 * Why: tfjs-wasm runs one thread in Node, and two training processes on this project's
 * 2-core build machine ran at 1.76x the throughput of one (bench/README.md). The step is the
 * same as {@link IrnTrainer.trainStep} on the whole batch up to float rounding: the loss is a
 * mean over samples, every shard's gradient is weighted by its share, z is drawn per sample
 * from the batch index, and the norm is clipped after summing. Checkpoints and resume go
 * through the wrapped trainer as before.
 *
 * @example
 * const dp = await DataParallelTrainer.start(trainer, { workers: 1 });
 * try {
 *   const report = await dp.trainStep(batch);
 * } finally {
 *   await dp.close();
 * }
 */
export class DataParallelTrainer {
  private nextId = 0;
  private closed = false;

  private constructor(
    readonly trainer: IrnTrainer,
    private readonly workers: WorkerHandle[],
  ) {}

  /**
   * Starts the workers, each with a replica of `trainer.model` on `options.backend`, and
   * resolves once all are ready.
   *
   * @throws Error when a worker cannot start (its message is included); started ones are ended.
   */
  static async start(trainer: IrnTrainer, options: DataParallelOptions = {}): Promise<DataParallelTrainer> {
    const count = options.workers ?? Math.max(1, defaultTrainingWorkers());
    if (!Number.isInteger(count) || count < 1) throw new RangeError(`workers must be an integer >= 1, got ${count}`);
    const backend = options.backend ?? (tf.getBackend() as NodeBackendName);
    if (backend !== 'wasm' && backend !== 'cpu') throw new Error(`data-parallel training runs on wasm or cpu in Node, not ${backend}`);
    const artifacts = await trainer.model.toArtifacts();
    const init: ParallelWorkerInit = { backend, artifacts: artifacts as ParallelWorkerInit['artifacts'] };
    const handles: WorkerHandle[] = [];
    const ready: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const worker = new Worker(parallelWorkerUrl(), { workerData: init });
      const h: WorkerHandle = { worker, pending: new Map(), failure: null };
      handles.push(h);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const fail = (e: Error) => {
            h.failure ??= e;
            reject(h.failure);
            for (const p of h.pending.values()) p.reject(h.failure);
            h.pending.clear();
          };
          worker.on('message', (m: ParallelReply) => {
            if (m.kind === 'ready') resolve();
            else if (m.kind === 'grads') {
              const p = h.pending.get(m.id);
              h.pending.delete(m.id);
              p?.resolve(m);
            } else if (m.id == null) fail(new Error(`training worker ${i + 1} failed to start: ${m.message}`));
            else {
              const p = h.pending.get(m.id);
              h.pending.delete(m.id);
              p?.reject(new Error(`training worker ${i + 1}: ${m.message}`));
            }
          });
          worker.on('error', (e) => fail(new Error(`training worker ${i + 1} crashed: ${e.message}`)));
          worker.on('exit', (code) => fail(new Error(`training worker ${i + 1} exited (code ${code})`)));
        }),
      );
    }
    const dp = new DataParallelTrainer(trainer, handles);
    try {
      await Promise.all(ready);
    } catch (e) {
      await dp.close();
      throw e;
    }
    return dp;
  }

  /** Threads that compute gradients: the calling one and the workers. */
  get threads(): number {
    return 1 + this.workers.length;
  }

  /**
   * One optimisation step on an HR batch `[B, P, P, 3]` in [0, 1], as
   * {@link IrnTrainer.trainStep}. A batch smaller than {@link DataParallelTrainer.threads}
   * uses as many threads as it has samples.
   *
   * @throws Error when a worker fails (the step is not applied; close this trainer).
   */
  async trainStep(xHr: tf.Tensor4D): Promise<StepReport> {
    if (this.closed) throw new Error('DataParallelTrainer is closed');
    const failed = this.workers.find((w) => w.failure != null);
    if (failed) throw failed.failure!;
    const trainer = this.trainer;
    const batch = xHr.shape[0];
    const sizes = shardSizes(batch, Math.min(batch, this.threads));
    const loss = trainer.stepLossOptions();
    const vars = trainer.variables;
    const total = vars.reduce((a, v) => a + v.size, 0);
    const weights = new Float32Array(total);
    let off = 0;
    for (const v of vars) {
      weights.set(v.dataSync() as Float32Array, off);
      off += v.size;
    }
    // Send the workers their shards first, then compute the calling thread's own.
    const replies: Promise<Extract<ParallelReply, { kind: 'grads' }>>[] = [];
    let offset = sizes[0];
    for (let s = 1; s < sizes.length; s++) {
      const h = this.workers[s - 1];
      const x = tf.tidy(() => tf.slice(xHr, [offset, 0, 0, 0], [sizes[s], -1, -1, -1]));
      const data = new Float32Array(x.dataSync() as Float32Array);
      const shape = x.shape as [number, number, number, number];
      x.dispose();
      const id = this.nextId++;
      const w = s === sizes.length - 1 ? weights : weights.slice();
      replies.push(new Promise((resolve, reject) => h.pending.set(id, { resolve, reject })));
      const req: ParallelRequest = { kind: 'step', id, weights: w, x: data, shape, spec: { loss, offset, batch } };
      h.worker.postMessage(req, [w.buffer, data.buffer]);
      offset += sizes[s];
    }
    const own = sizes.length === 1 ? xHr : (tf.slice(xHr, [0, 0, 0, 0], [sizes[0], -1, -1, -1]) as tf.Tensor4D);
    let mine: ShardGradients;
    try {
      mine = shardGradients(trainer.model, vars, own, { loss, offset: 0, batch });
    } finally {
      if (own !== xHr) own.dispose();
    }
    let others: Extract<ParallelReply, { kind: 'grads' }>[];
    try {
      others = await Promise.all(replies);
    } catch (e) {
      tf.dispose(mine.grads);
      throw e;
    }
    const sum: ShardGradients = { grads: [], total: mine.total, fit: mine.fit, rec: mine.rec, dist: mine.dist, ...(mine.rate === undefined ? {} : { rate: mine.rate }) };
    off = 0;
    sum.grads = mine.grads.map((g) => {
      const start = off;
      off += g.size;
      return tf.tidy(() => others.reduce<tf.Tensor>((acc, r) => tf.add(acc, tf.tensor(r.grads.subarray(start, start + g.size), g.shape, 'float32')), g));
    });
    tf.dispose(mine.grads.filter((g) => !sum.grads.includes(g)));
    for (const r of others) {
      sum.total += r.total;
      sum.fit += r.fit;
      sum.rec += r.rec;
      sum.dist += r.dist;
      if (sum.rate !== undefined) sum.rate += r.rate ?? Number.NaN;
    }
    return trainer.applyGradients(sum);
  }

  /** Ends the workers (the wrapped trainer and its model stay usable). Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      this.workers.map(async (h) => {
        h.failure ??= new Error('DataParallelTrainer is closed');
        for (const p of h.pending.values()) p.reject(h.failure);
        h.pending.clear();
        await h.worker.terminate();
      }),
    );
  }
}
