// The one place that makes a sweep executor, by kind: for the sweep a runner trains or submits, and for a sweep
// folder that was handed over earlier or elsewhere (the panel's scheduler states, \`p2p ablate --status|--cancel\`,
// the editor's cancel), by the executor its plan names. Callers hold a SweepExecutor, never a concrete class.

import type { SweepPlan } from '../runFolders/sweepFolder';
import type { ExecutorOptions, SweepEvent, SweepExecutor } from './executor';
import { LocalExecutor } from './localExecutor';
import { SlurmExecutor } from './slurm';

export function createExecutor(
  kind: 'local' | 'slurm',
  options: ExecutorOptions,
  onEvent: (e: SweepEvent) => void = () => {},
): SweepExecutor {
  return kind === 'slurm' ? new SlurmExecutor(options, onEvent) : new LocalExecutor(options, onEvent);
}

/** The executor a planned sweep went to (local for plans from before SLURM), to read or cancel what it holds. */
export function executorOfPlan(plan: SweepPlan, options: ExecutorOptions): SweepExecutor {
  return createExecutor(plan.executor ?? 'local', options);
}
