// The playground's Latents tab on a large photo: how long it takes, how long it holds the page's
// main thread, and how much memory the browser takes meanwhile (bench/README.md, "The Latents
// tab on a 1024 x 1024 photo").
//
//   pnpm bench:playground-latents [--size 1024] [--backend wasm] [--reps 1]     (after pnpm build)
//   node --import tsx bench/playground-latents.ts ...   (the same)
//
// Serves the built playground (playground/dist) as its e2e tests do and, in a fresh headless
// Debian Chromium per run, opens it on the Fine-tune tab (which computes nothing by itself),
// picks a `--size` squared PNG through the photo input (samples/astronaut.png resized with
// MATLAB bicubic, written to .scratch/bench-playground-latents/), then clicks the Latents tab
// and waits for the latents and both restores (z = 0 and the opening temperature), then sets
// the temperature to 1 and waits for that restore. It prints, per phase: the time from the
// click (or the slider) to the result on screen, the longest main-thread task the page saw
// (PerformanceObserver 'longtask': over 50 ms, else 0), the count and sum of those over
// 200 ms, and the browser's peak resident memory over its level before the click (all its
// processes, sampled every 50 ms); times and memory as medians over the runs, long tasks from
// the worst run; and the numbers the tab shows (mean z std, PSNR of both restores) to compare
// code versions.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Page } from 'playwright-core';
import { decodePng, encodePng, imresize } from '@irn/core';
import { recordLongTasks, root, servePlayground } from '../test/playground/serve.js';
import { browserRss } from './browser-rss.js';
import { median } from './stats.js';

const { values: args } = parseArgs({
  options: { size: { type: 'string', default: '1024' }, backend: { type: 'string', default: 'wasm' }, reps: { type: 'string', default: '1' } },
});
const size = Number(args.size);
const reps = Number(args.reps);
if (!(Number.isInteger(size) && size >= 16 && size <= 1024 && size % 4 === 0 && reps >= 1)) throw new Error('--size: a multiple of 4 from 16 to 1024 (the playground crops to 1024); --reps at least 1');
const outDir = join(root, '.scratch', 'bench-playground-latents');
mkdirSync(outDir, { recursive: true });
const photo = join(outDir, `astronaut-${size}.png`);
writeFileSync(photo, encodePng(imresize(decodePng(readFileSync(`${root}samples/astronaut.png`)), size, size)));

interface Phase {
  ms: number;
  /** Until the z channels were on screen (the first phase only). */
  shownMs?: number;
  longest: number;
  over200: number;
  sum200: number;
  peakMiB: number;
}

/** Long tasks that overlap `[t0, t1]` (page time): the one that clicked may have started before `t0`. */
async function longTasks(page: Page, t0: number, t1: number): Promise<{ longest: number; over200: number; sum200: number }> {
  const all = await page.evaluate(() => (window as unknown as { longTasks: { start: number; duration: number }[] }).longTasks);
  const mine = all.filter((t) => t.start + t.duration >= t0 && t.start <= t1);
  const big = mine.filter((t) => t.duration > 200);
  return { longest: Math.max(0, ...mine.map((t) => t.duration)), over200: big.length, sum200: big.reduce((a, t) => a + t.duration, 0) };
}

/**
 * Runs `act` (which returns the page time it started at) and waits for `done` (an expression
 * giving the page time once true; `shown`, the same for an earlier step), sampling memory.
 */
async function phase(page: Page, act: () => Promise<number>, done: string, shown?: string): Promise<Phase> {
  let idle = 0;
  for (let i = 0; i < 5; i++, await page.waitForTimeout(100)) idle = Math.max(idle, browserRss());
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, browserRss())), 50);
  try {
    const pageTime = async (expression: string) => (await (await page.waitForFunction(expression, undefined, { timeout: 20 * 60_000, polling: 50 })).jsonValue()) as number;
    const t0 = await act();
    const [t1, tShown] = await Promise.all([pageTime(done), shown == null ? undefined : pageTime(shown)]);
    await page.waitForTimeout(300);
    return { ms: t1 - t0, shownMs: tShown == null ? undefined : tShown - t0, ...(await longTasks(page, t0, t1)), peakMiB: (Math.max(peak, browserRss()) - idle) / 2 ** 20 };
  } finally {
    clearInterval(timer);
  }
}

/** The numbers the tab shows, at full precision: to compare code versions. */
const shown = (page: Page) =>
  page.evaluate(() => {
    const el = document.querySelector('irn-latents') as HTMLElement & { data: { stats: { mean: number; std: number }[] }; restored: { scores: Record<'zeros' | 'sampled', { psnr: number; ssim: number }>; temperature: number } };
    const s = el.data.stats;
    return {
      meanStd: s.reduce((a, x) => a + x.std, 0) / s.length,
      z0: `${s[0].mean.toExponential(6)} ± ${s[0].std.toExponential(6)}`,
      zeros: el.restored.scores.zeros.psnr,
      sampled: el.restored.scores.sampled.psnr,
      temperature: el.restored.temperature,
    };
  });

interface Run {
  latents: Phase;
  t1: Phase;
  numbers: Awaited<ReturnType<typeof shown>>[];
}

async function run(): Promise<Run> {
  const served = await servePlayground();
  try {
    const page = await served.browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('pageerror', (e) => console.error('page error:', e.message));
    await page.addInitScript(recordLongTasks);
    await page.goto(`${served.base}?backend=${args.backend}&sample=coffee&tab=finetune`);
    await page.locator('#model-info').waitFor({ timeout: 120_000 });
    await page.locator('#photo-info', { hasText: 'coffee' }).waitFor({ timeout: 120_000 });
    await page.locator('#photo-file').setInputFiles(photo);
    await page.locator('#photo-info', { hasText: `${size}×${size}` }).waitFor({ timeout: 120_000 });
    await page.locator('#status:not([data-state="busy"])').waitFor({ timeout: 120_000 });
    const latents = await phase(
      page,
      () => page.evaluate(() => {
        const t = performance.now();
        (document.querySelector('#tab-latents') as HTMLElement).click();
        return t;
      }),
      `document.querySelector('[data-score="sampled-psnr"]') && document.querySelector('#status')?.dataset.state === 'done' && /Latents of astronaut-${size} shown/.test(document.querySelector('#status').textContent) ? performance.now() : false`,
      `document.querySelector('irn-latents canvas[data-z]') ? performance.now() : false`,
    );
    const numbers = [await shown(page)];
    const t1 = await phase(
      page,
      () => page.evaluate(() => {
        const input = document.querySelector('#temperature') as HTMLInputElement;
        const t = performance.now();
        input.value = '1';
        input.dispatchEvent(new Event('input', { bubbles: true }));
        return t;
      }),
      `/N\\(0, 1\\.00²\\)/.test(document.querySelector('#sampled-caption')?.textContent ?? '') && document.querySelector('#status')?.dataset.state === 'done' ? performance.now() : false`,
    );
    numbers.push(await shown(page));
    return { latents, t1, numbers };
  } finally {
    await served.close();
  }
}

console.log(`# The Latents tab on a ${size}x${size} photo (astronaut resized), backend ${args.backend}, ${reps} run(s), a fresh browser each\n`);
const runs: Run[] = [];
for (let i = 0; i < reps; i++) runs.push(await run());
const s = (x: number) => `${(x / 1000).toFixed(1)} s`;
const row = (what: string, pick: (r: Run) => Phase) => {
  const ps = runs.map(pick);
  const m = (f: (p: Phase) => number) => median(ps.map(f));
  const worst = (f: (p: Phase) => number) => Math.max(...ps.map(f));
  const shown = ps[0].shownMs == null ? '' : ` (z shown: ${s(m((p) => p.shownMs!))})`;
  console.log(`| ${what} | ${s(m((p) => p.ms))}${shown} | ${worst((p) => p.longest).toFixed(0)} ms | ${worst((p) => p.over200)} (${s(worst((p) => p.sum200))}) | ${m((p) => p.peakMiB).toFixed(0)} MiB |`);
};
console.log('| phase | time to result (median) | longest main-thread task (worst run) | tasks over 200 ms, their sum (worst run) | peak memory over idle (median) |');
console.log('|---|---|---|---|---|');
row('Latents tab: z, LR, restores with z = 0 and at the opening temperature', (r) => r.latents);
row('temperature 1: the sampled restore', (r) => r.t1);
console.log('\nwhat the tab showed (run 1):');
for (const n of runs[0].numbers) {
  console.log(`- temperature ${n.temperature.toFixed(2)}: mean z std ${n.meanStd.toPrecision(8)}, z 0 mean ± std ${n.z0}, PSNR z = 0 ${n.zeros.toFixed(4)} dB, sampled ${n.sampled.toFixed(4)} dB`);
}
