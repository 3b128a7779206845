// Every curve of the runs panel, drawn by uPlot (small, fast on 100,000s of points, canvas): the value of every
// series under the cursor in the legend, TensorBoard's exponential smoothing, a log scale, drag to zoom and
// double-click to reset. The panel's HTML carries placeholders (`chart()`); `mountCharts` draws into them after
// each render. Colours come from the theme (VS Code's --vscode-charts-* variables). A series may carry a band (the
// spread over seeds around their mean) and a seed's curve the colour of its variant.

import uPlot from 'uplot';
import { escapeHtml as esc } from '../src/core/html';

export interface Series {
  name: string;
  points: [number, number][];
  /** A spread at each point ([low, high], as many as points): drawn as a band in the series' colour. */
  band?: [number, number][];
  /** A thin curve in the colour of series `of` (one seed of a variant whose mean is that series). */
  of?: number;
  /** Points alone, no line (a marked step: the best evaluation). */
  marker?: boolean;
  /** A level to read the others against (an unmodified model's): dashed, in the text's colour. */
  reference?: boolean;
}

/** A chart whose x is not the training step (a dose from 0 to 1): its name, and whether to smooth along it. */
export interface ChartAxis {
  /** The x axis's name in the legend and under the axis; `step` (and no axis label) by default. */
  x?: string;
  /** TensorBoard's smoothing applies to curves over steps; false draws the values as measured. */
  smooth?: boolean;
}

/** What uPlot draws: the series, then each band's edges (hidden from the legend), with their colour index. */
interface Drawn {
  name: string;
  points: [number, number][];
  colour: number;
  role: 'curve' | 'seed' | 'edge' | 'marker' | 'reference';
}

function drawn(series: readonly Series[]): { lines: Drawn[]; bands: [number, number][] } {
  const lines: Drawn[] = series.map((s, i) => ({
    name: s.name,
    points: s.points,
    colour: s.of ?? i,
    role: s.marker ? 'marker' : s.reference ? 'reference' : s.of === undefined ? 'curve' : 'seed',
  }));
  const bands: [number, number][] = [];
  series.forEach((s, i) => {
    if (!s.band || s.band.length !== s.points.length) return;
    const edge = (k: 0 | 1): Drawn => ({
      name: `${s.name} ${k ? 'max' : 'min'}`,
      points: s.points.map((p, j) => [p[0], s.band![j][k]]),
      colour: i,
      role: 'edge',
    });
    lines.push(edge(1), edge(0));
    // uPlot counts the x values as series 0.
    bands.push([lines.length - 1, lines.length]);
  });
  return { lines, bands };
}

export interface ChartSettings {
  /** TensorBoard's smoothing weight in [0, 1): 0 draws the raw values. */
  smoothing: number;
  log: boolean;
}

const pending = new Map<string, { title: string; series: readonly Series[]; axis: ChartAxis }>();
let mounted: uPlot[] = [];
let nextId = 0;
/** The steps zoomed into, per chart title: kept across renders (the panel renders twice a second while training). */
const zoomOf = new Map<string, { min: number; max: number }>();

/** A chart's placeholder, drawn by the next `mountCharts`; over steps unless `axis` says otherwise. */
export function chart(title: string, series: readonly Series[], axis: ChartAxis = {}): string {
  if (!series.some((s) => s.points.length)) return `<div class="chart empty">${esc(title)}: no data yet</div>`;
  const id = `chart-${nextId++}`;
  pending.set(id, { title, series, axis });
  return `<div class="chart"><div class="chart-title">${esc(title)}</div><div class="plot" data-chart="${id}"></div></div>`;
}

/** The smoothing and log-scale controls above a group of charts. */
export function chartControls(s: ChartSettings): string {
  return `<div class="controls chart-controls">
<label>Smoothing <input id="smoothing" type="range" min="0" max="0.99" step="0.01" value="${s.smoothing}">
<span id="smoothing-value">${s.smoothing.toFixed(2)}</span></label>
<label><input id="logscale" type="checkbox" ${s.log ? 'checked' : ''}> Log scale</label>
<span class="muted">drag to zoom · double-click to reset</span></div>`;
}

/**
 * TensorBoard's smoothing: an exponential moving average, debiased so the first points are not pulled toward 0.
 * Non-finite values are passed through and do not enter the average.
 */
function smooth(values: readonly number[], weight: number): number[] {
  if (weight <= 0) return [...values];
  let last = 0;
  let debias = 0;
  return values.map((v) => {
    if (!Number.isFinite(v)) return v;
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    return last / debias;
  });
}

/** Series on one x axis (the union of their steps), null where a series has no value. */
function aligned(series: readonly Pick<Series, 'points'>[], weight: number): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
  const at = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const out: (number | null)[] = new Array(xs.length).fill(null);
    const smoothed = smooth(
      s.points.map((p) => p[1]),
      weight,
    );
    s.points.forEach((p, i) => (out[at.get(p[0])!] = Number.isFinite(smoothed[i]) ? smoothed[i] : null));
    return out;
  });
  return [xs, ...ys];
}

const PALETTE = ['blue', 'orange', 'green', 'red', 'purple', 'yellow'];

function themeColour(name: string, fallback: string): string {
  return getComputedStyle(document.body).getPropertyValue(name).trim() || fallback;
}

/** The body's text colour at `alpha`: grid lines that stay quiet in every theme, high contrast included. */
function textColour(alpha: number): string {
  const rgb = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(document.body).color);
  return rgb ? `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})` : `rgba(128, 128, 128, ${alpha})`;
}

/** `colour` at `alpha`, whatever CSS colour syntax the theme gave it (the band's fill). */
function withAlpha(colour: string, alpha: number): string {
  const probe = document.createElement('span');
  probe.style.color = colour;
  document.body.appendChild(probe);
  const rgb = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(getComputedStyle(probe).color);
  probe.remove();
  return rgb ? `rgba(${rgb[1]}, ${rgb[2]}, ${rgb[3]}, ${alpha})` : colour;
}

const colourOf = (i: number) =>
  themeColour(`--vscode-charts-${PALETTE[i % PALETTE.length]}`, `hsl(${(i * 67) % 360} 70% 55%)`);

function options(
  { title, series, axis: { x } }: { title: string; series: readonly Series[]; axis: ChartAxis },
  width: number,
  log: boolean,
): uPlot.Options {
  const { lines, bands } = drawn(series);
  const fg = themeColour('--vscode-foreground', '#888');
  const grid = textColour(0.15);
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const digits = (v: number | null) =>
    v === null || !Number.isFinite(v) ? '—' : Math.abs(v) >= 100 ? v.toFixed(1) : v.toPrecision(4);
  return {
    width,
    height: 170,
    scales: { x: { time: false }, y: log ? { distr: 3 } : {} },
    axes: [x ? { ...axis, label: x, labelSize: 18, labelGap: 0 } : axis, { ...axis, size: 54 }],
    cursor: { drag: { x: true, y: false } },
    legend: { live: true },
    hooks: {
      // A drag selects steps, then zooms to them: remember them for the next render.
      setSelect: [
        (u: uPlot) => {
          if (u.select.width < 2) return;
          const min = u.posToVal(u.select.left, 'x');
          zoomOf.set(title, { min, max: u.posToVal(u.select.left + u.select.width, 'x') });
        },
      ],
    },
    series: [
      { label: x ?? 'step', value: (_u, v) => (v === null ? '—' : String(v)) },
      ...lines.map((s) => ({
        ...(s.role === 'marker'
          ? { paths: () => null, points: { show: true, size: 9, fill: colourOf(s.colour) } }
          : {}),
        ...(s.role === 'reference' ? { dash: [5, 4] } : {}),
        label: s.name,
        stroke: stroke(s),
        width: s.role === 'curve' ? 1.5 : s.role === 'reference' ? 1.25 : 0.75,
        spanGaps: true,
        ...(s.role === 'marker' ? {} : { points: { show: false } }),
        class: s.role === 'edge' ? 'band-edge' : undefined,
        value: (_u: uPlot, v: number | null) => digits(v),
      })),
    ],
    bands: bands.map(([hi, lo]) => ({ series: [hi, lo], fill: withAlpha(colourOf(lines[hi - 1].colour), 0.18) })),
  };
}

function stroke(s: Drawn): string {
  if (s.role === 'edge') return 'transparent';
  if (s.role === 'reference') return textColour(0.6);
  return withAlpha(colourOf(s.colour), s.role === 'seed' ? 0.55 : 1);
}

/** Draws every placeholder of the last render; charts of the render before are destroyed. */
export function mountCharts(root: HTMLElement, settings: ChartSettings): void {
  for (const u of mounted) u.destroy();
  mounted = [];
  for (const el of Array.from(root.querySelectorAll<HTMLElement>('[data-chart]'))) {
    const spec = pending.get(el.dataset.chart!);
    if (!spec) continue;
    const data = aligned(drawn(spec.series).lines, spec.axis.smooth === false ? 0 : settings.smoothing);
    // A log scale needs positive values: a chart with others (a gap, an SSIM) stays linear and says so.
    const positive = data
      .slice(1)
      .every((ys) => Array.from(ys as ArrayLike<number | null>).every((v) => v === null || v > 0));
    const log = settings.log && positive;
    if (settings.log && !positive) el.insertAdjacentHTML('beforebegin', '<div class="muted">linear: values ≤ 0</div>');
    const width = Math.max(240, el.clientWidth || 400);
    const u = new uPlot(options(spec, width, log), data, el);
    const zoom = zoomOf.get(spec.title);
    if (zoom) u.setScale('x', zoom);
    u.over.addEventListener('dblclick', () => zoomOf.delete(spec.title));
    mounted.push(u);
  }
  pending.clear();
}
