/**
 * The published types, as a TypeScript user meets them: the packed `@irn/core`, `@irn/element`
 * and `@irn/weights` installed with npm in an app outside the repository next to TypeScript
 * 5.9 (what apps use today; the monorepo builds with TypeScript 7), and `tsc --noEmit --strict`
 * run on a page and a Node script that use the public API the READMEs show, under each module
 * resolution an app may have: `bundler` (Vite's and webpack's templates), `node16` and the old
 * `node10` (`"moduleResolution": "node"`, which ignores the exports map; core's typesVersions
 * serves its subpaths there).
 *
 * `skipLibCheck` is on, as in those templates: TensorFlow.js's own declarations do not check
 * under strict (`Long` undeclared in tfjs-core, tfjs-layers' config types), whoever uses them.
 * Each file also has `@ts-expect-error` lines on misuses, so types that decay to `any` fail too.
 *
 *   pnpm test:consumer                 (part of `pnpm test`)
 *   node --import tsx --test test/consumer/types.e2e.ts
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { makeTemp, npmInstall, packAll, removeTemp, runStep } from './harness.js';

/** TypeScript and Node's types as an app pins them. */
const TYPESCRIPT_VERSION = '5.9.3';
const TYPES_NODE_VERSION = '22.15.0';

const PAGE = `import { Rescaler, decodeInput, type DecodeInputOptions, type ImageRegion, type RescaleResult } from '@irn/core/browser';
import { readLrFileInfo } from '@irn/core/lr-formats';
import '@irn/element';
import type { IrnImage, IrnLoadDetail } from '@irn/element';

const rescaler = await Rescaler.create({ model: 'irn-x2' });
const restored: RescaleResult<Blob> = await rescaler.upscale('/photo.lr.png', { output: 'blob' });
const side: number = restored.width;
const options: DecodeInputOptions = { region: (width, height): ImageRegion => ({ x: 0, y: 0, width: width >> 1, height }) };
const { raster, lrMetadata } = await decodeInput('/photo.jpg', undefined, options);
console.log(side, raster.width, lrMetadata?.scale, readLrFileInfo(new Uint8Array(8)).format);

const el = document.createElement('irn-image');
const typed: IrnImage = el;
typed.src = '/photo.lr.png';
el.addEventListener('irn-load', (e) => {
  const detail: IrnLoadDetail = e.detail;
  console.log(detail.timings.totalMs, detail.backend);
});
// @ts-expect-error: a Rescaler needs its options
await Rescaler.create();
// @ts-expect-error: asked for ImageData, not a Blob
const wrong: RescaleResult<Blob> = await rescaler.upscale('/x.png');
console.log(wrong);
`;

const NODE = `import { readFileSync } from 'node:fs';
import { IrnModel, decodePng, psnrY, type RasterImage } from '@irn/core';
import { fileSystem, useNodeBackend } from '@irn/core/node';

await useNodeBackend();
const model = await IrnModel.load(fileSystem('weights/irn-x2/model.json'));
const photo: RasterImage = decodePng(readFileSync('photo.png'));
const score: number = psnrY(photo, photo);
console.log(model.scale, score);
// @ts-expect-error: decodePng reads bytes, not a path
decodePng('photo.png');
`;

const RESOLUTIONS = [
  { moduleResolution: 'bundler', module: 'esnext' },
  { moduleResolution: 'node16', module: 'node16' },
  { moduleResolution: 'node10', module: 'esnext' },
];

let work: string | undefined;
let app: string;

before(async () => {
  work = makeTemp('irn-consumer-types-');
  const tarballs = await packAll(join(work, 'tarballs'));
  app = join(work, 'app');
  const file = (name: string) => `file:${tarballs.get(name)}`;
  await npmInstall(
    app,
    { '@irn/core': file('@irn/core'), '@irn/element': file('@irn/element'), '@irn/weights': file('@irn/weights') },
    { typescript: TYPESCRIPT_VERSION, '@types/node': TYPES_NODE_VERSION },
  );
  mkdirSync(join(app, 'src'), { recursive: true });
  writeFileSync(join(app, 'src/page.ts'), PAGE);
  writeFileSync(join(app, 'src/node.ts'), NODE);
});

after(() => removeTemp(work));

for (const { moduleResolution, module } of RESOLUTIONS) {
  test(`the published types check under strict with moduleResolution ${moduleResolution}`, { timeout: 180_000 }, async () => {
    const config = `tsconfig.${moduleResolution}.json`;
    const compilerOptions = { target: 'es2022', module, moduleResolution, strict: true, skipLibCheck: true, noEmit: true, lib: ['es2022', 'dom', 'dom.iterable'], types: ['node'] };
    writeFileSync(join(app, config), `${JSON.stringify({ compilerOptions, include: ['src'] }, null, 2)}\n`);
    const tsc = join(app, 'node_modules/typescript/bin/tsc');
    const run = await runStep(`tsc -p ${config}`, process.execPath, [tsc, '-p', config, '--pretty', 'false'], { cwd: app, timeoutMs: 150_000, env: { NODE_OPTIONS: undefined } }).catch((e: Error) => e);
    assert.ok(!(run instanceof Error), run instanceof Error ? run.message : '');
  });
}
