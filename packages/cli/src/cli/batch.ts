import { CliError, oneLine, stackOf, withContext } from './errors.js';
import type { Job } from './files.js';
import type { Output } from './output.js';
import { startProgress } from './progress.js';

/**
 * Runs `work` on each job. One file: its error ends the command. A directory: every file is
 * tried, failures are reported as they happen, and the command fails at the end if any did.
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
      throw withContext(job.input, e);
    }
    out.status(`${verb.done} ${job.input} -> ${job.output}: ${detail}`);
    return;
  }
  const progress = startProgress(out, jobs.length, verb);
  let failures = 0;
  try {
    for (const job of jobs) {
      try {
        progress.done(job.input, await work(job));
      } catch (e) {
        failures++;
        progress.failed(job.input, oneLine(e));
        out.trace(stackOf(e));
      }
    }
  } finally {
    progress.stop();
  }
  if (failures > 0) throw new CliError(`${failures} of ${jobs.length} images failed`);
}
