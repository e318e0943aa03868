// A closing summary for @web/test-runner: passed / failed / skipped per top-level suite (one
// per backend in the contract suite) with the summed test time, then the totals. The default
// reporter's progress bar is easy to lose in CI logs; this block is the last thing printed.

/** Counts and summed durations of a mocha result tree. */
function tally(suite, acc = { passed: 0, failed: 0, skipped: 0, ms: 0, slowest: null }) {
  for (const t of suite?.tests ?? []) {
    if (t.skipped) acc.skipped++;
    else if (t.passed) acc.passed++;
    else acc.failed++;
    acc.ms += t.duration ?? 0;
    if ((t.duration ?? 0) > (acc.slowest?.duration ?? 0)) acc.slowest = t;
  }
  for (const s of suite?.suites ?? []) tally(s, acc);
  return acc;
}

const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`;

/** @returns {import('@web/test-runner').Reporter} */
export function summaryTableReporter() {
  let startTime = Date.now();
  let rootDir = '';
  return {
    start({ startTime: t, config }) {
      startTime = t;
      rootDir = config.rootDir ?? '';
    },
    stop({ sessions }) {
      const lines = ['', 'Browser test summary'];
      const total = { passed: 0, failed: 0, skipped: 0, ms: 0 };
      let brokenFiles = 0;
      for (const session of sessions) {
        const file = rootDir && session.testFile.startsWith(rootDir) ? session.testFile.slice(rootDir.length).replace(/^\//, '') : session.testFile;
        const results = session.testResults;
        // A file whose page crashed or whose hooks failed has errors but may have no results.
        if (!session.passed && (session.errors?.length ?? 0) > 0) brokenFiles++;
        const groups = [...(results?.tests?.length ? [{ name: '(top level)', tests: results.tests, suites: [] }] : []), ...(results?.suites ?? [])];
        lines.push(`  ${file} [${session.browser.name}]${session.passed ? '' : '  FAILED'}`);
        for (const g of groups) {
          const c = tally(g);
          const slowest = c.slowest ? ` (slowest ${seconds(c.slowest.duration)}: ${c.slowest.name})` : '';
          lines.push(`    ${g.name}: ${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped, ${seconds(c.ms)}${slowest}`);
          for (const k of Object.keys(total)) total[k] += c[k];
        }
        for (const e of session.errors ?? []) lines.push(`    error: ${e.message}`);
      }
      lines.push(
        `Total: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped` +
          `${brokenFiles ? `, ${brokenFiles} file(s) with errors` : ''}; tests ${seconds(total.ms)}, wall ${seconds(Date.now() - startTime)}`,
        '',
      );
      console.log(lines.join('\n'));
    },
  };
}
