// The latents worker's entry: `new Worker(url, { type: 'module' })` with the URL of its bundle,
// playground/dist/latents-worker.js. LatentsClient (client.ts) starts it.
import { serveLatents, type WorkerScope } from './worker-main.js';

serveLatents(self as unknown as WorkerScope);
