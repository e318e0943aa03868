/** One unit of work in a {@link JobQueue}: `run` resolves (or rejects) when the work is over. */
export interface QueuedJob {
  run(): Promise<void>;
  /**
   * Work the job needs done before its turn that may overlap other jobs (an `<irn-image>`
   * downloads its LR file meanwhile): called each time the job is added, so it should start
   * the work once and return the same promise. The job is not run before it settles, and
   * jobs behind it whose own work is done run first: a download that stalls holds up only its
   * own job. Its rejection is `run`'s to report.
   */
  prepare?(): Promise<unknown>;
}

/**
 * First in, first out, one job at a time, among the jobs that are ready (whose
 * {@link QueuedJob.prepare} has settled). A job that has not started can be taken out again
 * (an `<irn-image>` that scrolled away before its turn); a running job is stopped by its owner
 * through its own `AbortSignal`, and the next job starts when `run` settles.
 */
export class JobQueue {
  private readonly waiting: QueuedJob[] = [];
  private readonly ready = new WeakSet<QueuedJob>();
  private current: QueuedJob | null = null;

  /** Appends `job`; it starts at once when the queue is idle and it is ready. */
  add(job: QueuedJob): void {
    if (this.current === job || this.waiting.includes(job)) return;
    this.waiting.push(job);
    if (job.prepare != null && !this.ready.has(job)) {
      let prepared: Promise<unknown>;
      try {
        prepared = job.prepare();
      } catch (e) {
        prepared = Promise.reject(e);
      }
      const settled = () => {
        this.ready.add(job);
        this.pump();
      };
      prepared.then(settled, settled);
    } else {
      this.ready.add(job);
    }
    // Started from a microtask: a job's first events never fire inside the caller's code.
    queueMicrotask(() => this.pump());
  }

  /** Takes out a job that has not started; false when it is running or not queued. */
  remove(job: QueuedJob): boolean {
    const i = this.waiting.indexOf(job);
    if (i < 0) return false;
    this.waiting.splice(i, 1);
    return true;
  }

  /** Whether `job` waits for its turn (not running). */
  has(job: QueuedJob): boolean {
    return this.waiting.includes(job);
  }

  /** Jobs waiting, ready or not, not counting the running one. */
  get size(): number {
    return this.waiting.length;
  }

  /** The running job, or null when idle. */
  get running(): QueuedJob | null {
    return this.current;
  }

  private pump(): void {
    if (this.current != null) return;
    const i = this.waiting.findIndex((job) => this.ready.has(job));
    if (i < 0) return;
    const [job] = this.waiting.splice(i, 1);
    this.current = job;
    let done: Promise<void>;
    try {
      done = job.run();
    } catch (e) {
      done = Promise.reject(e);
    }
    // A job's failure is its owner's business (the element reports it); the queue moves on.
    done
      .catch(() => undefined)
      .finally(() => {
        this.current = null;
        this.pump();
      });
  }
}

/** The page's one queue: every `<irn-image>` restores through it, one at a time. */
export const sharedQueue = new JobQueue();
