// The SVG chart writer of bench/rd/svg.ts: where the points land, ticks, legend, escaping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeXml, lineChart, linearTicks, logTicks } from '../../bench/rd/svg.js';

test('ticks: nice linear steps and 1-2-5 log ticks', () => {
  assert.deepEqual(linearTicks(24, 41), [25, 30, 35, 40]);
  assert.deepEqual(linearTicks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1]);
  assert.deepEqual(logTicks(0.08, 3), [0.1, 0.2, 0.5, 1, 2]);
});

test('points are placed on the axes given (log x), in order, with a legend entry each', () => {
  const svg = lineChart(
    [
      { label: 'A & B <x>', color: '#f00', points: [{ x: 1, y: 30 }, { x: 0.1, y: 20 }] },
      { label: 'single', color: '#00f', marker: 'square', points: [{ x: 0.5, y: 25 }] },
    ],
    { title: 'T', xLabel: 'bpp', yLabel: 'dB', logX: true, xRange: [0.1, 1], yRange: [20, 30], width: 420, height: 300 },
  );
  // Plot area: left 64, top 40, width 420-64-250 = 106, height 300-40-54 = 206.
  const poly = svg.match(/<polyline class="series" data-label="([^"]*)"[^>]* points="([^"]*)"/);
  assert.ok(poly, 'no polyline');
  assert.equal(poly[1], 'A &amp; B &lt;x&gt;');
  // Sorted by x: (0.1, 20) is the bottom-left corner, (1, 30) the top-right one.
  assert.equal(poly[2], '64,246 170,40');
  // The one-point series: a marker only, at log10 0.5 is 0.699 of the way from 0.1 to 1: x = 64 + 0.699 * 106 - 3.5.
  assert.equal(svg.match(/<polyline/g)?.length, 1);
  assert.match(svg, /<rect x="134\.59" y="139\.5" width="7" height="7" fill="#00f"\/>/);
  assert.equal(svg.match(/class="legend"/g)?.length, 2);
  assert.deepEqual([...svg.matchAll(/class="xtick"[^>]*>([^<]*)</g)].map((m) => m[1]), ['0.1', '0.2', '0.5', '1']);
  // Every element opened is closed (no DOM here to parse it; tags must balance).
  for (const tag of ['svg', 'g', 'text', 'clipPath']) {
    assert.equal((svg.match(new RegExp(`<${tag}[ >]`, 'g')) ?? []).length, (svg.match(new RegExp(`</${tag}>`, 'g')) ?? []).length, tag);
  }
  assert.ok(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"'));
});

test('no finite point: an error, not an empty chart', () => {
  assert.throws(() => lineChart([{ label: 'x', color: '#000', points: [{ x: NaN, y: 1 }] }], { title: '', xLabel: '', yLabel: '' }), /no finite points/);
  assert.equal(escapeXml('"a"&<b>'), '&quot;a&quot;&amp;&lt;b&gt;');
});

test('triangle markers (the decoder curves) point up, centred on the point', () => {
  const svg = lineChart([{ label: 'dec', color: '#0a0', marker: 'triangle', dash: '12 3', points: [{ x: 0.1, y: 20 }, { x: 1, y: 30 }] }], {
    title: 'T',
    xLabel: '',
    yLabel: '',
    logX: true,
    xRange: [0.1, 1],
    yRange: [20, 30],
    width: 420,
    height: 300,
  });
  // The plot's bottom-left corner is (64, 246): apex 5.5 above, base 3.5 below, 10 wide.
  assert.match(svg, /<path d="M64 240\.5L69 249\.5L59 249\.5Z" fill="#0a0"\/>/);
  assert.match(svg, /<polyline class="series" data-label="dec"[^>]* stroke-dasharray="12 3"/);
});

test('a legend with long labels widens the chart, not squeezes the plot', () => {
  const chart = (label: string) =>
    lineChart([{ label, color: '#f00', points: [{ x: 0.1, y: 20 }, { x: 1, y: 30 }] }], { title: 'T', xLabel: 'bpp', yLabel: 'dB', logX: true, xRange: [0.1, 1], yRange: [20, 30], width: 420, height: 300 });
  const size = (svg: string) => svg.match(/<svg [^>]*width="(\d+)"/)![1];
  const plot = (svg: string) => svg.match(/points="([^"]*)"/)![1];
  const short = chart('IRN LR AVIF');
  const long = chart('bicubic LR AVIF (speed 4) + esrgan-slim, a label of 60 characters');
  assert.equal(size(short), '420');
  // 50 + 7 * 65 = 505 px of legend instead of 250.
  assert.equal(size(long), String(420 + 505 - 250));
  assert.equal(plot(long), plot(short), 'the same plot area');
  assert.match(long, new RegExp(`<text class="legend" x="${64 + 106 + 14 + 32}"`), 'the legend starts where it did');
});
