// The runs panel in the webview: runs list, live curves, Train/Test samples with a step slider, and a
// side-by-side comparison. All state it needs to come back after being hidden lives in vscode.setState.

import { rowCells, TABLE_HEADER } from '../src/runs/sweepTable';
import { adapterWithFeatures, describeAdapter } from '../src/runs/contract';
import type { HostMessage, PanelRun, PanelSweep, PanelViewState, WebviewMessage } from './contract';

declare function acquireVsCodeApi(): {
  postMessage(m: WebviewMessage): void;
  getState(): PanelViewState | undefined;
  setState(s: PanelViewState): void;
};

const vscode = acquireVsCodeApi();
let runs: PanelRun[] = [];
let sweeps: PanelSweep[] = [];
const view: PanelViewState = vscode.getState() ?? { selected: [], split: 'test', tab: 'runs' };

const app = document.getElementById('app')!;
const send = (m: WebviewMessage) => vscode.postMessage(m);
const save = () => vscode.setState(view);
const fmt = (n: number | undefined, digits = 3) => (n === undefined || !Number.isFinite(n) ? '—' : n.toFixed(digits));
const count = (n: number | undefined) => (n === undefined ? '—' : n.toLocaleString('en-US'));
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

window.addEventListener('message', (e: MessageEvent<HostMessage>) => {
  const m = e.data;
  if (m.type === 'runs') {
    runs = m.payload.runs;
    sweeps = m.payload.sweeps ?? [];
    if (m.payload.tab) {
      view.tab = m.payload.tab;
      send({ type: 'tabShown', payload: { tab: m.payload.tab } });
    }
    view.selected = view.selected.filter((id) => runs.some((r) => r.id === id));
    if (!view.selected.length && runs.length) view.selected = [runs[0].id];
    render();
  } else if (m.type === 'select') {
    view.selected = m.payload.ids;
    render();
  }
});

function chart(title: string, series: { name: string; points: [number, number][] }[], height = 140): string {
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<div class="chart empty">${esc(title)}: no data yet</div>`;
  const width = 420;
  const pad = 30;
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]).filter(Number.isFinite);
  const [x0, x1] = [Math.min(...xs), Math.max(...xs, Math.min(...xs) + 1)];
  const [y0, y1] = [Math.min(...ys), Math.max(...ys, Math.min(...ys) + 1e-6)];
  const sx = (x: number) => pad + ((x - x0) / (x1 - x0)) * (width - pad - 8);
  const sy = (y: number) => height - 18 - ((y - y0) / (y1 - y0)) * (height - 32);
  const lines = series
    .map(
      (s, i) =>
        `<polyline class="s${i % 6}" fill="none" points="${s.points
          .filter((p) => Number.isFinite(p[1]))
          .map((p) => `${sx(p[0]).toFixed(1)},${sy(p[1]).toFixed(1)}`)
          .join(' ')}"><title>${esc(s.name)}</title></polyline>`,
    )
    .join('');
  const legend = series.map((s, i) => `<span class="key s${i % 6}">${esc(s.name)}</span>`).join(' ');
  return `<div class="chart"><div class="chart-title">${esc(title)} ${legend}</div><svg viewBox="0 0 ${width} ${height}" width="100%" height="${height}">
<text x="2" y="12" class="axis">${fmt(y1)}</text><text x="2" y="${height - 18}" class="axis">${fmt(y0)}</text>
<text x="${pad}" y="${height - 4}" class="axis">${x0}</text><text x="${width - 40}" y="${height - 4}" class="axis">${x1}</text>${lines}</svg></div>`;
}

function curves(r: PanelRun): string {
  const steps = r.steps;
  const evals = r.evals;
  return `<div class="charts">
${chart('Generator', [
  { name: 'L1', points: steps.map((s) => [s.step, s.gL1]) },
  { name: 'GAN', points: steps.map((s) => [s.step, s.gGan]) },
])}
${chart('Discriminator', [{ name: 'loss', points: steps.map((s) => [s.step, s.dLoss]) }])}
${chart('L1 train vs test', [
  { name: 'train', points: evals.map((e) => [e.step, e.train.l1]) },
  { name: 'test', points: evals.filter((e) => e.test).map((e) => [e.step, e.test!.l1]) },
])}
${chart('PSNR train vs test', [
  { name: 'train', points: evals.map((e) => [e.step, e.train.psnr]) },
  { name: 'test', points: evals.filter((e) => e.test).map((e) => [e.step, e.test!.psnr]) },
])}
${chart('SSIM train vs test', [
  { name: 'train', points: evals.map((e) => [e.step, e.train.ssim]) },
  { name: 'test', points: evals.filter((e) => e.test).map((e) => [e.step, e.test!.ssim]) },
])}
</div>`;
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
  return `<div class="samples">
<div class="controls">
  <label><input type="radio" name="split" value="train" ${view.split === 'train' ? 'checked' : ''}> Train</label>
  <label><input type="radio" name="split" value="test" ${view.split === 'test' ? 'checked' : ''}> Test</label>
  <input id="step" type="range" min="0" max="${steps.length - 1}" value="${idx}" data-steps="${steps.join(',')}">
  <span id="step-label">step ${current}${view.step === undefined ? ' (newest)' : ''}</span>
</div>
<div class="rows-legend">rows: input / generated / target</div>
<img class="sample" src="${s.uri}" alt="${view.split} samples at step ${current}" data-enlarge>
</div>`;
}

/** The run header's backend line: the backend, the GPU adapter and its features, and earlier backends of a resumed run. */
function backendLine(r: PanelRun): string {
  if (!r.backend) return '';
  const a = r.adapter;
  const gpu = a ? `: ${esc(adapterWithFeatures(a))}` : '';
  const earlier = r.backends.length > 1 ? ` · resumed from ${esc(r.backends.slice(0, -1).join(' → '))}` : '';
  return `<p class="run-backend">Backend <b>${esc(r.backend)}</b>${gpu}${earlier}</p>`;
}

/** A failed run's error; after a GPU device failure, the way on from its checkpoint. */
function errorLine(r: PanelRun): string {
  if (!r.error || r.status === 'running') return '';
  const resume = r.deviceError ? ` <button data-resume="${esc(r.id)}" data-backend="wasm">Resume on wasm</button>` : '';
  return `<p class="run-error">${esc(r.error)}${resume}</p>`;
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
      const action =
        r.status === 'running'
          ? '<button data-stop>Stop</button>'
          : r.status !== 'completed'
            ? `<button data-resume="${esc(r.id)}">Resume</button>`
            : '';
      return `<tr class="${sel ? 'selected' : ''}" data-run="${esc(r.id)}">
<td><input type="checkbox" data-select="${esc(r.id)}" ${sel ? 'checked' : ''}></td>
<td>${esc(r.name)}<div class="muted">${esc(r.id)}</div></td>
<td class="status ${r.status}">${r.status}${r.error ? ` <span title="${esc(r.error)}">⚠</span>` : ''}</td>
<td${r.adapter ? ` title="${esc(describeAdapter(r.adapter))}"` : ''}>${esc(r.backends.join(' → ') || '—')}</td><td class="num">${count(r.params ? r.params.generator + r.params.discriminator : undefined)}</td>
<td class="num">${r.step}/${r.totalSteps ?? '?'}</td><td class="num">${fmt(r.bestTestL1)}</td>
<td class="diff">${diff}</td><td><input type="radio" name="base" data-base="${esc(r.id)}" title="compare configs against this run"></td><td>${action}</td></tr>`;
    })
    .join('');
  return `<table class="runs"><thead><tr><th></th><th>run</th><th>status</th><th>backend</th><th>params</th><th>step</th><th>best test L1</th><th>config vs base</th><th>base</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

function compare(): string {
  const chosen = runs.filter((r) => view.selected.includes(r.id));
  if (chosen.length < 2)
    return '<p class="muted">Select two or more runs (checkboxes in the Runs tab) to compare them.</p>';
  const commonStep = Math.min(
    ...chosen.map((r) => Math.max(-1, ...r.samples.filter((s) => s.split === view.split).map((s) => s.step))),
  );
  const table = `<table class="compare"><thead><tr><th>run</th><th>params</th><th>MACs</th><th>train L1</th><th>test L1</th><th>gap</th><th>img/s</th></tr></thead><tbody>${chosen
    .map(
      (r) =>
        `<tr><td>${esc(r.name)}<div class="muted">${esc(r.id)}</div></td><td class="num">${count(r.params ? r.params.generator : undefined)}</td><td class="num">${r.macs ? (r.macs / 1e6).toFixed(1) + ' M' : '—'}</td><td class="num">${fmt(r.lastEval?.train.l1)}</td><td class="num">${fmt(r.lastEval?.test?.l1)}</td><td class="num">${fmt(r.lastEval?.gap?.l1)}</td><td class="num">${fmt(r.medianImgPerSec, 1)}</td></tr>`,
    )
    .join('')}</tbody></table>`;
  const images = chosen
    .map((r) => {
      const s = sampleAt(r, view.split, commonStep);
      return `<figure><figcaption>${esc(r.name)} · ${esc(r.id)} · step ${s?.step ?? '—'}</figcaption>${s ? `<img class="sample" src="${s.uri}" data-enlarge>` : '<p class="muted">no sample</p>'}</figure>`;
    })
    .join('');
  return `${table}<div class="controls"><label><input type="radio" name="split" value="train" ${view.split === 'train' ? 'checked' : ''}> Train</label><label><input type="radio" name="split" value="test" ${view.split === 'test' ? 'checked' : ''}> Test</label> at step ${commonStep}</div><div class="side-by-side">${images}</div>`;
}

/** One table per sweep (the report's columns), test L1 curves of its variants, and buttons to compare or report. */
function ablations(): string {
  if (!sweeps.length)
    return '<p class="muted">No ablations yet. Add an <code>ablation:</code> section to a .p2p.yaml config and run "pix2pix: Run Ablation".</p>';
  return sweeps
    .map((sw) => {
      const head = TABLE_HEADER.map((h) => `<th>${esc(h)}</th>`).join('');
      const rows = sw.rows
        .map((r, i) => {
          const id = sw.runIds[i];
          return `<tr class="${id && view.selected.includes(id) ? 'selected' : ''}"${id ? ` data-run="${esc(id)}"` : ''}>${rowCells(
            r,
          )
            .map(
              (c, j) =>
                `<td class="${j >= 3 && j <= 11 ? 'num' : ''}${j === 12 ? ` status ${r.status}` : ''}"${j === 12 && r.error ? ` title="${esc(r.error)}"` : ''}>${esc(c)}${j === 12 && r.error ? ' ⚠' : ''}</td>`,
            )
            .join('')}</tr>`;
        })
        .join('');
      const byId = new Map(runs.map((r) => [r.id, r]));
      const series = sw.rows.map((r, i) => ({
        name: r.variant,
        points: (byId.get(sw.runIds[i] ?? '')?.evals ?? [])
          .filter((e) => e.test)
          .map((e): [number, number] => [e.step, e.test!.l1]),
      }));
      const gaps = sw.rows.map((r) => ({
        name: r.variant,
        points: (byId.get(sw.runIds[sw.rows.indexOf(r)] ?? '')?.evals ?? [])
          .filter((e) => e.gap)
          .map((e): [number, number] => [e.step, e.gap!.l1]),
      }));
      const done = sw.rows.filter((r) => r.status === 'completed').length;
      return `<section class="sweep"><h2>${esc(sw.name)} <span class="muted">${done}/${sw.rows.length} done · seed ${sw.seed} · ${esc(sw.data.train)}${sw.data.test ? ` → ${esc(sw.data.test)}` : ''}${sw.steps ? ` · ${sw.steps} steps` : ''}</span></h2>
<div class="controls"><button data-compare-sweep="${esc(sw.id)}">Compare variants</button> <button data-report="${esc(sw.id)}">Open report</button></div>
<table class="runs ablation"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>
<div class="charts">${chart('Test L1 per variant', series)}${chart('Gap (test − train L1) per variant', gaps)}</div></section>`;
    })
    .join('');
}

function render(): void {
  save();
  const tabs = `<nav><button data-tab="runs" class="${view.tab === 'runs' ? 'active' : ''}">Runs</button><button data-tab="compare" class="${view.tab === 'compare' ? 'active' : ''}">Compare</button><button data-tab="ablations" class="${view.tab === 'ablations' ? 'active' : ''}">Ablations</button></nav>`;
  if (view.tab === 'ablations') {
    app.innerHTML = `${tabs}${ablations()}`;
    return;
  }
  if (!runs.length) {
    app.innerHTML = `${tabs}<p class="muted">No runs yet. Open a .p2p.yaml file and run "pix2pix: Train Current Config".</p>`;
    return;
  }
  const current = runs.find((r) => r.id === view.selected[0]);
  app.innerHTML =
    view.tab === 'runs'
      ? `${tabs}${runsTable()}${current ? `<h2>${esc(current.name)} <span class="muted">${esc(current.id)} · ${current.status}</span></h2>${backendLine(current)}${errorLine(current)}${curves(current)}${samples(current)}` : ''}`
      : `${tabs}${compare()}`;
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
    view.selected = (sw?.runIds ?? []).filter((id): id is string => !!id);
    view.tab = 'compare';
    view.step = undefined;
    render();
  } else if (t.dataset.report !== undefined) {
    send({ type: 'openReport', payload: { id: t.dataset.report } });
  } else if (t.dataset.enlarge !== undefined) {
    t.classList.toggle('enlarged');
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
  } else if (t.name === 'split') {
    view.split = t.value as 'train' | 'test';
    render();
  }
});

send({ type: 'ready', payload: {} });
