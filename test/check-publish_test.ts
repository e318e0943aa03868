// scripts/check-publish.mjs on tarballs made here with `tar` (as `pnpm pack` lays them out):
// a package that installs passes, and each way a published package breaks is named.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { problems, readTarball, unreachedScripts } from '../scripts/check-publish.mjs';

const work = mkdtempSync(join(tmpdir(), 'irn-check-publish-'));
after(() => rmSync(work, { recursive: true, force: true }));

const PKG = {
  name: '@irn/x',
  version: '1.0.0',
  main: './dist/index.js',
  types: './dist/index.d.ts',
  bin: { x: './dist/cli.js' },
  exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' }, './worker.js': './dist/worker.js', './package.json': './package.json' },
  dependencies: { '@irn/core': '1.0.0' },
};

/** The file map of a tarball of `files` (path -> text) packed by tar under `package/`. */
function packed(files: Record<string, string>): Map<string, Buffer> {
  const dir = mkdtempSync(join(work, 'p-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, 'package', path)), { recursive: true });
    writeFileSync(join(dir, 'package', path), text);
  }
  const r = spawnSync('tar', ['-czf', join(dir, 'x.tgz'), '-C', dir, 'package']);
  assert.equal(r.status, 0, String(r.stderr));
  return readTarball(readFileSync(join(dir, 'x.tgz')));
}

/** A package that installs: every target there, a map whose source is embedded. */
function good(): Record<string, string> {
  return {
    'package.json': JSON.stringify(PKG, null, 2),
    'README.md': '# x',
    LICENSE: 'MIT',
    'dist/index.js': 'export {};\n//# sourceMappingURL=index.js.map\n',
    'dist/index.js.map': JSON.stringify({ version: 3, sources: ['../src/index.ts'], sourcesContent: ['export {};'], mappings: '' }),
    'dist/index.d.ts': 'export {};',
    'dist/cli.js': '#!/usr/bin/env node\n',
    'dist/worker.js': '',
  };
}

describe('check-publish', () => {
  it('reads the tarball as pnpm packs it and finds nothing wrong with a package that installs', () => {
    const files = packed(good());
    assert.deepEqual([...files.keys()].sort(), ['LICENSE', 'README.md', 'dist/cli.js', 'dist/index.d.ts', 'dist/index.js', 'dist/index.js.map', 'dist/worker.js', 'package.json']);
    assert.equal(files.get('README.md')?.toString(), '# x');
    assert.deepEqual(problems(files), []);
  });

  it('names each way a published package breaks', () => {
    const cases: [string, (f: Record<string, string>) => void, RegExp][] = [
      ['no LICENSE', (f) => delete f.LICENSE, /^no LICENSE in the tarball$/],
      ['no README', (f) => delete f['README.md'], /^no README.md in the tarball$/],
      ['workspace:', (f) => (f['package.json'] = JSON.stringify({ ...PKG, dependencies: { '@irn/core': 'workspace:*' } })), /names @irn\/core as "workspace:\.\.\."/],
      ['an export', (f) => delete f['dist/worker.js'], /^exports\["\.\/worker\.js"\] points at \.\/dist\/worker\.js, which is not in the tarball$/],
      ['the types', (f) => delete f['dist/index.d.ts'], /^types points at \.\/dist\/index\.d\.ts/],
      ['the bin', (f) => delete f['dist/cli.js'], /^bin\["x"\] points at \.\/dist\/cli\.js/],
      ['a test file', (f) => (f['dist/png_test.js'] = ''), /^test file dist\/png_test\.js is in the tarball$/],
      ['a map into node_modules', (f) => (f['dist/index.js.map'] = JSON.stringify({ version: 3, sources: ['../../../node_modules/.pnpm/lit/index.js'], sourcesContent: ['x'], mappings: '' })), /source \.\.\/\.\.\/\.\.\/node_modules\/\.pnpm\/lit\/index\.js lies outside the package/],
      ['a map without its source', (f) => (f['dist/index.js.map'] = JSON.stringify({ version: 3, sources: ['../src/index.ts'], mappings: '' })), /neither shipped nor embedded/],
      ['a missing map', (f) => delete f['dist/index.js.map'], /^dist\/index\.js names the source map index\.js\.map, which is not in the tarball$/],
      ['a stale chunk', (f) => (f['dist/worker.chunk-OLD123.js'] = 'export const a = 1;'), /^dist\/worker\.chunk-OLD123\.js is reached from no entry point \(main, bin, exports\): a stale build output or dead code$/],
    ];
    for (const [what, change, message] of cases) {
      const files = good();
      change(files);
      const found = problems(packed(files));
      // One line per broken thing (the types file is named by `types` and by `exports` alike).
      assert.equal(found.length, what === 'the types' ? 2 : 1, `${what}: ${found.join('; ')}`);
      assert.match(found[0], message, what);
    }
  });

  it('follows every way a script reaches another, and names only the scripts nothing reaches', () => {
    const files = new Map(
      Object.entries({
        // minified static import, a dynamic import, an extensionless path and a folder's index
        'dist/index.js': 'import{a as b}from"./chunks/a-X1.js";export*from"../dist/util";const l=()=>import("./lazy.js");import "./sub";',
        'dist/chunks/a-X1.js': 'export const a = 1;',
        'dist/util.js': 'export const u = 1;',
        'dist/sub/index.js': '',
        // reached only through lazy.js, and a worker named as rollup writes an asset's URL
        'dist/lazy.js': "import { d } from './deep.js?v=1'; new Worker(new URL('helper.js', import.meta.url));",
        'dist/deep.js': 'export const d = 1;',
        'dist/helper.js': '',
        // a wildcard export
        'dist/features/one.js': '',
        // what no entry point reaches (the .map and .json are not scripts)
        'dist/chunks/a-OLD.js': 'export const a = 0;',
        'dist/unused.mjs': '',
        'dist/index.js.map': '{}',
        'dist/weights.json': '{}',
      }).map(([k, v]) => [k, Buffer.from(v)]),
    );
    assert.deepEqual(unreachedScripts(files, ['./dist/index.js', './dist/features/*.js', './dist/index.d.ts']), ['dist/chunks/a-OLD.js', 'dist/unused.mjs']);
    assert.deepEqual(unreachedScripts(files, []), [...files.keys()].filter((f) => /\.m?js$/.test(f)).sort(), 'with no entry point, every script is unreached');
  });
});
