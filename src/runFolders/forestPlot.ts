// The forest plot of an ablation: per variant its difference in test L1 from the reference, a point at the mean
// and a line over the 95% interval, beside a line at zero. An interval that crosses zero is drawn quiet. One SVG
// for the report (forest.svg) and the panel. Colours are presentation attributes (the panel's Content Security
// Policy refuses style attributes), which the panel's stylesheet overrides with the theme's by class.

import { differenceText, type SweepSummary } from './replicateStats';
import { escapeHtml as esc } from '../core/html';

const ROW = 24;
const TOP = 34;
/** Below this width the values are left to the table beside the plot, and the intervals get the room. */
const NARROW = 520;

/** The verdict's colour: red is worse (higher test L1), green better, grey where no difference is detectable. */
const COLOUR: Record<string, string> = { worse: '#c62828', better: '#2e7d32', none: '#777777' };

interface Layout {
  width: number;
  /** The x where the plot begins (right of the labels) and ends (left of the values). */
  left: number;
  right: number;
  x: (value: number) => number;
}

/** The columns for `width` and the x scale that holds every interval and zero. */
function layout(summary: SweepSummary, width: number): Layout {
  const longest = Math.max(...summary.variants.map((v) => v.variant.length));
  const left = Math.min(width / 3, 16 + 7 * longest);
  const right = width - (width < NARROW ? 12 : 170);
  const ends = summary.variants.flatMap((v) => v.difference?.interval ?? []);
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const pad = (hi - lo || 0.01) * 0.08;
  return { width, left, right, x: (v) => left + ((v - (lo - pad)) / (hi - lo + 2 * pad)) * (right - left) };
}

/** The forest plot as SVG text, `width` wide (the panel passes its own width; it also scales with its viewBox). */
export function forestSvg(summary: SweepSummary, width = 640): string {
  const compared = summary.variants.filter((v) => v.variant !== summary.reference);
  const height = TOP + ROW * Math.max(1, compared.length) + 14;
  const plot = layout(summary, width);
  const { x, left } = plot;
  const over = compared.some((v) => v.difference?.over === 'seeds') ? 'paired by seed' : 'paired by test image';
  const title =
    width < NARROW
      ? `Δ test L1 from ${summary.reference} (95%; left of 0: better)`
      : `Δ test L1 from ${summary.reference} (95% interval, ${over}; left of 0 is better)`;
  const rows = compared.map((v, i) => {
    const y = TOP + ROW * i + ROW / 2;
    const label = `<text x="${left - 8}" y="${y + 4}" text-anchor="end">${esc(v.variant)}</text>`;
    const d = v.difference;
    if (!d?.interval) return `${label}<text x="${left}" y="${y + 4}" class="muted">no pairs yet</text>`;
    const kind = v.verdict === 'worse' || v.verdict === 'better' ? v.verdict : 'none';
    const colour = COLOUR[kind];
    const [lo, hi] = d.interval.map(x);
    const text = differenceText(d);
    const value = width < NARROW ? '' : `<text x="${plot.right + 8}" y="${y + 4}">${esc(text)}</text>`;
    return (
      `<g class="forest-row ${kind}" data-variant="${esc(v.variant)}">${label}` +
      `<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2"/>` +
      `<circle cx="${x(d.mean).toFixed(1)}" cy="${y}" r="4" fill="${colour}"/>${value}` +
      `<title>${esc(`${v.variant}: ${text}, ${v.verdict ?? ''}`)}</title></g>`
    );
  });
  const zero = x(0).toFixed(1);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="forest" viewBox="0 0 ${width} ${height}" width="${width}" ` +
    `height="${height}" font-family="system-ui, sans-serif" font-size="12" fill="currentColor" role="img" ` +
    `aria-label="${esc(title)}"><text x="8" y="16" font-weight="bold">${esc(title)}</text>` +
    `<line class="zero" x1="${zero}" x2="${zero}" y1="${TOP - 6}" y2="${height - 10}" stroke="currentColor" ` +
    'stroke-dasharray="3 3" opacity="0.6"/>' +
    `<text x="${zero}" y="${height - 1}" text-anchor="middle" opacity="0.8">0</text>` +
    rows.join('') +
    '</svg>'
  );
}
