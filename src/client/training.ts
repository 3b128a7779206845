// The commands that train: "Train Current Config", "Resume Run" and "Stop Training" (singleRun.ts), "Run Ablation"
// and "Cancel Ablation" (sweepRun.ts). This controller holds both, so that one training runs at a time, checks a
// config before either trains it, and tells the listeners (the runs panel) what they do.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { Backend } from '../core/config';
import { errorCount } from '../core/diagnostics';
import { SummaryRequest } from '../protocol/lsp';
import { runsRootFor, trainerPathOf } from './settings';
import { SingleRun } from './singleRun';
import { SweepRun } from './sweepRun';
import type { TrainingHost, TrainingListener } from './trainingHost';

export class TrainingController implements vscode.Disposable {
  private readonly status = vscode.window.createStatusBarItem('p2p.training', vscode.StatusBarAlignment.Left, 50);
  private readonly listeners = new Set<TrainingListener>();
  private readonly single: SingleRun;
  private readonly sweeps: SweepRun;

  constructor(
    extensionPath: string,
    private readonly lsp: LanguageClient,
    output: vscode.LogOutputChannel,
  ) {
    this.status.name = 'pix2pix training';
    this.status.command = 'p2p.openRunsPanel';
    const each = (f: (l: TrainingListener) => void) => this.listeners.forEach(f);
    const host: TrainingHost = {
      extensionPath,
      trainerPath: trainerPathOf(extensionPath),
      output,
      status: this.status,
      tell: {
        onEvent: (dir, e) => each((l) => l.onEvent(dir, e)),
        onProgress: (dir, step) => each((l) => l.onProgress?.(dir, step)),
        onStarted: (started) => each((l) => l.onStarted?.(started)),
        onSchedulerChange: () => each((l) => l.onSchedulerChange?.()),
      },
      busy: () => this.running,
      sayBusy: () => this.sayBusy(),
    };
    this.single = new SingleRun(host);
    this.sweeps = new SweepRun(host);
  }

  private get running(): boolean {
    return !!this.single.training || this.sweeps.running;
  }

  /** Whether a trainer started here is writing `dir` now. */
  isLive(dir: string): boolean {
    return this.single.isLive(dir) || this.sweeps.isLive(dir);
  }

  listen(l: TrainingListener): vscode.Disposable {
    this.listeners.add(l);
    return new vscode.Disposable(() => this.listeners.delete(l));
  }

  /** The folder runs go to: `p2p.runs.folder` (`runs/`) in the config's workspace folder (or beside the config). */
  runsRoot(config?: vscode.Uri): string {
    return runsRootFor(config);
  }

  /** The config to train: saved, free of errors, in a trusted workspace; else undefined after saying why. */
  private async configToTrain(arg: vscode.Uri | undefined, what: string): Promise<vscode.TextDocument | undefined> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(
        'pix2pix: training runs code on your data; trust this workspace first (Workspaces: Manage Workspace Trust).',
      );
      return undefined;
    }
    const doc = arg ? await vscode.workspace.openTextDocument(arg) : vscode.window.activeTextEditor?.document;
    if (!doc || doc.languageId !== 'p2p-yaml') {
      void vscode.window.showWarningMessage(`pix2pix: open a .p2p.yaml config to ${what} it.`);
      return undefined;
    }
    if (this.running) {
      this.sayBusy();
      return undefined;
    }
    if (doc.isDirty) await doc.save();
    const summary = await this.lsp.sendRequest(SummaryRequest, { uri: doc.uri.toString() });
    if (summary.failure) {
      void vscode.window.showErrorMessage(`pix2pix: the language server could not read the config: ${summary.failure}`);
      return undefined;
    }
    if (summary.errors > 0) {
      void vscode.window
        .showErrorMessage(
          `pix2pix: ${path.basename(doc.uri.fsPath)} has ${errorCount(summary.errors)}; fix them before training.`,
          'Show Problems',
        )
        .then((pick) => {
          if (pick) void vscode.commands.executeCommand('workbench.actions.view.problems');
        });
      return undefined;
    }
    return doc;
  }

  /** Trains the config; resolves once the trainer has started (true) or was refused or failed to start (false). */
  async trainCurrent(arg?: vscode.Uri): Promise<boolean> {
    const doc = await this.configToTrain(arg, 'train');
    return doc ? this.single.train(doc.uri) : false;
  }

  /** "pix2pix: Run Ablation": every variant of the config's `ablation:` section, as a resumable queue. */
  async ablate(arg?: vscode.Uri): Promise<void> {
    const doc = await this.configToTrain(arg, 'ablate');
    if (doc) await this.sweeps.ablate(doc.uri);
  }

  /**
   * "pix2pix: Cancel Ablation": stops the local queue (checkpoints first), or cancels a SLURM sweep's array.
   * Without a folder, asks which sweep.
   */
  cancelAblation(sweepDir?: string): Promise<void> {
    return this.sweeps.cancel(sweepDir);
  }

  /** Continues a run from its last checkpoint, on `backend` when given (checkpoints do not depend on the backend). */
  resume(runDir?: string, backend?: Backend): Promise<boolean> {
    return this.single.resume(runDir, backend);
  }

  stop(): void {
    if (this.sweeps.running) this.sweeps.stop();
    else this.single.stop();
  }

  /**
   * "Already running" lasts only while it is true: a notification that closes when the training ends (or after
   * 10 s), rather than a warning left on screen after the run has stopped.
   */
  private sayBusy(): void {
    const live = this.single.training;
    const step = live?.step !== undefined ? ` (step ${live.step})` : '';
    const what = live ? `${live.label} is training${step}` : 'an ablation is running';
    const ended = live ? live.ended : this.sweeps.ended;
    const title = `pix2pix: ${what}; stop it first.`;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
      Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 10_000))]),
    );
  }

  /** Checkpoint and stop within VS Code's deactivate budget (about 5 s), then end the trainers' process groups. */
  async shutdown(): Promise<void> {
    await Promise.all([this.sweeps.shutdown(), this.single.shutdown()]);
  }

  dispose(): void {
    void this.shutdown();
    this.status.dispose();
  }
}
