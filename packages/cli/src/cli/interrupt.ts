/**
 * What an interrupted `irn` takes back. Without a handler, Ctrl-C (SIGINT), `kill` (SIGTERM)
 * or a closed terminal (SIGHUP) end Node at once, and whatever irn had half made stays: the
 * hidden temporary file of a write (`.name.hex.tmp`), the temporary folder of `irn convert`,
 * output folders made for files that were never finished, a progress bar's hidden cursor.
 *
 * Code that makes such a thing registers, for as long as it exists, a synchronous function
 * that takes it back ({@link onInterrupt}); {@link exitOnInterrupt} (installed by the CLI's
 * entry point only, so a program that imports @irn/cli keeps its own signal handling) runs
 * them, newest first, writes one line and exits with 128 + the signal's number, as a shell
 * reports a process killed by it. Finished outputs are kept: they are whole.
 *
 * A command that stops gracefully on its own (`irn train` saves a checkpoint first) takes a
 * signal over with {@link takeOverSignal}.
 *
 * Node runs a signal's handler between turns of its event loop, so a signal that comes while
 * a long synchronous computation runs (a decode, a tile) is handled when it ends.
 */
import { rmdirSync, rmSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** The signals handled, with their numbers (the exit status is 128 + the number). */
const SIGNALS = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 } as const;
type HandledSignal = keyof typeof SIGNALS;

const cleanups = new Set<() => void>();
const takenOver = new Map<HandledSignal, number>();

/**
 * Registers `cleanup` (synchronous, and made not to throw: each is called in a try) to run if
 * the CLI is interrupted. Returns the function that unregisters it, to call once the thing it
 * takes back is gone or finished.
 */
export function onInterrupt(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => void cleanups.delete(cleanup);
}

/**
 * While taken over (until the returned function is called), `signal` is left to the caller's
 * own handler: {@link exitOnInterrupt}'s does nothing for it.
 */
export function takeOverSignal(signal: HandledSignal): () => void {
  takenOver.set(signal, (takenOver.get(signal) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const n = (takenOver.get(signal) ?? 1) - 1;
    if (n > 0) takenOver.set(signal, n);
    else takenOver.delete(signal);
  };
}

/** Runs every registered cleanup, newest first, once each. */
export function runInterruptCleanups(): void {
  for (const cleanup of [...cleanups].reverse()) {
    cleanups.delete(cleanup);
    try {
      cleanup();
    } catch {
      // A cleanup that fails leaves its thing; the others still run.
    }
  }
}

/**
 * Installs the CLI's handlers of SIGINT, SIGTERM and SIGHUP: run the cleanups, write
 * `irn: stopped by SIGINT; nothing half-written was left` with `write`, exit with 128 + the signal's number.
 */
export function exitOnInterrupt(write: (line: string) => void): void {
  for (const [signal, number] of Object.entries(SIGNALS) as [HandledSignal, number][]) {
    process.on(signal, () => {
      if (takenOver.has(signal)) return;
      runInterruptCleanups();
      try {
        write(`irn: stopped by ${signal}; nothing half-written was left`);
      } catch {
        // stderr may be gone (a closed terminal): the exit status still says it.
      }
      process.exit(128 + number);
    });
  }
}

/** Removes the file `path` if it is there. */
export function removeFileSync(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone, or not ours to remove any more.
  }
}

/** Removes the folder `path` and what is in it: only for a folder irn made for itself (mkdtemp). */
export function removeOwnFolderSync(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/**
 * Removes `dir` and then each parent up to `top` (the first folder that `mkdir -p` made for
 * it), each only while it is empty: rmdir removes nothing else, so a file that appeared in one
 * meanwhile stops the walk there. Synchronous, so that an interrupt's cleanups can use it;
 * a few system calls, so the other callers (a failed write, an empty run) use it too.
 */
export function removeEmptyFoldersSync(dir: string, top: string): void {
  const last = resolve(top);
  for (let d = resolve(dir); ; d = dirname(d)) {
    try {
      rmdirSync(d);
    } catch {
      return;
    }
    if (d === last || dirname(d) === d) return;
  }
}
