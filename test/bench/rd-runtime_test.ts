/**
 * bench/rd/runtime.ts: what bench:rd charges IRN's first restore besides the model. The
 * JavaScript is that of `<irn-image>` with its worker and the wasm backend (a page-only bundle
 * would be about 11 kB gzipped, tfjs alone over 100 kB), and the binary the gzip of the SIMD
 * build that browsers fetch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { runtimeBytes, WASM_BINARY } from '../../bench/rd/runtime.js';

test("runtimeBytes: <irn-image>'s worker restore and the wasm binary, gzipped", async () => {
  const r = await runtimeBytes();
  assert.ok(r.js > 150_000 && r.js < 600_000, `${r.js} bytes of JavaScript`);
  assert.equal(r.wasm, gzipSync(readFileSync(WASM_BINARY), { level: 9 }).length);
  assert.ok(r.wasm > 50_000 && r.wasm < readFileSync(WASM_BINARY).length);
  assert.equal(r.total, r.js + r.wasm);
});
