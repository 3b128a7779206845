// What the runs panel shows of memorisation (src/core/memorisation.ts, measured at each evaluation): the curves of
// copy rate, nearest-neighbour distance, diversity and C_T; under a sample figure, its columns' nearest training
// targets with their distances; the spread of the dropout draws; and the critic's own memorisation (its scores,
// r_t and r_v). HTML strings, pure (unit-tested).

import { escapeHtml as esc } from '../src/core/html';
import type { NeighbourRecord } from '../src/protocol/trainer';
import { chart } from './charts';
import type { PanelRun } from '../src/protocol/panel';

const fmt = (n: number | undefined, digits = 3) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));

/** Whether the test outputs copy training targets, over steps: absent in runs recorded before it was measured. */
export function memorisationCharts(r: PanelRun): string {
  const measured = r.evals.flatMap((e) => (e.memorisation ? [{ step: e.step, ...e.memorisation }] : []));
  if (!measured.length) return '';
  const of = (value: (m: (typeof measured)[number]) => number | undefined) =>
    measured.flatMap((m): [number, number][] => {
      const v = value(m);
      return v === undefined ? [] : [[m.step, v]];
    });
  return `${chart('Memorisation', [
    { name: 'copy rate', points: of((m) => m.copyRate) },
    { name: 'NN distance (median)', points: of((m) => m.nnMedian) },
    { name: 'diversity', points: of((m) => m.diversity) },
  ])}
${chart('Data copying C_T (well below 0: copying)', [{ name: 'C_T', points: of((m) => m.ct) }])}`;
}

/** The discriminator's scores over steps (core/critic.ts): its real probabilities, and ADA's r_t and r_v. */
export function criticCharts(r: PanelRun): string {
  const scored = r.evals.flatMap((e) => (e.critic ? [{ step: e.step, ...e.critic }] : []));
  if (!scored.length) return '';
  const of = (value: (c: (typeof scored)[number]) => number | undefined) =>
    scored.flatMap((c): [number, number][] => {
      const v = value(c);
      return v === undefined ? [] : [[c.step, v]];
    });
  return `${chart('Critic: P(real) per patch', [
    { name: 'training targets', points: of((c) => c.train) },
    { name: 'test targets', points: of((c) => c.test) },
    { name: 'generated', points: of((c) => c.generated) },
  ])}
${chart('Critic overfitting (r_t: ADA aims at 0.6; r_v near 1: memorised)', [
  { name: 'r_t', points: of((c) => c.rt) },
  { name: 'r_v', points: of((c) => c.rv) },
])}`;
}

/** A memorisation figure of exactly `step`: one of another step would not belong to the sample figure shown. */
export const figureAt = (r: PanelRun, split: PanelRun['samples'][number]['split'], step: number) =>
  r.samples.find((s) => s.split === split && s.step === step);

/** The evaluation's memorisation measures at `step`. */
const memorisationAt = (r: PanelRun, step: number) => r.evals.find((e) => e.step === step)?.memorisation;

/** The test outputs' copy rate and C_T at `step`, or '' where they were not measured. */
export function copyingLine(r: PanelRun, step: number): string {
  const m = memorisationAt(r, step);
  if (!m) return '';
  const ct = m.ct === undefined ? '' : ` · C<sub>T</sub> ${fmt(m.ct, 2)}`;
  return `<span class="copying">copy rate ${fmt(m.copyRate, 2)}${ct}</span>`;
}

/**
 * One column's nearest training target: its index, the RMS distance to it and to the column's own target (1 − SSIM
 * in the title). A generated image the copy rate counts (nearer its neighbour than that target is to any other
 * training target) is marked: the look of copying.
 * A training column's own target is in the training set too: found as its neighbour, it says so.
 */
export function neighbourCaption(n: NeighbourRecord, column: number, split: 'train' | 'test'): string {
  const own = split === 'train' && n.index === column;
  const closer = !!n.copied;
  const nearer = n.rms < n.ownRms ? '; nearer it than its own target' : '';
  const copy = closer ? ' (a copy by the copy rate: nearer than this target is to any other training target)' : '';
  const title = `training target #${n.index}: RMS ${fmt(n.rms)}, 1 − SSIM ${fmt(n.dssim)}; own target: RMS ${fmt(n.ownRms)}${nearer}${copy}`;
  const second = own ? 'its own target' : `(own ${fmt(n.ownRms)})`;
  // In a narrow column the first line breaks after the index, never inside a number.
  const first = `<span class="nowrap">#${n.index} ·</span> <span class="nowrap">${fmt(n.rms)}</span>`;
  return `<span class="${closer ? 'closer' : ''}" title="${esc(title)}"><span>${first}</span><span class="nowrap">${second}</span></span>`;
}

/**
 * A sample figure with, stacked under it, the nearest training target of each of its columns (one row of the same
 * tiles and gaps, so the columns align) and a caption under each; runs recorded before those were measured show the
 * sample figure alone.
 */
export function sampleStack(
  r: PanelRun,
  split: 'train' | 'test',
  s: PanelRun['samples'][number],
  label: string,
): string {
  const sample = `<img class="sample" src="${s.uri}" alt="${esc(split)} samples at step ${s.step}" data-enlarge>`;
  const nn = figureAt(r, `${split}-neighbours`, s.step);
  if (!nn) return `<div class="figure-stack">${sample}</div>`;
  const captions = (nn.neighbours ?? []).map((n, i) => neighbourCaption(n, i, split)).join('');
  const alt = `nearest training targets of the ${esc(split)} samples at step ${s.step}`;
  return `<div class="figure-stack">${sample}<div class="nn-label">${label}</div>
<img class="sample neighbours" src="${nn.uri}" alt="${alt}" data-enlarge>
<div class="nn-captions">${captions}</div></div>`;
}

/** The spread of K dropout draws for the first test inputs at `step`, with their mean pairwise distance. */
export function diversity(r: PanelRun, step: number): string {
  const d = figureAt(r, 'diversity', step);
  if (!d) return '';
  const m = memorisationAt(r, step);
  const k = m?.draws === undefined ? 'K' : String(m.draws);
  const value = m?.diversity === undefined ? '' : ` <span class="muted">mean pairwise RMS ${fmt(m.diversity)}</span>`;
  return `<h3 class="diversity-title">Diversity: ${k} dropout draws${value}</h3>
<div class="rows-legend">rows: test input / one draw / per-pixel spread (black: none, white: 0.5 sd)</div>
<img class="sample" src="${d.uri}" alt="dropout draws at step ${step}" data-enlarge>`;
}
