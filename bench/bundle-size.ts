// What a web app ships when it uses @irn/core's Rescaler or @irn/element: small consumer
// entries bundled by esbuild the way an app's bundler would (minified, ES modules, code
// splitting, browser platform), resolving the built packages from their dist/ (run
// `pnpm build` first). For each, the JavaScript loaded before anything runs (static imports),
// what a wasm-only restore loads on demand, how many copies of tfjs-core end up in each
// realm (page, worker), and the biggest modules inside.
//
//   pnpm bench:bundle            prints Markdown tables
//   pnpm bench:bundle --json     the same figures as JSON
//
// test/bundle-budget_test.ts runs measureBundles() and fails when a budget regresses.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build, type Metafile, type Plugin } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Dynamic imports a wasm-only restore never takes: the other backends, the Node file system
 * and the lossy LR codecs (the browser decodes WebP and JPEG itself). Matched against the
 * module a dynamically loaded chunk starts from.
 */
const NOT_IN_A_WASM_RESTORE = [/tfjs-backend-(webgl|webgpu|cpu)\//, /@jsquash\//, /node:/];

/** One consumer: a page entry and, when it restores in a worker, the worker entry it starts. */
export interface Scenario {
  name: string;
  /** What it measures, in a few words. */
  title: string;
  /** Source of the page's entry module. */
  page: string;
  /**
   * The worker's entry module, as a package path (what the page's `new Worker(new URL(...))`
   * starts; an app's bundler builds it as an entry of its own), if any.
   */
  worker?: string;
  /**
   * Dynamic imports this restore does not take in the page, besides {@link NOT_IN_A_WASM_RESTORE}
   * (the page-thread engine when a worker computes, or the worker client when the page does).
   */
  pageSkips?: RegExp[];
  /** Dynamic imports this restore does not take in the worker, besides {@link NOT_IN_A_WASM_RESTORE}. */
  workerSkips?: RegExp[];
  /** No restore at all: only the static imports load. */
  noRestore?: boolean;
}

/** The compact PNG writer and its deflate library (pako): only a downscale asked for a `'blob'` loads it. */
const PNG_WRITER = /\/png-write[-.]/;
/** The quick PNG writer (fflate's deflate): only an upscale asked for a `'blob'` loads it. */
const PNG_QUICK = /\/png-quick[-.]/;

/**
 * With `worker: true` the page computes nothing: no engine, no pipeline, no backend; it imports
 * tfjs-core (through tfjs-on-demand.js) only for a `'tensor'` output or the IndexedDB model cache
 * (pages without the Cache API).
 */
const WORKER_PAGE_SKIPS = [/\/(engine|pipeline)[-.]/, /tfjs-backend-wasm\//, /\/tfjs-on-demand[-.]/];

/** The scenarios of the issue: worker and page restores, a metadata-only import, the element. */
export const SCENARIOS: Scenario[] = [
  {
    name: 'rescaler-worker',
    title: "Rescaler, { backend: 'wasm', worker: true }",
    page: [
      "import { Rescaler } from '@irn/core/browser';",
      "const rescaler = await Rescaler.create({ model: 'irn-x2', backend: 'wasm', worker: true });",
      "const { image } = await rescaler.upscale(document.querySelector('img'), { output: 'bitmap' });",
      "document.querySelector('canvas').getContext('2d').drawImage(image, 0, 0);",
    ].join('\n'),
    worker: '@irn/core/browser/worker.js',
    pageSkips: WORKER_PAGE_SKIPS,
    workerSkips: [PNG_WRITER, PNG_QUICK],
  },
  {
    name: 'rescaler-entry-worker',
    title: "Rescaler from '@irn/core/browser/rescaler', { backend: 'wasm', worker: true }",
    page: [
      "import { Rescaler } from '@irn/core/browser/rescaler';",
      "const rescaler = await Rescaler.create({ model: 'irn-x2', backend: 'wasm', worker: true });",
      "const { image } = await rescaler.upscale(document.querySelector('img'), { output: 'bitmap' });",
      "document.querySelector('canvas').getContext('2d').drawImage(image, 0, 0);",
    ].join('\n'),
    worker: '@irn/core/browser/worker.js',
    pageSkips: WORKER_PAGE_SKIPS,
    workerSkips: [PNG_WRITER, PNG_QUICK],
  },
  {
    name: 'rescaler-page',
    title: "Rescaler, { backend: 'wasm' } (no worker)",
    page: [
      "import { Rescaler } from '@irn/core/browser';",
      "const rescaler = await Rescaler.create({ model: 'irn-x2', backend: 'wasm' });",
      "const { image } = await rescaler.upscale(document.querySelector('img'), { output: 'bitmap' });",
      "document.querySelector('canvas').getContext('2d').drawImage(image, 0, 0);",
    ].join('\n'),
    pageSkips: [/\/worker-client[-.]/, PNG_WRITER, PNG_QUICK],
  },
  {
    name: 'lr-metadata',
    title: "import { readLrMetadata } from '@irn/core'",
    page: "import { readLrMetadata } from '@irn/core';\nconsole.log(readLrMetadata({ irn: 'x2 640x480' }));",
    noRestore: true,
  },
  {
    name: 'element',
    title: "import '@irn/element' (default: restores in a worker)",
    page: "import '@irn/element';\ndocument.body.innerHTML = '<irn-image src=\"photo.lr.png\" backend=\"wasm\"></irn-image>';",
    worker: '@irn/core/browser/worker.js',
    // Every LR's header is read through @irn/core/lr-formats, loaded with the Rescaler: counted.
    pageSkips: WORKER_PAGE_SKIPS,
    // The element asks for an upscale's 'blob' (an <img> shows it): its worker loads the quick PNG writer.
    workerSkips: [PNG_WRITER],
  },
];

/** Bytes of some JavaScript files. */
export interface Size {
  files: number;
  raw: number;
  gzip: number;
}

/** One realm (the page or the worker) of a scenario. */
export interface RealmReport {
  /** Loaded by static imports, before any code of the app runs. */
  initial: Size;
  /** Loaded on demand by a wasm-only restore (none for a scenario without one). */
  restore: Size;
  /** Emitted but not loaded by a wasm restore (other backends, ...). */
  unused: Size;
  /** Copies of tfjs-core in what a restore loads: distinct tfjs-core package roots among its modules. */
  tfjsCoreCopies: number;
  /** How often tfjs-core's engine error string appears in what a restore loads (one per copy). */
  tfjsCoreMarker: number;
  /** Modules of what a restore loads, biggest first: path (relative, shortened) and bytes in the output. */
  top: { module: string; bytes: number }[];
  /** Bytes in the output per package (`@irn/core` for core's dist), biggest first. */
  packages: { name: string; bytes: number }[];
  /** Every module path in what a restore loads (for the budget test). */
  modules: string[];
}

export interface ScenarioReport {
  name: string;
  title: string;
  page: RealmReport;
  worker?: RealmReport;
}

/** A string only tfjs-core's engine has (engine.ts, `setBackend`'s error). */
const TFJS_CORE_MARKER = 'Backend name';

/** `@irn/element` from its dist, as an installed copy would resolve (it is not a dependency of the repo root). */
const workspacePackages: Plugin = {
  name: 'irn-workspace-packages',
  setup(b) {
    b.onResolve({ filter: /^@irn\/element$/ }, () => ({ path: join(root, 'packages/element/dist/index.js') }));
  },
};

/** Bundles `source` as an app would and reports the realm's figures. */
async function bundleRealm(
  what: { source: string } | { module: string },
  label: string,
  workDir: string,
  skips: RegExp[],
  noRestore: boolean,
): Promise<RealmReport> {
  const dir = join(workDir, label);
  mkdirSync(dir, { recursive: true });
  let entry = join(dir, 'entry.js');
  if ('source' in what) writeFileSync(entry, what.source);
  else entry = createRequire(join(root, 'package.json')).resolve(what.module);
  const outdir = join(dir, 'out');
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    minify: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir,
    metafile: true,
    write: true,
    logLevel: 'silent',
    // Resolved as an app with @irn/core installed would: the repo root's node_modules.
    nodePaths: [join(root, 'node_modules')],
    absWorkingDir: root,
    // tfjs's optional Node requires; an app's bundler stubs them the same way.
    external: ['crypto', 'fs', 'path', 'os', 'perf_hooks', 'worker_threads', 'util', 'node:*'],
    plugins: [workspacePackages],
  });
  return realmReport(result.metafile, entry, skips, noRestore);
}

/**
 * @irn/core's worker script is itself a bundle (packages/core/scripts/bundle-worker.mjs, so
 * that it runs unbundled under Vite's dev server); that script's metafile says which modules
 * each of its files holds, and which module each backend chunk starts from. Keyed by the
 * file's path relative to the repository root.
 */
function prebuiltWorker(): Map<string, { entryPoint?: string; inputs: Record<string, number> }> {
  const dir = 'packages/core/dist/browser/';
  try {
    const meta = JSON.parse(readFileSync(join(root, 'packages/core/build-info/worker-meta.json'), 'utf8')) as {
      outputs: Record<string, { entryPoint?: string; inputs: Record<string, number> }>;
    };
    return new Map(Object.entries(meta.outputs).map(([name, info]) => [dir + name, info]));
  } catch {
    return new Map();
  }
}

function realmReport(meta: Metafile, entry: string, skips: RegExp[], noRestore: boolean): RealmReport {
  const outputs = meta.outputs;
  const prebuilt = prebuiltWorker();
  const entryOut = Object.keys(outputs).find((o) => outputs[o].entryPoint != null && join(root, outputs[o].entryPoint!) === entry);
  if (entryOut == null) throw new Error(`no output for ${entry}`);
  const staticClosure = (start: string[], seen: Set<string>): void => {
    const stack = [...start];
    while (stack.length > 0) {
      const o = stack.pop()!;
      if (seen.has(o)) continue;
      seen.add(o);
      for (const imp of outputs[o].imports) if (imp.kind === 'import-statement' && outputs[imp.path] != null) stack.push(imp.path);
    }
  };
  const initial = new Set<string>();
  staticClosure([entryOut], initial);
  const loaded = new Set(initial);
  if (!noRestore) {
    // Follow dynamic imports (and their static ones) except those a wasm restore skips.
    for (let grew = true; grew; ) {
      grew = false;
      for (const o of [...loaded]) {
        for (const imp of outputs[o].imports) {
          if (imp.kind !== 'dynamic-import' || loaded.has(imp.path) || outputs[imp.path] == null) continue;
          const start = outputs[imp.path].entryPoint ?? imp.path;
          const from = prebuilt.get(start)?.entryPoint ?? start;
          if ([...NOT_IN_A_WASM_RESTORE, ...skips].some((re) => re.test(from))) continue;
          const before = loaded.size;
          staticClosure([imp.path], loaded);
          grew ||= loaded.size > before;
        }
      }
    }
  }
  const js = (o: string): boolean => o.endsWith('.js');
  const size = (set: Iterable<string>): Size => {
    const s: Size = { files: 0, raw: 0, gzip: 0 };
    for (const o of set) {
      if (!js(o)) continue;
      const bytes = readFileSync(join(root, o));
      s.files++;
      s.raw += bytes.length;
      s.gzip += gzipSync(bytes, { level: 9 }).length;
    }
    return s;
  };
  const restoreOnly = [...loaded].filter((o) => !initial.has(o));
  const unused = Object.keys(outputs).filter((o) => js(o) && !loaded.has(o));
  const byModule = new Map<string, number>();
  let marker = 0;
  for (const o of loaded) {
    for (const [input, { bytesInOutput }] of Object.entries(outputs[o].inputs)) {
      // A file of the prebuilt worker counts as the modules inside it (their sizes as that bundle minified them).
      const inner = prebuilt.get(input)?.inputs ?? { [input]: bytesInOutput };
      for (const [module, bytes] of Object.entries(inner)) byModule.set(module, (byModule.get(module) ?? 0) + bytes);
    }
    marker += readFileSync(join(root, o), 'utf8').split(TFJS_CORE_MARKER).length - 1;
  }
  const modules = [...byModule.keys()];
  const coreRoots = new Set(modules.map((m) => /^(.*\/@tensorflow\/tfjs-core)\//.exec(m)?.[1]).filter((r) => r != null));
  const top = [...byModule.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 12)
    .map(([module, bytes]) => ({ module: shortName(module), bytes }));
  const perPackage = new Map<string, number>();
  for (const [m, bytes] of byModule) perPackage.set(packageOf(m), (perPackage.get(packageOf(m)) ?? 0) + bytes);
  const packages = [...perPackage.entries()].sort((a, b) => b[1] - a[1]).map(([name, bytes]) => ({ name, bytes }));
  return { initial: size(initial), restore: size(restoreOnly), unused: size(unused), tfjsCoreCopies: coreRoots.size, tfjsCoreMarker: marker, top, packages, modules };
}

/** The package a module belongs to: `@tensorflow/tfjs-core`, `@irn/core`, `@irn/element`, or `(app)`. */
function packageOf(module: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)\/[^]*$/.exec(module);
  if (m != null && !module.includes('node_modules/.pnpm/') ) return m[1];
  const nm = module.lastIndexOf('node_modules/');
  if (nm >= 0) return /^((?:@[^/]+\/)?[^/]+)/.exec(module.slice(nm + 'node_modules/'.length))![1];
  const ws = /packages\/([^/]+)\//.exec(module);
  return ws != null ? `@irn/${ws[1]}` : '(app)';
}

/** `node_modules/.pnpm/@tensorflow+tfjs-core@4.22.0/node_modules/@tensorflow/tfjs-core/dist/x.js` -> `@tensorflow/tfjs-core/dist/x.js`. */
function shortName(module: string): string {
  const nm = module.lastIndexOf('node_modules/');
  return nm >= 0 ? module.slice(nm + 'node_modules/'.length) : module;
}

/**
 * Bundles every scenario (each realm on its own, as an app's bundler builds a module worker
 * as a separate entry) into a temporary folder and measures it.
 */
export async function measureBundles(scenarios: Scenario[] = SCENARIOS): Promise<ScenarioReport[]> {
  const workDir = mkdtempSync(join(tmpdir(), 'irn-bundle-size-'));
  try {
    const reports: ScenarioReport[] = [];
    // Scenarios that start the same worker script and skip the same imports share its bundle.
    const workers = new Map<string, RealmReport>();
    for (const s of scenarios) {
      const page = await bundleRealm({ source: s.page }, `${s.name}-page`, workDir, s.pageSkips ?? [], s.noRestore === true);
      let worker: RealmReport | undefined;
      if (s.worker != null) {
        const key = `${s.worker} ${(s.workerSkips ?? []).join(' ')}`;
        worker = workers.get(key) ?? (await bundleRealm({ module: s.worker }, `${s.name}-worker`, workDir, s.workerSkips ?? [], false));
        workers.set(key, worker);
      }
      reports.push({ name: s.name, title: s.title, page, worker });
    }
    return reports;
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** The element's one-file bundle (`dist/irn-image.bundle.js`): everything inlined, loaded at once. */
export function measureElementOneFile(): Size & { tfjsCoreMarker: number } {
  const bytes = readFileSync(join(root, 'packages/element/dist/irn-image.bundle.js'));
  return { files: 1, raw: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length, tfjsCoreMarker: bytes.toString('utf8').split(TFJS_CORE_MARKER).length - 1 };
}

/** JavaScript a wasm restore loads, page and worker together (the `.wasm` binary aside). */
export function restoreTotal(r: ScenarioReport): Size {
  const parts = [r.page.initial, r.page.restore, ...(r.worker != null ? [r.worker.initial, r.worker.restore] : [])];
  return parts.reduce((a, b) => ({ files: a.files + b.files, raw: a.raw + b.raw, gzip: a.gzip + b.gzip }), { files: 0, raw: 0, gzip: 0 });
}

const kib = (n: number): string => (n / 1024).toFixed(1);
const cell = (s: Size): string => (s.files === 0 ? '-' : `${kib(s.raw)} / ${kib(s.gzip)} (${s.files})`);

/** The figures as Markdown. */
export function formatReports(reports: ScenarioReport[], oneFile: ReturnType<typeof measureElementOneFile>): string {
  const lines: string[] = [];
  lines.push('KiB raw / gzip (files). "static": loaded before anything runs; "restore": added on demand by a wasm-only restore;');
  lines.push('"total": page + worker, what a wasm restore loads (the .wasm binary aside); tfjs-core: copies in page + worker.');
  lines.push('');
  lines.push('| scenario | page static | page restore | worker static | worker restore | total | tfjs-core page + worker | not loaded (other backends...) |');
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const r of reports) {
    const w = r.worker;
    const unused = [r.page.unused, ...(w != null ? [w.unused] : [])].reduce((a, b) => ({ files: a.files + b.files, raw: a.raw + b.raw, gzip: a.gzip + b.gzip }));
    lines.push(
      `| ${r.title} | ${cell(r.page.initial)} | ${cell(r.page.restore)} | ${w ? cell(w.initial) : '-'} | ${w ? cell(w.restore) : '-'} | ${cell(restoreTotal(r))} | ${r.page.tfjsCoreCopies} + ${w?.tfjsCoreCopies ?? '-'} | ${cell(unused)} |`,
    );
  }
  lines.push(`| <irn-image> one-file bundle (dist/irn-image.bundle.js) | ${cell(oneFile)} | - | - | - | ${cell(oneFile)} | ${oneFile.tfjsCoreMarker} | - |`);
  for (const r of reports) {
    for (const [realm, rep] of [['page', r.page], ['worker', r.worker]] as const) {
      if (rep == null) continue;
      lines.push('');
      lines.push(`${r.name}, ${realm}: what ${r.name === 'lr-metadata' ? 'the import' : 'a restore'} loads, KiB in the minified output.`);
      lines.push('');
      lines.push(`By package: ${rep.packages.map((p) => `${p.name} ${kib(p.bytes)}`).join('; ')}`);
      lines.push('');
      lines.push(`Biggest modules: ${rep.top.map((t) => `${t.module} ${kib(t.bytes)}`).join('; ')}`);
    }
  }
  return lines.join('\n');
}

if (process.argv[1] != null && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const reports = await measureBundles();
  const oneFile = measureElementOneFile();
  if (process.argv.includes('--json')) {
    console.log(JSON.stringify({ reports: reports.map((r) => ({ ...r, page: { ...r.page, modules: undefined }, worker: r.worker && { ...r.worker, modules: undefined } })), oneFile }, null, 2));
  } else {
    console.log(formatReports(reports, oneFile));
  }
}
