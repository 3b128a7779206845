// One training from the editor ("Train Current Config", "Stop Training", "Resume Run"): the trainer runs in a child
// process (dist/trainer.js, through TrainerProcess); progress shows in a cancellable notification and the status bar.

import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Backend } from '../core/config';
import { clock } from '../core/units';
import type { ErrorPayload, StepPayload, TrainerEvent } from '../protocol/trainer';
import { TrainerProcess } from '../host/trainerProcess';
import { hasCheckpoint } from '../runFolders/checkpoints';
import { readSettings, runsRootFor, trainerEnv } from './settings';
import { PROGRESS_MS, Ticker } from './ticker';
import type { TrainingHost } from './trainingHost';

/** The training started here: its process, label, newest step and checkpoint, and its notification. */
interface LiveTraining {
  trainer: TrainerProcess;
  label: string;
  latest?: StepPayload;
  checkpoint?: number;
  notification?: { progress: vscode.Progress<{ message?: string; increment?: number }>; reported: number };
  ticker: Ticker;
}

export class SingleRun {
  private runDir: string | undefined;
  private live: LiveTraining | undefined;

  constructor(private readonly host: TrainingHost) {}

  /** What trains now: its label, the step it is at, and when it ends. */
  get training(): { label: string; step?: number; ended: Promise<unknown> } | undefined {
    const live = this.live;
    return live && { label: live.label, step: live.latest?.step, ended: live.trainer.exited };
  }

  /** Whether the trainer started here is writing `dir` now. */
  isLive(dir: string): boolean {
    return !!this.live && !!this.runDir && path.resolve(this.runDir) === path.resolve(dir);
  }

  /** Trains a config; resolves once the trainer has started (true) or was refused or failed to start (false). */
  train(config: vscode.Uri): Promise<boolean> {
    const backend = readSettings(config).backend;
    const args = ['--config', config.fsPath, '--out', runsRootFor(config), ...(backend ? ['--backend', backend] : [])];
    return this.start(args, path.basename(config.fsPath));
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
    const root = runsRootFor(undefined);
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
    if (!this.live) {
      void vscode.window.showInformationMessage('pix2pix: no training is running.');
      return;
    }
    this.live.trainer.stop();
    this.host.status.text = '$(sync~spin) pix2pix: stopping (checkpoint)...';
  }

  /**
   * Forks the trainer; resolves true once it has started, false when it exited first. A notification follows it to
   * the end, and says where it stopped when it was stopped.
   */
  private start(args: string[], label: string): Promise<boolean> {
    if (this.host.busy()) {
      this.host.sayBusy();
      return Promise.resolve(false);
    }
    const { trainerPath, extensionPath, output } = this.host;
    output.info(`trainer: ${trainerPath} ${args.join(' ')}`);
    this.runDir = undefined;
    let resolveStart: (started: boolean) => void;
    const started = new Promise<boolean>((resolve) => (resolveStart = resolve));
    const trainer = new TrainerProcess(
      { trainerPath, args, cwd: extensionPath, stdout: 'pipe', env: trainerEnv() },
      (e) => {
        this.onTrainerEvent(live, e);
        if (e.type === 'started') resolveStart(true);
      },
      (text, stream) => (stream === 'stderr' ? output.warn : output.info).call(output, text.trimEnd()),
    );
    const live: LiveTraining = { trainer, label, ticker: new Ticker(PROGRESS_MS, () => this.showProgress(live)) };
    this.live = live;
    const ended = trainer.exited.then((exit) => {
      live.ticker.dispose();
      this.live = undefined;
      this.host.status.hide();
      output.info(`trainer exited with code ${exit.code}`);
      this.host.tell.onEvent(this.runDir, { type: 'warning', payload: { message: `trainer exited (${exit.code})` } });
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
    this.host.tell.onEvent(this.runDir, e);
    if (e.type === 'started') this.host.tell.onStarted({ runDir: e.payload.runDir });
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
    this.host.status.text = `$(pulse) pix2pix ${text}`;
    this.host.status.show();
    if (this.runDir) this.host.tell.onProgress(this.runDir, p.step);
  }

  private logEvent(e: TrainerEvent, trainer: TrainerProcess): void {
    const { output } = this.host;
    if (e.type === 'started') {
      this.runDir = e.payload.runDir;
      output.info(`run ${e.payload.runDir} on ${e.payload.backend}: ${e.payload.backendLog.join('; ')}`);
    } else if (e.type === 'error') {
      output.error(e.payload.message);
      this.reportFailure(e.payload, this.runDir, trainer);
    } else if (e.type === 'warning') output.warn(e.payload.message);
    else if (e.type === 'finished') {
      const why = e.payload.why ? ` (${e.payload.why})` : '';
      output.info(`${e.payload.reason} at step ${e.payload.step}${why}: ${e.payload.runDir}`);
    }
  }

  /** Says why a run failed; after a GPU device failure, offers to go on from its checkpoint on the CPU. */
  private reportFailure(error: ErrorPayload, runDir: string | undefined, trainer: TrainerProcess): void {
    // Every line: "no usable backend" says on the next ones why each backend was not used.
    const [first, ...more] = error.message.split('\n').map((line) => line.trim());
    const text = `pix2pix training failed: ${first}${more.length ? ` ${more.filter(Boolean).join('; ')}` : ''}`;
    if (!error.device || !runDir) {
      void vscode.window.showErrorMessage(text, 'Show Output').then((pick) => pick && this.host.output.show());
      return;
    }
    const action = 'Resume on wasm';
    void vscode.window.showErrorMessage(text, action).then(async (pick) => {
      if (pick !== action) return;
      await trainer.exited; // the failed trainer is still exiting when the message shows
      await this.resume(runDir, 'wasm');
    });
  }

  /** Checkpoints and stops the trainer, then ends its process group. */
  async shutdown(): Promise<void> {
    await this.live?.trainer.stopAndWait();
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
