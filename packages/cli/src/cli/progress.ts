import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { onInterrupt } from './interrupt.js';
import { printable, type Output } from './output.js';

/** Reports progress over a list of files. */
export interface Progress {
  /** One file finished; `detail` says what was written. */
  done(file: string, detail: string): void;
  /** One file failed; always reported, even when quiet. */
  failed(file: string, message: string): void;
  /** Ends the report (removes the bar). */
  stop(): void;
}

/**
 * A progress reporter for `total` files: a bar on a terminal; one line per file when stderr
 * is not a terminal (logs, pipes); nothing but failures when quiet.
 */
export function startProgress(out: Output, total: number, verb: { doing: string; done: string }): Progress {
  const fail = (file: string, message: string) => out.error(`${file}: ${message}`);
  if (out.quiet) return { done: () => {}, failed: fail, stop: () => {} };
  if (!out.progressStream.isTTY) {
    return { done: (file, detail) => out.status(`${verb.done} ${file}: ${detail}`), failed: fail, stop: () => {} };
  }
  const bars = new MultiBar(
    {
      stream: out.progressStream,
      format: `${verb.doing} {bar} {value}/{total} {file}`,
      hideCursor: true,
      clearOnComplete: true,
      barsize: 30,
    },
    Presets.shades_classic,
  );
  const bar: SingleBar = bars.create(total, 0, { file: '' });
  // Interrupted, the bar is taken off and the cursor it hid shown again.
  const release = onInterrupt(() => bars.stop());
  let ok = 0;
  return {
    done: (file) => {
      ok++;
      bar.increment({ file: printable(file) });
    },
    failed: (file, message) => {
      bars.log(`irn: error: ${printable(`${file}: ${message}`)}\n`);
      bar.increment({ file: printable(file) });
    },
    stop: () => {
      release();
      bars.stop();
      out.status(`${verb.done} ${ok} of ${total} images`);
    },
  };
}
