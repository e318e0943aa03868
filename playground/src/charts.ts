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

/** Line chart that grows as points arrive (x = training step). */
export class LiveChart {
  private readonly plot: uPlot;
  private readonly data: number[][];

  constructor(target: HTMLElement, title: string, series: string[], options: { width: number; height?: number; log?: boolean; yLabel?: string }) {
    this.data = [[], ...series.map(() => [])];
    this.plot = new uPlot(
      {
        title,
        legend: { live: false },
        width: options.width,
        height: options.height ?? 220,
        scales: { x: { time: false }, y: options.log ? { distr: 3 } : {} },
        axes: [{ label: 'step' }, { label: options.yLabel ?? '' }],
        series: [{ label: 'step' }, ...series.map((label, i) => ({ label, stroke: COLOURS[i % COLOURS.length], width: 1.5, spanGaps: true }))],
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

  clear(): void {
    for (const d of this.data) d.length = 0;
    this.plot.setData(this.data as uPlot.AlignedData);
  }

  get points(): number {
    return this.data[0].length;
  }

  destroy(): void {
    this.plot.destroy();
  }
}
