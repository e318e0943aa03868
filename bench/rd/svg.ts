// A small SVG line-chart writer for the rate–distortion plots (no DOM, no dependency): axes
// with ticks and labels, a log or linear x axis, one polyline with markers per series, a
// legend. Static SVG 1.1 that browsers and GitHub render as an <img>.

/** One series of the chart. */
export interface Series {
  label: string;
  points: { x: number; y: number }[];
  color: string;
  /** SVG stroke-dasharray of the line (e.g. "6 4" for the baselines); solid when absent. */
  dash?: string;
  /** Line width, default 2. */
  lineWidth?: number;
  /** Marker shape; a series of one point is drawn as its marker only. */
  marker?: 'circle' | 'square' | 'diamond' | 'triangle';
}

/** Options of {@link lineChart}. */
export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  /** Logarithmic x axis (base 10). Default false. */
  logX?: boolean;
  /** Axis ranges; default: the data's, padded. */
  xRange?: [number, number];
  yRange?: [number, number];
  /** Total width with a 250-px legend (default 760); a legend with longer labels adds its extra width, the plot keeps its own. */
  width?: number;
  height?: number;
  /** Vertical bands to shade, e.g. the targets' rate ranges. */
  bands?: { from: number; to: number; label: string }[];
}

/** Text with the XML special characters escaped. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Tick values for a linear axis: 4-8 "nice" steps (1, 2 or 5 times a power of ten). */
export function linearTicks(lo: number, hi: number): number[] {
  const span = hi - lo;
  if (!(span > 0)) return [lo];
  const raw = span / 6;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * pow).find((s) => span / s <= 8) ?? 10 * pow;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/** Tick values for a log axis: 1, 2 and 5 times each power of ten inside [lo, hi]. */
export function logTicks(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** e).toPrecision(12));
      if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out.push(v);
    }
  }
  return out;
}

const fmt = (v: number) => Number(v.toFixed(2)).toString();

/** The chart as a standalone SVG document. */
export function lineChart(series: readonly Series[], o: ChartOptions): string {
  // The legend beside the plot: 250 px, or wider for long labels (about 7 px per character
  // at 12 px sans-serif, after the gap and the sample line, 46 px, and a 4-px margin), the
  // plot keeping its width.
  const longest = Math.max(0, ...series.map((s) => s.label.length));
  const right = Math.max(250, Math.ceil(50 + 7 * longest));
  const width = (o.width ?? 760) + (right - 250);
  const height = o.height ?? 500;
  const m = { left: 64, right, top: 40, bottom: 54 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const all = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.logX || p.x > 0));
  if (all.length === 0) throw new Error('lineChart: no finite points to draw');
  const xs = all.map((p) => p.x);
  const ys = all.map((p) => p.y);
  let [x0, x1] = o.xRange ?? [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = o.yRange ?? [Math.min(...ys), Math.max(...ys)];
  if (o.xRange == null) {
    if (o.logX) [x0, x1] = [x0 / 1.1, x1 * 1.1];
    else [x0, x1] = [x0 - 0.03 * (x1 - x0 || 1), x1 + 0.03 * (x1 - x0 || 1)];
  }
  if (o.yRange == null) [y0, y1] = [Math.floor(y0 - 0.5), Math.ceil(y1 + 0.5)];
  const tx = (x: number) => (o.logX ? (Math.log10(x) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (x - x0) / (x1 - x0));
  const px = (x: number) => m.left + tx(x) * pw;
  const py = (y: number) => m.top + (1 - (y - y0) / (y1 - y0)) * ph;
  const inside = (p: { x: number; y: number }) => p.x >= x0 && p.x <= x1 && p.y >= y0 && p.y <= y1 && (!o.logX || p.x > 0);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${escapeXml(o.title)}</text>`);
  for (const b of o.bands ?? []) {
    const a = px(Math.max(b.from, x0));
    const z = px(Math.min(b.to, x1));
    if (z <= a) continue;
    parts.push(`<rect class="band" x="${fmt(a)}" y="${m.top}" width="${fmt(z - a)}" height="${ph}" fill="#f2ecd9"/>`);
    parts.push(`<text x="${fmt((a + z) / 2)}" y="${m.top + 14}" text-anchor="middle" fill="#8a7a50">${escapeXml(b.label)}</text>`);
  }
  // Grid, ticks and labels.
  const xt = o.logX ? logTicks(x0, x1) : linearTicks(x0, x1);
  for (const v of xt) {
    const x = fmt(px(v));
    parts.push(`<line x1="${x}" y1="${m.top}" x2="${x}" y2="${m.top + ph}" stroke="#e4e4e4"/>`);
    parts.push(`<text class="xtick" x="${x}" y="${m.top + ph + 16}" text-anchor="middle">${escapeXml(String(v))}</text>`);
  }
  for (const v of linearTicks(y0, y1)) {
    const y = fmt(py(v));
    parts.push(`<line x1="${m.left}" y1="${y}" x2="${m.left + pw}" y2="${y}" stroke="#e4e4e4"/>`);
    parts.push(`<text class="ytick" x="${m.left - 6}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(String(v))}</text>`);
  }
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${height - 12}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">${escapeXml(o.yLabel)}</text>`);
  // Series, clipped to the plot area.
  parts.push(`<clipPath id="plot"><rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}"/></clipPath>`);
  parts.push(`<g clip-path="url(#plot)">`);
  const markerOf = (s: Series, x: number, y: number): string => {
    const c = s.color;
    if (s.marker === 'square') return `<rect x="${fmt(x - 3.5)}" y="${fmt(y - 3.5)}" width="7" height="7" fill="${c}"/>`;
    if (s.marker === 'triangle') return `<path d="M${fmt(x)} ${fmt(y - 5.5)}L${fmt(x + 5)} ${fmt(y + 3.5)}L${fmt(x - 5)} ${fmt(y + 3.5)}Z" fill="${c}"/>`;
    if (s.marker === 'diamond') return `<path d="M${fmt(x)} ${fmt(y - 5)}L${fmt(x + 5)} ${fmt(y)}L${fmt(x)} ${fmt(y + 5)}L${fmt(x - 5)} ${fmt(y)}Z" fill="${c}"/>`;
    return `<circle cx="${fmt(x)}" cy="${fmt(y)}" r="3" fill="${c}"/>`;
  };
  for (const s of series) {
    const pts = s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y) && (!o.logX || p.x > 0)).sort((a, b) => a.x - b.x);
    const dash = s.dash != null ? ` stroke-dasharray="${escapeXml(s.dash)}"` : '';
    if (pts.length > 1) {
      parts.push(`<polyline class="series" data-label="${escapeXml(s.label)}" fill="none" stroke="${s.color}" stroke-width="${s.lineWidth ?? 2}"${dash} points="${pts.map((p) => `${fmt(px(p.x))},${fmt(py(p.y))}`).join(' ')}"/>`);
    }
    for (const p of pts) if (inside(p)) parts.push(markerOf(s, px(p.x), py(p.y)));
  }
  parts.push('</g>');
  // Legend.
  const lx = m.left + pw + 14;
  series.forEach((s, i) => {
    const y = m.top + 8 + i * 20;
    const dash = s.dash != null ? ` stroke-dasharray="${escapeXml(s.dash)}"` : '';
    parts.push(`<line x1="${lx}" y1="${y}" x2="${lx + 26}" y2="${y}" stroke="${s.color}" stroke-width="${s.lineWidth ?? 2}"${dash}/>`);
    parts.push(markerOf(s, lx + 13, y));
    parts.push(`<text class="legend" x="${lx + 32}" y="${y}" dominant-baseline="middle">${escapeXml(s.label)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
