// An ablation's progress in the notification, the status bar and the output channel, from the queue's events, and
// what the user is told when it ends or is handed to SLURM.

import * as path from 'node:path';
import * as vscode from 'vscode';
import type { TrainerEvent } from '../protocol/trainer';
import type { SweepEvent, SweepOutcome } from '../sweep/runner';
import { PROGRESS_MS, Ticker } from './ticker';

/** What an ablation's view tells the controller: events of a variant's run, and the step each live run is at. */
export interface AblationHost {
  status: vscode.StatusBarItem;
  output: vscode.LogOutputChannel;
  /** Run folders of the variants training now (the controller's, read by `isLive`). */
  live: Set<string>;
  notify(runDir: string | undefined, e: TrainerEvent): void;
  progress(runDir: string, step: number): void;
  planned(sweepDir: string): void;
}

export class AblationView {
  report: ((text: string) => void) | undefined;
  /** The newest step of each variant training now. */
  private readonly stepOf = new Map<string, number>();
  private readonly dirOf = new Map<string, string>();
  private total = 0;
  private done = 0;
  private readonly ticker = new Ticker(PROGRESS_MS, () => this.show());

  constructor(private readonly host: AblationHost) {}

  event(e: SweepEvent): void {
    if (e.type === 'planned') {
      this.total = e.variants.length;
      this.done = e.variants.filter((v) => v.mode === 'done').length;
      this.host.output.info(`ablation ${e.sweepDir}: ${e.variants.map((v) => `${v.name} (${v.mode})`).join(', ')}`);
      this.host.planned(e.sweepDir);
      this.show();
    } else if (e.type === 'capacity') this.host.output.info(`ablation: ${e.parallel} variant(s) at a time (${e.why})`);
    else if (e.type === 'variant') this.variantEvent(e.variant, e.event);
    else if (e.type === 'exit') this.variantExit(e.variant, e.reason, e.error);
  }

  private variantEvent(variant: string, ev: TrainerEvent): void {
    if (ev.type === 'started') {
      this.dirOf.set(variant, ev.payload.runDir);
      this.host.live.add(path.resolve(ev.payload.runDir));
      this.host.output.info(
        `${variant}: ${ev.payload.runDir} on ${ev.payload.backend}: ${ev.payload.backendLog.join('; ')}`,
      );
    } else if (ev.type === 'step') {
      this.stepOf.set(variant, ev.payload.step);
      this.ticker.poke();
      return; // shown at the ticker's pace
    } else if (ev.type === 'warning') this.host.output.warn(`${variant}: ${ev.payload.message}`);
    this.host.notify(this.dirOf.get(variant), ev);
  }

  private variantExit(variant: string, reason: string, error: string | undefined): void {
    const dir = this.dirOf.get(variant);
    if (dir) this.host.live.delete(path.resolve(dir));
    this.stepOf.delete(variant);
    if (reason === 'completed') this.done++;
    if (error) this.host.output.error(`${variant} failed: ${error}`);
    this.host.output.info(`${variant}: ${reason}`);
    this.show();
    this.host.notify(dir, { type: 'warning', payload: { message: `${variant} ${reason}` } });
  }

  /** The notification, the status bar and the panel, all at the same steps. */
  private show(): void {
    const running = [...this.stepOf].map(([variant, step]) => ` · ${variant} ${step}`).join('');
    const text = `${this.done}/${this.total} variants done${running}`;
    this.report?.(text);
    this.host.status.text = `$(pulse) pix2pix ablation ${text}`;
    this.host.status.show();
    for (const [variant, step] of this.stepOf) {
      const dir = this.dirOf.get(variant);
      if (dir) this.host.progress(dir, step);
    }
  }

  dispose(): void {
    this.ticker.dispose();
  }
}

/** A sweep handed to SLURM: what was submitted and what was still queued from before. */
export function showSubmitted(label: string, outcome: SweepOutcome): void {
  const s = outcome.submitted;
  const submitted = s ? `submitted to SLURM as job ${s.job} (${s.variants.length} variants, array ${s.array})` : '';
  const active = outcome.active?.length ? `${s ? '; ' : ''}${outcome.active.length} still queued or running` : '';
  void vscode.window
    .showInformationMessage(`pix2pix: ablation of ${label} ${submitted}${active}.`, 'Open Script')
    .then((pick) => {
      if (pick && s) void vscode.window.showTextDocument(vscode.Uri.file(s.script));
    });
}

export function showAblationOutcome(label: string, outcome: SweepOutcome): void {
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
