import type { NodeBackendName } from '@irn/core/node';
import type { ShardSpec } from '@irn/core';

/** `workerData` of a data-parallel training worker. */
export interface ParallelWorkerInit {
  backend: NodeBackendName;
  /** The model as `IrnModel.toArtifacts` gives it (architecture; weights come with each step). */
  artifacts: { modelTopology: unknown; weightSpecs: unknown; weightData: ArrayBuffer; format?: string; generatedBy?: string; convertedBy?: string | null };
}

/** Main thread to worker (the main thread ends workers with `terminate()`). */
export interface ParallelRequest {
  kind: 'step';
  id: number;
  /** Every trainable variable, flattened in `IrnTrainer.variables` order. */
  weights: Float32Array;
  /** The shard `[b, p, p, 3]`, flattened. */
  x: Float32Array;
  shape: [number, number, number, number];
  spec: ShardSpec;
}

/** Worker to main thread. */
export type ParallelReply =
  | { kind: 'ready' }
  | { kind: 'grads'; id: number; grads: Float32Array; total: number; fit: number; rec: number; dist: number; rate?: number }
  | { kind: 'error'; id: number | null; message: string; stack?: string };
