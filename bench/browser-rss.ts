// What the browser benches share to measure memory: the resident size of the browser's processes.
import { execFileSync } from 'node:child_process';

/**
 * Resident memory (bytes) of every process below this one: the browser's (all of its
 * processes, so shared pages count once per process).
 */
export function browserRss(): number {
  const table = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,rss='], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number));
  const parent = new Map(table.map(([pid, ppid]) => [pid, ppid]));
  let total = 0;
  for (const [pid, , rss] of table) {
    let p: number | undefined = pid;
    while (p != null && p > 1 && p !== process.pid) p = parent.get(p);
    if (p === process.pid && pid !== process.pid) total += rss * 1024;
  }
  return total;
}
