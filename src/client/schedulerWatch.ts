// The scheduler's view of SLURM sweeps for the runs panel: squeue is read in the background at most every
// `p2p.slurm.pollSeconds` per sweep, and the panel is told when new states arrive. Run folders on a shared
// filesystem are read by polling too (file sizes and times): fs.watch misses changes made on other nodes over NFS.

import type { SweepPlan } from '../runFolders/sweepFolder';
import type { ExecutorOptions, SweepStatus } from '../sweep/executor';
import { executorOfPlan } from '../sweep/executors';
import { readSettings } from './settings';

/** How often squeue is read, and the panel refreshed, while a SLURM sweep has tasks queued or running. */
export const pollMs = (): number => readSettings().slurmPollSeconds * 1000;

export class SchedulerWatch {
  private readonly last = new Map<string, { at: number; status: SweepStatus }>();
  private readonly reading = new Set<string>();

  constructor(
    private readonly executorOptions: ExecutorOptions,
    private readonly onChange: () => void,
  ) {}

  /** The states last read for a sweep folder (undefined before the first read); reads again when they are stale. */
  status(sweepDir: string, plan: SweepPlan): SweepStatus | undefined {
    const hit = this.last.get(sweepDir);
    if ((!hit || Date.now() - hit.at >= pollMs() - 1000) && !this.reading.has(sweepDir)) this.read(sweepDir, plan);
    return hit?.status;
  }

  /** Forgets what was read, so the next `status` reads squeue at once (after a submit or a cancel). */
  invalidate(): void {
    this.last.clear();
  }

  private read(sweepDir: string, plan: SweepPlan): void {
    this.reading.add(sweepDir);
    void executorOfPlan(plan, this.executorOptions)
      .status(sweepDir, plan)
      .catch((e: Error) => ({ states: new Map(), error: e.message }))
      .then((status) => {
        this.last.set(sweepDir, { at: Date.now(), status });
        this.reading.delete(sweepDir);
        this.onChange();
      });
  }
}
