// What a single run (singleRun.ts) and an ablation (sweepRun.ts) share with the TrainingController that holds both:
// the trainer's path, the log and the status bar, the listeners to tell, and the rule of one training at a time.

import type * as vscode from 'vscode';
import type { TrainerEvent } from '../protocol/trainer';

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

export interface TrainingHost {
  extensionPath: string;
  /** dist/trainer.js. */
  trainerPath: string;
  output: vscode.LogOutputChannel;
  status: vscode.StatusBarItem;
  /** Tells every listener. */
  tell: Required<TrainingListener>;
  /** Whether a training runs here (a run or an ablation): one at a time, as the trainer's GPU and the panel assume. */
  busy(): boolean;
  /** Says a training runs, for as long as it does. */
  sayBusy(): void;
}
