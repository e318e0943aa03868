import { existsSync, readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from './errors.js';

/** The preset that `--model` defaults to, as a folder name under `weights/`. */
export const DEFAULT_MODEL = 'irn-x2';

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
  for (let dir = dirname(fileURLToPath(moduleUrl)); ; dir = dirname(dir)) {
    if (packageName(join(dir, 'package.json')) === '@irn/cli') {
      const repo = join(dir, '..', '..');
      const inRepo = existsSync(join(repo, 'pnpm-workspace.yaml'));
      return [join(dir, 'weights', DEFAULT_MODEL), ...(inRepo ? [join(repo, 'weights', DEFAULT_MODEL)] : []), ...weightsPackageModel(moduleUrl)];
    }
    if (dirname(dir) === dir) return [];
  }
}

/** `<@irn/weights>/dist/irn-x2` as Node resolves the package from `moduleUrl`; none when it is not installed. */
function weightsPackageModel(moduleUrl: string): string[] {
  try {
    return [join(dirname(createRequire(moduleUrl).resolve('@irn/weights/package.json')), 'dist', DEFAULT_MODEL)];
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
  const rel = relative(process.cwd(), found);
  return rel.length < found.length && !rel.startsWith('..') ? rel : found;
}

/**
 * The directory of a saved model from what the user typed: the directory itself, or its
 * `model.json`; with nothing typed (`--model` left out), the shipped x2 preset
 * ({@link defaultModelDirectory}).
 */
export async function modelDirectory(path: string | undefined): Promise<string> {
  if (path == null) return defaultModelDirectory();
  let s;
  try {
    s = await stat(path);
  } catch {
    throw new CliError(`model directory ${path} does not exist`);
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
