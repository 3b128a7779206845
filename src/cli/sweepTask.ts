// `p2p sweep-task SWEEP_DIR [--requeues N] [--backend B] [--builtin-root DIR]`: one task of a sweep's job array,
// as slurm/array.sbatch runs it (the array index in SLURM_ARRAY_TASK_ID). SIGUSR2 (the time limit is near)
// checkpoints and requeues the task; SIGTERM and SIGINT (scancel, preemption) checkpoint and stop it.

import { join } from 'node:path';
import type { Backend } from '../core/config';
import { ArrayTask } from '../sweep/arrayTask';

const USAGE = 'usage: p2p sweep-task SWEEP_DIR [--requeues N] [--backend B] [--builtin-root DIR]\n';

export async function runSweepTask(
  argv: readonly string[],
  trainerPath = join(__dirname, 'trainer.js'),
): Promise<number> {
  const [sweepDir, ...rest] = argv;
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i += 2) flags.set(rest[i], rest[i + 1]);
  const requeues = Number(flags.get('--requeues') ?? 10);
  const unknown = [...flags.keys()].find((f) => !['--requeues', '--backend', '--builtin-root'].includes(f));
  if (!sweepDir || unknown || !Number.isInteger(requeues) || requeues < 0) {
    process.stderr.write(`p2p sweep-task: ${unknown ? `unexpected ${unknown}` : 'expected SWEEP_DIR'}\n${USAGE}`);
    return 2;
  }
  const log = (line: string) => process.stdout.write(`[${new Date().toISOString()}] ${line}\n`);
  const task = new ArrayTask({
    sweepDir,
    trainerPath,
    requeues,
    backend: flags.get('--backend') as Backend | undefined,
    builtinRoot: flags.get('--builtin-root'),
    env: process.env,
    log,
  });
  const onStop = (signal: NodeJS.Signals) => task.onStopSignal(signal);
  const onTimeLimit = () => task.onTimeLimitSignal();
  process.on('SIGTERM', onStop).on('SIGINT', onStop).on('SIGUSR2', onTimeLimit);
  try {
    return await task.run();
  } catch (e) {
    process.stderr.write(`p2p sweep-task: ${(e as Error).message}\n`);
    return 2;
  } finally {
    process.off('SIGTERM', onStop).off('SIGINT', onStop).off('SIGUSR2', onTimeLimit);
  }
}
