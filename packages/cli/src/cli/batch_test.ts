import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runJobs } from './batch.js';
import { CliError } from './errors.js';
import { OutputLocationError, type Job } from './files.js';
import type { Output } from './output.js';

/** An Output that records its lines (quiet: failures only, as `-q` prints them). */
function recorder(): { out: Output; lines: string[] } {
  const lines: string[] = [];
  const out: Output = {
    quiet: true,
    debug: false,
    result: (line) => void lines.push(line),
    status: (line) => void lines.push(line),
    error: (message) => void lines.push(`irn: error: ${message}`),
    trace: () => {},
    progressStream: process.stderr,
  };
  return { out, lines };
}

const jobs: Job[] = ['a', 'b', 'c', 'd'].map((n) => ({ input: `in/${n}.png`, output: `out/${n}.png`, name: `${n}.png` }));
const verb = { doing: 'downscaling', done: 'downscaled' };

describe('runJobs on a folder', () => {
  it('goes on past a bad file and fails at the end', async () => {
    const { out, lines } = recorder();
    const tried: string[] = [];
    await assert.rejects(
      runJobs(out, jobs, true, verb, async (job) => {
        tried.push(job.name);
        if (job.name === 'b.png') throw new CliError('not a PNG');
        return 'ok';
      }),
      /^CliError: 1 of 4 images failed$/,
    );
    assert.deepEqual(tried, ['a.png', 'b.png', 'c.png', 'd.png']);
    assert.deepEqual(lines, ['irn: error: in/b.png: not a PNG']);
  });

  it('stops at a failure of the output location, which every later file would meet, in one line', async () => {
    const { out, lines } = recorder();
    const tried: string[] = [];
    await assert.rejects(
      runJobs(out, jobs, true, verb, async (job) => {
        tried.push(job.name);
        if (job.name === 'b.png') throw new OutputLocationError('cannot write out/b.png: the folder out is not writable (permission denied)');
        return 'ok';
      }),
      (e: CliError) => {
        assert.equal(e.message, 'in/b.png: cannot write out/b.png: the folder out is not writable (permission denied) (stopped there, 2 more images not tried)');
        assert.equal(e.exitCode, 1);
        return true;
      },
    );
    assert.deepEqual(tried, ['a.png', 'b.png'], 'later files were tried');
    assert.deepEqual(lines, [], 'the failure is reported once, by the error thrown');
  });
});
