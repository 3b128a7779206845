// "Run Ablation" and "Cancel Ablation": every variant of a config's `ablation:` section as a resumable queue (a
// SweepRunner, on the executor its plan names), and cancelling one here or on SLURM through the executor seam.

import * as path from 'node:path';
import * as vscode from 'vscode';
import { readRunsAndSweeps } from '../runFolders/runFolders';
import { readSweep, type SweepPlan } from '../runFolders/sweepFolder';
import type { SweepExecutor } from '../sweep/executor';
import { executorOfPlan } from '../sweep/executors';
import { SweepRunner } from '../sweep/runner';
import { AblationView, showAblationOutcome, showSubmitted } from './ablationView';
import { readSettings, runsRootFor, trainerEnv } from './settings';
import type { TrainingHost } from './trainingHost';

export class SweepRun {
  private sweep: SweepRunner | undefined;
  private sweepEnded: Promise<unknown> = Promise.resolve();
  /** Run folders of the sweep variants training now. */
  private readonly live = new Set<string>();

  constructor(private readonly host: TrainingHost) {}

  get running(): boolean {
    return !!this.sweep;
  }

  /** Resolves when the ablation running here ends. */
  get ended(): Promise<unknown> {
    return this.sweepEnded;
  }

  /** Whether a variant of the ablation running here is writing `dir` now. */
  isLive(dir: string): boolean {
    return this.live.has(path.resolve(dir));
  }

  /** Runs the config's ablation, in a cancellable notification, and says how it ended or where it was submitted. */
  async ablate(config: vscode.Uri): Promise<void> {
    const { tell, status, output } = this.host;
    const label = path.basename(config.fsPath);
    const view = new AblationView({
      status,
      output,
      live: this.live,
      notify: (dir, e) => tell.onEvent(dir, e),
      progress: (dir, step) => tell.onProgress(dir, step),
      planned: (sweepDir) => tell.onStarted({ sweepDir }),
    });
    const runner = new SweepRunner(
      {
        file: config.fsPath,
        out: runsRootFor(config),
        trainerPath: this.host.trainerPath,
        backend: readSettings(config).backend,
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
        tell.onSchedulerChange();
        showSubmitted(label, outcome);
      } else showAblationOutcome(label, outcome);
    } catch (e) {
      void vscode.window.showErrorMessage(`pix2pix: ablation of ${label}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      view.dispose();
      endSweep();
      this.sweep = undefined;
      this.live.clear();
      status.hide();
      tell.onEvent(undefined, { type: 'warning', payload: { message: 'ablation ended' } });
    }
  }

  /**
   * Stops the local queue (checkpoints first), or cancels a SLURM sweep's array (`scancel`: running tasks
   * checkpoint and stop; run folders stay). Without a folder, asks which sweep.
   */
  async cancel(sweepDir?: string): Promise<void> {
    if (this.sweep && !sweepDir) return this.stop();
    const dir = sweepDir ?? (await this.pickSubmittedSweep());
    if (!dir) return;
    const state = readSweep(dir);
    if (!state) return void vscode.window.showWarningMessage(`pix2pix: ${dir} holds no sweep.`);
    try {
      const said = await this.executorOf(state.plan).cancel(dir, state.plan);
      this.host.output.info(`ablation ${state.plan.name}: ${said}`);
      void vscode.window.showInformationMessage(`pix2pix: ablation ${state.plan.name}: ${said}.`);
    } catch (e) {
      void vscode.window.showErrorMessage(`pix2pix: cannot cancel ${state.plan.name}: ${(e as Error).message}`);
    }
    this.host.tell.onSchedulerChange();
  }

  /** Sweeps under the runs folder that were submitted to SLURM, newest first; asks for one when there are several. */
  private async pickSubmittedSweep(): Promise<string | undefined> {
    const { sweeps } = readRunsAndSweeps(runsRootFor(undefined), () => false);
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
    return executorOfPlan(plan, { trainerPath: this.host.trainerPath, env: trainerEnv() });
  }

  /** Asks the running ablation's variants to checkpoint and stop. */
  stop(): void {
    if (!this.sweep) return;
    this.sweep.stop();
    this.host.status.text = '$(sync~spin) pix2pix: stopping the ablation (checkpoints)...';
  }

  async shutdown(): Promise<void> {
    await this.sweep?.shutdown();
  }
}
