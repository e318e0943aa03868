import { randomBytes } from 'node:crypto';
import { constants, statSync, type Dirent, type Stats } from 'node:fs';
import { access, link, lstat, mkdir, open, readdir, realpath, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, extname, isAbsolute, join, relative, resolve } from 'node:path';
import { applyAvifTransform, checkLimit, decodePng, readAvifInfo, readLrHeader, resolveLimits, sniffLrFormat, type DecodedPng, type Limits, type LrHeader, type RasterImage } from '@irn/core';
import { readModelWeightPaths } from '@irn/core/node';
import type { DecodedLr } from '../image/lr-codecs.js';
import { CliError, failure, oneLine, UsageError } from './errors.js';
import { onInterrupt, removeEmptyFoldersSync, removeFileSync } from './interrupt.js';
import { presetNames, presetRoots } from './model-path.js';
import type { Output } from './output.js';

/** One image to process: where it comes from and where its result goes. */
export interface Job {
  input: string;
  output: string;
  /** Name shown in progress and errors. */
  name: string;
}

/** What `path` is, links followed; 'missing' when stat fails for any reason ({@link unreachable} says which). */
async function kindOf(path: string): Promise<'file' | 'dir' | 'missing' | 'other'> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
  } catch {
    return 'missing';
  }
}

/**
 * Why `stat` finds nothing at `path`, in a sentence that starts with the path: it does not
 * exist, it is a link to nothing or one that loops, a part of it is not a directory, a folder
 * above it may not be searched, its name is too long.
 */
export async function unreachable(path: string): Promise<string> {
  const code = await stat(path).then(
    () => undefined,
    (e: NodeJS.ErrnoException) => e.code,
  );
  const isLink = (await lstat(path).catch(() => null))?.isSymbolicLink() === true;
  if (code === 'ELOOP') return isLink ? `${path} is a symbolic link that loops` : `${path} cannot be reached: a part of it is a symbolic link that loops`;
  if (code === 'ENOTDIR') {
    const part = notADirectory(path);
    return `${path} does not exist: ${part == null ? 'a part of it' : relativeOrAbsolute(part)} is not a directory`;
  }
  if (code === 'EACCES' || code === 'EPERM') return `${path} cannot be reached: a folder above it may not be searched (permission denied)`;
  if (code === 'ENAMETOOLONG') return `${path} has a name too long for the file system`;
  if (isLink) return `${path} is a symbolic link to nothing (a dangling link)`;
  return `${path} does not exist`;
}

/** The nearest ancestor of `path` (or `path` itself) that exists and is not a directory (links followed), if any. */
function notADirectory(path: string): string | undefined {
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    let s: Stats | null = null;
    try {
      s = statSync(dir);
    } catch {
      // Not there (or not reachable): look one folder up.
    }
    if (s != null) return s.isDirectory() ? undefined : dir;
    if (dirname(dir) === dir) return undefined;
  }
}

/** Options of {@link planJobs}. */
export interface PlanOptions {
  /** The name of an output in the output directory, from its input's name. Default: the same. */
  outputName?: (name: string) => string;
  /** `output` is a directory even when it does not exist yet (`irn prepare`'s `<out-dir>`). */
  outputIsDirectory?: boolean;
  /** Extensions (lower case, with the dot) of the files a directory input takes. Default: `['.png']`. */
  extensions?: readonly string[];
  /**
   * Told of each entry of a directory input that has one of the extensions but is not a
   * regular file (a symbolic link, a directory, a FIFO): such entries are skipped, not
   * followed (a stranger's folder may link to the user's own files), and said so.
   */
  onSkip?: (path: string, what: string) => void;
  /** Replace outputs that already exist (`--force`); without it they are refused before any work. */
  force?: boolean;
  /**
   * Files the run reads besides the images (a model's: see {@link modelInputs}): refused as
   * outputs as the images are, even with `force`.
   */
  modelFiles?: readonly string[];
  /**
   * Checks an output file name the user typed (not one named in an output folder), before any
   * work, after the checks that name an input or a device: `irn downscale` refuses `o.png` for
   * a JPEG LR.
   * @throws UsageError saying what is wrong with it.
   */
  checkOutputName?: (path: string) => void;
}

/**
 * The images `input` names and where each result goes: a file -> `output` (or
 * `output/<name>` when `output` is a directory); a directory -> every `*.png` in it (or
 * each of `options.extensions`; not recursive, sorted) -> `output/<same name>` (created when the first result is written).
 * The plan is checked with {@link checkJobs} before anything is written.
 */
export async function planJobs(input: string, output: string, options: PlanOptions = {}): Promise<{ jobs: Job[]; directory: boolean }> {
  const outputName = options.outputName ?? ((name: string) => name);
  const extensions = options.extensions ?? ['.png'];
  if (input === '') throw new UsageError('an empty input name; name a file or a folder');
  checkOutputPath(output);
  const inKind = await kindOf(input);
  // `out/` names a directory, existing or not (as `cp a.png out/` does); `a.png/` is a file's name all the same.
  const asDirectory = options.outputIsDirectory === true || /[\\/]$/.test(output);
  const found = await kindOf(output.replace(/(.)[\\/]+$/, '$1'));
  if (asDirectory && (found === 'file' || found === 'other')) throw new UsageError(`the output directory ${output} is not a directory`);
  const outKind = found === 'missing' && asDirectory ? 'dir' : found;
  if (inKind === 'missing') throw new CliError(await unreachable(input));
  if (inKind === 'other') throw new CliError(`${input} is not a file or directory`);
  // Found now, not when the first result is written: a parent of the output that is a file,
  // a dangling link, a folder irn may not write in.
  await checkOutputLocation(output, outKind === 'dir' || inKind === 'dir');
  const modelFiles = options.modelFiles ?? [];
  if (inKind === 'file') {
    const target = outKind === 'dir' ? join(output, outputName(basename(input))) : output;
    const jobs = [{ input, output: target, name: basename(input) }];
    // Inputs and devices first: --force would not help there.
    await checkJobs(jobs, { force: true, modelFiles });
    if (outKind !== 'dir') options.checkOutputName?.(output);
    const exists = await lstat(target).then(() => true, () => false);
    // Into the input's own folder, the output's name is one the user never typed: it must
    // not replace a file already there, even with --force (`irn upscale own/cat.webp own/`
    // would replace the original own/cat.png). The folder form refuses its own folder outright.
    if (exists && found === 'dir' && sameFile(await stat(dirname(input)), await stat(output))) {
      throw new UsageError(`${target} already exists beside the input ${input}; name the output file, or write into another directory`);
    }
    if (exists && options.force !== true) throw existingOutputs([target]);
    return { jobs, directory: false };
  }
  if (outKind === 'file' || outKind === 'other') throw new UsageError(`${input} is a directory, so the output ${output} must be one too`);
  // Compared as files, not as path strings: `out` may be a link to `input` (or `input/.`).
  if (found === 'dir' && sameFile(await stat(input), await stat(output))) {
    throw new UsageError(`the output directory ${output} is the input directory ${input}`);
  }
  const names = await listFolder(input, extensions, options.onSkip);
  const jobs = names.map((name) => ({ input: join(input, name), output: join(output, outputName(name)), name }));
  await checkJobs(jobs, { force: options.force, modelFiles });
  return { jobs, directory: true };
}

/**
 * The names of the regular files in the folder `dir` with one of `extensions` (lower case,
 * with the dot), sorted; not recursive. Entries of those names that are not regular files
 * (symbolic links, folders, FIFOs) are skipped, not followed (a stranger's folder may link to
 * the user's own files), each told to `onSkip` (see {@link skipNote}).
 * @throws CliError when there is no such file, saying what was skipped.
 */
export async function listFolder(dir: string, extensions: readonly string[], onSkip?: (path: string, what: string) => void): Promise<string[]> {
  const entries = (await readdir(dir, { withFileTypes: true })).filter((e) => extensions.includes(extname(e.name).toLowerCase()));
  const names = entries.filter((e) => e.isFile()).map((e) => e.name).sort();
  const skipped = entries.filter((e) => !e.isFile()).sort((a, b) => (a.name < b.name ? -1 : 1));
  if (names.length === 0) {
    const why = skipped.length === 0 ? '' : ` (${skipped.length} ${skipped.length === 1 ? 'entry' : 'entries'} of that name skipped: ${entryKind(skipped[0])}${skipped.length > 1 ? ', ...' : ''}; ${skipReason(entryKind(skipped[0]))})`;
    throw new CliError(`no ${extensions.join(' or ')} files in ${dir}${why}`);
  }
  for (const e of skipped) onSkip?.(join(dir, e.name), entryKind(e));
  return names;
}

/**
 * Refuses an output path that names no file irn can write: an empty name, `-` (which names
 * standard output to most tools; irn writes none: `./-` is a file of that name).
 * @throws UsageError saying which.
 */
export function checkOutputPath(path: string, names = 'a file or a folder'): void {
  if (path === '') throw new UsageError(`an empty output name; name ${names}`);
  if (path === '-') throw new UsageError(`the output -: irn writes no standard output; name ${names} (./- for a file named -)`);
}

/**
 * Refuses, before any work, the name of an output that can only be a file (`irn eval --json`)
 * when it could only fail when written: what {@link checkOutputPath} refuses, a name that
 * ends in a slash (a folder's), a part longer than file systems take, and a location
 * {@link checkOutputLocation} refuses. What is there already is {@link checkOutputFile}'s.
 * @throws UsageError saying which.
 */
export async function checkOutputFileName(path: string): Promise<void> {
  checkOutputPath(path, 'a file');
  checkNotFolderName(path);
  checkNameLengths(path);
  await checkOutputLocation(path, false);
}

/** Refuses a file's output name that ends in a slash: `report/` names a folder. */
function checkNotFolderName(path: string): void {
  if (/[\\/]$/.test(path)) throw new UsageError(`the output ${path} ends in a slash, which names a folder; name a file (${path}report.json, say)`);
}

/** The {@link PlanOptions.onSkip} of the commands: a status line per skipped entry. */
export function skipNote(out: Output): (path: string, what: string) => void {
  return (path, what) => out.status(`skipped ${path}: ${what} (${skipReason(what)})`);
}

/** Why a folder run skips an entry that is `what` (an {@link entryKind}). */
function skipReason(what: string): string {
  if (what === 'a directory') return 'a folder run does not look into subfolders';
  if (what === 'a symbolic link') return 'irn reads only regular files in a folder, it does not follow links';
  return 'irn reads only regular files in a folder';
}

/**
 * Refuses, before any work, an output path (a file, or with `isDirectory` a directory to
 * create) that could only fail when written: its nearest existing ancestor is not a directory
 * (`a.png/x.png` where `a.png` is a file), a part of it is a symbolic link to nothing, or that
 * ancestor is a folder irn may not write in (no write or search permission, a read-only file
 * system).
 * @throws UsageError naming the part at fault.
 */
export async function checkOutputLocation(path: string, isDirectory: boolean): Promise<void> {
  let dir = isDirectory ? resolve(path) : dirname(resolve(path));
  for (;;) {
    const kind = await kindOf(dir);
    if (kind === 'dir') break;
    if (kind !== 'missing') throw new UsageError(`cannot write ${path}: ${relativeOrAbsolute(dir)} is not a directory`);
    // stat followed a link to nothing (or a loop): mkdir could not make the folder there.
    if ((await lstat(dir).catch(() => null))?.isSymbolicLink()) {
      const what = dir === resolve(path) ? `the output folder ${path}` : `cannot write ${path}: ${relativeOrAbsolute(dir)}`;
      const loops = await stat(dir).then(() => false, (e: NodeJS.ErrnoException) => e.code === 'ELOOP');
      throw new UsageError(`${what} is a symbolic link ${loops ? 'that loops' : 'to nothing (a dangling link)'}`);
    }
    const parent = dirname(dir);
    if (parent === dir) return;
    dir = parent;
  }
  try {
    // Creating the file (or the folders below) needs write and search permission here.
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const where = dir === process.cwd() ? 'the current folder' : `the folder ${relativeOrAbsolute(dir)}`;
    const why = code === 'EROFS' ? `${where} is on a read-only file system` : code === 'EACCES' || code === 'EPERM' ? `${where} is not writable (permission denied)` : errnoText(e);
    throw new UsageError(`cannot write ${path}: ${why}`);
  }
}

/** `path` relative to the working directory when it is inside it, else absolute (for messages). */
function relativeOrAbsolute(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** Longest file name most file systems take (ext4: 255 bytes; APFS, NTFS: 255 characters). */
const MAX_NAME = 255;
/** The longest path a system call takes, in bytes (Linux's PATH_MAX, 4096, less the NUL). */
const MAX_PATH = 4095;

/**
 * Refuses an output path with a part longer than file systems take ({@link MAX_NAME} bytes),
 * or a path longer than a system call takes ({@link MAX_PATH} bytes, counting the temporary
 * name writeFileAtomic writes it as), which would fail only when written.
 * @throws UsageError naming the part or the path, shortened.
 */
function checkNameLengths(path: string): void {
  for (const part of path.split(/[\\/]/)) {
    const bytes = Buffer.byteLength(part);
    if (bytes <= MAX_NAME) continue;
    throw new UsageError(`cannot write the output ${shortened(part)}: the name is too long (${bytes} bytes; file systems take at most ${MAX_NAME})`);
  }
  const bytes = Buffer.byteLength(join(dirname(path), temporaryName(path)));
  if (bytes > MAX_PATH) {
    throw new UsageError(`cannot write the output ${shortened(path)}: the path is too long (${bytes} bytes with irn's temporary name; the system takes at most ${MAX_PATH})`);
  }
}

/** `text` of more than 40 characters as its first 24, `...` and its last 12. */
function shortened(text: string): string {
  const chars = [...text];
  return chars.length > 40 ? `${chars.slice(0, 24).join('')}...${chars.slice(-12).join('')}` : text;
}

/**
 * The name of the temporary file the output `path` is written as: "." + name + "." + 16 hex
 * digits + ".tmp", within {@link MAX_NAME} bytes (names are counted in bytes: 80 CJK
 * characters are 240). `hex` defaults to zeros (for measuring).
 */
function temporaryName(path: string, hex = '0'.repeat(16)): string {
  return `.${truncateUtf8(basename(path), MAX_NAME - 22)}.${hex}.tmp`;
}

/** What a directory entry that is not a regular file is, in words. */
function entryKind(e: Dirent): string {
  if (e.isSymbolicLink()) return 'a symbolic link';
  if (e.isDirectory()) return 'a directory';
  if (e.isFIFO()) return 'a FIFO';
  return 'not a regular file';
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** What a file system entry is, in words, for errors ("a FIFO"). */
export function kindInWords(s: Stats): string {
  if (s.isDirectory()) return 'a directory';
  if (s.isFIFO()) return 'a FIFO';
  if (s.isCharacterDevice()) return 'a character device';
  if (s.isBlockDevice()) return 'a block device';
  if (s.isSocket()) return 'a socket';
  if (s.isSymbolicLink()) return 'a symbolic link';
  return 'not a regular file';
}

/**
 * Where the directory entry `path` really is: the real path of its directory (links
 * resolved; for a directory that does not exist yet, that of its nearest existing ancestor
 * with the rest appended) joined with its name. A rename onto `path` replaces this entry.
 */
async function entryLocation(path: string): Promise<string> {
  const abs = resolve(path);
  let dir = dirname(abs);
  const rest = [basename(abs)];
  for (;;) {
    try {
      return join(await realpath(dir), ...rest);
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return abs;
      rest.unshift(basename(dir));
      dir = parent;
    }
  }
}

/**
 * Checks a plan before anything is written, so that no job can destroy what the user did
 * not name as output:
 * - an output that exists is refused unless `force` (`--force`), naming the first and how
 *   many more exist, so a run never replaces a file the user has without being told to;
 * - with `force`, an output that exists must be a regular file, or a symbolic link (which is replaced,
 *   never written through: see {@link writeFileAtomic}) to a regular file or to nothing;
 *   devices, FIFOs, sockets and directories are refused;
 * - no output may be an input file of the plan, or one of `modelFiles` (the model's files,
 *   which the run reads): compared by device and inode after resolving links (a link to the
 *   input, a hard link, an output folder that is a link to the input folder), not by path strings;
 * - no output name may be longer than file systems take (255 bytes);
 * - no two outputs may be the same file, also where a case-insensitive file system (macOS,
 *   Windows) would fold their names together (`a.png` and `A.png`).
 * @throws UsageError for an output that cannot be written (exit 2), CliError for two inputs
 *   that would be written to the same output (exit 1).
 */
export async function checkJobs(jobs: Job[], options: { force?: boolean; modelFiles?: readonly string[] } = {}): Promise<void> {
  const inputs = await inputIds(jobs.map((job) => job.input), options.modelFiles);
  const seen = new Map<string, Job>();
  const existing: string[] = [];
  for (const job of jobs) {
    checkNameLengths(job.output);
    if ((await checkOutputFile(job.output, inputs)) && options.force !== true) existing.push(job.output);
    // NFC and lower case: what macOS (APFS, HFS+) and Windows (NTFS) treat as one name.
    const key = (await entryLocation(job.output)).normalize('NFC').toLowerCase();
    const other = seen.get(key);
    if (other != null) {
      const same = other.output === job.output ? `${job.output}` : `${other.output} and ${job.output} (one file where case is folded)`;
      throw new CliError(`${other.input} and ${job.input} would both be written to ${same}; rename one of them`);
    }
    seen.set(key, job);
  }
  if (existing.length > 0) throw existingOutputs(existing);
}

/** The one line that refuses outputs which already exist: the first named, and how many more. */
export function existingOutputs(paths: string[]): UsageError {
  const more = paths.length === 1 ? 'already exists' : `and ${paths.length - 1} more of the outputs already exist`;
  return new UsageError(`${paths[0]} ${more}; irn replaces no file unless --force is given`);
}

/**
 * The files a run reads, for {@link checkOutputFile}: device and inode of each of `inputs`
 * ("the input a.png") and of `modelFiles` ("the model file m/model.json"; see {@link modelInputs}).
 */
export async function inputIds(inputs: readonly string[], modelFiles: readonly string[] = []): Promise<Map<string, string>> {
  const ids = await fileIds(modelFiles, 'the model file');
  for (const [id, what] of await fileIds(inputs)) ids.set(id, what);
  return ids;
}

/** Device and inode of each existing file in `paths` (links followed) -> `what` and its path ("the input a.png"). */
async function fileIds(paths: readonly string[], what = 'the input'): Promise<Map<string, string>> {
  const ids = new Map<string, string>();
  for (const path of paths) {
    const s = await stat(path).catch(() => null);
    if (s != null) ids.set(`${s.dev}:${s.ino}`, `${what} ${path}`);
  }
  return ids;
}

/** The file names a saved model's folder holds (core's fileSystem: `model.json`, `group1-shard1of1.bin`; `irn train`'s `best.json`). */
const MODEL_FILE_NAME = /^(model\.json|best\.json|group\d+-shard\d+of\d+\.bin)$/;

/**
 * The files of the model folders `dirs` and of every installed preset (a run may load any
 * preset: a decoder's encoder, its siblings, the one an LR names): model.json, the weight
 * files its manifest names, and every other file of a model's name there (`best.json`,
 * `group1-shard*.bin`). They are inputs of a run that loads a model, so no output may
 * replace them, even with `--force`: pass them to {@link planJobs} (`modelFiles`), or with the
 * other inputs to {@link checkOutputFile} (`irn eval --json`). Paths that do not exist are
 * harmless there; a model.json that cannot be read adds only its own name (loading it fails
 * later, with its own message).
 */
export async function modelInputs(dirs: readonly string[]): Promise<string[]> {
  const presets = presetRoots().flatMap((root) => presetNames([root]).map((name) => join(root, name)));
  const files = new Set<string>();
  for (const dir of new Set([...dirs, ...presets])) {
    files.add(join(dir, 'model.json'));
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) if (MODEL_FILE_NAME.test(name)) files.add(join(dir, name));
    // Not readable or not JSON: nothing more to protect than its name.
    for (const path of await readModelWeightPaths(dir).catch(() => [])) files.add(join(dir, path));
  }
  return [...files];
}

/**
 * Checks one output file as {@link checkJobs} does: when it exists it is a regular file, or
 * a symbolic link to one or to nothing, none of `inputs` (paths, or the ids that
 * checkJobs computed once, each to its words: "the input a.png"), and `force` is set (else it
 * is refused as one that exists).
 * @returns whether an entry of that name exists (a dangling link included).
 * @throws UsageError saying which.
 */
export async function checkOutputFile(output: string, inputs: string[] | Map<string, string> = [], force = true): Promise<boolean> {
  const entry = await lstat(output).catch(() => null);
  if (entry == null) return false;
  if (!force) {
    // An input or a device is named as such even without --force, which would not help.
    await checkOutputFile(output, inputs, true);
    throw existingOutputs([output]);
  }
  // Follows a link; a dangling link is replaced like a missing file.
  const target = entry.isSymbolicLink() ? await stat(output).catch(() => null) : entry;
  if (target == null) return true;
  const via = entry.isSymbolicLink() ? ' (through a symbolic link)' : '';
  if (!target.isFile()) throw new UsageError(`the output ${output} is ${kindInWords(target)}${via}; irn only replaces regular files`);
  const ids = inputs instanceof Map ? inputs : await fileIds(inputs);
  const input = ids.get(`${target.dev}:${target.ino}`);
  if (input != null) throw new UsageError(`the output ${output} would overwrite ${input}${via}`);
  return true;
}

/**
 * Reads a whole regular file of at most `maxBytes` bytes. FIFOs, devices and directories
 * are refused without blocking (the file is opened non-blocking and checked with fstat
 * before anything is read), and the size is checked before the buffer is allocated. With
 * `noFollow`, a symbolic link is refused too, also one swapped in after a caller's lstat
 * (O_NOFOLLOW; where a platform lacks it, Windows, the caller's lstat stands alone).
 * @throws CliError saying what is wrong (callers name the file).
 */
export async function readRegularFile(path: string, maxBytes: { limits: Limits; what?: string } | number, options: { noFollow?: boolean } = {}): Promise<Uint8Array> {
  let handle;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    handle = await open(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (options.noFollow ? (constants.O_NOFOLLOW ?? 0) : 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // O_NOFOLLOW on a link fails with ELOOP (EMLINK on FreeBSD).
    if (options.noFollow && (code === 'ELOOP' || code === 'EMLINK')) throw failure('it is a symbolic link, not a regular file', e);
    throw failure(code === 'ENOENT' ? 'the file does not exist' : `cannot read it: ${oneLine(e)}`, e);
  }
  try {
    const s = await handle.stat();
    if (!s.isFile()) throw new CliError(`it is ${kindInWords(s)}, not a regular file`);
    if (typeof maxBytes === 'number') {
      if (s.size > maxBytes) throw new CliError(`it is ${s.size} bytes, more than the ${maxBytes} expected`);
    } else {
      try {
        checkLimit(maxBytes.limits, 'inflatedBytes', s.size, maxBytes.what ?? 'the file', 'bytes');
      } catch (e) {
        throw failure(oneLine(e), e);
      }
    }
    // Exactly the size fstat saw: a file that grows meanwhile cannot make us read more.
    const bytes = new Uint8Array(s.size);
    let filled = 0;
    while (filled < bytes.length) {
      const { bytesRead } = await handle.read(bytes, filled, bytes.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return filled === bytes.length ? bytes : bytes.subarray(0, filled);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw failure(`cannot read it: ${oneLine(e)}`, e);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * Reads and decodes a PNG file within `limits` (the CLI's `ctx.limits()`): a file larger
 * than `limits.inflatedBytes` is refused before it is read, and the decoder checks what the
 * file claims (pixels, text) against the limits before allocating. Errors say what is wrong
 * with it (callers name the file).
 */
export async function readPng(path: string, limits?: Partial<Limits>): Promise<DecodedPng> {
  const resolved = resolveLimits(limits);
  const bytes = await readRegularFile(path, { limits: resolved, what: 'the file' });
  try {
    return decodePng(bytes, { limits: resolved });
  } catch (e) {
    throw failure(oneLine(e), e);
  }
}

/** Extensions of the photos `irn downscale` and `irn prepare` take from a directory (read by content). */
export const PHOTO_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.avif'];

/**
 * Reads an original photo, PNG, JPEG, WebP or AVIF (told apart by content, not by name),
 * within `limits` as {@link readPng} does: a PNG as decodePng reads it (grey, alpha and 16
 * bits kept), a JPEG as 8-bit RGB turned the way its EXIF Orientation tag shows it, its frame
 * size checked against the pixel limit before anything is decoded (the training loader's
 * decoder); WebP and AVIF through the LR decoders (libwebp, libavif), their headers checked
 * first, an AVIF turned and mirrored as its irot and imir boxes say (as browsers show it; a
 * clap crop is refused). A WebP's EXIF Orientation is not applied, as Chromium does not.
 */
export async function readPhoto(path: string, limits?: Partial<Limits>): Promise<RasterImage> {
  const resolved = resolveLimits(limits);
  const bytes = await readRegularFile(path, { limits: resolved, what: 'the file' });
  const format = sniffLrFormat(bytes);
  if (format === 'webp' || format === 'avif') {
    const { decodeLr } = await import('../image/lr-codecs.js');
    try {
      const { image } = await decodeLr(bytes, resolved);
      return format === 'avif' ? applyAvifTransform(image, readAvifInfo(bytes).transform) : image;
    } catch (e) {
      throw failure(oneLine(e), e);
    }
  }
  if (format !== 'jpeg') {
    try {
      return decodePng(bytes, { limits: resolved });
    } catch (e) {
      throw format === 'png' ? failure(oneLine(e), e) : failure('not a PNG, JPEG, WebP or AVIF file', e);
    }
  }
  const { decodeJpeg } = await import('../data/image-folder.js');
  try {
    const { width, height, data } = decodeJpeg(bytes, resolved);
    const values = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) values[i] = data[i] / 255;
    return { width, height, channels: 3, data: values };
  } catch (e) {
    throw failure(oneLine(e), e);
  }
}

/**
 * Reads and decodes an LR image file, PNG, WebP, JPEG or AVIF (told apart by content, not by name), and
 * its `irn` metadata, within `limits` as {@link readPng} does: the file's size is checked
 * before it is read, and what its headers claim (pixels, metadata) before anything is
 * decoded. The WebP, JPEG and AVIF decoders load only when such a file comes. Errors say what is wrong
 * with the file (callers name it). `beforeDecode` sees the headers (size, metadata) first and
 * may refuse the file there (`irn upscale` checks the restored size), before any decoding.
 */
export async function readLr(path: string, limits?: Partial<Limits>, beforeDecode?: (header: LrHeader) => unknown): Promise<DecodedLr> {
  const resolved = resolveLimits(limits);
  const bytes = await readRegularFile(path, { limits: resolved, what: 'the file' });
  const { decodeLr } = await import('../image/lr-codecs.js');
  try {
    if (beforeDecode != null) await beforeDecode(readLrHeader(bytes, resolved));
    return await decodeLr(bytes, resolved);
  } catch (e) {
    throw failure(oneLine(e), e);
  }
}

/** The longest start of `text`, whole characters, that is at most `maxBytes` in UTF-8. */
export function truncateUtf8(text: string, maxBytes: number): string {
  let bytes = 0;
  let out = '';
  for (const ch of text) {
    bytes += Buffer.byteLength(ch);
    if (bytes > maxBytes) break;
    out += ch;
  }
  return out;
}

/**
 * Writes a file through a temporary file in the same directory and a rename, so a failure
 * never leaves a partial file under the final name. Creates missing parent directories.
 *
 * The temporary file has an unpredictable name (random bytes) and is created exclusively
 * (`O_CREAT | O_EXCL`), so a link planted beside the output cannot redirect the write; it
 * takes the mode of the file it replaces (else 0666 less the umask). On failure only that
 * temporary file is removed.
 *
 * Without `replace` (the default) an existing `path` is never replaced: the file is moved
 * in by a hard link, which fails when the name is taken (a file that appeared after the
 * plan was checked), so no check-then-write race can replace it either; where the file
 * system has no hard links, a check right before the rename does.
 *
 * With `replace` (`--force`), when `path` is a symbolic link, the link itself is replaced by the new file (as `mv`
 * would); the file it pointed to is left as it was. So a link can never make irn write
 * into a file elsewhere, in particular not into an input. An existing `path` that is not a
 * regular file or a link to one (a device, a FIFO, a directory) is refused.
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array, options: { replace?: boolean } = {}): Promise<void> {
  const replace = options.replace === true;
  checkOutputPath(path);
  // `r/`: the temporary file would be made beside r, and the rename fail with a false ENOENT.
  checkNotFolderName(path);
  const dir = dirname(path);
  // Checked again here, right before writing: planJobs checked the plan, but other
  // callers (eval's --json) and anything that changed since come through here too.
  const entry = await lstat(path).catch(() => null);
  const target = entry?.isSymbolicLink() ? await stat(path).catch(() => null) : entry;
  if (target != null && !target.isFile()) {
    throw new CliError(`cannot write ${path}: it is ${kindInWords(target)}; irn only replaces regular files`);
  }
  if (entry != null && !replace) throw appeared(path);
  const mode = entry != null && entry.isFile() ? entry.mode & 0o777 : undefined;
  const name = temporaryName(path, randomBytes(8).toString('hex'));
  const tmp = join(dir, name);
  let created = false;
  // The first folder mkdir -p made for the file (none when `dir` was there): taken back, while
  // empty, when the write fails or irn is interrupted, so a failure leaves no folder behind.
  let madeFrom: string | undefined;
  // The temporary name is random and made exclusively, so it is ours even before `open`'s
  // promise has said so (the file exists once the system call is done).
  const release = onInterrupt(() => {
    removeFileSync(tmp);
    if (madeFrom != null) removeEmptyFoldersSync(dir, madeFrom);
  });
  try {
    madeFrom = await mkdir(dir, { recursive: true });
    const handle = await open(tmp, 'wx', 0o666);
    created = true;
    try {
      if (mode != null) await handle.chmod(mode);
      await handle.writeFile(bytes);
    } finally {
      await handle.close();
    }
    if (replace) await rename(tmp, path);
    else await moveInWithoutReplacing(tmp, path);
    created = false;
    madeFrom = undefined;
  } catch (e) {
    if (created) await unlink(tmp).catch(() => {});
    if (madeFrom != null) removeEmptyFoldersSync(dir, madeFrom);
    if (e instanceof CliError) throw e;
    throw writeFailure(path, e);
  } finally {
    release();
  }
}

/**
 * A write of `path` that failed with `e`, in words that name no temporary file: what is wrong
 * and where. An {@link OutputLocationError} when every other output there would fail the
 * same way (permissions, a read-only or full file system).
 */
export function writeFailure(path: string, e: unknown): CliError {
  const { code, syscall } = e as NodeJS.ErrnoException;
  const dir = dirname(path);
  const where = dir === '.' ? 'the current folder' : `the folder ${dir}`;
  const said = (why: string) => `cannot write ${path}: ${why}`;
  if (code === 'EACCES' || code === 'EPERM') {
    const why = syscall === 'mkdir' ? `${where} cannot be created (permission denied)` : `${where} is not writable (permission denied)`;
    return new OutputLocationError(said(why), { cause: e });
  }
  if (code === 'EROFS') return new OutputLocationError(said(`${where} is on a read-only file system`), { cause: e });
  if (code === 'ENOSPC') return new OutputLocationError(said('no space left on the device'), { cause: e });
  if (code === 'EDQUOT') return new OutputLocationError(said('the disk quota is used up'), { cause: e });
  if (code === 'ENOENT') {
    const why = syscall === 'mkdir' ? `${where} cannot be created (a part of it is a dangling symbolic link, or was removed)` : `${where} was removed while irn worked`;
    return new OutputLocationError(said(why), { cause: e });
  }
  if (code === 'ENAMETOOLONG') return failure(said('the name is too long for the file system'), e);
  if (code === 'ENOTDIR' || (code === 'EEXIST' && syscall === 'mkdir')) {
    // mkdir -p meets a file where a folder of the path should be: EEXIST (ENOTDIR below it).
    const part = notADirectory(dir);
    return new OutputLocationError(said(`${part == null ? `a part of ${dir}` : relativeOrAbsolute(part)} is not a directory`), { cause: e });
  }
  if (code === 'ELOOP') return new OutputLocationError(said(`a part of ${dir} is a loop of symbolic links`), { cause: e });
  return failure(said(errnoText(e)), e);
}

/**
 * A failure of an output's location, which every other output in the same place would meet
 * (no permission, a read-only or full file system): a folder run stops at the first (see runJobs).
 */
export class OutputLocationError extends CliError {
  override name = 'OutputLocationError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, undefined, options);
  }
}

/** A system error's text without the paths it names (which may be a temporary file's): "EIO: i/o error". */
function errnoText(e: unknown): string {
  return oneLine(e).replace(/, \w+ '.*$/, '');
}

/**
 * Gives the file `tmp` the name `path` only if no entry has that name: a hard link (which
 * the kernel refuses, EEXIST, for a taken name), then the temporary name removed. File
 * systems without hard links (FAT, some network shares) get a check and a rename.
 */
export async function moveInWithoutReplacing(tmp: string, path: string): Promise<void> {
  try {
    await link(tmp, path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') {
      throw appeared(path, e);
    }
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS' && code !== 'EMLINK' && code !== 'EXDEV') throw e;
    if (await lstat(path).then(() => true, () => false)) {
      throw appeared(path);
    }
    await rename(tmp, path);
    return;
  }
  // The file is in place under its name; a temporary name left behind is only litter.
  await unlink(tmp).catch(() => {});
}

/** An output that exists at write time though the plan found none (or was not told to replace it). */
function appeared(path: string, cause?: unknown): CliError {
  return new CliError(`cannot write ${path}: it already exists (it appeared while irn worked); irn replaces no file unless --force is given`, undefined, { cause });
}
