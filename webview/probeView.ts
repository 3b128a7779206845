// What the runs panel shows of a run's skip probe (`p2p probe`, src/trainer/probe.ts), under its samples: the button
// that probes it, per dose mode a chart of L1 against alpha with one curve per decoder level and the unmodified
// model's L1 dashed, and the first test outputs unmodified, then with each skip scaled to 0. HTML strings, pure
// (unit-tested).

import { escapeHtml as esc } from '../src/core/html';
import { chart, type Series } from './charts';
import type { PanelProbe, PanelRun } from '../src/protocol/panel';

type Mode = PanelProbe['doses'][number]['mode'];
type Split = 'train' | 'test';

const MODES: { mode: Mode; title: string }[] = [
  { mode: 'scale', title: 'Skip scaled toward 0' },
  { mode: 'mean', title: 'Skip toward its per-channel mean' },
];

const fmt = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(3));
const signed = (n: number) => `${n < 0 ? '−' : '+'}${Math.abs(n).toFixed(3)}`;

/** A skip as the charts' legends name it: its decoder level and the encoder level it reads. */
const levelName = (s: PanelProbe['skips'][number]) => `level ${s.level} (encoder ${s.encoderLevel})`;

/** One curve per skip, L1 on `split` at each alpha of `mode`, then the unmodified model's L1 as a dashed level. */
export function doseSeries(p: PanelProbe, mode: Mode, split: Split): Series[] {
  const curves = p.skips.map((s) => ({
    name: levelName(s),
    points: p.doses
      .filter((d) => d.level === s.level && d.mode === mode)
      .sort((a, b) => a.alpha - b.alpha)
      .map((d): [number, number] => [d.alpha, d[split].l1]),
  }));
  const plain = p.unmodified[split].l1;
  const reference: Series = {
    name: 'unmodified',
    points: [
      [0, plain],
      [1, plain],
    ],
    reference: true,
  };
  return [...curves, reference];
}

/** Probe skips, or Probe again over an older probe: for a run with a checkpoint that is not training. */
export function probeButton(r: PanelRun): string {
  if (r.probing) return '<button disabled>Probing…</button>';
  if (r.status === 'running' || !r.checkpointed) return '';
  return `<button data-probe="${esc(r.id)}">${r.probe ? 'Probe again' : 'Probe skips'}</button>`;
}

/**
 * The first test outputs unmodified, and under them with each skip scaled to 0, its test L1 against theirs; the skip
 * whose loss costs the most is marked.
 */
export function probeFigures(p: PanelProbe): string {
  const plain = p.unmodified.test.l1;
  const atZero = (level: number) =>
    p.doses.find((d) => d.level === level && d.mode === 'scale' && d.alpha === 0)?.test.l1;
  const costs = p.skips.map((s) => (atZero(s.level) ?? -Infinity) - plain);
  const most = p.skips[costs.indexOf(Math.max(...costs))];
  const encoder = new Map(p.skips.map((s) => [s.level, s.encoderLevel]));
  const row = (caption: string, uri: string, alt: string, { title = '', marked = false } = {}) =>
    `<figure class="probe-row${marked ? ' most' : ''}"${title ? ` title="${esc(title)}"` : ''}><figcaption>${caption}</figcaption>
<img class="sample" src="${esc(uri)}" alt="${esc(alt)}" data-enlarge></figure>`;
  const rows = p.figures.alphaZero
    .filter((f) => f.mode === 'scale')
    .sort((a, b) => a.level - b.level)
    .map((f) => {
      const l1 = atZero(f.level);
      const change = l1 === undefined ? '' : `, ${signed(l1 - plain)}`;
      const title = `decoder level ${f.level} with its skip from encoder level ${encoder.get(f.level) ?? '?'} scaled to 0`;
      const marked = most?.level === f.level && l1 !== undefined && l1 > plain;
      const caption = `level ${f.level} without its skip <span class="muted">(test L1 ${fmt(l1)}${change})</span>`;
      return row(caption, f.image, `test outputs, level ${f.level} without its skip`, { title, marked });
    });
  const first = row(
    `unmodified (step ${p.step}) <span class="muted">(test L1 ${fmt(plain)})</span>`,
    p.figures.unmodified,
    'test outputs, unmodified',
  );
  return `<div class="rows-legend">the first test outputs: unmodified, then with each skip scaled to 0</div>
<div class="figure-stack probe-figures">${first}${rows.join('')}</div>`;
}

/** The split radios of the dose-response charts. */
function splitRadios(split: Split): string {
  const radio = (value: Split, label: string) =>
    `<label><input type="radio" name="probe-split" value="${value}" ${split === value ? 'checked' : ''}> ${label}</label>`;
  return `${radio('test', 'Test L1')}${radio('train', 'Train L1')}`;
}

function probeBody(r: PanelRun, p: PanelProbe, split: Split): string {
  if (!p.skips.length) return `<p class="muted">This generator has no skips: nothing to probe (step ${p.step}).</p>`;
  const later = r.step > p.step ? ` The run is at step ${r.step} now.` : '';
  const intro = `<p class="muted">Each skip dosed by alpha from 0 (removed) to 1 (as trained), the others as trained,
on the evaluation's ${p.images.test} test and ${p.images.train} training images at step ${p.step}: where L1 rises as alpha
falls, the outputs need that skip.${later}</p>`;
  const charts = MODES.map(({ mode, title }) =>
    chart(`${title} (${split} L1)`, doseSeries(p, mode, split), { x: 'alpha', smooth: false }),
  ).join('');
  return `${intro}<div class="controls">${splitRadios(split)}</div><div class="charts probe-charts">${charts}</div>
${probeFigures(p)}`;
}

/**
 * "What does each skip do?" in a run's details: the probe button, its last failure, and the probe. Nothing for a run
 * that has no probe and cannot be probed (training, or no checkpoint yet).
 */
export function probeSection(r: PanelRun, split: Split): string {
  const button = probeButton(r);
  if (!r.probe && !button && !r.probeError && !r.probing) return '';
  const error = r.probeError ? `<p class="error">${esc(r.probeError)}</p>` : '';
  const body = r.probe
    ? probeBody(r, r.probe, split)
    : `<p class="muted">Doses each skip of the trained generator from 0 (removed) to 1 (as trained), toward zero and
toward its per-channel mean, and measures L1 on the evaluation's images: which skip the outputs need, no retraining.</p>`;
  return `<section class="probe"><div class="probe-title"><h3>What does each skip do?</h3>${button}</div>${error}${body}</section>`;
}
