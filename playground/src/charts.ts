/** Charts of the playground, on uPlot: the latent histogram and the training curves. */
import uPlot from 'uplot';
import { normalPdf } from './images.js';

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c'];

/** A histogram (bars) of a latent channel against the N(0, 1) density (line). */
export class HistogramChart {
  private readonly plot: uPlot;

  constructor(target: HTMLElement, width: number, height = 180) {
    this.plot = new uPlot(
      {
        width,
        height,
        legend: { show: true, live: false },
        cursor: { show: false },
        scales: { x: { time: false, range: [-4, 4] }, y: { range: (_u, _min, max) => [0, Math.max(0.45, max * 1.05)] } },
        axes: [{ label: 'value' }, { label: 'density' }],
        series: [
          {},
          { label: 'this channel', fill: 'rgba(37, 99, 235, 0.35)', stroke: COLOURS[0], paths: uPlot.paths.bars!({ size: [1, Infinity] }) },
          { label: 'N(0, 1)', stroke: COLOURS[1], width: 2 },
        ],
      },
      [[], [], []],
      target,
    );
  }

  set(centres: number[], density: number[]): void {
    this.plot.setData([centres, density, centres.map(normalPdf)]);
  }

  destroy(): void {
    this.plot.destroy();
  }
}

/** Keeps the splits of a log axis at powers of 10 (uPlot's filters: null hides one). */
const decades = (_u: uPlot, splits: number[]): (number | null)[] => splits.map((v) => (Math.abs(Math.log10(v) - Math.round(Math.log10(v))) < 1e-6 ? v : null));

/**
 * Line chart that grows as points arrive (x = training step). Before the first point it
 * shows its axes over the whole run (x from 0 to `steps`, y over `emptyRange`), so that an
 * empty chart reads as a chart waiting for data, not as a broken one.
 */
export class LiveChart {
  private readonly plot: uPlot;
  private readonly data: number[][];
  private steps: number;

  constructor(
    target: HTMLElement,
    title: string,
    series: string[],
    options: { width: number; height?: number; log?: boolean; yLabel?: string; steps: number; emptyRange: [number, number] },
  ) {
    this.data = [[], ...series.map(() => [])];
    this.steps = options.steps;
    const [lo, hi] = options.emptyRange;
    const yRange: uPlot.Range.Function = (_u, min, max) => {
      if (!Number.isFinite(min) || !Number.isFinite(max)) return [lo, hi];
      return options.log ? uPlot.rangeLog(min, max, 10, true) : uPlot.rangeNum(min, max, 0.1, true);
    };
    this.plot = new uPlot(
      {
        title,
        legend: { live: false },
        width: options.width,
        height: options.height ?? 220,
        scales: {
          // The whole run from the start: the curve grows from the left. Without data uPlot
          // has no scale, hence no axes, unless a range function gives one.
          x: { time: false, range: (_u, _min, max) => [0, Math.max(this.steps, Number.isFinite(max) ? max : 0)] },
          y: options.log ? { distr: 3, range: yRange } : { range: yRange },
        },
        // On the log scale, grid lines at powers of 10 only (all nine per decade read as grey bands).
        axes: [{ label: 'step' }, options.log ? { label: options.yLabel ?? '', filter: decades, grid: { filter: decades }, ticks: { filter: decades } } : { label: options.yLabel ?? '' }],
        series: [{ label: 'step' }, ...series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true }))],
        // The scales drawn, on the host: `data-x-scale="0,200"` (for tests and the curious).
        hooks: { draw: [(u) => Object.assign(target.dataset, { xScale: `${u.scales.x.min},${u.scales.x.max}`, yScale: `${u.scales.y.min},${u.scales.y.max}` })] },
      },
      this.data as uPlot.AlignedData,
      target,
    );
  }

  /** Adds a point; `values` in the order of the series (null for none). */
  push(x: number, values: (number | null)[]): void {
    this.data[0].push(x);
    values.forEach((v, i) => this.data[i + 1].push(v as number));
    this.plot.setData(this.data as uPlot.AlignedData);
  }

  /** Empties the chart for a run of `steps` steps. */
  clear(steps = this.steps): void {
    for (const d of this.data) d.length = 0;
    this.steps = steps;
    this.plot.setData(this.data as uPlot.AlignedData);
  }

  get points(): number {
    return this.data[0].length;
  }

  destroy(): void {
    this.plot.destroy();
  }
}
