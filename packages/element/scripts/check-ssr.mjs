// Imports the built dist/index.js in Node, where there is no DOM: it must not throw, must not
// load TensorFlow.js or @irn/core (they are imported on first use only), and must register
// <irn-image> only through a guarded define. Run by `pnpm build`; the source is checked the
// same way by src/ssr_test.ts.
import { readFileSync } from 'node:fs';

const dist = new URL('../dist/index.js', import.meta.url);
const code = readFileSync(dist, 'utf8');
const staticImports = [...code.matchAll(/^import\s[^;]*?from\s*["']([^"']+)["']/gm)].map((m) => m[1]);
const heavy = staticImports.filter((s) => s.startsWith('@irn/core') || s.startsWith('@tensorflow/'));
if (heavy.length > 0) throw new Error(`dist/index.js imports ${heavy.join(', ')} statically; they must be dynamic imports`);
if (typeof globalThis.document !== 'undefined' || typeof globalThis.navigator?.gpu !== 'undefined') throw new Error('run this in plain Node');

const mod = await import(dist.href);
if (typeof mod.IrnImage !== 'function' || typeof mod.defineIrnImage !== 'function') throw new Error('dist/index.js lacks IrnImage or defineIrnImage');
mod.defineIrnImage();
console.log('dist/index.js imports in Node without a DOM');
