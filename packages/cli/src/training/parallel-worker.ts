// A data-parallel training worker (Node worker_threads): holds a replica of the model, and per
// request loads the main thread's weights, computes the gradients of its shard of the batch and
// sends them back (see parallel-node.ts).
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import { useNodeBackend } from '@irn/core/node';
import { IrnModel, shardGradients } from '@irn/core';
import type { ParallelReply, ParallelRequest, ParallelWorkerInit } from './parallel-protocol.js';

const port = parentPort;
if (port == null) throw new Error('parallel-worker must run in a worker thread');
const post = (m: ParallelReply, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

try {
  const init = workerData as ParallelWorkerInit;
  await useNodeBackend(init.backend);
  const model = await IrnModel.load(tf.io.fromMemory(init.artifacts as tf.io.ModelArtifacts));
  const vars = model.flow.trainableWeights.map((w) => w.read() as tf.Variable);
  port.on('message', (m: ParallelRequest) => {
    try {
      let off = 0;
      for (const v of vars) {
        const values = m.weights.subarray(off, off + v.size);
        tf.tidy(() => v.assign(tf.tensor(values, v.shape, 'float32')));
        off += v.size;
      }
      if (off !== m.weights.length) throw new Error(`got ${m.weights.length} weight values for ${off}`);
      const x = tf.tensor4d(m.x, m.shape, 'float32');
      const g = shardGradients(model, vars, x, m.spec);
      x.dispose();
      const grads = new Float32Array(off);
      off = 0;
      for (const d of g.grads) {
        grads.set(d.dataSync() as Float32Array, off);
        off += d.size;
      }
      tf.dispose(g.grads);
      post({ kind: 'grads', id: m.id, grads, total: g.total, fit: g.fit, rec: g.rec, dist: g.dist, ...(g.rate === undefined ? {} : { rate: g.rate }) }, [grads.buffer]);
    } catch (e) {
      post({ kind: 'error', id: m.id, message: (e as Error).message, stack: (e as Error).stack });
    }
  });
  post({ kind: 'ready' });
} catch (e) {
  post({ kind: 'error', id: null, message: (e as Error).message, stack: (e as Error).stack });
}
