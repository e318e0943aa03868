// Where the data-parallel trainer's worker script is, relative to this module. This module is a
// rollup entry of its own (rollup.config.mjs), so it sits at src/training/parallel-locations.ts
// and at dist/training/parallel-locations.js alike, each next to its parallel-worker.{ts,js}.
// Keep it free of imports, so that rollup never merges other code into its chunk.

/**
 * The worker script next to this module: `parallel-worker.js` in the bundle, and in the
 * sources `parallel-worker-dev.mjs`, which registers tsx before importing
 * `parallel-worker.ts` (Node 20's worker threads do not inherit `--import tsx`).
 */
export function parallelWorkerUrl(): URL {
  const self = new URL(import.meta.url);
  return new URL(self.pathname.endsWith('.ts') ? './parallel-worker-dev.mjs' : './parallel-worker.js', self);
}
