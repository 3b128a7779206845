// "pix2pix: Train Current Config", "Stop Training" and "Resume Run": the trainer runs in a child process
// (dist/trainer.js); progress shows in a cancellable notification and the status bar.

import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import { SummaryRequest } from '../protocol/lsp';
import type { Backend } from '../core/config';
import type { ErrorPayload, StartedPayload, TrainerEvent } from '../trainer/contract';
import { SweepRunner } from '../sweep/runner';

export interface TrainingListener {
  onEvent(runDir: string | undefined, event: TrainerEvent): void;
}

export class TrainingController implements vscode.Disposable {
  private child: ChildProcess | undefined;
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
    return !!this.child || !!this.sweep;
  }

  /** Whether a trainer started here is writing `dir` now. */
  isLive(dir: string): boolean {
    const d = path.resolve(dir);
    return (!!this.child && !!this.runDir && path.resolve(this.runDir) === d) || this.sweepLive.has(d);
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
    if (summary.errors > 0) {
      void vscode.window
        .showErrorMessage(
          `pix2pix: ${path.basename(doc.uri.fsPath)} has ${summary.errors} error${summary.errors === 1 ? '' : 's'}; fix them before training.`,
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
    const progressOf = new Map<string, string>();
    const dirOf = new Map<string, string>();
    let total = 0;
    let done = 0;
    let report: ((text: string) => void) | undefined;
    const show = () => {
      const text = `${done}/${total} variants done${progressOf.size ? ` · ${[...progressOf.values()].join(' · ')}` : ''}`;
      report?.(text);
      this.status.text = `$(pulse) pix2pix ablation ${text}`;
      this.status.show();
    };
    const runner = new SweepRunner(
      {
        file: doc.uri.fsPath,
        out: this.runsRoot(doc.uri),
        trainerPath: path.join(this.extensionPath, 'dist', 'trainer.js'),
      },
      (e) => {
        switch (e.type) {
          case 'planned':
            total = e.variants.length;
            done = e.variants.filter((v) => v.mode === 'done').length;
            this.output.info(`ablation ${e.sweepDir}: ${e.variants.map((v) => `${v.name} (${v.mode})`).join(', ')}`);
            show();
            break;
          case 'capacity':
            this.output.info(`ablation: ${e.parallel} variant(s) at a time (${e.why})`);
            break;
          case 'variant': {
            const ev = e.event;
            if (ev.type === 'started') {
              dirOf.set(e.variant, ev.payload.runDir);
              this.sweepLive.add(path.resolve(ev.payload.runDir));
              this.output.info(
                `${e.variant}: ${ev.payload.runDir} on ${ev.payload.backend}: ${ev.payload.backendLog.join('; ')}`,
              );
            } else if (ev.type === 'step') {
              progressOf.set(e.variant, `${e.variant} ${ev.payload.step}`);
              show();
            } else if (ev.type === 'warning') {
              this.output.warn(`${e.variant}: ${ev.payload.message}`);
            }
            for (const l of this.listeners) l.onEvent(dirOf.get(e.variant), ev);
            break;
          }
          case 'exit': {
            const dir = dirOf.get(e.variant);
            if (dir) this.sweepLive.delete(path.resolve(dir));
            progressOf.delete(e.variant);
            if (e.reason === 'completed') done++;
            if (e.error) this.output.error(`${e.variant} failed: ${e.error}`);
            this.output.info(`${e.variant}: ${e.reason}`);
            show();
            for (const l of this.listeners)
              l.onEvent(dir, { type: 'warning', payload: { message: `${e.variant} ${e.reason}` } });
            break;
          }
          default:
            break;
        }
      },
    );
    this.sweep = runner;
    try {
      const outcome = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `pix2pix: ablation of ${label}`, cancellable: true },
        (progress, token) => {
          report = (message) => progress.report({ message });
          token.onCancellationRequested(() => this.stop());
          return runner.run();
        },
      );
      const left = outcome.stopped.length + outcome.pending.length;
      const summary = `pix2pix: ablation of ${label}: ${outcome.completed.length} completed${outcome.failed.length ? `, ${outcome.failed.length} failed (${outcome.failed.join(', ')})` : ''}${left ? `, ${left} left (Run Ablation again to continue)` : ''}.`;
      const show = outcome.failed.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      void show(summary, 'Open Report').then((pick) => {
        if (pick)
          void vscode.commands.executeCommand(
            'markdown.showPreview',
            vscode.Uri.file(path.join(outcome.sweepDir, 'report.md')),
          );
      });
    } catch (e) {
      void vscode.window.showErrorMessage(`pix2pix: ablation of ${label}: ${(e as Error).message.split('\n')[0]}`);
    } finally {
      this.sweep = undefined;
      this.sweepLive.clear();
      this.status.hide();
      for (const l of this.listeners) l.onEvent(undefined, { type: 'warning', payload: { message: 'ablation ended' } });
    }
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
    if (!this.child) {
      void vscode.window.showInformationMessage('pix2pix: no training is running.');
      return;
    }
    this.child.send({ type: 'stop' });
    this.status.text = '$(sync~spin) pix2pix: stopping (checkpoint)...';
  }

  private start(args: string[], label: string): Promise<void> {
    if (this.running) {
      void vscode.window.showWarningMessage('pix2pix: a training is already running; stop it first.');
      return Promise.resolve();
    }
    const trainer = path.join(this.extensionPath, 'dist', 'trainer.js');
    // A copy of the environment (electron#18412); detached so the whole process group can be ended.
    const child = fork(trainer, args, {
      cwd: this.extensionPath,
      env: { ...process.env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      detached: process.platform !== 'win32',
    });
    this.child = child;
    this.runDir = undefined;
    child.stderr?.on('data', (d) => this.output.warn(String(d).trimEnd()));
    child.stdout?.on('data', (d) => this.output.info(String(d).trimEnd()));
    this.output.info(`trainer: ${trainer} ${args.join(' ')}`);

    return new Promise((resolveStart) => {
      void vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `pix2pix: training ${label}`, cancellable: true },
        (progress, token) =>
          new Promise<void>((done) => {
            token.onCancellationRequested(() => this.stop());
            let started: StartedPayload | undefined;
            let t0 = Date.now();
            let last = 0;
            child.on('message', (e: TrainerEvent) => {
              if (e.type === 'started') {
                started = e.payload;
                this.runDir = e.payload.runDir;
                t0 = Date.now();
                this.output.info(`run ${e.payload.runDir} on ${e.payload.backend}: ${e.payload.backendLog.join('; ')}`);
                resolveStart();
              } else if (e.type === 'step' && started) {
                const done = e.payload.step - started.startStep;
                const eta = ((started.totalSteps - e.payload.step) * (Date.now() - t0)) / 1000 / Math.max(1, done);
                const text = `step ${e.payload.step}/${started.totalSteps} · ${e.payload.imgPerSec.toFixed(1)} img/s · ETA ${formatEta(eta)}`;
                const fraction = (e.payload.step / started.totalSteps) * 100;
                progress.report({ message: text, increment: fraction - last });
                last = fraction;
                this.status.text = `$(pulse) pix2pix ${text}`;
                this.status.show();
              } else if (e.type === 'error') {
                this.output.error(e.payload.message);
                this.reportFailure(e.payload, this.runDir, child);
              } else if (e.type === 'warning') {
                this.output.warn(e.payload.message);
              } else if (e.type === 'finished') {
                this.output.info(`${e.payload.reason} at step ${e.payload.step}: ${e.payload.runDir}`);
              }
              for (const l of this.listeners) l.onEvent(this.runDir, e);
            });
            child.on('exit', (code) => {
              this.child = undefined;
              this.status.hide();
              this.output.info(`trainer exited with code ${code}`);
              for (const l of this.listeners)
                l.onEvent(this.runDir, { type: 'warning', payload: { message: `trainer exited (${code})` } });
              resolveStart();
              done();
            });
          }),
      );
    });
  }

  /** Says why a run failed; after a GPU device failure, offers to go on from its checkpoint on the CPU. */
  private reportFailure(error: ErrorPayload, runDir: string | undefined, trainer: ChildProcess): void {
    const text = `pix2pix training failed: ${error.message.split('\n')[0]}`;
    if (!error.device || !runDir) {
      void vscode.window.showErrorMessage(text);
      return;
    }
    // The trainer is still exiting when the message shows: the resume waits for its exit (seen from here on).
    const exited = trainer.exitCode !== null || trainer.signalCode !== null ? Promise.resolve() : once(trainer, 'exit');
    const action = 'Resume on wasm';
    void vscode.window.showErrorMessage(text, action).then(async (pick) => {
      if (pick !== action) return;
      await exited;
      await this.resume(runDir, 'wasm');
    });
  }

  /** Checkpoint and stop within VS Code's deactivate budget (about 5 s), then end the process group. */
  async shutdown(): Promise<void> {
    if (this.sweep) await this.sweep.shutdown(4000);
    const child = this.child;
    if (!child) return;
    child.send({ type: 'stop' });
    const exited = await Promise.race([
      new Promise((r) => child.once('exit', () => r(true))),
      new Promise((r) => setTimeout(() => r(false), 4000)),
    ]);
    if (!exited && child.pid) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }

  dispose(): void {
    void this.shutdown();
    this.status.dispose();
  }
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
