// The runs panel in the webview: runs list, live curves, Train/Test samples with a step slider, a run's skip probe,
// and a side-by-side comparison. All state it needs to come back after being hidden lives in vscode.setState.

import { adapterWithFeatures, describeAdapter } from '../src/protocol/trainer';
import { chart, chartControls, mountCharts, type Series } from './charts';
import {
  EXPORT_FORMATS,
  type AbState,
  type HostMessage,
  type PanelRun,
  type PanelSweep,
  type PanelViewState,
  type WebviewMessage,
} from '../src/protocol/panel';
import { differences, dropZone, mountAb, readDropped, translationView } from './translations';
import { morphInto } from './morph';
import { ablationsTab } from './ablations';
import { runsAtSeed, shownSeed } from './ablationModel';
import { escapeHtml as esc } from '../src/core/html';
import { copyingLine, criticCharts, diversity, figureAt, memorisationCharts, sampleStack } from './memorisation';
import { probeSection } from './probeView';

declare function acquireVsCodeApi(): {
  postMessage(m: WebviewMessage): void;
  getState(): PanelViewState | undefined;
  setState(s: PanelViewState): void;
};

const vscode = acquireVsCodeApi();
let runs: PanelRun[] = [];
/** Every run the host has sent, by id: it sends only those that changed. */
const known = new Map<string, PanelRun>();
/** Every run's id in the order the host lists them (it sends the order only when it changes). */
let order: string[] = [];
let sweeps: PanelSweep[] = [];
const view: PanelViewState = vscode.getState() ?? { selected: [], split: 'test', tab: 'runs' };

const app = document.getElementById('app')!;
const send = (m: WebviewMessage) => vscode.postMessage(m);
const save = () => vscode.setState(view);
const fmt = (n: number | undefined, digits = 3) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));
const count = (n: number | undefined) => (n === undefined ? '—' : n.toLocaleString('en-US'));
/** A table's header row, one cell per column (the names are HTML already). */
const headRow = (columns: string[]) => `<tr>${columns.map((c) => `<th>${c}</th>`).join('')}</tr>`;
/** A radio button choosing which split's samples to show. */
const splitRadio = (split: PanelViewState['split'], label: string) =>
  `<label><input type="radio" name="split" value="${split}" ${view.split === split ? 'checked' : ''}> ${label}</label>`;

window.addEventListener('message', (e: MessageEvent<HostMessage>) => {
  const m = e.data;
  if (m.type === 'runs') {
    for (const r of m.payload.runs) known.set(r.id, r);
    if (m.payload.order) {
      order = m.payload.order;
      const shown = new Set(order);
      for (const id of [...known.keys()]) if (!shown.has(id)) known.delete(id);
    }
    runs = order.flatMap((id) => known.get(id) ?? []);
    if (m.payload.sweeps) sweeps = m.payload.sweeps;
    if (m.payload.tab) {
      view.tab = m.payload.tab;
      send({ type: 'tabShown', payload: { tab: m.payload.tab } });
    }
    if (m.payload.select) {
      view.selected = [m.payload.select];
      view.step = undefined;
    }
    view.selected = view.selected.filter((id) => runs.some((r) => r.id === id));
    if (!view.selected.length && runs.length) view.selected = [runs[0].id];
    render();
  } else if (m.type === 'select') {
    view.selected = m.payload.ids;
    render();
  } else hostTranslation(m);
});

/** A translation arrived (shown in Compare), failed, or the host made an A/B difference image. */
function hostTranslation(m: HostMessage): void {
  if (m.type === 'translation') {
    view.translation = m.payload;
    view.tab = 'compare';
    translateError = undefined;
    differences.clear();
  } else if (m.type === 'translateFailed') translateError = m.payload.message;
  else if (m.type === 'abDifference') {
    const { image, a, b, uri, max } = m.payload;
    differences.set(`${image}:${a}:${b}`, { uri, max });
  } else return;
  render();
}

let translateError: string | undefined;
const abState = (): AbState => view.ab ?? { a: 0, b: 1, mode: 'slider', split: 50 };

/** The top of Compare: translate an image with the selected runs, and the last translation. */
function translations(): string {
  const error = translateError ? `<p class="error">${esc(translateError)}</p>` : '';
  const shown = view.translation ? translationView(view.translation, abState()) : '';
  return `${dropZone(view.selected.length)}${error}${shown}`;
}

function curves(r: PanelRun): string {
  const steps = r.steps;
  const evals = r.evals;
  return `${chartControls(chartSettings())}<div class="charts">
${chart('Generator', [
  { name: 'L1', points: steps.map((s) => [s.step, s.gL1]) },
  { name: 'GAN', points: steps.map((s) => [s.step, s.gGan]) },
])}
${chart('Discriminator', [{ name: 'loss', points: steps.map((s) => [s.step, s.dLoss]) }])}
${chart('L1 train vs test', [
  { name: 'train', points: evals.map((e) => [e.step, e.train.l1]) },
  { name: 'test', points: evals.filter((e) => e.test).map((e) => [e.step, e.test!.l1]) },
  ...bestMarker(r),
])}
${chart('PSNR train vs test', [
  { name: 'train', points: evals.map((e) => [e.step, e.train.psnr]) },
  { name: 'test', points: evals.filter((e) => e.test).map((e) => [e.step, e.test!.psnr]) },
])}
${chart('SSIM train vs test', [
  { name: 'train', points: evals.map((e) => [e.step, e.train.ssim]) },
  { name: 'test', points: evals.filter((e) => e.test).map((e) => [e.step, e.test!.ssim]) },
])}
${memorisationCharts(r)}
${criticCharts(r)}
</div>`;
}

/** The evaluation of the lowest test L1, marked on the L1 chart (the step `p2p evaluate` and `select: best` pick). */
function bestMarker(r: PanelRun): Series[] {
  if (r.bestStep === undefined || r.bestTestL1 === undefined) return [];
  return [{ name: `best test L1 (step ${r.bestStep})`, points: [[r.bestStep, r.bestTestL1]], marker: true }];
}

/** The sample of `split` at the newest step <= `step` (or the newest). */
function sampleAt(r: PanelRun, split: 'train' | 'test', step?: number) {
  const list = r.samples.filter((s) => s.split === split && (step === undefined || s.step <= step));
  return list[list.length - 1];
}

function samples(r: PanelRun): string {
  const steps = [...new Set(r.samples.filter((s) => s.split === view.split).map((s) => s.step))].sort((a, b) => a - b);
  if (!steps.length) return '<p class="muted">No samples yet.</p>';
  const current = view.step !== undefined && steps.includes(view.step) ? view.step : steps[steps.length - 1];
  const idx = steps.indexOf(current);
  const s = sampleAt(r, view.split, current)!;
  const copying = view.split === 'test' ? copyingLine(r, s.step) : '';
  const label = `nearest training target <span class="muted">#index · RMS to it (to its own target)</span>${copying}`;
  return `<div class="samples">
<div class="controls">
  ${splitRadio('train', 'Train')}
  ${splitRadio('test', 'Test')}
  <input id="step" type="range" min="0" max="${steps.length - 1}" value="${idx}" data-steps="${steps.join(',')}">
  <span id="step-label">step ${current}${view.step === undefined ? ' (newest)' : ''}</span>
</div>
<div class="rows-legend">rows: input / generated / target</div>
${sampleStack(r, view.split, s, label)}
${diversity(r, s.step)}
</div>`;
}

/**
 * The run header's backend line: the backend, the GPU adapter and its features (or the tfjs-node package and its
 * folder), and earlier backends of a resumed run.
 */
function backendLine(r: PanelRun): string {
  if (!r.backend) return '';
  const a = r.adapter;
  const gpu = a ? `: ${esc(adapterWithFeatures(a))}` : r.tensorflow ? `: ${esc(r.tensorflow)}` : '';
  const earlier = r.backends.length > 1 ? ` · resumed from ${esc(r.backends.slice(0, -1).join(' → '))}` : '';
  return `<p class="run-backend">Backend <b>${esc(r.backend)}</b>${gpu}${earlier}</p>`;
}

/** A failed run's error; after a GPU device failure, the way on from its checkpoint. */
function errorLine(r: PanelRun): string {
  if (!r.error || r.status === 'running') return '';
  const resume = r.deviceError ? ` <button data-resume="${esc(r.id)}" data-backend="wasm">Resume on wasm</button>` : '';
  return `<p class="run-error">${esc(r.error)}${resume}</p>`;
}

/** What the run recorded as warnings (a config changed at a resume, a checkpoint skipped): the newest open. */
function warningsLine(r: PanelRun): string {
  if (!r.warnings?.length) return '';
  const items = r.warnings.map((w) => `<li>${esc(w)}</li>`).join('');
  const n = r.warnings.length;
  return `<details class="run-warnings"><summary>${n} warning${n === 1 ? '' : 's'}: ${esc(r.warnings[n - 1])}</summary><ul>${items}</ul></details>`;
}

function runsTable(): string {
  const rows = runs
    .map((r) => {
      const sel = view.selected.includes(r.id);
      const diff = r.diff.length
        ? r.diff
            .slice(0, 3)
            .map((d) => `${esc(d.path)}: ${esc(JSON.stringify(d.other))}`)
            .join('; ') + (r.diff.length > 3 ? ` (+${r.diff.length - 3})` : '')
        : '';
      const action = runAction(r);
      const backendAbout = r.adapter ? describeAdapter(r.adapter) : r.tensorflow;
      const backendTitle = backendAbout ? ` title="${esc(backendAbout)}"` : '';
      const params = count(r.params ? r.params.generator + r.params.discriminator : undefined);
      const baseHint = 'compare configs against this run';
      const baseRadio = `<input type="radio" name="base" data-base="${esc(r.id)}" title="${baseHint}"${view.base === r.id ? ' checked' : ''}>`;
      return `<tr class="${sel ? 'selected' : ''}" data-run="${esc(r.id)}">
<td><input type="checkbox" data-select="${esc(r.id)}" ${sel ? 'checked' : ''}></td>
<td>${esc(r.name)}<div class="muted">${esc(r.id)}</div></td>
<td class="status ${r.status}">${r.status}${r.error ? ` <span title="${esc(r.error)}">⚠</span>` : ''}</td>
<td class="col-backend"${backendTitle}>${esc(r.backends.join(' → ') || '—')}</td><td class="num col-params">${params}</td>
<td class="num">${r.step}/${r.totalSteps ?? '?'}</td><td class="num col-l1">${fmt(r.bestTestL1)}</td>
<td class="diff col-diff">${diff}</td><td class="col-base">${baseRadio}</td><td class="action">${action}</td></tr>`;
    })
    .join('');
  const columns = ['', 'run', 'status', 'backend', 'params', 'step', 'best test L1', 'config vs base', 'base', ''];
  const classes = ['', '', '', 'col-backend', 'col-params', '', 'col-l1', 'col-diff', 'col-base', 'action'];
  const head = `<tr>${columns.map((c, i) => `<th class="${classes[i]}">${c}</th>`).join('')}</tr>`;
  // The table scrolls sideways when the panel is narrow; Stop/Resume stay in view (a sticky last column).
  return `<div class="table-scroll"><table class="runs"><thead>${head}</thead><tbody>${rows}</tbody></table></div>`;
}

/** Stop for a running run, Resume for one that stopped or failed, nothing for a completed one. */
function runAction(r: PanelRun): string {
  if (r.status === 'running') return '<button data-stop>Stop</button>';
  return r.status !== 'completed' ? `<button data-resume="${esc(r.id)}">Resume</button>` : '';
}

function compare(): string {
  const chosen = runs.filter((r) => view.selected.includes(r.id));
  if (chosen.length < 2)
    return `${translations()}<p class="muted">Select two or more runs (checkboxes in the Runs tab) to compare them.</p>`;
  const commonStep = Math.min(
    ...chosen.map((r) => Math.max(-1, ...r.samples.filter((s) => s.split === view.split).map((s) => s.step))),
  );
  const head = headRow(['run', 'params', 'MACs', 'train L1', 'test L1', 'gap', 'img/s']);
  const body = chosen
    .map((r) => {
      const numbers = [
        count(r.params ? r.params.generator : undefined),
        r.macs ? (r.macs / 1e6).toFixed(1) + ' M' : '—',
        fmt(r.lastEval?.train.l1),
        fmt(r.lastEval?.test?.l1),
        fmt(r.lastEval?.gap?.l1),
        fmt(r.medianImgPerSec, 1),
      ];
      const cells = numbers.map((n) => `<td class="num">${n}</td>`).join('');
      return `<tr><td>${esc(r.name)}<div class="muted">${esc(r.id)}</div></td>${cells}</tr>`;
    })
    .join('');
  const table = `<table class="compare"><thead>${head}</thead><tbody>${body}</tbody></table>${overlay(chosen)}`;
  const nearest = view.compareView === 'neighbours';
  const images = chosen
    .map((r) => {
      const s = sampleAt(r, view.split, commonStep);
      const where = `${esc(r.name)} · ${esc(r.id)} · step ${s?.step ?? '—'}`;
      if (!s) return `<figure><figcaption>${where}</figcaption><p class="muted">no sample</p></figure>`;
      if (!nearest)
        return `<figure><figcaption>${where}</figcaption><img class="sample" src="${s.uri}" data-enlarge></figure>`;
      const copying = view.split === 'test' ? copyingLine(r, s.step) : '';
      const missing = figureAt(r, `${view.split}-neighbours`, s.step)
        ? ''
        : '<p class="muted">no nearest training targets recorded at this step</p>';
      const stack = sampleStack(r, view.split, s, 'nearest training target');
      return `<figure class="nearest"><figcaption>${where}${copying ? `<br>${copying}` : ''}</figcaption>${stack}${missing}</figure>`;
    })
    .join('');
  const radios = `${splitRadio('train', 'Train')}${splitRadio('test', 'Test')}`;
  const shown = (value: 'samples' | 'neighbours', label: string) =>
    `<label><input type="radio" name="compare-view" value="${value}" ${(view.compareView ?? 'samples') === value ? 'checked' : ''}> ${label}</label>`;
  const toggle = `<span class="view-toggle">${shown('samples', 'Samples')}${shown('neighbours', 'Nearest neighbour')}</span>`;
  const controls = `<div class="controls">${toggle}${radios} at step ${commonStep}</div>`;
  const legend = nearest
    ? `<div class="rows-legend">rows: input / generated / target, then each generated image's nearest training target
(#index · RMS to it, to its own target)</div>`
    : '';
  return `${translations()}${table}${controls}${legend}<div class="side-by-side">${images}</div>`;
}

/** The selected run under the runs table: its name and status, backend, error, curves, samples and skip probe. */
function runDetails(r: PanelRun): string {
  const where = `${esc(r.id)} · ${r.status} · step ${r.step}/${r.totalSteps ?? '?'}`;
  const title = `<div class="run-title"><h2>${esc(r.name)} <span class="muted">${where}</span></h2>${runAction(r)}</div>`;
  const exportButtons =
    r.status === 'running'
      ? ''
      : `<div class="controls">Export the generator: <button data-export="${esc(r.id)}" data-format="onnx">ONNX</button>
<button data-export="${esc(r.id)}" data-format="pytorch">PyTorch</button>
<button data-export="${esc(r.id)}" data-format="tfjs">tfjs</button></div>`;
  const probe = probeSection(r, view.probeSplit ?? 'test');
  return `${title}${backendLine(r)}${errorLine(r)}${warningsLine(r)}${exportButtons}${curves(r)}${samples(r)}${probe}`;
}

function render(): void {
  save();
  const tab = (name: PanelViewState['tab'], label: string) =>
    `<button data-tab="${name}" class="${view.tab === name ? 'active' : ''}">${label}</button>`;
  const tabs = `<nav>${tab('runs', 'Runs')}${tab('compare', 'Compare')}${tab('ablations', 'Ablations')}</nav>`;
  morphInto(app, `${tabs}${tabContent()}`);
  mountCharts(app, chartSettings());
  mountAb(app, abState(), (image, a, b) => send({ type: 'abDifference', payload: { image, a, b } }));
}

function tabContent(): string {
  if (view.tab === 'ablations')
    return ablationsTab({ sweeps, runs, view, settings: chartSettings(), width: app.clientWidth });
  if (!runs.length)
    return '<p class="muted">No runs yet. Open a .p2p.yaml file and run "pix2pix: Train Current Config".</p>';
  const current = runs.find((r) => r.id === view.selected[0]);
  return view.tab === 'runs' ? `${runsTable()}${current ? runDetails(current) : ''}` : compare();
}

/** The curves' smoothing (TensorBoard's default 0.6) and scale, kept with the panel's state. */
function chartSettings() {
  return { smoothing: view.smoothing ?? 0.6, log: view.log ?? false };
}

/** The metrics Compare can overlay across runs: one series per run. */
const METRICS: Record<string, { label: string; of: (r: PanelRun) => [number, number][] }> = {
  testL1: { label: 'Test L1', of: (r) => r.evals.filter((e) => e.test).map((e) => [e.step, e.test!.l1]) },
  trainL1: { label: 'Train L1', of: (r) => r.evals.map((e) => [e.step, e.train.l1]) },
  gapL1: { label: 'Gap (test − train L1)', of: (r) => r.evals.filter((e) => e.gap).map((e) => [e.step, e.gap!.l1]) },
  testSsim: { label: 'Test SSIM', of: (r) => r.evals.filter((e) => e.test).map((e) => [e.step, e.test!.ssim]) },
  testPsnr: { label: 'Test PSNR', of: (r) => r.evals.filter((e) => e.test).map((e) => [e.step, e.test!.psnr]) },
  gL1: { label: 'Generator L1 loss', of: (r) => r.steps.map((s) => [s.step, s.gL1]) },
  dLoss: { label: 'Discriminator loss', of: (r) => r.steps.map((s) => [s.step, s.dLoss]) },
};

/** One metric of the chosen runs on one chart, with a picker. */
function overlay(chosen: PanelRun[]): string {
  const key = view.metric && METRICS[view.metric] ? view.metric : 'testL1';
  const options = Object.entries(METRICS)
    .map(([k, m]) => `<option value="${k}" ${k === key ? 'selected' : ''}>${esc(m.label)}</option>`)
    .join('');
  const series: Series[] = chosen.map((r) => ({ name: r.name, points: METRICS[key].of(r) }));
  const picker = `<label>Metric <select id="metric">${options}</select></label>`;
  return `${chartControls(chartSettings())}<div class="controls">${picker}</div>${chart(`${METRICS[key].label} per run`, series)}`;
}

app.addEventListener('click', (e) => {
  const t = e.target as HTMLElement;
  if (t.dataset.tab) {
    view.tab = t.dataset.tab as PanelViewState['tab'];
    render();
  } else if (t.dataset.select !== undefined) {
    const id = t.dataset.select;
    view.selected = (t as HTMLInputElement).checked
      ? [...new Set([id, ...view.selected])]
      : view.selected.filter((x) => x !== id);
    view.step = undefined;
    render();
  } else if (t.dataset.base !== undefined) {
    view.base = t.dataset.base;
    send({ type: 'setBase', payload: { id: t.dataset.base } });
  } else if (t.dataset.stop !== undefined) {
    send({ type: 'stop', payload: {} });
  } else if (t.dataset.resume !== undefined) {
    send({
      type: 'resume',
      payload: { id: t.dataset.resume, ...(t.dataset.backend === 'wasm' ? { backend: 'wasm' as const } : {}) },
    });
  } else if (t.dataset.compareSweep !== undefined) {
    const sw = sweeps.find((x) => x.id === t.dataset.compareSweep);
    const atSeed = sw ? runsAtSeed(sw, shownSeed(sw, view.seeds?.[sw.id])) : [];
    view.selected = atSeed.flatMap((r) => (r.runId ? [r.runId] : []));
    view.tab = 'compare';
    view.step = undefined;
    render();
  } else if (t.dataset.cancelSweep !== undefined) {
    send({ type: 'cancelAblation', payload: { id: t.dataset.cancelSweep } });
  } else if (t.dataset.export !== undefined) {
    const format = EXPORT_FORMATS.find((f) => f === t.dataset.format) ?? 'onnx';
    send({ type: 'export', payload: { id: t.dataset.export, format } });
  } else if (t.dataset.probe !== undefined) {
    send({ type: 'probe', payload: { id: t.dataset.probe } });
  } else if (t.dataset.pickImage !== undefined) {
    send({ type: 'translate', payload: { ids: view.selected } });
  } else if (t.dataset.report !== undefined) {
    send({ type: 'openReport', payload: { id: t.dataset.report } });
  } else if (t.dataset.enlarge !== undefined) {
    // A sample figure and its nearest training targets grow together, their columns aligned.
    (t.closest('.figure-stack') ?? t).classList.toggle('enlarged');
  } else {
    const row = t.closest('tr[data-run]') as HTMLElement | null;
    if (row && !(t instanceof HTMLInputElement) && !(t instanceof HTMLButtonElement)) {
      view.selected = [row.dataset.run!, ...view.selected.filter((x) => x !== row.dataset.run)];
      view.step = undefined;
      if (view.tab === 'ablations') view.tab = 'runs'; // a variant's row opens its curves and samples
      render();
    }
  }
});

app.addEventListener('input', (e) => {
  const t = e.target as HTMLInputElement;
  if (t.id === 'step') {
    const steps = t.dataset.steps!.split(',').map(Number);
    const i = Number(t.value);
    view.step = i === steps.length - 1 ? undefined : steps[i]; // the last position follows new samples
    render();
  } else if (t.id === 'smoothing') {
    view.smoothing = Number(t.value);
    render();
  } else if (t.id === 'logscale') {
    view.log = t.checked;
    render();
  } else if (t.id === 'each-seed') {
    view.eachSeed = t.checked;
    render();
  } else if (t.classList.contains('sweep-seed')) {
    view.seeds = { ...view.seeds, [t.dataset.sweep!]: Number(t.value) };
    render();
  } else if (t.id === 'metric') {
    view.metric = t.value;
    render();
  } else if (t.dataset.ab || t.dataset.abMode || t.dataset.abSplit !== undefined) {
    abInput(t);
  } else if (t.name === 'split') {
    view.split = t.value as 'train' | 'test';
    render();
  } else if (t.name === 'probe-split') {
    view.probeSplit = t.value === 'train' ? 'train' : 'test';
    render();
  } else if (t.name === 'compare-view') {
    view.compareView = t.value === 'neighbours' ? 'neighbours' : 'samples';
    render();
  }
});

/** The A/B controls: which outputs, which view, and the slider (moved without a render). */
function abInput(t: HTMLInputElement): void {
  const ab = { ...abState() };
  if (t.dataset.abSplit !== undefined) {
    view.ab = { ...ab, split: Number(t.value) };
    save();
    for (const img of Array.from(t.closest('.ab')!.querySelectorAll<HTMLImageElement>('.ab-b')))
      img.style.clipPath = `inset(0 0 0 ${t.value}%)`;
    return;
  }
  if (t.dataset.ab === 'a' || t.dataset.ab === 'b') ab[t.dataset.ab] = Number(t.value);
  if (t.dataset.abMode) ab.mode = t.dataset.abMode as AbState['mode'];
  view.ab = ab;
  render();
}

app.addEventListener('dragover', (e) => {
  if ((e.target as HTMLElement).closest('.dropzone')) e.preventDefault();
});
app.addEventListener('drop', (e) => {
  const file = e.dataTransfer?.files[0];
  if (!file || !(e.target as HTMLElement).closest('.dropzone')) return;
  e.preventDefault();
  void readDropped(file).then((image) => send({ type: 'translate', payload: { ids: view.selected, image } }));
});

// The charts and the forest plot are drawn for the panel's width: a resize (the sash moved) draws them again.
let resizing: ReturnType<typeof setTimeout> | undefined;
window.addEventListener('resize', () => {
  clearTimeout(resizing);
  resizing = setTimeout(render, 150);
});

// The canvas charts take the theme's colours when drawn: a theme switch (the body's vscode-light/-dark/
// -high-contrast class) draws them again.
new MutationObserver(() => render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });

send({ type: 'ready', payload: {} });
