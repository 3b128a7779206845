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
import type { ErrorPayload, StepPayload, TrainerEvent } from '../protocol/trainer';
import { TrainerProcess } from '../host/trainerProcess';
import { readRunsAndSweeps } from '../runFolders/runFolders';
import { SweepRunner } from '../sweep/runner';
import { executorOfPlan } from '../sweep/executors';
import { readSweep, type SweepPlan } from '../runFolders/sweepFolder';
import type { SweepExecutor } from '../sweep/executor';
import { AblationView, showAblationOutcome, showSubmitted } from './ablationView';
import { readSettings, runsRootFor, trainerEnv } from './settings';
import { PROGRESS_MS, Ticker } from './ticker';
import { hasCheckpoint } from '../runFolders/checkpoints';

export interface TrainingListener {
  /** Every event but steps, which come through `onProgress`. */
  onEvent(runDir: string | undefined, event: TrainerEvent): void;
  /** The step a live run is at, as the notification shows it now (twice a second at most). */
  onProgress?(runDir: string, step: number): void;
  /** A training was accepted and started writing `runDir`, or an ablation was planned into `sweepDir`. */
  onStarted?(started: { runDir: string } | { sweepDir: string }): void;
  /** A sweep was submitted to or cancelled on a scheduler: its states are worth reading again now. */
  onSchedulerChange?(): void;
}

/** The training started here: its process, label, newest step and checkpoint, and its notification. */
interface LiveTraining {
  trainer: TrainerProcess;
  label: string;
  latest?: StepPayload;
  checkpoint?: number;
  notification?: { progress: vscode.Progress<{ message?: string; increment?: number }>; reported: number };
  ticker: Ticker;
}

export class TrainingController implements vscode.Disposable {
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
  private sweepEnded: Promise<unknown> = Promise.resolve();
  private live: LiveTraining | undefined;
  /** Run folders of the sweep variants training now. */
  private readonly sweepLive = new Set<string>();

  get running(): boolean {
    return !!this.live || !!this.sweep;
  }

  /** Whether a trainer started here is writing `dir` now. */
  isLive(dir: string): boolean {
    const d = path.resolve(dir);
    return (!!this.live && !!this.runDir && path.resolve(this.runDir) === d) || this.sweepLive.has(d);
  }

  get liveRunDir(): string | undefined {
    return this.runDir;
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
    if (!doc) return false;
    const backend = readSettings(doc.uri).backend;
    const args = [
      '--config',
      doc.uri.fsPath,
      '--out',
      this.runsRoot(doc.uri),
      ...(backend ? ['--backend', backend] : []),
    ];
    return this.start(args, path.basename(doc.uri.fsPath));
  }

  /**
   * "Already running" lasts only while it is true: a notification that closes when the training ends (or after
   * 10 s), rather than a warning left on screen after the run has stopped.
   */
  private sayBusy(): void {
    const step = this.live?.latest ? ` (step ${this.live.latest.step})` : '';
    const what = this.live ? `${this.live.label} is training${step}` : 'an ablation is running';
    const ended = this.live ? this.live.trainer.exited : this.sweepEnded;
    const title = `pix2pix: ${what}; stop it first.`;
    void vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
      Promise.race([ended, new Promise((resolve) => setTimeout(resolve, 10_000))]),
    );
  }

  /** "pix2pix: Run Ablation": every variant of the config's `ablation:` section, as a resumable queue. */
  async ablate(arg?: vscode.Uri): Promise<void> {
    const doc = await this.configToTrain(arg, 'ablate');
    if (!doc) return;
    const label = path.basename(doc.uri.fsPath);
    const view = new AblationView({
      status: this.status,
      output: this.output,
      live: this.sweepLive,
      notify: (dir, e) => this.notify(dir, e),
      progress: (dir, step) => this.listeners.forEach((l) => l.onProgress?.(dir, step)),
      planned: (sweepDir) => this.listeners.forEach((l) => l.onStarted?.({ sweepDir })),
    });
    const runner = new SweepRunner(
      {
        file: doc.uri.fsPath,
        out: this.runsRoot(doc.uri),
        trainerPath: path.join(this.extensionPath, 'dist', 'trainer.js'),
        backend: readSettings(doc.uri).backend,
        env: trainerEnv(),
      },
      (e) => view.event(e),
    );
    this.sweep = runner;
    let endSweep = () => {};
    this.sweepEnded = new Promise<void>((resolve) => (endSweep = resolve));
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
      view.dispose();
      endSweep();
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
      const said = await this.executorOf(state.plan).cancel(dir, state.plan);
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
    const submitted = sweeps.filter((sw) => this.executorOf(sw.plan).submissions(sw.dir).length);
    if (!submitted.length) {
      void vscode.window.showInformationMessage('pix2pix: no ablation is running here or submitted to SLURM.');
      return undefined;
    }
    if (submitted.length === 1) return submitted[0].dir;
    const items = submitted.map((sw) => ({ label: sw.plan.name, description: sw.dir, dir: sw.dir }));
    return (await vscode.window.showQuickPick(items, { placeHolder: 'Ablation to cancel' }))?.dir;
  }

  /** The executor a sweep folder's plan went to, to read and cancel what it handed over. */
  private executorOf(plan: SweepPlan): SweepExecutor {
    return executorOfPlan(plan, {
      trainerPath: path.join(this.extensionPath, 'dist', 'trainer.js'),
      env: trainerEnv(),
    });
  }

  private schedulerChanged(): void {
    for (const l of this.listeners) l.onSchedulerChange?.();
  }

  private notify(runDir: string | undefined, e: TrainerEvent): void {
    for (const l of this.listeners) l.onEvent(runDir, e);
  }

  /** Continues a run from its last checkpoint, on `backend` when given (checkpoints do not depend on the backend). */
  async resume(runDir?: string, backend?: Backend): Promise<boolean> {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage('pix2pix: trust this workspace to train.');
      return false;
    }
    const dir = runDir ?? (await this.pickRunToResume());
    if (!dir) return false;
    const chosen = backend ?? readSettings(vscode.Uri.file(dir)).backend;
    return this.start(['--resume', dir, ...(chosen ? ['--backend', chosen] : [])], path.basename(dir));
  }

  private async pickRunToResume(): Promise<string | undefined> {
    const root = this.runsRoot();
    const candidates = existsSync(root)
      ? readdirSync(root)
          .filter((d) => hasCheckpoint(path.join(root, d)))
          .sort()
          .reverse()
      : [];
    if (!candidates.length) {
      void vscode.window.showInformationMessage(`pix2pix: no run with a checkpoint in ${root}.`);
      return undefined;
    }
    const pick = await vscode.window.showQuickPick(candidates, { placeHolder: 'Run to resume' });
    return pick && path.join(root, pick);
  }

  stop(): void {
    if (this.sweep) {
      this.sweep.stop();
      this.status.text = '$(sync~spin) pix2pix: stopping the ablation (checkpoints)...';
      return;
    }
    if (!this.live) {
      void vscode.window.showInformationMessage('pix2pix: no training is running.');
      return;
    }
    this.live.trainer.stop();
    this.status.text = '$(sync~spin) pix2pix: stopping (checkpoint)...';
  }

  /**
   * Forks the trainer; resolves true once it has started, false when it exited first. A notification follows it to
   * the end, and says where it stopped when it was stopped.
   */
  private start(args: string[], label: string): Promise<boolean> {
    if (this.running) {
      this.sayBusy();
      return Promise.resolve(false);
    }
    const trainerPath = path.join(this.extensionPath, 'dist', 'trainer.js');
    this.output.info(`trainer: ${trainerPath} ${args.join(' ')}`);
    this.runDir = undefined;
    let resolveStart: (started: boolean) => void;
    const started = new Promise<boolean>((resolve) => (resolveStart = resolve));
    const trainer = new TrainerProcess(
      { trainerPath, args, cwd: this.extensionPath, stdout: 'pipe', env: trainerEnv() },
      (e) => {
        this.onTrainerEvent(live, e);
        if (e.type === 'started') resolveStart(true);
      },
      (text, stream) => (stream === 'stderr' ? this.output.warn : this.output.info).call(this.output, text.trimEnd()),
    );
    const live: LiveTraining = { trainer, label, ticker: new Ticker(PROGRESS_MS, () => this.showProgress(live)) };
    this.live = live;
    const ended = trainer.exited.then((exit) => {
      live.ticker.dispose();
      this.live = undefined;
      this.status.hide();
      this.output.info(`trainer exited with code ${exit.code}`);
      this.notify(this.runDir, { type: 'warning', payload: { message: `trainer exited (${exit.code})` } });
      resolveStart(false);
    });
    const title = `pix2pix: training ${label}`;
    void vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title, cancellable: true },
      (progress, token) => {
        live.notification = { progress, reported: 0 };
        token.onCancellationRequested(() => this.stop());
        return ended;
      },
    );
    return started;
  }

  private onTrainerEvent(live: LiveTraining, e: TrainerEvent): void {
    if (e.type === 'step') {
      live.latest = e.payload;
      live.ticker.poke();
      return;
    }
    if (e.type === 'checkpoint') live.checkpoint = e.payload.step;
    if (e.type === 'finished') live.ticker.now(); // the last step, before the run's end is told
    this.logEvent(e, live.trainer);
    this.notify(this.runDir, e);
    if (e.type === 'started') this.listeners.forEach((l) => l.onStarted?.({ runDir: e.payload.runDir }));
    if (e.type === 'finished' && e.payload.reason === 'stopped')
      confirmStopped(live, e.payload.runDir, (dir) => this.resume(dir));
  }

  /** The notification's, the status bar's and the panel's progress, at one step. */
  private showProgress(live: LiveTraining): void {
    const step = live.latest;
    if (!step) return;
    const p = live.trainer.progress(step);
    const text = `step ${p.step}/${p.totalSteps} · ${step.imgPerSec.toFixed(1)} img/s · ETA ${clock(p.etaSeconds)}`;
    if (live.notification) {
      live.notification.progress.report({ message: text, increment: p.fraction * 100 - live.notification.reported });
      live.notification.reported = p.fraction * 100;
    }
    this.status.text = `$(pulse) pix2pix ${text}`;
    this.status.show();
    const dir = this.runDir;
    if (dir) this.listeners.forEach((l) => l.onProgress?.(dir, p.step));
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
    // Every line: "no usable backend" says on the next ones why each backend was not used.
    const [first, ...more] = error.message.split('\n').map((line) => line.trim());
    const text = `pix2pix training failed: ${first}${more.length ? ` ${more.filter(Boolean).join('; ')}` : ''}`;
    if (!error.device || !runDir) {
      void vscode.window.showErrorMessage(text, 'Show Output').then((pick) => pick && this.output.show());
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
    await Promise.all([this.sweep?.shutdown(), this.live?.trainer.stopAndWait()]);
  }

  dispose(): void {
    void this.shutdown();
    this.status.dispose();
  }
}

/** A stopped run, said once: where it stopped, the checkpoint it resumes from, and Resume. */
function confirmStopped(live: LiveTraining, runDir: string, resume: (dir: string) => Promise<boolean>): void {
  const step = live.latest?.step ?? live.checkpoint ?? 0;
  const total = live.latest ? `/${live.trainer.progress(live.latest).totalSteps}` : '';
  const kept = live.checkpoint !== undefined ? `checkpoint at step ${live.checkpoint}` : 'no checkpoint';
  const text = `pix2pix: stopped ${live.label} at step ${step}${total}; ${kept} in ${path.basename(runDir)}.`;
  void vscode.window.showInformationMessage(text, 'Resume').then(async (pick) => {
    if (pick !== 'Resume') return;
    await live.trainer.exited;
    await resume(runDir);
  });
}
