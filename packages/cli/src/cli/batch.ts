import { CliError, oneLine, stackOf, withContext } from './errors.js';
import { OutputLocationError, type Job } from './files.js';
import { printable, type Output } from './output.js';
import { startProgress } from './progress.js';

/**
 * Runs `work` on each job. One file: its error ends the command. A directory: every file is
 * tried, failures are reported as they happen, and the command fails at the end if any did;
 * but a failure of the output's location ({@link OutputLocationError}: no permission, a full
 * disk), which every later file would meet too, ends the run at once, in one line.
 * `work` returns a short description of what it wrote.
 */
export async function runJobs(
  out: Output,
  jobs: Job[],
  directory: boolean,
  verb: { doing: string; done: string },
  work: (job: Job) => Promise<string>,
): Promise<void> {
  if (!directory) {
    const job = jobs[0];
    let detail: string;
    try {
      detail = await work(job);
    } catch (e) {
      // printable() here, not only when the line is written: the error's message is made one
      // line first (oneLine), which would turn a newline in the name into a space.
      throw withContext(printable(job.input), e);
    }
    out.status(`${verb.done} ${job.input} -> ${job.output}: ${detail}`);
    return;
  }
  const progress = startProgress(out, jobs.length, verb);
  let failures = 0;
  let stop: { job: Job; error: OutputLocationError; left: number } | undefined;
  try {
    for (const [i, job] of jobs.entries()) {
      try {
        progress.done(job.input, await work(job));
      } catch (e) {
        if (e instanceof OutputLocationError) {
          stop = { job, error: e, left: jobs.length - i - 1 };
          break;
        }
        failures++;
        progress.failed(job.input, oneLine(e));
        out.trace(stackOf(e));
      }
    }
  } finally {
    progress.stop();
  }
  if (stop != null) {
    const { job, error, left } = stop;
    const untried = left > 0 ? `, ${left} more ${left === 1 ? 'image' : 'images'} not tried` : '';
    const others = failures > 0 ? `; ${failures} of the images before it failed` : '';
    throw new CliError(`${printable(job.input)}: ${oneLine(error)} (stopped there${untried})${others}`, error.exitCode, { cause: error });
  }
  if (failures > 0) throw new CliError(`${failures} of ${jobs.length} images failed`);
}
