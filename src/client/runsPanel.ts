// The runs panel's webview host: it opens (or restores, through a serializer) the webview, dispatches its messages
// and posts it the runs. What a run looks like in the panel is panelModel.ts's (a pure function of the folders, read
// by panelReader.ts); when to read them again is runsWatcher.ts's. It probes a run's skips on request, in a trainer
// process (`p2p probe`), and shows the probe beside the run.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { ExportFormat, HostMessage, WebviewMessage } from '../protocol/panel';
import { isWebviewMessage } from '../protocol/panel';
import { NOTHING_SENT, panelUpdate, type RunFacts, type Sent } from './panelModel';
import { PanelReader } from './panelReader';
import { RunsWatcher } from './runsWatcher';
import { readSettings, trainerEnv, trainerPathOf } from './settings';
import type { TrainingController } from './training';
import type { Translations } from './translations';
import { exportRun } from '../host/export';
import { probeInProcess } from '../host/trainerProcess';
import type { Translation } from '../protocol/trainer';

const PANEL_VIEW_TYPE = 'p2p.runsPanel';

export class RunsPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ready = false;
  private base: string | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly reader = new PanelReader();
  private readonly watcher: RunsWatcher;
  /** The view key of each run (by id) the webview was last sent: a run whose key is unchanged is not sent again. */
  private sent: Sent = NOTHING_SENT;
  /** The step of each live run as the training notification shows it, so the table reads the same. */
  private readonly liveSteps = new Map<string, number>();
  /** A run just started, to select once the panel lists it. */
  private follow: string | undefined;
  /** The run folders being probed: one probe of a run at a time. */
  private readonly probing = new Set<string>();
  /** Why the last probe of a run folder failed, until it is probed again. */
  private readonly probeErrors = new Map<string, string>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly training: TrainingController,
    private readonly translations: Translations,
  ) {
    const trainerPath = trainerPathOf(extensionUri.fsPath);
    this.watcher = new RunsWatcher(
      () => this.root,
      trainerPath,
      () => this.post(),
    );
    this.disposables.push(
      this.watcher,
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
          this.watcher.scheduler.invalidate();
          this.refreshSoon(50);
        },
      }),
      vscode.window.registerWebviewPanelSerializer(PANEL_VIEW_TYPE, {
        deserializeWebviewPanel: async (panel) => this.attach(panel),
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (!e.affectsConfiguration('p2p.runs.folder') || !this.panel) return;
        this.panel.webview.options = this.options();
        this.watcher.watchRoot();
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
    this.watcher.watchRoot();
    const subs = [panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m))];
    panel.onDidDispose(() => {
      subs.forEach((s) => s.dispose());
      this.watcher.unwatch();
      this.panel = undefined;
    });
  }

  private onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) return;
    const msg: WebviewMessage = m;
    switch (msg.type) {
      case 'ready':
        this.ready = true;
        this.sent = NOTHING_SENT; // a new webview knows no run yet
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
    const trainerPath = trainerPathOf(this.extensionUri.fsPath);
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
    this.watcher.refreshSoon(delay);
  }

  /** Reads the run folders and sends the webview the runs whose view changed (all of them to a new webview). */
  private post(): void {
    if (!this.panel || !this.ready) return;
    const webview = this.panel.webview;
    const { runs, sweeps } = this.reader.read(this.root, (dir) => this.training.isLive(dir));
    const input = { runs, sweeps, root: this.root, base: this.base, tab: this.pendingTab, follow: this.follow };
    const update = panelUpdate(input, this.facts(webview), this.sent);
    this.sent = update.sent;
    if (update.followed) this.follow = undefined;
    this.watcher.pollWhile(update.schedulerActive);
    if (!update.empty) void webview.postMessage({ type: 'runs', payload: update.payload } satisfies HostMessage);
  }

  /** What the view model asks of a run folder: what was read of it, and the host's own state of it. */
  private facts(webview: vscode.Webview): RunFacts {
    return {
      ...this.reader.facts((file) => webview.asWebviewUri(vscode.Uri.file(file)).toString()),
      liveStep: (dir) => this.liveSteps.get(path.resolve(dir)),
      probing: (dir) => this.probing.has(dir),
      probeError: (dir) => this.probeErrors.get(dir),
      schedulerStatus: (sw) => this.watcher.scheduler.status(sw.dir, sw.plan),
    };
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
