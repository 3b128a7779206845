// "pix2pix: Train Current Config", "Stop Training" and "Resume Run": the trainer runs in a child process
// (dist/trainer.js); progress shows in a cancellable notification and the status bar.

import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { errorCount } from '../core/diagnostics';
import { SummaryRequest } from '../protocol/lsp';
import type { Backend } from '../core/config';
import { clock } from '../core/units';
import type { ErrorPayload, StepPayload, TrainerEvent } from '../runFolders/contract';
import { TrainerProcess } from '../trainer/process';
import { readRunsAndSweeps } from '../runFolders/runFolders';
import { SweepRunner, type SweepEvent, type SweepOutcome } from '../sweep/runner';
import { cancelSweep, readSubmissions } from '../sweep/slurm';
import { readSweep } from '../runFolders/sweepFolder';

export interface TrainingListener {
  onEvent(runDir: string | undefined, event: TrainerEvent): void;
  /** A sweep was submitted to or cancelled on a scheduler: its states are worth reading again now. */
  onSchedulerChange?(): void;
}

export class TrainingController implements vscode.Disposable {
  private trainer: TrainerProcess | undefined;
  private runDir: string | undefined;
  private readonly status = vscode.window.createStatusBarItem('p2p.training', vscode.StatusBarAlignment.Left, 50);
  private readonly listeners = new Set<TrainingListener>();

  constructor(
    private readonly extensionPath: string,
    private readonly lsp: LanguageClient,
    private readonly output: vscode.LogOutputChannel,
  ) {
    this.status.name = 'pix2pix training';
    this.status.command = 'p2p.openRunsPanel';
  }

  private sweep: SweepRunner | undefined;
  /** Run folders of the sweep variants training now. */
  private readonly sweepLive = new Set<string>();

  get running(): boolean {
    return !!this.trainer || !!this.sweep;
  }

  /** Whether a trainer started here is writing `dir` now. */
  isLive(dir: string): boolean {
    const d = path.resolve(dir);
    return (!!this.trainer && !!this.runDir && path.resolve(this.runDir) === d) || this.sweepLive.has(d);
  }

  get liveRunDir(): string | undefined {
    return this.runDir;
  }

  listen(l: TrainingListener): vscode.Disposable {
    this.listeners.add(l);
    return new vscode.Disposable(() => this.listeners.delete(l));
  }

  /** The folder runs go to: `runs/` beside the config's workspace folder (or the config). */
  runsRoot(config?: vscode.Uri): string {
    const ws = config ? vscode.workspace.getWorkspaceFolder(config) : vscode.workspace.workspaceFolders?.[0];
    return path.join(ws?.uri.fsPath ?? (config ? path.dirname(config.fsPath) : process.cwd()), 'runs');
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
      void vscode.window.showWarningMessage('pix2pix: a training is already running; stop it first.');
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

  async trainCurrent(arg?: vscode.Uri): Promise<void> {
    const doc = await this.configToTrain(arg, 'train');
    if (!doc) return;
    await this.start(['--config', doc.uri.fsPath, '--out', this.runsRoot(doc.uri)], path.basename(doc.uri.fsPath));
  }

  /** "pix2pix: Run Ablation": every variant of the config's `ablation:` section, as a resumable queue. */
  async ablate(arg?: vscode.Uri): Promise<void> {
    const doc = await this.configToTrain(arg, 'ablate');
    if (!doc) return;
    const label = path.basename(doc.uri.fsPath);
    const view = new AblationView(this.status, this.output, this.sweepLive, (dir, e) => this.notify(dir, e));
    const runner = new SweepRunner(
      {
        file: doc.uri.fsPath,
        out: this.runsRoot(doc.uri),
        trainerPath: path.join(this.extensionPath, 'dist', 'trainer.js'),
      },
      (e) => view.event(e),
    );
    this.sweep = runner;
    try {
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `pix2pix: ablation of ${label}`, cancellable: true },
        (progress, token) => {
          view.report = (message) => progress.report({ message });
          token.onCancellationRequested(() => this.stop());
          return runner.run();
        },
      );
      if (outcome.submitted || outcome.active?.length) {
        this.schedulerChanged();
        showSubmitted(label, outcome);
      } else showAblationOutcome(label, outcome);
    } catch (e) {
      void vscode.window.showErrorMessage(`pix2pix: ablation of ${label}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      this.sweep = undefined;
      this.sweepLive.clear();
      this.status.hide();
      this.notify(undefined, { type: 'warning', payload: { message: 'ablation ended' } });
    }
  }

  /**
   * "pix2pix: Cancel Ablation": stops the local queue (checkpoints first), or cancels a SLURM sweep's array
   * (`scancel`: running tasks checkpoint and stop; run folders stay). Without a folder, asks which sweep.
   */
  async cancelAblation(sweepDir?: string): Promise<void> {
    if (this.sweep && !sweepDir) return this.stop();
    const dir = sweepDir ?? (await this.pickSubmittedSweep());
    if (!dir) return;
    const state = readSweep(dir);
    if (!state) return void vscode.window.showWarningMessage(`pix2pix: ${dir} holds no sweep.`);
    try {
      const said = await cancelSweep(dir, state.plan);
      this.output.info(`ablation ${state.plan.name}: ${said}`);
      void vscode.window.showInformationMessage(`pix2pix: ablation ${state.plan.name}: ${said}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`pix2pix: cannot cancel ${state.plan.name}: ${(e as Error).message}`);
    }
    this.schedulerChanged();
  }

  /** Sweeps under the runs folder that were submitted to SLURM, newest first; asks for one when there are several. */
  private async pickSubmittedSweep(): Promise<string | undefined> {
    const { sweeps } = readRunsAndSweeps(this.runsRoot(), () => false);
    const submitted = sweeps.filter((sw) => readSubmissions(sw.dir).length);
    if (!submitted.length) {
      void vscode.window.showInformationMessage('pix2pix: no ablation is running here or submitted to SLURM.');
      return undefined;
    }
    if (submitted.length === 1) return submitted[0].dir;
    const items = submitted.map((sw) => ({ label: sw.plan.name, description: sw.dir, dir: sw.dir }));
    return (await vscode.window.showQuickPick(items, { placeHolder: 'Ablation to cancel' }))?.dir;
  }

  private schedulerChanged(): void {
    for (const l of this.listeners) l.onSchedulerChange?.();
  }

  private notify(runDir: string | undefined, e: TrainerEvent): void {
    for (const l of this.listeners) l.onEvent(runDir, e);
  }

  /** Continues a run from its last checkpoint, on `backend` when given (checkpoints do not depend on the backend). */
  async resume(runDir?: string, backend?: Backend): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage('pix2pix: trust this workspace to train.');
      return;
    }
    let dir = runDir;
    if (!dir) {
      const root = this.runsRoot();
      const candidates = existsSync(root)
        ? readdirSync(root)
            .filter((d) => existsSync(path.join(root, d, 'checkpoints', 'latest.json')))
            .sort()
            .reverse()
        : [];
      if (!candidates.length) {
        void vscode.window.showInformationMessage(`pix2pix: no run with a checkpoint in ${root}.`);
        return;
      }
      const pick = await vscode.window.showQuickPick(candidates, { placeHolder: 'Run to resume' });
      if (!pick) return;
      dir = path.join(root, pick);
    }
    await this.start(['--resume', dir, ...(backend ? ['--backend', backend] : [])], path.basename(dir));
  }

  stop(): void {
    if (this.sweep) {
      this.sweep.stop();
      this.status.text = '$(sync~spin) pix2pix: stopping the ablation (checkpoints)...';
      return;
    }
    if (!this.trainer) {
      void vscode.window.showInformationMessage('pix2pix: no training is running.');
      return;
    }
    this.trainer.stop();
    this.status.text = '$(sync~spin) pix2pix: stopping (checkpoint)...';
  }

  /** Forks the trainer now; resolves once it has started (or exited), while a notification follows it to the end. */
  private start(args: string[], label: string): Promise<void> {
    if (this.running) {
      void vscode.window.showWarningMessage('pix2pix: a training is already running; stop it first.');
      return Promise.resolve();
    }
    const trainerPath = path.join(this.extensionPath, 'dist', 'trainer.js');
    this.output.info(`trainer: ${trainerPath} ${args.join(' ')}`);
    this.runDir = undefined;
    let notification: { progress: vscode.Progress<{ message?: string; increment?: number }>; reported: number };
    let resolveStart: () => void;
    const started = new Promise<void>((resolve) => (resolveStart = resolve));
    const trainer = new TrainerProcess(
      { trainerPath, args, cwd: this.extensionPath, stdout: 'pipe' },
      (e) => {
        if (e.type === 'step' && notification)
          notification.reported = this.showProgress(trainer, e.payload, notification.progress, notification.reported);
        this.logEvent(e, trainer);
        this.notify(this.runDir, e);
        if (e.type === 'started') resolveStart();
      },
      (text, stream) => (stream === 'stderr' ? this.output.warn : this.output.info).call(this.output, text.trimEnd()),
    );
    this.trainer = trainer;
    const ended = trainer.exited.then((exit) => {
      this.trainer = undefined;
      this.status.hide();
      this.output.info(`trainer exited with code ${exit.code}`);
      this.notify(this.runDir, { type: 'warning', payload: { message: `trainer exited (${exit.code})` } });
      resolveStart();
    });
    const title = `pix2pix: training ${label}`;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (progress, token) => {
        notification = { progress, reported: 0 };
        token.onCancellationRequested(() => this.stop());
        return ended;
      },
    );
    return started;
  }

  /** The notification's and the status bar's progress; returns the percentage now reported. */
  private showProgress(
    trainer: TrainerProcess,
    step: StepPayload,
    progress: vscode.Progress<{ message?: string; increment?: number }>,
    reported: number,
  ): number {
    const p = trainer.progress(step);
    const text = `step ${p.step}/${p.totalSteps} · ${step.imgPerSec.toFixed(1)} img/s · ETA ${clock(p.etaSeconds)}`;
    progress.report({ message: text, increment: p.fraction * 100 - reported });
    this.status.text = `$(pulse) pix2pix ${text}`;
    this.status.show();
    return p.fraction * 100;
  }

  private logEvent(e: TrainerEvent, trainer: TrainerProcess): void {
    if (e.type === 'started') {
      this.runDir = e.payload.runDir;
      this.output.info(`run ${e.payload.runDir} on ${e.payload.backend}: ${e.payload.backendLog.join('; ')}`);
    } else if (e.type === 'error') {
      this.output.error(e.payload.message);
      this.reportFailure(e.payload, this.runDir, trainer);
    } else if (e.type === 'warning') this.output.warn(e.payload.message);
    else if (e.type === 'finished') {
      const why = e.payload.why ? ` (${e.payload.why})` : '';
      this.output.info(`${e.payload.reason} at step ${e.payload.step}${why}: ${e.payload.runDir}`);
    }
  }

  /** Says why a run failed; after a GPU device failure, offers to go on from its checkpoint on the CPU. */
  private reportFailure(error: ErrorPayload, runDir: string | undefined, trainer: TrainerProcess): void {
    const text = `pix2pix training failed: ${error.message.split('\n')[0]}`;
    if (!error.device || !runDir) {
      void vscode.window.showErrorMessage(text);
      return;
    }
    const action = 'Resume on wasm';
    void vscode.window.showErrorMessage(text, action).then(async (pick) => {
      if (pick !== action) return;
      await trainer.exited; // the failed trainer is still exiting when the message shows
      await this.resume(runDir, 'wasm');
    });
  }

  /** Checkpoint and stop within VS Code's deactivate budget (about 5 s), then end the trainers' process groups. */
  async shutdown(): Promise<void> {
    await Promise.all([this.sweep?.shutdown(), this.trainer?.stopAndWait()]);
  }

  dispose(): void {
    void this.shutdown();
    this.status.dispose();
  }
}

/** The ablation's progress in the notification, the status bar and the output channel, from the queue's events. */
class AblationView {
  report: ((text: string) => void) | undefined;
  private readonly progressOf = new Map<string, string>();
  private readonly dirOf = new Map<string, string>();
  private total = 0;
  private done = 0;

  constructor(
    private readonly status: vscode.StatusBarItem,
    private readonly output: vscode.LogOutputChannel,
    private readonly live: Set<string>,
    private readonly notify: (runDir: string | undefined, e: TrainerEvent) => void,
  ) {}

  event(e: SweepEvent): void {
    if (e.type === 'planned') {
      this.total = e.variants.length;
      this.done = e.variants.filter((v) => v.mode === 'done').length;
      this.output.info(`ablation ${e.sweepDir}: ${e.variants.map((v) => `${v.name} (${v.mode})`).join(', ')}`);
      this.show();
    } else if (e.type === 'capacity') this.output.info(`ablation: ${e.parallel} variant(s) at a time (${e.why})`);
    else if (e.type === 'variant') this.variantEvent(e.variant, e.event);
    else if (e.type === 'exit') this.variantExit(e.variant, e.reason, e.error);
  }

  private variantEvent(variant: string, ev: TrainerEvent): void {
    if (ev.type === 'started') {
      this.dirOf.set(variant, ev.payload.runDir);
      this.live.add(path.resolve(ev.payload.runDir));
      this.output.info(
        `${variant}: ${ev.payload.runDir} on ${ev.payload.backend}: ${ev.payload.backendLog.join('; ')}`,
      );
    } else if (ev.type === 'step') {
      this.progressOf.set(variant, `${variant} ${ev.payload.step}`);
      this.show();
    } else if (ev.type === 'warning') this.output.warn(`${variant}: ${ev.payload.message}`);
    this.notify(this.dirOf.get(variant), ev);
  }

  private variantExit(variant: string, reason: string, error: string | undefined): void {
    const dir = this.dirOf.get(variant);
    if (dir) this.live.delete(path.resolve(dir));
    this.progressOf.delete(variant);
    if (reason === 'completed') this.done++;
    if (error) this.output.error(`${variant} failed: ${error}`);
    this.output.info(`${variant}: ${reason}`);
    this.show();
    this.notify(dir, { type: 'warning', payload: { message: `${variant} ${reason}` } });
  }

  private show(): void {
    const running = this.progressOf.size ? ` · ${[...this.progressOf.values()].join(' · ')}` : '';
    const text = `${this.done}/${this.total} variants done${running}`;
    this.report?.(text);
    this.status.text = `$(pulse) pix2pix ablation ${text}`;
    this.status.show();
  }
}

/** A sweep handed to SLURM: what was submitted and what was still queued from before. */
function showSubmitted(label: string, outcome: SweepOutcome): void {
  const s = outcome.submitted;
  const submitted = s ? `submitted to SLURM as job ${s.job} (${s.variants.length} variants, array ${s.array})` : '';
  const active = outcome.active?.length ? `${s ? '; ' : ''}${outcome.active.length} still queued or running` : '';
  void vscode.window
    .showInformationMessage(`pix2pix: ablation of ${label} ${submitted}${active}.`, 'Open Script')
    .then((pick) => {
      if (pick && s) void vscode.window.showTextDocument(vscode.Uri.file(s.script));
    });
}

function showAblationOutcome(label: string, outcome: SweepOutcome): void {
  const left = outcome.stopped.length + outcome.pending.length;
  const failed = outcome.failed.length ? `, ${outcome.failed.length} failed (${outcome.failed.join(', ')})` : '';
  const more = left ? `, ${left} left (Run Ablation again to continue)` : '';
  const summary = `pix2pix: ablation of ${label}: ${outcome.completed.length} completed${failed}${more}.`;
  const show = outcome.failed.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  void show(summary, 'Open Report').then((pick) => {
    if (!pick) return;
    const report = vscode.Uri.file(path.join(outcome.sweepDir, 'report.md'));
    void vscode.commands.executeCommand('markdown.showPreview', report);
  });
}
