import type { Limits } from '@irn/core';
import type { Output } from './output.js';

/** What every command gets, set up from the global options. */
export interface CliContext {
  /** The console output, configured by `--quiet` and `--debug`. */
  out(): Output;
  /**
   * Loads TensorFlow.js and starts the `--backend`. Commands call it after checking their
   * arguments, so that help and usage errors answer without loading TensorFlow.js.
   */
  backend(): Promise<void>;
  /** The resource limits: the defaults, raised or lowered by `--limit name=value`. */
  limits(): Limits;
}
