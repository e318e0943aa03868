// Starts the data-parallel training worker from the TypeScript sources (parallel-locations.ts
// picks this file when it runs as .ts itself). Node 20 does not pass `--import tsx`'s loader on
// to worker threads, so this registers tsx (a dev dependency of the repository) first. The
// bundle in dist/ starts dist/training/parallel-worker.js instead and needs no tsx.
import { register } from 'tsx/esm/api';

register();
await import('./parallel-worker.ts');
