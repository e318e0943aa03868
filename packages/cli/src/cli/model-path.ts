import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

/** The preset that `--model` defaults to, as a folder name under `weights/`. */
export const DEFAULT_MODEL = 'irn-x2';

/**
 * Environment variable naming one more folder of presets (`<folder>/<name>/model.json`),
 * searched before the shipped ones: a preset there is used by name (`--model <name>`, the
 * defaults, the `model` an LR's metadata names) as if it were shipped. For presets of your
 * own, and for tests of presets not shipped yet.
 */
export const PRESETS_ENV = 'IRN_WEIGHTS_DIR';

/** A preset name (as `@irn/core`'s `PRESET_NAME`, not imported: that would load @irn/core before TensorFlow.js is wanted). */
const PRESET_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

/**
 * Where the default model (`weights/irn-x2`) may be, first match wins: in the `@irn/cli`
 * package itself (`<package>/weights/irn-x2`, for a package that ships it), then, when the
 * package is `packages/cli` of this monorepo (a `pnpm-workspace.yaml` two folders up), in
 * the repository's `weights/irn-x2`, then in the `@irn/weights` package as Node resolves it
 * from the CLI (`<@irn/weights>/dist/irn-x2`: a dependency of `@irn/cli`, so `npm i @irn/cli`
 * brings it). The package root is found by walking up from `moduleUrl` to the package.json
 * named `@irn/cli`, because this code runs from `src/cli/` (tsx), bundled in `dist/cli.js` or
 * from a `dist/chunks/` file alike. Empty when no such package.json is found.
 */
export function defaultModelCandidates(moduleUrl: string = import.meta.url): string[] {
  return presetRoots(moduleUrl).map((root) => join(root, DEFAULT_MODEL));
}

/**
 * The folders presets are looked up in, first match wins: the folder in `$IRN_WEIGHTS_DIR`
 * ({@link PRESETS_ENV}) when set, then `<@irn/cli>/weights`, the repository's `weights/` (in
 * this monorepo) and `<@irn/weights>/dist`, found as {@link defaultModelCandidates} says.
 */
export function presetRoots(moduleUrl: string = import.meta.url, env: NodeJS.ProcessEnv = process.env): string[] {
  const extra = env[PRESETS_ENV] ? [resolve(env[PRESETS_ENV])] : [];
  for (let dir = dirname(fileURLToPath(moduleUrl)); ; dir = dirname(dir)) {
    if (packageName(join(dir, 'package.json')) === '@irn/cli') {
      const repo = join(dir, '..', '..');
      const inRepo = existsSync(join(repo, 'pnpm-workspace.yaml'));
      return [...extra, join(dir, 'weights'), ...(inRepo ? [join(repo, 'weights')] : []), ...weightsPackageDist(moduleUrl)];
    }
    if (dirname(dir) === dir) return extra;
  }
}

/**
 * The folder of the preset `name` (the first of {@link presetRoots} with `<name>/model.json`),
 * or undefined when there is none or `name` is not a plain preset name.
 */
export function findPreset(name: string, roots: string[] = presetRoots()): string | undefined {
  if (!PRESET_NAME.test(name)) return undefined;
  return roots.map((root) => join(root, name)).find((dir) => existsSync(join(dir, 'model.json')));
}

/** The names of every preset in `roots`, sorted (for messages). */
export function presetNames(roots: string[] = presetRoots()): string[] {
  const names = new Set<string>();
  for (const root of roots) {
    let entries: string[];
    try {
      entries = readdirSync(root);
    } catch {
      continue;
    }
    for (const name of entries) if (PRESET_NAME.test(name) && existsSync(join(root, name, 'model.json'))) names.add(name);
  }
  return [...names].sort();
}

/**
 * The preset name of a model folder: its folder name when that preset (as {@link findPreset}
 * finds it) is this very folder (`--model weights/irn-x2` is the preset `irn-x2`), else
 * undefined (a model of one's own, given by path).
 */
export function presetOfDirectory(dir: string, roots: string[] = presetRoots()): string | undefined {
  const name = basename(resolve(dir));
  const found = findPreset(name, roots);
  if (found == null) return undefined;
  try {
    return realpathSync(found) === realpathSync(dir) ? name : undefined;
  } catch {
    return undefined;
  }
}

/** `<@irn/weights>/dist` as Node resolves the package from `moduleUrl`; none when it is not installed. */
function weightsPackageDist(moduleUrl: string): string[] {
  try {
    return [join(dirname(createRequire(moduleUrl).resolve('@irn/weights/package.json')), 'dist')];
  } catch {
    return [];
  }
}

/** The `name` in the package.json at `path`, or undefined where there is none or it is unreadable. */
function packageName(path: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path, 'utf8')) as { name?: string }).name;
  } catch {
    return undefined;
  }
}

/**
 * The model folder `--model` defaults to: the first of {@link defaultModelCandidates} that
 * holds a `model.json`, shown relative to the working directory when that is shorter. Throws
 * a {@link CliError} naming the places it looked when there is none (an installed `@irn/cli`
 * without `@irn/weights`), so the user knows to pass `--model`.
 */
export function defaultModelDirectory(candidates: string[] = defaultModelCandidates()): string {
  const found = candidates.find((c) => existsSync(join(c, 'model.json')));
  if (found == null) {
    const where = candidates.length > 0 ? ` (looked in ${candidates.join(' and ')})` : '';
    throw new CliError(`no --model given and the default model weights/${DEFAULT_MODEL} was not found${where}; give --model <dir>`);
  }
  return shortPath(found);
}

/** `path` relative to the working directory when that is shorter and does not climb out of it. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel.length < path.length && !rel.startsWith('..') ? rel : path;
}

/**
 * The directory of a saved model from what the user typed: the directory itself, or its
 * `model.json`, or a preset name (`irn-x4`, `irn-x2-jpeg`: see {@link findPreset}; a path that
 * exists wins over a preset of the same name); with nothing typed (`--model` left out), the
 * shipped x2 preset ({@link defaultModelDirectory}).
 */
export async function modelDirectory(path: string | undefined): Promise<string> {
  if (path == null) return defaultModelDirectory();
  let s;
  try {
    s = await stat(path);
  } catch {
    const preset = findPreset(path);
    if (preset != null) return shortPath(preset);
    const known = PRESET_NAME.test(path) ? `, and no preset has that name (presets: ${presetNames().join(', ') || 'none found'})` : '';
    throw new CliError(`model directory ${path} does not exist${known}`);
  }
  if (s.isFile()) {
    if (basename(path) === 'model.json') return dirname(path);
    throw new CliError(`--model ${path} is a file; give the directory that holds model.json`);
  }
  try {
    await stat(join(path, 'model.json'));
  } catch {
    throw new CliError(`${path} holds no model.json; make one with "irn convert <checkpoint.pth> ${path}"`);
  }
  return path;
}
