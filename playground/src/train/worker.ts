// The fine-tuning worker's entry: `new Worker(url, { type: 'module' })` with the URL of this
// file (served from the sources, e.g. by the test runner's dev server) or of its bundle,
// playground/dist/train-worker.js. FineTuneSession (client.ts) starts it.
import { serveFineTune, type WorkerScope } from './worker-main.js';

serveFineTune(self as unknown as WorkerScope);
