/**
 * Entry point of the `irn` command (bundled to `dist/cli.js`, which rollup gives its
 * shebang). Exit status: 0 success, 1 a failure while running, 2 a bad command line.
 */
import { CommanderError } from 'commander';
import { CliError, EXIT_FAILURE, EXIT_USAGE, oneLine, stackOf } from './errors.js';
import { exitOnInterrupt, runInterruptCleanups } from './interrupt.js';
import { consoleOutput, debugFromEnv } from './output.js';
import { buildProgram, type ProgramState } from './program.js';
import { packageVersion } from './version.js';

async function main(argv: string[]): Promise<number> {
  const state: ProgramState = {};
  const program = buildProgram(packageVersion(), state);
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Already printed by commander; help and version end here too, successfully.
      return e.exitCode === 0 ? 0 : EXIT_USAGE;
    }
    const out = state.output ?? consoleOutput({ quiet: false, debug: argv.includes('--debug') || debugFromEnv() });
    out.error(oneLine(e), stackOf(e));
    return e instanceof CliError ? e.exitCode : EXIT_FAILURE;
  }
}

/**
 * The last resort for an error that escapes every handler (a rejected promise nobody awaits,
 * an exception in a callback): one `irn: error:` line and exit status 1, like any other
 * failure. Registered before TensorFlow.js loads, so this runs before the handlers that the
 * wasm backend's Emscripten module adds, which rethrow and so end the process with Node's
 * status 7 and a raw stack trace.
 */
function exitOnStrayError(argv: string[]): void {
  const fail = (e: unknown) => {
    const debug = argv.includes('--debug') || debugFromEnv();
    consoleOutput({ quiet: false, debug }).error(oneLine(e), stackOf(e));
    // What the work in flight had made (a temporary file, a folder for the output) goes too.
    runInterruptCleanups();
    process.exit(EXIT_FAILURE);
  };
  process.on('uncaughtException', fail);
  process.on('unhandledRejection', fail);
}

exitOnStrayError(process.argv);
// Ctrl-C, kill and a closed terminal leave no temporary file or empty output folder.
exitOnInterrupt((line) => void process.stderr.write(`${line}\n`));
process.exitCode = await main(process.argv);
