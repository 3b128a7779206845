// The ablation report: one table (variant, skips, dropout, params, MACs, train and test L1 / SSIM, gap, img/s,
// time), plots (train vs test L1 and the gap per variant; test L1 curves) and every variant's samples on the same
// test images, and the table over seeds with its forest plot. Written as report.md and report.html (with gap.svg,
// forest.svg and curves.svg) into the sweep folder.

import * as path from 'node:path';
import { escapeHtml } from '../core/html';
import { count } from '../core/units';
import { forestSvg } from '../runFolders/forestPlot';
import { writeAtomic } from '../runFolders/atomicWrite';
import type { SweepRow } from '../protocol/runs';
import type { SweepState } from '../runFolders/sweepFolder';
import { rowCells, signed, TABLE_HEADER } from '../runFolders/sweepTable';
import { summarizeReplicates, summaryTable, type SweepSummary } from '../runFolders/replicateStats';
import { HALVES_HEADER, HALVES_NOTE, halvesCells, halvesOf } from '../runFolders/disjointHalves';
import { readProbe } from '../runFolders/probes';
import { SKIP_EFFECTS_HEADER, SKIP_EFFECTS_NOTE, skipEffectCells, skipEffects } from '../runFolders/probeSummary';

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#ff7f0e',
  '#9467bd',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];
const colourOf = (i: number): string => PALETTE[i % PALETTE.length];

const escapeMd = (s: string) => s.replace(/\|/g, '\\|');

/** Horizontal bars per variant: train L1 and test L1 at the last evaluation, the gap written beside them. */
function gapSvg(rows: readonly SweepRow[]): string {
  const rowH = 34;
  const left = 150;
  const width = 640;
  const plotW = width - left - 90;
  const height = 40 + rows.length * rowH + 30;
  const max = Math.max(1e-6, ...rows.flatMap((r) => [r.trainL1 ?? 0, r.testL1 ?? 0]));
  const x = (v: number) => left + (v / max) * plotW;
  /** One bar from the left edge to `l1`, its value in the tooltip. */
  const bar = (top: number, l1: number, colour: string, split: 'train' | 'test') =>
    `<rect x="${left}" y="${top}" width="${(x(l1) - left).toFixed(1)}" height="12" fill="${colour}">` +
    `<title>${split} L1 ${l1.toFixed(4)}</title></rect>`;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${left}" y="18" font-weight="bold">L1 at the last evaluation (lower is better); gap = test − train</text>`,
    `<rect x="${left}" y="26" width="10" height="10" fill="#6baed6"/><text x="${left + 14}" y="35">train</text>`,
    `<rect x="${left + 60}" y="26" width="10" height="10" fill="#e6550d"/><text x="${left + 74}" y="35">test</text>`,
  ];
  rows.forEach((r, i) => {
    const y = 44 + i * rowH;
    parts.push(`<text x="${left - 8}" y="${y + 17}" text-anchor="end">${escapeHtml(r.variant)}</text>`);
    if (r.trainL1 !== undefined) parts.push(bar(y + 2, r.trainL1, '#6baed6', 'train'));
    if (r.testL1 !== undefined) parts.push(bar(y + 15, r.testL1, '#e6550d', 'test'));
    const end = Math.max(x(r.trainL1 ?? 0), x(r.testL1 ?? 0));
    parts.push(
      `<text x="${(end + 6).toFixed(1)}" y="${y + 18}">${r.gap === undefined ? escapeHtml(r.status) : `gap ${signed(r.gap, 3)}`}</text>`,
    );
  });
  const axisY = 44 + rows.length * rowH + 4;
  parts.push(`<line x1="${left}" y1="${axisY}" x2="${left + plotW}" y2="${axisY}" stroke="#888"/>`);
  for (let t = 0; t <= 4; t++) {
    const v = (max * t) / 4;
    parts.push(
      `<text x="${x(v).toFixed(1)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${v.toFixed(2)}</text>`,
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

/** Test L1 (solid) and train L1 (dashed) against the step, one colour per variant. */
function curvesSvg(state: SweepState): string {
  const width = 640;
  const height = 320;
  const pad = { l: 50, r: 150, t: 24, b: 36 };
  const series = state.plan.variants.map((v, i) => ({
    name: v.name,
    colour: colourOf(i),
    evals: state.runs.get(v.name)?.evals ?? [],
  }));
  const steps = series.flatMap((s) => s.evals.map((e) => e.step));
  const values = series.flatMap((s) => s.evals.flatMap((e) => [e.train.l1, e.test?.l1 ?? e.train.l1]));
  const maxStep = Math.max(1, ...steps);
  const maxV = Math.max(1e-6, ...values);
  const x = (s: number) => pad.l + (s / maxStep) * (width - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - v / maxV) * (height - pad.t - pad.b);
  const line = (pts: [number, number][], colour: string, dash: boolean) =>
    pts.length
      ? `<polyline fill="none" stroke="${colour}" stroke-width="1.6"${dash ? ' stroke-dasharray="4 3"' : ''} ` +
        `points="${pts.map(([a, b]) => `${x(a).toFixed(1)},${y(b).toFixed(1)}`).join(' ')}"/>`
      : '';
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${pad.l}" y="16" font-weight="bold">L1 per evaluation: test solid, train dashed</text>`,
    `<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#888"/>`,
    `<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#888"/>`,
    `<text x="${(pad.l + width - pad.r) / 2}" y="${height - 6}" text-anchor="middle" fill="#555">step</text>`,
  ];
  for (let t = 0; t <= 4; t++) {
    parts.push(
      `<text x="${pad.l - 6}" y="${(y((maxV * t) / 4) + 4).toFixed(1)}" text-anchor="end" fill="#555">${((maxV * t) / 4).toFixed(2)}</text>`,
    );
    parts.push(
      `<text x="${x((maxStep * t) / 4).toFixed(1)}" y="${height - pad.b + 14}" text-anchor="middle" fill="#555">${Math.round((maxStep * t) / 4)}</text>`,
    );
  }
  series.forEach((s, i) => {
    parts.push(
      line(
        s.evals.filter((e) => e.test).map((e) => [e.step, e.test!.l1]),
        s.colour,
        false,
      ),
    );
    parts.push(
      line(
        s.evals.map((e) => [e.step, e.train.l1]),
        s.colour,
        true,
      ),
    );
    parts.push(
      `<rect x="${width - pad.r + 10}" y="${pad.t + i * 16}" width="10" height="10" fill="${s.colour}"/>` +
        `<text x="${width - pad.r + 24}" y="${pad.t + i * 16 + 9}">${escapeHtml(s.name)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

/** The latest step at which every variant with samples has a test sample: the same test images, side by side. */
export function commonSampleStep(state: SweepState): number | undefined {
  const sets = [...state.runs.values()]
    .map((r) => new Set(r.samples.filter((s) => s.split === 'test').map((s) => s.step)))
    .filter((s) => s.size);
  if (!sets.length) return undefined;
  const common = [...sets[0]].filter((step) => sets.every((s) => s.has(step)));
  return common.length ? Math.max(...common) : undefined;
}

/** Samples per variant at the common step, as paths relative to the sweep folder. */
function sampleFiles(
  state: SweepState,
  step: number | undefined,
): { variant: string; train?: string; test?: string }[] {
  return state.plan.variants.map((v) => {
    const run = state.runs.get(v.name);
    const at = (split: 'train' | 'test') => {
      const s = run?.samples.find((x) => x.split === split && x.step === step);
      return s
        ? path
            .relative(state.dir, path.isAbsolute(s.path) ? s.path : path.join(run!.dir, s.path))
            .split(path.sep)
            .join('/')
        : undefined;
    };
    return { variant: v.name, train: at('train'), test: at('test') };
  });
}

function setupLine(state: SweepState): string {
  const p = state.plan;
  const data = `train on \`${p.data.train}\`${p.data.test ? `, test on \`${p.data.test}\`` : ' (held-out split)'}, input \`${p.data.transform}\``;
  const config = path.basename(p.configFile);
  const steps = p.steps ? `, ${count(p.steps)} steps each` : '';
  const metrics =
    p.select === 'best'
      ? "Metrics are from each run's evaluation of the lowest test L1 (`select: best`: chosen on the test images " +
        'themselves, so they are optimistic; 16 training images, up to 100 test images).'
      : "Metrics are from each variant's last evaluation (16 training images, up to 100 test images).";
  const seeds = [...new Set(p.variants.flatMap((v) => (v.replicate ? [v.replicate.seed] : [])))];
  const full = p.variants.filter((v) => !v.half);
  const halves = p.variants.length - full.length;
  const models = new Set(full.map((v) => v.replicate?.of ?? v.name)).size;
  const runs =
    (seeds.length
      ? `${models} variants × ${seeds.length} seeds (${seeds.join(', ')}) = ${full.length} runs`
      : `${full.length} variants`) + (halves ? ` and ${halves} runs on disjoint halves of the training set` : '');
  const seed = seeds.length ? '' : `, seed ${p.seed}`;
  return `${runs} of \`${config}\`${seed}, ${data}${steps}. ${metrics}`;
}

/** The replicates' lines: the summary table over seeds, what its intervals are, the noise floor. */
function summaryMarkdown(summary: SweepSummary | undefined): string[] {
  if (!summary) return [];
  const t = summaryTable(summary);
  return [
    `## ${t.title}`,
    '',
    t.note,
    '',
    `| ${t.header.join(' | ')} |`,
    `|${t.header.map((_, i) => (t.numeric(i) ? '---:' : '---')).join('|')}|`,
    ...t.rows.map((cells) => `| ${cells.map(escapeMd).join(' | ')} |`),
    '',
    '![Δ test L1 from the reference per variant](forest.svg)',
    '',
  ];
}

/** The probes of the sweep's completed runs (`ablation.probeSkips`), by the variant each run repeats. */
function probesOf(state: SweepState) {
  return state.plan.variants.flatMap((v, i) => {
    const probe = state.rows[i]?.status === 'completed' && !v.half ? readProbe(path.join(state.dir, v.dir)) : undefined;
    return probe ? [{ of: v.replicate?.of ?? v.name, probe }] : [];
  });
}

/** What each skip does, from the probes (`ablation.probeSkips`), when some run has one. */
function skipEffectsMarkdown(state: SweepState): string[] {
  const rows = skipEffects(probesOf(state));
  if (!rows.length) return [];
  return [
    '## What each skip does',
    '',
    SKIP_EFFECTS_NOTE,
    '',
    `| ${SKIP_EFFECTS_HEADER.join(' | ')} |`,
    `|${SKIP_EFFECTS_HEADER.map((_, i) => (i >= 2 ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${skipEffectCells(r).map(escapeMd).join(' | ')} |`),
    '',
  ];
}

function skipEffectsHtml(state: SweepState): string {
  const rows = skipEffects(probesOf(state));
  if (!rows.length) return '';
  const head = SKIP_EFFECTS_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const cell = (c: string, i: number) => `<td${i >= 2 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`;
  const body = rows.map((r) => `<tr>${skipEffectCells(r).map(cell).join('')}</tr>`).join('\n');
  const note = escapeHtml(SKIP_EFFECTS_NOTE).replace(/`([^`]*)`/g, '<code>$1</code>');
  return `<h2>What each skip does</h2>\n<p>${note}</p>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The disjoint halves' section (`ablation.disjointHalves`), when both halves of some variant completed. */
function halvesMarkdown(state: SweepState): string[] {
  const rows = halvesOf(state);
  if (!rows.length) return [];
  return [
    '## Disjoint halves',
    '',
    HALVES_NOTE,
    '',
    `| ${HALVES_HEADER.join(' | ')} |`,
    `|${HALVES_HEADER.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
    ...rows.map((r) => `| ${halvesCells(r).map(escapeMd).join(' | ')} |`),
    '',
  ];
}

function halvesHtml(state: SweepState): string {
  const rows = halvesOf(state);
  if (!rows.length) return '';
  const head = HALVES_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const cell = (c: string, i: number) => `<td${i ? ' class="n"' : ''}>${escapeHtml(c)}</td>`;
  const body = rows.map((r) => `<tr>${halvesCells(r).map(cell).join('')}</tr>`).join('\n');
  return `<h2>Disjoint halves</h2>\n<p>${escapeHtml(HALVES_NOTE)}</p>\n<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** The report's Markdown; `summary` is the table over seeds (computed here when not given). */
function reportMarkdown(state: SweepState, summary = summarizeReplicates(state.rows, state.plan.seed)): string {
  const step = commonSampleStep(state);
  const lines = [
    `# Ablation \`${state.plan.name}\``,
    '',
    setupLine(state),
    '',
    ...summaryMarkdown(summary),
    ...halvesMarkdown(state),
    ...skipEffectsMarkdown(state),
    '## Runs',
    '',
    `| ${TABLE_HEADER.join(' | ')} |`,
    `|${TABLE_HEADER.map((_, i) => (i >= 3 && i <= 11 ? '---:' : '---')).join('|')}|`,
    ...state.rows.map((r) => `| ${rowCells(r).map(escapeMd).join(' | ')} |`),
    '',
  ];
  const failed = state.rows.filter((r) => r.error);
  if (failed.length) lines.push(...failed.map((r) => `- \`${r.variant}\` ${r.status}: ${r.error}`), '');
  lines.push('![Train and test L1 per variant](gap.svg)', '', '![L1 curves](curves.svg)', '');
  if (step !== undefined) {
    lines.push(`## Samples at step ${count(step)} (rows: input, generated, target)`, '');
    for (const s of sampleFiles(state, step)) {
      lines.push(`### ${s.variant}`, '');
      if (s.test) lines.push(`Test: ![${s.variant} test](${encodeURI(s.test)})`, '');
      if (s.train) lines.push(`Train: ![${s.variant} train](${encodeURI(s.train)})`, '');
    }
  }
  return lines.join('\n');
}

/** A variant's samples in the HTML report: its name over the test and the train image, where there is one. */
function sampleFigure(s: { variant: string; train?: string; test?: string }): string {
  const image = (split: 'test' | 'train', file: string | undefined) =>
    file ? `<div>${split}</div><img src="${escapeHtml(encodeURI(file))}" alt="${escapeHtml(s.variant)} ${split}">` : '';
  const caption = `<figcaption>${escapeHtml(s.variant)}</figcaption>`;
  return `<figure>${caption}${image('test', s.test)}${image('train', s.train)}</figure>`;
}

/** The HTML report's stylesheet, one line per part of the page. */
const REPORT_CSS = [
  'body{font-family:system-ui,sans-serif;margin:24px;color:#222}',
  'table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:4px 8px}th{background:#f3f3f3}' +
    'td.n{text-align:right;font-variant-numeric:tabular-nums}',
  'tr.failed td{color:#b00}tr.pending td,tr.running td{color:#777}',
  '.samples{display:flex;flex-wrap:wrap;gap:16px}figure{margin:0}figcaption{font-weight:bold}' +
    'img{image-rendering:pixelated;width:320px;border:1px solid #ddd}',
].join('\n');

function reportHtml(state: SweepState, summary = summarizeReplicates(state.rows, state.plan.seed)): string {
  const step = commonSampleStep(state);
  const head = TABLE_HEADER.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const body = state.rows
    .map(
      (r) =>
        `<tr class="${r.status}">${rowCells(r)
          .map((c, i) => `<td${i >= 3 && i <= 11 ? ' class="n"' : ''}>${escapeHtml(c)}</td>`)
          .join('')}</tr>`,
    )
    .join('\n');
  const failed = state.rows
    .filter((r) => r.error)
    .map((r) => `<li><code>${escapeHtml(r.variant)}</code> ${r.status}: ${escapeHtml(r.error!)}</li>`);
  const samples =
    step === undefined
      ? '<p>No samples yet.</p>'
      : `<h2>Samples at step ${count(step)}</h2>` +
        '<p>Rows: input, generated, target. The same test and training images for every variant.</p>' +
        `<div class="samples">${sampleFiles(state, step).map(sampleFigure).join('')}</div>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Ablation ${escapeHtml(state.plan.name)}</title>
<style>
${REPORT_CSS}
</style></head><body>
<h1>Ablation <code>${escapeHtml(state.plan.name)}</code></h1>
<p>${escapeHtml(setupLine(state)).replace(/`([^`]*)`/g, '<code>$1</code>')}</p>
${summary ? summaryHtml(summary) : ''}
${halvesHtml(state)}
${skipEffectsHtml(state)}
<h2>Runs</h2>
<table><thead><tr>${head}</tr></thead><tbody>
${body}
</tbody></table>
${failed.length ? `<ul>${failed.join('')}</ul>` : ''}
<h2>Train vs test</h2>
${gapSvg(state.rows)}
${curvesSvg(state)}
${samples}
</body></html>
`;
}

/** The table over seeds in the HTML report, with its forest plot. */
function summaryHtml(summary: SweepSummary): string {
  const t = summaryTable(summary);
  const head = t.header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
  const cell = (c: string, i: number) => `<td${t.numeric(i) ? ' class="n"' : ''}>${escapeHtml(c)}</td>`;
  const body = t.rows.map((cells) => `<tr>${cells.map(cell).join('')}</tr>`).join('\n');
  const note = escapeHtml(t.note).replace(/`([^`]*)`/g, '<code>$1</code>');
  const table = `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
  return `<h2>${escapeHtml(t.title)}</h2>\n<p>${note}</p>\n${table}\n${forestSvg(summary)}`;
}

/** Writes report.md, report.html, gap.svg, curves.svg and forest.svg; returns their paths. */
export function writeReport(state: SweepState): string[] {
  const summary = summarizeReplicates(state.rows, state.plan.seed);
  const out: [string, string][] = [
    ['report.md', reportMarkdown(state, summary)],
    ['report.html', reportHtml(state, summary)],
    ['gap.svg', gapSvg(state.rows)],
    ['curves.svg', curvesSvg(state)],
  ];
  if (summary) out.push(['forest.svg', forestSvg(summary)]);
  return out.map(([name, text]) => {
    const file = path.join(state.dir, name);
    writeAtomic(file, text);
    return file;
  });
}
