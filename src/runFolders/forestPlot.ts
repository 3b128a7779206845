// The forest plot of an ablation: per variant its difference in test L1 from the reference, a point at the mean
// and a line over the 95% interval, beside a line at zero. An interval that crosses zero is drawn quiet. One SVG
// for the report (forest.svg) and the panel, whose colours follow the theme through CSS variables with fallbacks.

import { differenceText, type SweepSummary } from './replicateStats';
import { escapeHtml as esc } from '../core/html';

const ROW = 24;
const TOP = 34;
const LABEL = 150;
const VALUE = 170;

/** The verdict's colour: red is worse (higher test L1), green better, grey where no difference is detectable. */
const COLOUR: Record<string, string> = {
  worse: 'var(--vscode-charts-red, #c62828)',
  better: 'var(--vscode-charts-green, #2e7d32)',
  none: 'var(--vscode-descriptionForeground, #777)',
};

/** Where a variant's interval and point sit, in the plot's own x scale. */
function scale(summary: SweepSummary, width: number): (x: number) => number {
  const ends = summary.variants.flatMap((v) => v.difference?.interval ?? []);
  const lo = Math.min(0, ...ends);
  const hi = Math.max(0, ...ends);
  const pad = (hi - lo || 0.01) * 0.08;
  const [a, b] = [LABEL, width - VALUE];
  return (x) => a + ((x - (lo - pad)) / (hi - lo + 2 * pad)) * (b - a);
}

/** The forest plot as SVG text; it scales to its container's width (viewBox), so a narrow panel shows all of it. */
export function forestSvg(summary: SweepSummary, width = 640): string {
  const compared = summary.variants.filter((v) => v.variant !== summary.reference);
  const height = TOP + ROW * Math.max(1, compared.length) + 14;
  const x = scale(summary, width);
  const over = compared.some((v) => v.difference?.over === 'seeds') ? 'paired by seed' : 'paired by test image';
  const title = `Δ test L1 from ${summary.reference} (95% interval, ${over}; left of 0 is better)`;
  const rows = compared.map((v, i) => {
    const y = TOP + ROW * i + ROW / 2;
    const label = `<text x="${LABEL - 8}" y="${y + 4}" text-anchor="end">${esc(v.variant)}</text>`;
    const d = v.difference;
    if (!d?.interval) return `${label}<text x="${LABEL}" y="${y + 4}" class="muted">no pairs yet</text>`;
    const kind = v.verdict === 'worse' || v.verdict === 'better' ? v.verdict : 'none';
    const colour = COLOUR[kind];
    const [lo, hi] = d.interval.map(x);
    const text = differenceText(d);
    return (
      `<g class="forest-row ${kind}" data-variant="${esc(v.variant)}">${label}` +
      `<line x1="${lo.toFixed(1)}" x2="${hi.toFixed(1)}" y1="${y}" y2="${y}" style="stroke:${colour}" stroke-width="2"/>` +
      `<circle cx="${x(d.mean).toFixed(1)}" cy="${y}" r="4" style="fill:${colour}"/>` +
      `<text x="${width - VALUE + 8}" y="${y + 4}">${esc(text)}</text>` +
      `<title>${esc(`${v.variant}: ${text}, ${v.verdict ?? ''}`)}</title></g>`
    );
  });
  const zero = x(0).toFixed(1);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="forest" viewBox="0 0 ${width} ${height}" width="100%" ` +
    `style="max-width:${width}px;font:12px system-ui,sans-serif;fill:currentColor" role="img" aria-label="${esc(title)}">` +
    `<text x="8" y="16" font-weight="bold">${esc(title)}</text>` +
    `<line x1="${zero}" x2="${zero}" y1="${TOP - 6}" y2="${height - 10}" style="stroke:currentColor" stroke-dasharray="3 3" opacity="0.6"/>` +
    `<text x="${zero}" y="${height - 1}" text-anchor="middle" opacity="0.8">0</text>` +
    rows.join('') +
    '</svg>'
  );
}
