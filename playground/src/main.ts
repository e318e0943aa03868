/**
 * The playground's entry: registers `<irn-playground>` and its views. Backends are imported
 * on demand by @irn/core's `activateBackend`; the fine-tune worker is `dist/train-worker.js`, the
 * Latents tab's `dist/latents-worker.js`.
 */
import './app.js';
