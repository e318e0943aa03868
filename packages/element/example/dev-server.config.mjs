// `pnpm example` (root) / `pnpm --filter @irn/element example`: serves the repository root, so
// that the example page finds the bundle (packages/element/dist/, `pnpm build` first) and the
// presets in weights/ (with weights/manifest.json). localhost counts as a secure context, which
// the SHA-256 check of the weights needs.
import { fileURLToPath } from 'node:url';

export default {
  rootDir: fileURLToPath(new URL('../../..', import.meta.url)),
  open: '/packages/element/example/index.html',
  hostname: '127.0.0.1',
  port: 8010,
};
