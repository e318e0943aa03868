/**
 * Node-only parts of `@irn/core`: disk I/O for models and PNG files, backend setup.
 * Import from `@irn/core/node`; everything in `@irn/core` itself also runs in browsers.
 * Training from image folders, checkpoints and the `irn` command are in `@irn/cli`.
 */
export { fileSystem, readModelJsonText, readModelWeightPaths, type FileSystemOptions } from './io/fs-handler.js';
export { useNodeBackend, type NodeBackendName } from './backend/node-backend.js';
