/**
 * Where the CLI writes: results on stdout, status and errors on stderr. Everything the CLI
 * prints goes through here, except commander's help text and the progress bar (drawn on
 * `progressStream`).
 */
export interface Output {
  /** Suppress status lines and progress (errors and requested results are still written). */
  readonly quiet: boolean;
  /** Print stack traces with errors. */
  readonly debug: boolean;
  /** A line of the command's result (stdout), kept to one line by {@link printable}. */
  result(line: string): void;
  /** A status line (stderr), unless quiet; one line, as {@link Output.result}. */
  status(line: string): void;
  /** An error line `irn: error: ...` (stderr), one line, with the stack in debug mode. */
  error(message: string, stack?: string): void;
  /** The stack of an error (stderr), only in debug mode. */
  trace(stack: string | undefined): void;
  /** The stream progress bars draw on. */
  readonly progressStream: NodeJS.WriteStream;
}

/**
 * `text` as one line, with the control characters a terminal would act on (C0 but tab, DEL,
 * C1) written as `\xNN`: a file name from a stranger's folder such as `x\e]0;title\a.png`
 * must not retitle the terminal or clear the screen when it is named in a line, and one
 * with a newline (`bad\nfile.png`, written `bad\x0afile.png`) must not split its line in two,
 * which would make the second half read as a line of its own. Text of several lines (a JSON
 * result) is printed a line at a time.
 */
export function printable(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The console {@link Output}: every line through {@link printable}. */
export function consoleOutput(options: { quiet: boolean; debug: boolean }): Output {
  const { quiet, debug } = options;
  return {
    quiet,
    debug,
    result: (line) => void process.stdout.write(`${printable(line)}\n`),
    status: (line) => void (quiet || process.stderr.write(`${printable(line)}\n`)),
    error: (message, stack) => {
      process.stderr.write(`irn: error: ${printable(message)}\n`);
      if (debug && stack) process.stderr.write(`${stack}\n`);
    },
    trace: (stack) => void (debug && stack && process.stderr.write(`${stack}\n`)),
    progressStream: process.stderr,
  };
}

/** Whether `--debug` style stack traces are asked for through the environment. */
export function debugFromEnv(): boolean {
  const v = process.env.IRN_DEBUG;
  return v != null && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}
