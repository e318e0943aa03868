// Reads the built dist/irn-image.bundle.js as code (not as text): it must name no free
// `__filename` or `__dirname`. The bundle is browser-only, but an app may import it through a
// bundler, and webpack 5.103 and later fold `typeof __filename` to true in an ES module while
// leaving `__filename` itself: tfjs-backend-wasm's glue then threw "__filename is not defined"
// (rollup.config.mjs defines both away; test/consumer/web.e2e.ts runs the bundle through
// webpack). Copies inside strings (the glue's worker source) are not code and do not count.
// Run by `pnpm build`.
import { readFileSync } from 'node:fs';
import { parseAst } from 'rollup/parseAst';

const nodeGlobals = new Set(['__filename', '__dirname']);
const file = new URL('../dist/irn-image.bundle.js', import.meta.url);
const code = readFileSync(file, 'utf8');
const found = [];
// The bundle declares neither name, so every identifier reference to one is free; only a
// property name (`a.__filename`, `{ __filename: 1 }`) is not a reference.
(function walk(node, parent, key) {
  if (Array.isArray(node)) {
    for (const child of node) walk(child, parent, key);
    return;
  }
  if (node === null || typeof node !== 'object' || typeof node.type !== 'string') return;
  if (node.type === 'Identifier' && nodeGlobals.has(node.name)) {
    const isPropertyName = (parent.type === 'MemberExpression' && key === 'property' && !parent.computed) || (parent.type === 'Property' && key === 'key' && !parent.computed && !parent.shorthand);
    if (!isPropertyName) found.push(`${node.name} at offset ${node.start}: …${code.slice(Math.max(0, node.start - 60), node.end + 20)}…`);
  }
  for (const [k, v] of Object.entries(node)) if (v !== null && typeof v === 'object') walk(v, node, k);
})(parseAst(code), {}, '');
if (found.length > 0) throw new Error(`dist/irn-image.bundle.js uses ${found.length} free Node global(s); an app's bundler may leave them undefined:\n${found.join('\n')}`);
console.log('dist/irn-image.bundle.js uses no free __filename or __dirname');
