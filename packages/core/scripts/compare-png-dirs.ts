/**
 * Compares same-named PNGs in two folders, pixel for pixel (8-bit levels):
 *   node --import tsx compare-png-dirs.ts <dir-a> <dir-b> <max-allowed-level-difference>
 * Prints, per file, the largest difference and how many values differ; exits 1 if any value
 * differs by more than allowed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePng } from '../src/image/png.js';

const [dirA, dirB, allowedText] = process.argv.slice(2);
const allowed = Number(allowedText);
let failed = false;
for (const name of readdirSync(dirA).filter((f) => f.endsWith('.png')).sort()) {
  const a = decodePng(new Uint8Array(readFileSync(join(dirA, name))));
  const b = decodePng(new Uint8Array(readFileSync(join(dirB, name))));
  if (a.width !== b.width || a.height !== b.height || a.channels !== b.channels) {
    console.log(`${name}: ${a.width}x${a.height}x${a.channels} vs ${b.width}x${b.height}x${b.channels}`);
    failed = true;
    continue;
  }
  let max = 0;
  let differing = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = Math.abs(Math.round(a.data[i] * 255) - Math.round(b.data[i] * 255));
    if (d > 0) differing++;
    max = Math.max(max, d);
  }
  const pct = ((100 * differing) / a.data.length).toFixed(4);
  console.log(`${name}: ${a.width}x${a.height}, max difference ${max} level(s), ${differing} of ${a.data.length} values differ (${pct}%)`);
  if (max > allowed) failed = true;
}
process.exit(failed ? 1 : 0);
