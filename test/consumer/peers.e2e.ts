/**
 * `@irn/core`'s TensorFlow.js peer range (issue 14, item 3), tested at both ends: the packed
 * `@irn/core` (with its workspace dependencies, as tarballs) is installed with npm next to
 * tfjs-core, tfjs-layers, tfjs-backend-cpu and tfjs-backend-wasm at the lowest version the
 * range admits and at the highest (the monorepo's 4.22.0), without `--legacy-peer-deps`, so npm
 * itself checks the range; then a Node script in that app makes an x2 round trip of a 64x64
 * crop of `samples/coffee.png` on the cpu and the wasm backends with the shipped x2 weights,
 * and all four must restore it identically (within 0.01 dB Y-PSNR).
 *
 *   pnpm test:consumer                          (part of `pnpm test`)
 *   IRN_PEER_PROBE="4.0.0 4.10.0" node --import tsx --test test/consumer/peers.e2e.ts
 *       tries other versions with --legacy-peer-deps (to find the lowest that works)
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodePng, encodePng, type RasterImage } from '@irn/core';
import { NPM_CACHE, ROOT, makeTemp, packAll, removeTemp, runStep, workspacePackages } from './harness.js';

/** The tfjs packages of the round trip: `@irn/core`'s peers, and the wasm backend (an optional peer, which the browser picks where there is no GPU). */
const TFJS = ['@tensorflow/tfjs-core', '@tensorflow/tfjs-layers', '@tensorflow/tfjs-backend-cpu', '@tensorflow/tfjs-backend-wasm'];
/** The monorepo's tfjs version: every `@tensorflow/*` devDependency is pinned to it. */
const HIGHEST = '4.22.0';

/** The lowest version `@irn/core`'s peer range for tfjs-core admits (`^4.N.0` gives 4.N.0). */
function lowestOfRange(): string {
  const core = workspacePackages().find((p) => p.name === '@irn/core');
  assert.ok(core != null, 'no @irn/core in the workspace');
  const ranges = TFJS.map((name) => core.peerDependencies[name]);
  for (const [i, range] of ranges.entries()) assert.ok(range != null, `@irn/core has no peer dependency on ${TFJS[i]}`);
  assert.ok(new Set(ranges).size === 1, `@irn/core's tfjs peer ranges differ: ${ranges.join(', ')}`);
  const match = /^\^?(\d+\.\d+\.\d+)$/.exec(ranges[0]);
  assert.ok(match != null, `@irn/core's tfjs peer range ${ranges[0]} is neither ^x.y.z nor x.y.z`);
  return match[1];
}

let work: string | undefined;
let tarballs: Map<string, string>;

/** A 64x64 crop of samples/coffee.png (a real photo, small enough for the cpu backend). */
function crop(): RasterImage {
  const photo = decodePng(readFileSync(join(ROOT, 'samples/coffee.png')));
  const size = 64;
  const data = new Float32Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      for (let c = 0; c < 3; c++) data[(y * size + x) * 3 + c] = photo.data[((100 + y) * photo.width + 150 + x) * photo.channels + c];
    }
  }
  return { width: size, height: size, channels: 3, data };
}

/**
 * The round trip, as an app would write it with the installed packages: tfjs-core's cpu
 * backend, the model from its model.json and shard in memory, `@irn/core`'s downscale and
 * upscale. Prints the tfjs version that ran and the Y-PSNR.
 */
const ROUND_TRIP = `import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { IrnModel, decodePng, downscaleImage, upscaleImage, psnrY } from '@irn/core';

setWasmPaths(dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + '/');
const json = JSON.parse(readFileSync('model/model.json', 'utf8'));
const shards = json.weightsManifest.flatMap((group) => group.paths.map((p) => readFileSync('model/' + p)));
const bytes = Buffer.concat(shards);
const photo = decodePng(readFileSync('photo.png'));
const result = { version: tf.version_core };
for (const backend of ['cpu', 'wasm']) {
  await tf.setBackend(backend);
  await tf.ready();
  const model = await IrnModel.load(
    tf.io.fromMemory({
      modelTopology: json.modelTopology,
      format: json.format,
      generatedBy: json.generatedBy,
      convertedBy: json.convertedBy,
      userDefinedMetadata: json.userDefinedMetadata,
      weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
      weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    }),
  );
  const lr = await downscaleImage(model, photo);
  const restored = await upscaleImage(model, lr, { width: photo.width, height: photo.height });
  model.dispose();
  result[backend] = { ran: tf.getBackend(), width: restored.width, height: restored.height, psnr: psnrY(restored, photo) };
}
console.log(JSON.stringify(result));
`;

interface BackendRun {
  ran: string;
  width: number;
  height: number;
  psnr: number;
}

interface RoundTrip {
  version: string;
  cpu: BackendRun;
  wasm: BackendRun;
  installMs: number;
}

/** Installs `@irn/core` with tfjs at `version` in a fresh app and runs the round trip. */
async function roundTrip(version: string, legacyPeerDeps: boolean): Promise<RoundTrip> {
  const app = join(work!, `tfjs-${version}`);
  const packages = new Map(workspacePackages().map((p) => [p.name, p]));
  const deps: Record<string, string> = {};
  const wanted = ['@irn/core'];
  while (wanted.length > 0) {
    const name = wanted.pop()!;
    if (deps[name] != null) continue;
    deps[name] = `file:${tarballs.get(name)}`;
    wanted.push(...Object.keys(packages.get(name)!.dependencies).filter((d) => packages.has(d)));
  }
  for (const name of TFJS) deps[name] = version;
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'irn-peer-app', private: true, type: 'module', dependencies: deps }, null, 2)}\n`);
  const install = await runStep(
    `npm install of @irn/core with tfjs ${version}`,
    'npm',
    ['install', '--no-audit', '--no-fund', '--no-update-notifier', '--cache', NPM_CACHE, ...(legacyPeerDeps ? ['--legacy-peer-deps'] : [])],
    { cwd: app, timeoutMs: 240_000, env: { npm_config_userconfig: join(app, '.npmrc-none'), NODE_OPTIONS: undefined } },
  );
  cpSync(join(ROOT, 'weights/irn-x2'), join(app, 'model'), { recursive: true });
  writeFileSync(join(app, 'photo.png'), encodePng(crop()));
  writeFileSync(join(app, 'round-trip.mjs'), ROUND_TRIP);
  const run = await runStep(`round trip with tfjs ${version}`, process.execPath, ['round-trip.mjs'], { cwd: app, timeoutMs: 120_000, env: { NODE_OPTIONS: undefined } });
  const last = run.stdout.trim().split('\n').pop() ?? '';
  let result;
  try {
    result = JSON.parse(last);
  } catch {
    throw new Error(`round trip with tfjs ${version} printed no result:\n${run.stdout}\n${run.stderr}`);
  }
  return { ...result, installMs: install.ms };
}

before(async () => {
  for (const name of ['@irn/core']) {
    const pkg = workspacePackages().find((p) => p.name === name);
    assert.ok(pkg != null && existsSync(join(pkg.dir, 'dist')), `${name} has no dist/: run \`pnpm build\` first`);
  }
  work = makeTemp('peers');
  tarballs = await packAll(join(work, 'tarballs'));
});

after(() => removeTemp(work));

const probe = (process.env.IRN_PEER_PROBE ?? '').split(/\s+/).filter(Boolean);

if (probe.length > 0) {
  for (const version of probe) {
    test(`probe: @irn/core with tfjs ${version} (--legacy-peer-deps)`, { timeout: 300_000 }, async (t) => {
      const r = await roundTrip(version, true);
      t.diagnostic(JSON.stringify(r));
      assert.equal(r.version, version);
    });
  }
} else {
  test("@irn/core works with tfjs at both ends of its peer range (npm checks the range; the same restore)", { timeout: 600_000 }, async (t) => {
    const lowest = lowestOfRange();
    assert.notEqual(lowest, HIGHEST, 'the peer range admits one version only');
    const low = await roundTrip(lowest, false);
    const high = await roundTrip(HIGHEST, false);
    t.diagnostic(`tfjs ${lowest}: ${JSON.stringify(low)}`);
    t.diagnostic(`tfjs ${HIGHEST}: ${JSON.stringify(high)}`);
    for (const [r, v] of [[low, lowest], [high, HIGHEST]] as const) {
      assert.equal(r.version, v, `tfjs-core ${r.version} ran, not ${v}`);
      for (const backend of ['cpu', 'wasm'] as const) {
        assert.equal(r[backend].ran, backend);
        assert.deepEqual([r[backend].width, r[backend].height], [64, 64]);
        assert.ok(Math.abs(r[backend].psnr - high.cpu.psnr) < 0.01, `tfjs ${v} on ${backend}: ${r[backend].psnr} dB, tfjs ${HIGHEST} on cpu: ${high.cpu.psnr} dB`);
      }
    }
    assert.ok(high.cpu.psnr > 30, `the round trip with tfjs ${HIGHEST} reached ${high.cpu.psnr} dB`);
  });
}
