// The bundle budget of issue 14: what a web page ships when it restores with @irn/core's
// Rescaler or <irn-image>, bundled by esbuild as an app would (bench/bundle-size.ts, which
// prints the same figures). Reads the built packages: `pnpm build` (or ensure-built) first.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { measureBundles, restoreTotal, type RealmReport, type ScenarioReport } from '../bench/bundle-size.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** Modules a page that restores must never load: the trainer, the PyTorch importer, metrics, the CLI. */
const NOT_FOR_PAGES = [
  /\/training\//,
  /\/weights\/(convert|pytorch)/,
  /\/eval\//,
  /\/cli\//,
  /\/data\/(patches|bmp)/,
  // The same modules in a dist/ that rollup merges into named chunks.
  /\/chunks\/(trainer|convert|metrics|patches|bmp|evaluate|cli)-/,
  /@tensorflow\/tfjs-node/,
  /commander|cli-progress/,
];

let reports: Map<string, ScenarioReport>;

function realms(r: ScenarioReport): [string, RealmReport][] {
  return [['page', r.page], ...(r.worker != null ? [['worker', r.worker] as [string, RealmReport]] : [])];
}

describe('bundle budget (esbuild, minified, code splitting)', () => {
  before(async () => {
    reports = new Map((await measureBundles()).map((r) => [r.name, r]));
  });

  it('loads at most one tfjs-core per page and per worker', () => {
    for (const r of reports.values()) {
      for (const [realm, rep] of realms(r)) {
        assert.ok(rep.tfjsCoreCopies <= 1, `${r.name} ${realm}: ${rep.tfjsCoreCopies} tfjs-core packages`);
        assert.ok(rep.tfjsCoreMarker <= 1, `${r.name} ${realm}: tfjs-core's engine ${rep.tfjsCoreMarker} times`);
      }
    }
  });

  it('keeps the trainer, the PyTorch importer, metrics and the CLI out of every page and worker', () => {
    for (const r of reports.values()) {
      for (const [realm, rep] of realms(r)) {
        const found = rep.modules.filter((m) => NOT_FOR_PAGES.some((re) => re.test(m)));
        assert.deepEqual(found, [], `${r.name} ${realm} loads ${found.join(', ')}`);
      }
    }
  });

  it('loads only the wasm backend for a wasm restore (the others stay in chunks never loaded)', () => {
    for (const r of reports.values()) {
      for (const [realm, rep] of realms(r)) {
        const other = rep.modules.filter((m) => /tfjs-backend-(webgl|webgpu)\//.test(m));
        assert.deepEqual(other, [], `${r.name} ${realm} loads ${other.slice(0, 3).join(', ')}`);
      }
    }
    const worker = reports.get('rescaler-entry-worker')!.worker!;
    assert.ok(worker.modules.some((m) => m.includes('tfjs-backend-wasm/')), 'the worker restores on wasm');
  });

  it('keeps TensorFlow.js out of the page when a worker computes (Rescaler from @irn/core/browser/rescaler, <irn-image>)', () => {
    for (const name of ['rescaler-entry-worker', 'element']) {
      const r = reports.get(name)!;
      assert.equal(r.page.tfjsCoreCopies, 0, `${name}: the page loads tfjs-core`);
      assert.equal(r.worker!.tfjsCoreCopies, 1, `${name}: the worker has no tfjs-core`);
      assert.ok(!r.page.modules.some((m) => m.includes('@tensorflow/')), `${name}: the page loads a tfjs package`);
    }
  });

  it('a wasm-only restore loads under 700 KiB of JavaScript, page and worker together', () => {
    // 1.2 MiB until the restore path dropped tfjs-layers (IrnInference): about 820 KiB then.
    for (const name of ['rescaler-entry-worker', 'element', 'rescaler-page']) {
      const total = restoreTotal(reports.get(name)!);
      assert.ok(total.raw < 700 * KiB, `${name}: ${(total.raw / KiB).toFixed(0)} KiB`);
    }
  });

  it('restores without tfjs-layers: the engine runs IrnInference on flow-ops.js, not the layer classes', () => {
    for (const name of ['rescaler-entry-worker', 'element', 'rescaler-page']) {
      const r = reports.get(name)!;
      const rep = r.worker ?? r.page;
      const layers = rep.modules.filter((m) => m.includes('@tensorflow/tfjs-layers/') || /\/layers\/(haar|affine-coupling|dense-block|sequence|flow)\.js$/.test(m));
      assert.deepEqual(layers, [], `${name} loads ${layers.slice(0, 3).join(', ')}`);
      for (const module of ['/model/irn-inference.js', '/layers/flow-ops.js']) {
        assert.ok(rep.modules.some((m) => m.endsWith(module)), `${name} lacks ${module}`);
      }
    }
  });

  it("<irn-image>'s first load (before any restore) stays under 15 KiB gzipped", () => {
    const { initial } = reports.get('element')!.page;
    assert.ok(initial.gzip < 15 * KiB, `${(initial.gzip / KiB).toFixed(1)} KiB gz`);
  });

  it('readLrMetadata alone loads no TensorFlow.js', () => {
    const r = reports.get('lr-metadata')!;
    assert.equal(r.page.tfjsCoreCopies, 0);
    assert.ok(r.page.initial.raw < 16 * KiB, `${(r.page.initial.raw / KiB).toFixed(1)} KiB`);
  });
});
