// When the runs panel reads the run folders again: soon after a file under the runs folder changes (debounced), when
// new scheduler states arrive, and every `p2p.slurm.pollSeconds` while a SLURM sweep has tasks queued or running (its
// runs write on other nodes, where file watchers see nothing).

import * as vscode from 'vscode';
import { pollMs, SchedulerWatch } from './schedulerWatch';

export class RunsWatcher implements vscode.Disposable {
  readonly scheduler: SchedulerWatch;
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private watch: vscode.Disposable[] = [];

  constructor(
    private readonly root: () => string,
    trainerPath: string,
    private readonly refresh: () => void,
  ) {
    this.scheduler = new SchedulerWatch({ trainerPath }, () => this.refreshSoon(50));
  }

  /** Refreshes after `delay` ms, once for a burst of changes. */
  refreshSoon(delay: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), delay);
  }

  /** Watches the runs folder (again, after `p2p.runs.folder` changed). */
  watchRoot(): void {
    this.watch.forEach((s) => s.dispose());
    const watcher = vscode.workspace.createFileSystemWatcher(
      new vscode.RelativePattern(vscode.Uri.file(this.root()), '**/{events.jsonl,resolved.json,probe.json}'),
    );
    this.watch = [
      watcher,
      watcher.onDidChange(() => this.refreshSoon(500)),
      watcher.onDidCreate(() => this.refreshSoon(500)),
      watcher.onDidDelete(() => this.refreshSoon(100)),
    ];
  }

  /** Polls while a SLURM sweep is active, and stops when none is. */
  pollWhile(active: boolean): void {
    if (active && !this.poll) this.poll = setInterval(() => this.refresh(), pollMs());
    else if (!active) this.stopPolling();
  }

  /** Stops watching and polling: the panel closed. */
  unwatch(): void {
    this.watch.forEach((s) => s.dispose());
    this.watch = [];
    this.stopPolling();
  }

  private stopPolling(): void {
    clearInterval(this.poll);
    this.poll = undefined;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unwatch();
  }
}
