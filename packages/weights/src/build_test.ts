/**
 * The build of @irn/weights (src/build.mjs) against the repository's weights/: the generated
 * index.js names every file of weights/manifest.json as a literal `new URL('./...',
 * import.meta.url)` (what bundlers turn into assets), with the manifest's versions and hashes
 * and the package's name and version; and the build refuses a manifest that disagrees with
 * the files. Builds into temporary folders, so it needs no prior `pnpm build`.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
// @ts-expect-error: a plain .mjs script without types
import { buildWeightsPackage, literalUrls } from './build.mjs';
// @ts-expect-error: a plain .mjs script without types
import { makeWeightsManifest, manifestText } from '../../../scripts/make-weights-manifest.mjs';

const WEIGHTS = fileURLToPath(new URL('../../../weights/', import.meta.url));
const PKG_DIR = fileURLToPath(new URL('..', import.meta.url));

type Manifest = Record<string, { version: string; files: Record<string, string> }>;
interface Index {
  packageName: string;
  version: string;
  presets: Record<string, { version: string; scale: number; files: Record<string, { url: string; path: string; sha256: string }> }>;
}

let tmp: string;
before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'irn-weights-'));
});
after(() => rm(tmp, { recursive: true, force: true }));

describe('@irn/weights build', () => {
  it('generates an index with every manifest file as a literal URL, with its hash, and the versions', async () => {
    const out = join(tmp, 'dist');
    await buildWeightsPackage({ outDir: out });
    const manifest = JSON.parse(await readFile(join(WEIGHTS, 'manifest.json'), 'utf8')) as Manifest;
    const pkg = JSON.parse(await readFile(join(PKG_DIR, 'package.json'), 'utf8')) as { name: string; version: string };
    const text = await readFile(join(out, 'index.js'), 'utf8');

    const expected = Object.entries(manifest).flatMap(([name, e]) => Object.keys(e.files).map((f) => `${name}/${f}`));
    assert.ok(expected.length >= 4, `the manifest lists ${expected.join(', ')}`);
    assert.deepEqual(literalUrls(text).sort(), expected.sort());
    // Exactly the form bundlers recognise, once per file (not a variable, not a template).
    for (const file of expected) assert.ok(text.includes(`new URL('./${file}', import.meta.url)`), file);

    const index = (await import(pathToFileURL(join(out, 'index.js')).href)) as Index;
    assert.equal(index.packageName, pkg.name);
    assert.equal(index.version, pkg.version);
    assert.deepEqual(Object.keys(index.presets), Object.keys(manifest));
    for (const [name, entry] of Object.entries(manifest)) {
      const preset = index.presets[name];
      assert.equal(preset.version, entry.version, name);
      assert.equal(preset.scale, Number(/^irn-x(\d+)(?:-|$)/.exec(name)?.[1]), `${name} scale`);
      assert.deepEqual(Object.keys(preset.files), Object.keys(entry.files));
      for (const [file, sha256] of Object.entries(entry.files)) {
        const f = preset.files[file];
        assert.equal(f.sha256, sha256, `${name}/${file}`);
        assert.equal(f.path, `dist/${name}/${file}`);
        // The URL points at the copy beside index.js, whose bytes have the manifest's hash.
        assert.equal(f.url, pathToFileURL(join(out, name, file)).href);
        assert.equal(createHash('sha256').update(await readFile(fileURLToPath(f.url))).digest('hex'), sha256);
      }
    }
    assert.equal(await readFile(join(out, 'manifest.json'), 'utf8'), await readFile(join(WEIGHTS, 'manifest.json'), 'utf8'));
  });

  it('every shipped preset stores its kernels as 8 bits per channel and the rest as float16 (scripts/weights-store.ts): a quarter of the float32 bytes', async () => {
    const manifest = JSON.parse(await readFile(join(WEIGHTS, 'manifest.json'), 'utf8')) as Manifest;
    for (const name of Object.keys(manifest)) {
      const json = JSON.parse(await readFile(join(WEIGHTS, name, 'model.json'), 'utf8')) as {
        weightsManifest: { paths: string[]; weights: { shape: number[]; dtype: string; quantization?: { dtype: string } }[] }[];
      };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      // What IrnModel.save(.., { weights: 'uint8' }) writes: 8 bits per channel where that is smaller than halves.
      const want = (s: { shape: number[] }) => {
        const n = s.shape.reduce((a, b) => a * b, 1);
        return s.shape.length >= 2 && 8 * s.shape[s.shape.length - 1] + n < 2 * n ? 'uint8-per-channel' : 'float16';
      };
      const stale = specs.filter((s) => s.dtype !== 'float32' || s.quantization?.dtype !== want(s));
      assert.equal(stale.length, 0, `${name}: ${stale.length} of ${specs.length} weights are not stored as uint8 (run pnpm weights:store on its float32 weights)`);
      const expected = specs.reduce((n, s) => {
        const elements = s.shape.reduce((a, b) => a * b, 1);
        return n + (want(s) === 'float16' ? 2 * elements : 8 * s.shape[s.shape.length - 1] + elements);
      }, 0);
      const elements = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
      let bytes = 0;
      for (const p of json.weightsManifest.flatMap((g) => g.paths)) bytes += (await readFile(join(WEIGHTS, name, p))).byteLength;
      assert.equal(bytes, expected, `${name}: the bytes its specs describe`);
      assert.ok(bytes < elements * 1.1, `${name}: ${bytes} bytes for ${elements} weights, about 1 byte each`);
    }
  });

  it("every preset's PROVENANCE.md ends with the SHA-256 of each file beside it, as sha256sum prints them", async () => {
    const manifest = JSON.parse(await readFile(join(WEIGHTS, 'manifest.json'), 'utf8')) as Manifest;
    assert.ok(Object.keys(manifest).length >= 2);
    for (const name of Object.keys(manifest)) {
      const dir = join(WEIGHTS, name);
      const text = await readFile(join(dir, 'PROVENANCE.md'), 'utf8');
      const section = /\n## SHA-256\n\n((?: {4}[0-9a-f]{64}  \S+\n)+)$/.exec(text);
      assert.ok(section, `${name}/PROVENANCE.md: no "## SHA-256" section of sha256sum lines at its end`);
      const listed = Object.fromEntries(section[1].trim().split('\n').map((l) => l.trim().split(/\s+/).reverse()));
      const files = (await readdir(dir)).filter((f) => f !== 'PROVENANCE.md').sort();
      assert.deepEqual(Object.keys(listed).sort(), files, `${name}/PROVENANCE.md lists other files than the folder has`);
      for (const f of files) {
        const sha = createHash('sha256').update(await readFile(join(dir, f))).digest('hex');
        assert.equal(listed[f], sha, `${name}/PROVENANCE.md: the SHA-256 of ${f} (run sha256sum in the folder)`);
      }
    }
  });

  it('refuses to build when weights/manifest.json disagrees with the files', async () => {
    const weights = join(tmp, 'weights');
    await cp(WEIGHTS, weights, { recursive: true });
    const shard = join(weights, 'irn-x2', 'group1-shard1of1.bin');
    const bytes = await readFile(shard);
    bytes[100] ^= 1;
    await writeFile(shard, bytes);
    const out = join(tmp, 'stale-dist');
    await assert.rejects(buildWeightsPackage({ weightsDir: weights, outDir: out }), /manifest\.json does not match the files beside it: run pnpm weights:manifest/);
    await rm(join(weights, 'manifest.json'));
    await assert.rejects(buildWeightsPackage({ weightsDir: weights, outDir: out }), /manifest\.json is missing/);
  });

  it('builds any number of presets, a lossy decoder naming its encoder included, and refuses one whose encoder is not a preset', async () => {
    const weights = join(tmp, 'lossy-weights');
    await cp(join(WEIGHTS, 'irn-x2'), join(weights, 'irn-x2'), { recursive: true });
    await cp(join(WEIGHTS, 'irn-x4'), join(weights, 'irn-x4'), { recursive: true });
    /** A copy of irn-x2 as a decoder preset whose metadata names `encoder`. */
    const decoder = async (name: string, encoder: string, range: { lrQualityMax?: number; lrQualityMin?: number } = {}) => {
      await cp(join(WEIGHTS, 'irn-x2'), join(weights, name), { recursive: true });
      const path = join(weights, name, 'model.json');
      const json = JSON.parse(await readFile(path, 'utf8')) as { userDefinedMetadata: { irn: Record<string, unknown> } };
      Object.assign(json.userDefinedMetadata.irn, { encoder, lrCodec: 'jpeg', ...range });
      await writeFile(path, JSON.stringify(json));
    };
    const manifest = async () => writeFile(join(weights, 'manifest.json'), manifestText(await makeWeightsManifest(weights)));
    await decoder('irn-x2-jpeg', 'irn-x2', { lrQualityMax: 89 });
    await decoder('irn-x2-jpeg-q90', 'irn-x2', { lrQualityMax: 97, lrQualityMin: 90 });
    await decoder('irn-x2-webp', 'irn-x2');
    await manifest();
    // The manifest repeats a lossy preset's notes (a page reads them without a model download).
    const written = JSON.parse(await readFile(join(weights, 'manifest.json'), 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(written['irn-x2-jpeg']), ['version', 'encoder', 'lrCodec', 'lrQualityMax', 'files']);
    assert.deepEqual(Object.keys(written['irn-x2-jpeg-q90']), ['version', 'encoder', 'lrCodec', 'lrQualityMax', 'lrQualityMin', 'files']);
    assert.deepEqual([written['irn-x2-jpeg-q90'].lrQualityMin, written['irn-x2-jpeg-q90'].lrQualityMax], [90, 97]);
    assert.deepEqual(Object.keys(written['irn-x2-webp']), ['version', 'encoder', 'lrCodec', 'files']);
    assert.deepEqual(Object.keys(written['irn-x2']), ['version', 'files']);
    const out = join(tmp, 'lossy-dist');
    const built = (await buildWeightsPackage({ weightsDir: weights, outDir: out })) as { presets: string[] };
    assert.deepEqual(built.presets, ['irn-x2', 'irn-x2-jpeg', 'irn-x2-jpeg-q90', 'irn-x2-webp', 'irn-x4']);
    const index = (await import(pathToFileURL(join(out, 'index.js')).href)) as {
      presets: Record<string, { scale: number; encoder?: string; lrCodec?: string; lrQualityMax?: number; lrQualityMin?: number }>;
    };
    assert.deepEqual(index.presets['irn-x2-jpeg'], { ...index.presets['irn-x2-jpeg'], scale: 2, encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 89 });
    assert.equal('lrQualityMin' in index.presets['irn-x2-jpeg'], false);
    assert.deepEqual(index.presets['irn-x2-jpeg-q90'], { ...index.presets['irn-x2-jpeg-q90'], scale: 2, encoder: 'irn-x2', lrCodec: 'jpeg', lrQualityMax: 97, lrQualityMin: 90 });
    assert.equal('lrQualityMax' in index.presets['irn-x2-webp'], false);
    assert.equal('encoder' in index.presets['irn-x2'], false);
    assert.equal(literalUrls(await readFile(join(out, 'index.js'), 'utf8')).length, 10);

    await decoder('irn-x2-avif', 'irn-x2-missing');
    await manifest();
    await assert.rejects(
      buildWeightsPackage({ weightsDir: weights, outDir: join(tmp, 'bad-dist') }),
      /irn-x2-avif\/model\.json names the encoder "irn-x2-missing", which is not a preset in .*manifest\.json \(it has irn-x2, irn-x2-avif, irn-x2-jpeg, irn-x2-jpeg-q90, irn-x2-webp, irn-x4\)/,
    );
    await decoder('irn-x2-avif', 'irn-x4');
    await manifest();
    await assert.rejects(buildWeightsPackage({ weightsDir: weights, outDir: join(tmp, 'bad-dist') }), /irn-x2-avif is x2 but its encoder irn-x4 is x4/);
  });
});
