import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { decodePng, type DecodedPng } from '../image/png.js';
import { CliError, failure, oneLine, UsageError } from './errors.js';

/** One image to process: where it comes from and where its result goes. */
export interface Job {
  input: string;
  output: string;
  /** Name shown in progress and errors. */
  name: string;
}

async function kindOf(path: string): Promise<'file' | 'dir' | 'missing' | 'other'> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * The images `input` names and where each result goes: a PNG file -> `output` (or
 * `output/<name>` when `output` is a directory); a directory -> every `*.png` in it (not
 * recursive, sorted) -> `output/<same name>` (created when the first result is written).
 */
export async function planJobs(input: string, output: string): Promise<{ jobs: Job[]; directory: boolean }> {
  const inKind = await kindOf(input);
  const outKind = await kindOf(output);
  if (inKind === 'missing') throw new CliError(`${input} does not exist`);
  if (inKind === 'other') throw new CliError(`${input} is not a file or directory`);
  if (inKind === 'file') {
    const target = outKind === 'dir' ? join(output, basename(input)) : output;
    if (resolve(target) === resolve(input)) throw new UsageError(`the output ${target} would overwrite the input`);
    return { jobs: [{ input, output: target, name: basename(input) }], directory: false };
  }
  if (outKind === 'file' || outKind === 'other') throw new UsageError(`${input} is a directory, so the output ${output} must be one too`);
  if (resolve(input) === resolve(output)) throw new UsageError('the output directory must differ from the input directory');
  const names = (await readdir(input, { withFileTypes: true }))
    .filter((e) => e.isFile() && extname(e.name).toLowerCase() === '.png')
    .map((e) => e.name)
    .sort();
  if (names.length === 0) throw new CliError(`no .png files in ${input}`);
  return { jobs: names.map((name) => ({ input: join(input, name), output: join(output, name), name })), directory: true };
}

/** Reads and decodes a PNG file; errors say what is wrong with it (callers name the file). */
export async function readPng(path: string): Promise<DecodedPng> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw failure(code === 'ENOENT' ? 'the file does not exist' : `cannot read it: ${oneLine(e)}`, e);
  }
  try {
    return decodePng(bytes);
  } catch (e) {
    throw failure(oneLine(e), e);
  }
}

/**
 * Writes a file through a temporary file in the same directory and a rename, so a failure
 * never leaves a partial file under the final name. Creates missing parent directories.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw failure(`cannot write ${path}: ${oneLine(e)}`, e);
  }
}
