// The runs panel: a webview fed with the run folders under runs/. It reads them again when they change
// (debounced), loads images only from inside those folders, and restores itself through a serializer. It probes a
// run's skips on request, in a trainer process (`p2p probe`), and shows the probe beside the run.

import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { analyze } from '../core/analysis';
import { readRunsAndSweeps, sampleInside, type RunCache } from '../runFolders/runFolders';
import type { SampleRef } from '../protocol/runs';
import { configDiff } from '../runFolders/runState';
import { probeMtime, readProbe } from '../runFolders/probes';
import { hasCheckpoint } from '../runFolders/checkpoints';
import type { HostMessage, PanelProbe, PanelRun, PanelSweep, WebviewMessage } from '../protocol/panel';
import { isWebviewMessage } from '../protocol/panel';
import { isActive } from '../core/slurm';
import type { SweepState } from '../runFolders/sweepFolder';
import { pollMs, SchedulerWatch } from './schedulerWatch';
import { readSettings, trainerEnv } from './settings';
import type { TrainingController } from './training';
import type { Translations } from './translations';
import { exportRun, type ExportFormat } from '../host/export';
import { probeInProcess } from '../host/trainerProcess';
import type { Translation } from '../protocol/trainer';

const PANEL_VIEW_TYPE = 'p2p.runsPanel';

export class RunsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private base: string | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly cache: RunCache = new Map();
  /** What the webview was last sent of each run (by id): a run whose key is unchanged is not sent again. */
  private readonly sent = new Map<string, string>();
  /** Each run's samples as last shown: their paths and URIs (sampleUris). */
  private readonly samplesShown = new Map<string, { generation: number; paths: string[]; uris: PanelRun['samples'] }>();
  /** Generator MACs per run folder: a run's config never changes. */
  private readonly macs = new Map<string, number | undefined>();
  readonly scheduler: SchedulerWatch;
  /** Polls while a SLURM sweep has tasks queued or running: its runs write on other nodes, unseen by watchers. */
  private poll: NodeJS.Timeout | undefined;
  /** The step of each live run as the training notification shows it, so the table reads the same. */
  private readonly liveSteps = new Map<string, number>();
  /** A run just started, to select once the panel lists it. */
  private follow: string | undefined;
  private watch: vscode.Disposable[] = [];
  /** The run folders being probed: one probe of a run at a time. */
  private readonly probing = new Set<string>();
  /** Why the last probe of a run folder failed, until it is probed again. */
  private readonly probeErrors = new Map<string, string>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly training: TrainingController,
    private readonly translations: Translations,
  ) {
    const trainerPath = path.join(extensionUri.fsPath, 'dist', 'trainer.js');
    this.scheduler = new SchedulerWatch({ trainerPath }, () => this.refreshSoon(50));
    this.disposables.push(
      training.listen({
        onEvent: (runDir, e) => {
          if (e.type === 'finished' && runDir) this.liveSteps.delete(path.resolve(runDir));
          this.refreshSoon(250);
        },
        onProgress: (runDir, step) => {
          this.liveSteps.set(path.resolve(runDir), step);
          this.post();
        },
        onStarted: (started) => this.onStarted(started),
        onSchedulerChange: () => {
          this.scheduler.invalidate();
          this.refreshSoon(50);
        },
      }),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => this.attach(panel),
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('p2p.runs.folder') || !this.panel) return;
        this.panel.webview.options = this.options();
        this.watchRoot();
        this.post();
      }),
    );
  }

  /** Opens on a training that started (when `p2p.panel.openOnTrain`), selects its run and follows it. */
  private onStarted(started: { runDir: string } | { sweepDir: string }): void {
    if (readSettings().openPanelOnTrain) this.show();
    if ('sweepDir' in started) return this.showTab('ablations');
    const id = path.relative(this.root, started.runDir).split(path.sep).join('/');
    if (id.startsWith('..')) return;
    this.follow = id;
    if (!id.includes('/')) this.showTab('runs');
    else this.post();
  }

  private get root(): string {
    return this.training.runsRoot();
  }

  private options(): vscode.WebviewOptions & vscode.WebviewPanelOptions {
    return {
      enableScripts: true,
      retainContextWhenHidden: false,
      // Only the panel's own script, the run folders (probes/ beside a run is in them too) and the translations:
      // nothing else on disk can be loaded.
      localResourceRoots: [
        vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'),
        vscode.Uri.file(this.root),
        vscode.Uri.file(this.translations.root),
      ],
    };
  }

  show(): void {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    this.attach(
      vscode.window.createWebviewPanel(PANEL_VIEW_TYPE, 'pix2pix Runs', vscode.ViewColumn.Beside, this.options()),
    );
  }

  private attach(panel: vscode.WebviewPanel): void {
    this.panel = panel;
    this.ready = false;
    panel.webview.options = this.options();
    panel.webview.html = this.html(panel.webview);
    this.watchRoot();
    const subs = [panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m))];
    panel.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      this.watch.forEach((s) => s.dispose());
      this.watch = [];
      this.panel = undefined;
      clearInterval(this.poll);
      this.poll = undefined;
    });
  }

  /** Watches the runs folder (again, after `p2p.runs.folder` changed). */
  private watchRoot(): void {
    this.watch.forEach((s) => s.dispose());
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(this.root), '**/{events.jsonl,resolved.json,probe.json}'),
    );
    this.watch = [
      watcher,
      watcher.onDidChange(() => this.refreshSoon(500)),
      watcher.onDidCreate(() => this.refreshSoon(500)),
      watcher.onDidDelete(() => this.refreshSoon(100)),
    ];
  }

  private onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) return;
    const msg: WebviewMessage = m;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.sent.clear(); // a new webview knows no run yet
        this.post();
        break;
      case 'tabShown':
        if (this.pendingTab === msg.payload.tab) this.pendingTab = undefined;
        break;
      case 'setBase':
        this.base = msg.payload.id;
        this.post();
        break;
      case 'stop':
        this.training.stop();
        break;
      case 'resume': {
        const dir = this.runDir(msg.payload.id);
        if (dir) void this.training.resume(dir, msg.payload.backend);
        break;
      }
      case 'translate': {
        const runs = msg.payload.ids.flatMap((id) => this.runDir(id) ?? []);
        const { image } = msg.payload;
        if (image) void this.translate(runs, [this.translations.saveDropped(image.name, image.base64)]);
        else void this.translations.pick(runs).then((p) => p && this.translate(p.runs, p.images));
        break;
      }
      case 'abDifference':
        void this.abDifference(msg.payload.image, msg.payload.a, msg.payload.b);
        break;
      case 'export': {
        const dir = this.runDir(msg.payload.id);
        if (dir) exportFromPanel(dir, msg.payload.format, path.join(path.dirname(this.root), 'exports'));
        break;
      }
      case 'probe': {
        const dir = this.runDir(msg.payload.id);
        if (dir) void this.probe(dir);
        break;
      }
      case 'cancelAblation':
        void this.training.cancelAblation(path.join(this.root, path.basename(msg.payload.id)));
        break;
      case 'openReport': {
        const report = vscode.Uri.file(path.join(this.root, path.basename(msg.payload.id), 'report.md'));
        void vscode.commands.executeCommand('markdown.showPreview', report);
        break;
      }
    }
  }

  /** A panel run id (`run` or `sweep/variant`) as its folder; never a path out of the runs folder. */
  private runDir(id: string): string | undefined {
    const parts = id.split('/').filter((p) => p && p !== '.' && p !== '..');
    return parts.length ? path.join(this.root, ...parts.slice(0, 2)) : undefined;
  }

  /** Translates in a trainer process and shows the result in Compare; a failure is said in the panel and a message. */
  async translate(runs: string[], images: string[]): Promise<void> {
    this.show();
    try {
      this.showTranslation(await this.translations.translate(runs, images));
    } catch (e) {
      const message = (e as Error).message;
      void this.panel?.webview.postMessage({ type: 'translateFailed', payload: { message } } satisfies HostMessage);
      void vscode.window.showErrorMessage(`pix2pix: translation failed: ${message}`);
    }
  }

  /**
   * Probes a run's skips in a trainer process, one probe of a run at a time and none of a run training; the panel
   * shows the probe when probe.json is written, and a failure in the run's details and a message.
   */
  private async probe(dir: string): Promise<void> {
    if (this.probing.has(dir) || this.training.isLive(dir)) return;
    this.probing.add(dir);
    this.probeErrors.delete(dir);
    this.post();
    const trainerPath = path.join(this.extensionUri.fsPath, 'dist', 'trainer.js');
    const title = `pix2pix: probing the skips of ${path.basename(dir)}`;
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
        probeInProcess(trainerPath, { run: dir, backend: readSettings().backend }, trainerEnv()),
      );
    } catch (e) {
      const message = (e as Error).message;
      this.probeErrors.set(dir, message);
      void vscode.window.showErrorMessage(`pix2pix: probing ${path.basename(dir)} failed: ${message}`);
    } finally {
      this.probing.delete(dir);
      this.post();
    }
  }

  private showTranslation(t: Translation): void {
    const webview = this.panel?.webview;
    if (!webview) return;
    const uri = (file: string) => webview.asWebviewUri(vscode.Uri.file(file)).toString();
    const payload = {
      images: t.images.map((img) => ({
        name: img.name,
        original: uri(img.original),
        outputs: img.outputs.map((o) => ({
          label: o.label,
          step: o.step,
          mode: o.mode,
          input: uri(o.input),
          output: uri(o.output),
        })),
      })),
    };
    void webview.postMessage({ type: 'translation', payload } satisfies HostMessage);
  }

  private async abDifference(image: number, a: number, b: number): Promise<void> {
    try {
      const { file, max } = await this.translations.difference(image, a, b);
      const uri = this.panel!.webview.asWebviewUri(vscode.Uri.file(file)).toString();
      void this.panel?.webview.postMessage({
        type: 'abDifference',
        payload: { image, a, b, uri, max },
      } satisfies HostMessage);
    } catch (e) {
      void this.panel?.webview.postMessage({
        type: 'translateFailed',
        payload: { message: (e as Error).message },
      } satisfies HostMessage);
    }
  }

  /**
   * Switches the panel to a tab. The request rides on every `runs` message until the page says it showed it: a
   * hidden webview is discarded (no retained context), so a message sent while it reloads would be lost.
   */
  showTab(tab: 'runs' | 'compare' | 'ablations'): void {
    this.pendingTab = tab;
    this.post();
  }

  private pendingTab: 'runs' | 'compare' | 'ablations' | undefined;

  refreshSoon(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.post(), delay);
  }

  private post(): void {
    if (!this.panel || !this.ready) return;
    const webview = this.panel.webview;
    const { runs, sweeps } = readRunsAndSweeps(this.root, (dir) => this.training.isLive(dir), this.cache);
    const base = runs.find((r) => r.id === this.base) ?? runs[runs.length - 1];
    const baseKey = `${base?.id}@${base ? this.cache.get(base.dir)?.key : ''}`;
    // Only the runs that changed since the last message go to the webview; it keeps the others.
    const changed = runs.filter((r) => {
      const liveStep = r.status === 'running' ? this.liveSteps.get(path.resolve(r.dir)) : undefined;
      const probe = `${probeMtime(r.dir)}|${this.probing.has(r.dir)}|${this.probeErrors.get(r.dir)}`;
      const key = `${this.cache.get(r.dir)?.key}|${r.status}|${liveStep}|${baseKey}|${r.name}|${r.sweep}|${probe}`;
      if (this.sent.get(r.id) === key) return false;
      this.sent.set(r.id, key);
      return true;
    });
    const panelRuns: PanelRun[] = changed.map((r) => {
      const { config, samples, ...rest } = r;
      if (!this.macs.has(r.dir)) this.macs.set(r.dir, macsOf(r.dir));
      const macs = this.macs.get(r.dir);
      const liveStep = r.status === 'running' ? this.liveSteps.get(path.resolve(r.dir)) : undefined;
      return {
        ...rest,
        ...(liveStep !== undefined ? { step: liveStep } : {}),
        macs,
        diff:
          base?.config && config && base !== r ? configDiff(base.config, config).filter((c) => c.path !== 'name') : [],
        samples: this.sampleUris(r.dir, samples),
        checkpointed: hasCheckpoint(r.dir),
        ...this.probeOf(r.dir),
      };
    });
    const panelSweeps = sweeps.map((sw) => this.panelSweep(sw));
    const follow = this.follow && panelRuns.some((r) => r.id === this.follow) ? this.follow : undefined;
    if (follow) this.follow = undefined;
    this.pollWhile(panelSweeps.some((sw) => !!sw.scheduler?.active));
    const message: HostMessage = {
      type: 'runs',
      payload: {
        runs: panelRuns,
        order: runs.map((r) => r.id),
        sweeps: panelSweeps,
        root: this.root,
        ...(this.pendingTab ? { tab: this.pendingTab } : {}),
        ...(follow ? { select: follow } : {}),
      },
    };
    void webview.postMessage(message);
  }

  /**
   * A run's samples as webview URIs (with the file's mtime, so a sample rewritten after a resume is loaded again).
   * Only samples appended since the last refresh are looked at (all again after events.jsonl was rewritten by a
   * resume): a long run's refresh does not stat every figure.
   */
  private sampleUris(dir: string, samples: readonly SampleRef[]): PanelRun['samples'] {
    const webview = this.panel!.webview;
    const known = this.samplesShown.get(dir);
    const generation = this.cache.get(dir)?.tail.generation ?? -1;
    const extends_ =
      known?.generation === generation &&
      known.paths.length <= samples.length &&
      known.paths.at(-1) === samples[known.paths.length - 1]?.path;
    const kept = extends_ ? known : { generation, paths: [] as string[], uris: [] as PanelRun['samples'] };
    for (const s of samples.slice(kept.paths.length)) {
      kept.paths.push(s.path);
      const file = sampleInside(dir, s.path);
      if (!file) continue;
      let mtime = 0;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue; // deleted while shown
      }
      const uri = `${webview.asWebviewUri(vscode.Uri.file(file)).toString()}?v=${Math.round(mtime)}`;
      kept.uris.push({ step: s.step, split: s.split, uri, ...(s.neighbours ? { neighbours: s.neighbours } : {}) });
    }
    this.samplesShown.set(dir, kept);
    return [...kept.uris];
  }

  /** A run's probe (its figures as webview URIs, loaded again when rewritten), whether one runs, and its failure. */
  private probeOf(dir: string): Pick<PanelRun, 'probe' | 'probing' | 'probeError'> {
    const webview = this.panel!.webview;
    const found = readProbe(dir);
    const error = this.probeErrors.get(dir);
    let probe: PanelProbe | undefined;
    if (found) {
      const { run: _run, figures, ...rest } = found;
      const v = Math.round(probeMtime(dir) ?? 0);
      const uri = (file: string) => `${webview.asWebviewUri(vscode.Uri.file(file)).toString()}?v=${v}`;
      const alphaZero = figures.alphaZero.map((f) => ({ ...f, image: uri(f.image) }));
      probe = { ...rest, figures: { unmodified: uri(figures.unmodified), alphaZero } };
    }
    return {
      ...(probe ? { probe } : {}),
      ...(this.probing.has(dir) ? { probing: true } : {}),
      ...(error ? { probeError: error } : {}),
    };
  }

  /** A sweep as the panel shows it; a SLURM sweep's rows carry their scheduler states. */
  private panelSweep(sw: SweepState): PanelSweep {
    const id = path.basename(sw.dir);
    const slurm = sw.plan.executor === 'slurm';
    const status = slurm ? this.scheduler.status(sw.dir, sw.plan) : undefined;
    const rows = status ? sw.rows.map((r) => ({ ...r, scheduler: status.states.get(r.variant) })) : sw.rows;
    const jobs = [...new Set(rows.flatMap((r) => (r.scheduler?.job ? [r.scheduler.job.split('_')[0]] : [])))];
    return {
      id,
      name: sw.plan.name,
      rows,
      runIds: sw.plan.variants.map((v) => (sw.runs.has(v.name) ? `${id}/${v.dir}` : undefined)),
      steps: sw.plan.steps,
      data: sw.plan.data,
      seed: sw.plan.seed,
      executor: slurm ? 'slurm' : 'local',
      ...(slurm
        ? {
            scheduler: {
              jobs,
              active: rows.filter((r) => isActive(r.scheduler)).length,
              ...(status?.error ? { error: status.error } : {}),
            },
          }
        : {}),
    };
  }

  private pollWhile(active: boolean): void {
    if (active && !this.poll) this.poll = setInterval(() => this.post(), pollMs());
    else if (!active && this.poll) {
      clearInterval(this.poll);
      this.poll = undefined;
    }
  }

  private html(webview: vscode.Webview): string {
    const nonce = Array.from({ length: 32 }, () => Math.floor(Math.random() * 16).toString(16)).join('');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'main.js'));
    const css = webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'main.css'));
    const csp = `default-src 'none'; img-src ${webview.cspSource}; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';`;
    return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link rel="stylesheet" href="${css}"><title>pix2pix Runs</title></head>
<body><div id="app">Loading runs...</div><script nonce="${nonce}" src="${script}"></script></body></html>`;
  }

  dispose(): void {
    clearTimeout(this.timer);
    clearInterval(this.poll);
    this.panel?.dispose();
    this.disposables.forEach((d) => d.dispose());
  }
}

/** The panel's Export buttons: the newest checkpoint's generator into exports/, then where it went. */
function exportFromPanel(runDir: string, format: ExportFormat, root: string): void {
  try {
    const out = path.join(root, `${path.basename(runDir)}-${format}`);
    const files = exportRun(runDir, { format, out });
    void vscode.window
      .showInformationMessage(`pix2pix: exported ${path.basename(files[0])} to ${out}.`, 'Reveal')
      .then((pick) => {
        if (pick) void vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(files[0]));
      });
  } catch (e) {
    void vscode.window.showErrorMessage(`pix2pix: export failed: ${(e as Error).message}`);
  }
}

function macsOf(dir: string): number | undefined {
  try {
    const text = readFileSync(path.join(dir, 'config.p2p.yaml'), 'utf8');
    return analyze(text).generator?.totals.macs;
  } catch {
    return undefined;
  }
}
