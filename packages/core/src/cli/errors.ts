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

/** The message of any thrown value as one line (tfjs messages can span several). */
export function oneLine(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const flat = message.replace(/\s*\n\s*/g, ' ').trim();
  return flat.length > 500 ? `${flat.slice(0, 497)}...` : flat || 'unknown error';
}

/** Prefixes an error's message with what was being worked on, keeping its kind. */
export function withContext(context: string, e: unknown): CliError {
  const code = e instanceof CliError ? e.exitCode : EXIT_FAILURE;
  return new CliError(`${context}: ${oneLine(e)}`, code, { cause: e });
}
