// The rescaler's module worker: `new Worker(new URL('./worker.js', import.meta.url), { type: 'module' })`
// in rescaler.ts. A plain .js file on purpose: that URL must name a real file both when the
// sources are served as they are (the test runner's dev server transpiles the .ts it imports
// on request but serves no .js for a .ts) and in dist/, where rollup bundles this entry into
// dist/browser/worker.js next to dist/browser/rescaler.js.
import { serveRescaler } from './worker-main.ts';

serveRescaler(self);
