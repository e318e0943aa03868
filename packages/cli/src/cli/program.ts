import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_LIMITS, LIMIT_NAMES, parseLimitArgument, resolveLimits, type Limits } from '@irn/core';
import type { NodeBackendName } from '@irn/core/node';
import { registerConvert } from './commands/convert.js';
import { registerDownscale } from './commands/downscale.js';
import { registerEval } from './commands/eval.js';
import { registerInfo } from './commands/info.js';
import { registerPrepare } from './commands/prepare.js';
import { registerTrain } from './commands/train.js';
import { registerUpscale } from './commands/upscale.js';
import type { CliContext } from './context.js';
import { failure, oneLine } from './errors.js';
import { consoleOutput, debugFromEnv, printable, type Output } from './output.js';

interface GlobalOptions {
  backend: NodeBackendName;
  quiet?: boolean;
  debug?: boolean;
  limit?: Partial<Limits>;
}

/** Where the program keeps what its pre-action hook set up, for `main` to read after a failure. */
export interface ProgramState {
  output?: Output;
}

/**
 * The `irn` command line. Parse with `parseAsync`; commander's own errors are thrown as
 * `CommanderError` (after printing one `irn: error: ...` line), the commands' errors as
 * they are.
 */
export function buildProgram(version: string, state: ProgramState): Command {
  const ctx: CliContext = {
    out: () => {
      if (state.output == null) throw new Error('the CLI output was used before the program set it up');
      return state.output;
    },
    limits: () => resolveLimits(program.opts<GlobalOptions>().limit ?? {}),
    backend: async () => {
      const { useNodeBackend } = await import('@irn/core/node');
      try {
        await useNodeBackend(program.opts<GlobalOptions>().backend);
      } catch (e) {
        throw failure(oneLine(e), e);
      }
    },
  };
  const program = new Command('irn')
    .description('Invertible Image Rescaling (IRN): downscale images so they can be upscaled back almost exactly')
    .version(version, '-V, --version', 'print the version')
    .addOption(new Option('--backend <name>', 'TensorFlow.js backend').choices(['wasm', 'cpu']).default('wasm'))
    .option(
      '--limit <name=value>',
      `raise or lower a resource limit for untrusted files (repeatable): ${LIMIT_NAMES.map((n) => `${n}=${DEFAULT_LIMITS[n]}`).join(', ')}`,
      collectLimit,
    )
    .option('-q, --quiet', 'print no progress or status lines')
    .option('--debug', 'print stack traces with errors (or set IRN_DEBUG=1)')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({
      // commander's messages start with "error: " and may add a "(Did you mean ...?)" line.
      // They quote the argument (an unknown option may be a file name a shell glob picked up,
      // with a terminal escape in it), so through printable() like every other line.
      outputError: (message, write) => write(`irn: ${printable(oneLine(message))}\n`),
    })
    .hook('preAction', () => {
      const opts = program.opts<GlobalOptions>();
      state.output = consoleOutput({ quiet: opts.quiet === true, debug: opts.debug === true || debugFromEnv() });
    });
  for (const register of [registerConvert, registerDownscale, registerUpscale, registerInfo, registerEval, registerTrain, registerPrepare]) register(program, ctx);
  // Each example runs as printed from the repository root (test/cli/help-examples_test.ts
  // runs them in order): the inputs are shipped (samples/, weights/, a test checkpoint) and
  // everything is written under out/ (ignored by git).
  program.addHelpText(
    'after',
    '\nExamples (from the repository root; --model defaults to weights/irn-x2):\n' +
      '  irn downscale samples/astronaut.png out/astronaut-lr.png\n' +
      '  irn upscale out/astronaut-lr.png out/astronaut.png\n' +
      '  irn upscale --z gaussian --seed 7 out/astronaut-lr.png out/astronaut-z7.png\n' +
      '  irn downscale --quality 50 samples/astronaut.png out/astronaut-lr.avif\n' +
      '  irn upscale out/astronaut-lr.avif out/astronaut-from-avif.png\n' +
      '  irn downscale --max-size 20k samples/astronaut.png out/astronaut-20k.avif\n' +
      '  irn downscale --model weights/irn-x4 samples/ out/lr-x4/\n' +
      '  irn upscale --model weights/irn-x4 out/lr-x4/ out/x4/\n' +
      '  irn info --model weights/irn-x4\n' +
      '  irn convert packages/core/test-fixtures/torch/irn_x2.pth out/converted-x2\n' +
      '\nA file that already exists is never replaced unless --force (-f) is given (run again: add -f);\nan input file never is.\n',
  );
  return program;
}

/** Commander's parser for a repeated `--limit name=value`. */
function collectLimit(value: string, previous: Partial<Limits> = {}): Partial<Limits> {
  try {
    const [name, n] = parseLimitArgument(value);
    return { ...previous, [name]: n };
  } catch (e) {
    throw new InvalidArgumentError(`${(e as Error).message}.`);
  }
}
