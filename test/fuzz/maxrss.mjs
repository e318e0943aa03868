// Preloaded into each CLI run of the fuzz suite (`node --import ./maxrss.mjs cli.js ...`):
// when the process exits, it writes its peak resident memory (bytes) to the file named by
// IRN_FUZZ_MAXRSS_FILE. This is the figure a user meets (`/usr/bin/time`'s "maximum resident
// set size"): tensors, typed arrays and wasm memory included, not only the JS heap.
import { writeFileSync } from 'node:fs';

const file = process.env.IRN_FUZZ_MAXRSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      writeFileSync(file, String(process.resourceUsage().maxRSS * 1024));
    } catch {
      // the test then reports that no figure came back
    }
  });
}
