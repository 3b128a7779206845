// The Ablations tab: per sweep its table over seeds (mean ± interval, the difference from the reference with its
// interval and verdict) and forest plot, the runs table, curves as the mean over seeds with a band for their
// spread (each seed's own on demand), and the samples of the seed picked. The data comes from ablationModel.ts
// and runFolders/replicateStats.ts (pure); this module writes the HTML.

import { escapeHtml as esc } from '../src/core/html';
import type { EvalPayload } from '../src/protocol/trainer';
import { forestSvg } from '../src/runFolders/forestPlot';
import { summarizeReplicates, summaryTable, type SweepSummary } from '../src/runFolders/replicateStats';
import type { SweepRow } from '../src/protocol/runs';
import { rowCells, statusWord, TABLE_HEADER } from '../src/runFolders/sweepTable';
import { runsAtSeed, seedCurves, shownSeed, sweepSeeds, type EvalValue } from './ablationModel';
import { chart, chartControls, type ChartSettings } from './charts';
import type { PanelRun, PanelSweep, PanelViewState } from '../src/protocol/panel';

export interface AblationsInput {
  sweeps: readonly PanelSweep[];
  runs: readonly PanelRun[];
  view: PanelViewState;
  settings: ChartSettings;
  /** The panel's width in CSS pixels: the forest plot is drawn for it. */
  width: number;
}

/** The ablation table's ends, which stay in view while its middle scrolls sideways in a narrow panel. */
const ABLATION_ENDS: Record<number, string> = { 0: 'variant', [TABLE_HEADER.length - 1]: 'action' };

/** A cell of an ablation table: numbers right-aligned, the status coloured and carrying a failed run's error. */
function ablationCell(text: string, column: number, row: SweepRow): string {
  const isStatus = column === TABLE_HEADER.length - 1;
  const end = ABLATION_ENDS[column] ? ` ${ABLATION_ENDS[column]}` : '';
  const classes = `${column >= 3 && column <= 11 ? 'num' : ''}${isStatus ? ` status ${statusWord(row)}` : ''}${end}`;
  const title = isStatus && row.error ? ` title="${esc(row.error)}"` : '';
  return `<td class="${classes}"${title}>${esc(text)}${isStatus && row.error ? ' ⚠' : ''}</td>`;
}

/** Where a SLURM sweep stands: its array jobs and how many variants each state holds, or why squeue failed. */
function schedulerLine(sw: PanelSweep): string {
  if (sw.executor !== 'slurm' || !sw.scheduler) return '';
  const counts = new Map<string, number>();
  for (const r of sw.rows) counts.set(statusWord(r), (counts.get(statusWord(r)) ?? 0) + 1);
  const states = [...counts].map(([s, n]) => `<span class="status ${s}">${n} ${s}</span>`).join(' · ');
  const jobs = sw.scheduler.jobs.length ? `SLURM job ${sw.scheduler.jobs.map(esc).join(', ')}` : 'SLURM: not submitted';
  const error = sw.scheduler.error ? `<p class="error">squeue: ${esc(sw.scheduler.error)}</p>` : '';
  return `<p class="scheduler">${jobs} · ${states}</p>${error}`;
}

function sweepButtons(sw: PanelSweep): string {
  const id = esc(sw.id);
  return `<button data-compare-sweep="${id}">Compare variants</button> <button data-report="${id}">Open report</button>${cancelButton(sw)}`;
}

/** Cancels a sweep's SLURM array while any of its variants is queued or running. */
function cancelButton(sw: PanelSweep): string {
  if (sw.executor !== 'slurm' || !sw.scheduler?.active) return '';
  return ` <button data-cancel-sweep="${esc(sw.id)}">Cancel ablation</button>`;
}

const GAP_TITLE = 'Gap (test − train L1) per variant';

const testL1: EvalValue = (e) => e.test?.l1;
const gapL1: EvalValue = (e) => e.gap?.l1;

/** Every sweep, newest last as the host lists them. */
export function ablationsTab(input: AblationsInput): string {
  if (!input.sweeps.length)
    return '<p class="muted">No ablations yet. Add an <code>ablation:</code> section to a .p2p.yaml config and run "pix2pix: Run Ablation".</p>';
  return input.sweeps.map((sw) => sweepSection(sw, input)).join('');
}

function sweepSection(sw: PanelSweep, input: AblationsInput): string {
  const seeds = sweepSeeds(sw);
  const done = sw.rows.filter((r) => r.status === 'completed').length;
  const test = sw.data.test ? ` → ${esc(sw.data.test)}` : '';
  const steps = sw.steps ? ` · ${sw.steps} steps` : '';
  const seedWords = seeds.length > 1 ? `${seeds.length} seeds (${seeds.join(', ')})` : `seed ${seeds[0]}`;
  const line = `${done}/${sw.rows.length} done · ${seedWords} · ${esc(sw.data.train)}${test}${steps}`;
  const summary = summarizeReplicates(sw.rows, sw.seed);
  return `<section class="sweep" data-sweep="${esc(sw.id)}"><h2>${esc(sw.name)} <span class="muted">${line}</span></h2>${schedulerLine(sw)}
<div class="controls">${sweepButtons(sw)}</div>
${summary ? summarySection(summary, input.width) : ''}
<div class="table-scroll"><table class="runs ablation"><thead><tr>${runsHead()}</tr></thead><tbody>${runRows(sw, input.view)}</tbody></table></div>
${curvesSection(sw, input)}${samplesSection(sw, input)}</section>`;
}

/** The table over seeds (or one seed's test images), what its intervals are, and the forest plot. */
function summarySection(summary: SweepSummary, width: number): string {
  const t = summaryTable(summary);
  const head = t.header.map((h, j) => `<th class="${j === 0 ? 'variant' : ''}">${esc(h)}</th>`).join('');
  const body = t.rows
    .map((cells, i) => {
      const v = summary.variants[i];
      const verdict = v.verdict === 'worse' || v.verdict === 'better' ? v.verdict : 'none';
      const classOf = (j: number) => (j === 0 ? 'variant' : t.numeric(j) ? 'num' : `verdict ${verdict}`);
      return `<tr>${cells.map((c, j) => `<td class="${classOf(j)}">${esc(c)}</td>`).join('')}</tr>`;
    })
    .join('');
  const note = esc(t.note).replace(/`([^`]*)`/g, '<code>$1</code>');
  const plotWidth = Math.round(Math.min(640, Math.max(300, width - 24)));
  const forest = summary.variants.some((v) => v.difference)
    ? `<div class="forest-plot">${forestSvg(summary, plotWidth)}</div>`
    : '';
  return `<h3>${esc(t.title)}</h3>
<div class="table-scroll"><table class="runs over-seeds"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>
<p class="muted summary-note">${note}</p>${forest}`;
}

function runsHead(): string {
  return TABLE_HEADER.map((h, j) => `<th class="${ABLATION_ENDS[j] ?? ''}">${esc(h)}</th>`).join('');
}

function runRows(sw: PanelSweep, view: PanelViewState): string {
  return sw.rows
    .map((r, i) => {
      const id = sw.runIds[i];
      const cells = rowCells(r)
        .map((c, j) => ablationCell(c, j, r))
        .join('');
      const selected = id && view.selected.includes(id) ? 'selected' : '';
      return `<tr class="${selected}"${id ? ` data-run="${esc(id)}"` : ''}>${cells}</tr>`;
    })
    .join('');
}

/** Test L1 and the gap per variant: the mean over seeds with its min-max band, each seed's curve on demand. */
function curvesSection(sw: PanelSweep, input: AblationsInput): string {
  const byId = new Map(input.runs.map((r) => [r.id, r.evals as readonly EvalPayload[]]));
  const eachSeed = input.view.eachSeed ?? false;
  const replicated = sweepSeeds(sw).length > 1;
  const of = (value: EvalValue) => seedCurves(sw, (id) => byId.get(id), value, eachSeed);
  const band = replicated ? ' (mean over seeds, band: min to max)' : '';
  const toggle = replicated
    ? `<label class="controls"><input id="each-seed" type="checkbox" ${eachSeed ? 'checked' : ''}> Show each seed's curve</label>`
    : '';
  const charts = chart(`Test L1 per variant${band}`, of(testL1)) + chart(`${GAP_TITLE}${band}`, of(gapL1));
  return `${chartControls(input.settings)}${toggle}<div class="charts">${charts}</div>`;
}

/** The newest sample of each variant's run at the seed picked, for the split shown. */
function samplesSection(sw: PanelSweep, input: AblationsInput): string {
  const { view } = input;
  const seeds = sweepSeeds(sw);
  const seed = shownSeed(sw, view.seeds?.[sw.id]);
  const byId = new Map(input.runs.map((r) => [r.id, r]));
  const figures = runsAtSeed(sw, seed).map(({ variant, runId }) => {
    const run = runId ? byId.get(runId) : undefined;
    const s = run?.samples.filter((x) => x.split === view.split).at(-1);
    const image = s
      ? `<img class="sample" src="${s.uri}" alt="${esc(variant)} ${view.split} samples at step ${s.step}" data-enlarge>`
      : '<p class="muted">no sample yet</p>';
    return `<figure><figcaption>${esc(variant)}${s ? ` · step ${s.step}` : ''}</figcaption>${image}</figure>`;
  });
  const options = seeds.map((s) => `<option value="${s}" ${s === seed ? 'selected' : ''}>seed ${s}</option>`).join('');
  const picker =
    seeds.length > 1
      ? `<label>Samples of <select class="sweep-seed" data-sweep="${esc(sw.id)}">${options}</select></label>`
      : `Samples (seed ${seed})`;
  const radio = (split: 'train' | 'test', label: string) =>
    `<label><input type="radio" name="split" value="${split}" ${view.split === split ? 'checked' : ''}> ${label}</label>`;
  return `<div class="controls">${picker} ${radio('train', 'Train')}${radio('test', 'Test')} <span class="muted">rows: input / generated / target</span></div>
<div class="side-by-side ablation-samples">${figures.join('')}</div>`;
}
