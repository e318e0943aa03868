import { isOutOfMemory, rewordLimitAdvice } from '@irn/core';

/** Exit status for a failure while running (bad image, bad model, I/O). */
export const EXIT_FAILURE = 1;
/** Exit status for a command line that cannot be run (unknown option, bad value). */
export const EXIT_USAGE = 2;

/** An error whose message is meant for the user as is; `exitCode` says which kind it is. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT_FAILURE,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A failure while running, caused by `cause` (whose stack `--debug` shows). */
export function failure(message: string, cause: unknown): CliError {
  return new CliError(message, EXIT_FAILURE, { cause });
}

/** The stack of an error followed by those of its causes, for `--debug`. */
export function stackOf(e: unknown): string | undefined {
  const parts: string[] = [];
  for (let c: unknown = e, depth = 0; c instanceof Error && depth < 5; c = c.cause, depth++) {
    parts.push((depth > 0 ? 'caused by: ' : '') + (c.stack ?? String(c)));
  }
  return parts.length > 0 ? parts.join('\n') : undefined;
}

/** A command line that cannot be run: exits with status 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/**
 * The message of any thrown value as one line (tfjs messages can span several), with core's
 * advice for a limit (`raise it with limits: { pixels: N }`) worded as the CLI's option.
 */
export function oneLine(e: unknown): string {
  const message = internalMessage(e) ?? (e instanceof Error ? e.message : String(e));
  const flat = cliLimitAdvice(message.replace(/\s*\n\s*/g, ' ').trim());
  // Cut in the middle, where a long path is: the reason is at the end (`<path>: the name is too long ...`).
  return flat.length > 500 ? `${flat.slice(0, 247)} ... ${flat.slice(-248)}` : flat || 'unknown error';
}

/** `message` with core's advice for raising a limit worded as `--limit name=N`. */
export function cliLimitAdvice(message: string): string {
  return rewordLimitAdvice(message, (name) => `raise it with --limit ${name}=N`);
}

/** V8's messages for a program error (a bug, not a bad input) of TypeError and ReferenceError. */
const PROGRAM_ERROR = /^(Cannot (read|set) propert|Cannot destructure|Cannot convert|Cannot mix BigInt|Reduce of empty array|.* is not (a function|iterable|a constructor|defined))/;

/**
 * The line to show instead of a raw JavaScript engine message, which would mean nothing to
 * the user ("Invalid typed array length: 342000000", "Cannot read properties of null"), or
 * null when `e` is an error whose message is meant to be read. Only the engine's own
 * messages are replaced: errors that irn throws on purpose as RangeError or TypeError keep
 * theirs. `--debug` shows the original message and stack.
 */
export function internalMessage(e: unknown): string | null {
  if (!(e instanceof Error) || e instanceof CliError) return null;
  const m = e.message;
  if (isOutOfMemory(e)) {
    return 'out of memory: a buffer could not be allocated (for a large image, a smaller --tile helps; --debug shows where)';
  }
  if (e instanceof RangeError && /^Maximum call stack size exceeded/.test(m)) {
    return 'internal error: the call stack overflowed (the input may be nested too deeply); run with --debug for details';
  }
  if ((e instanceof TypeError || e instanceof ReferenceError) && PROGRAM_ERROR.test(m)) {
    return `internal error (${e.name}); please report it with the output of --debug`;
  }
  return null;
}

/** Prefixes an error's message with what was being worked on, keeping its kind. */
export function withContext(context: string, e: unknown): CliError {
  const code = e instanceof CliError ? e.exitCode : EXIT_FAILURE;
  return new CliError(`${context}: ${oneLine(e)}`, code, { cause: e });
}
