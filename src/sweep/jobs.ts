// A sweep's variants as jobs, whichever executor trains them: each one's run folder and config file in the sweep
// folder, whether it is done, resumes or starts afresh, and the trainer's arguments for it.

import { rmSync } from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../core/config';
import { diskFiles } from '../runFolders/diskFiles';
import { readRun } from '../runFolders/runState';
import { hasCheckpoint } from '../runFolders/checkpoints';

export type Mode = 'done' | 'resume' | 'new';

/** One variant's place in a sweep: its index in sweep.json, run folder, config file, and what it needs. */
export interface Job {
  index: number;
  name: string;
  dir: string;
  configFile: string;
  mode: Mode;
}

/** What every variant's trainer is given besides its own folder. */
export interface TrainerOptions {
  /** Where the base config's relative data paths start. */
  baseDir: string;
  steps?: number;
  backend?: Backend;
  builtinRoot?: string;
}

/** The variant config file the trainer reads: `configs/<dir>.p2p.yaml` in the sweep folder. */
export const variantConfigFile = (sweepDir: string, dir: string) => path.join(sweepDir, 'configs', `${dir}.p2p.yaml`);

/** Done when it completed its steps; resume when it has a checkpoint; else it starts afresh. */
export function jobMode(dir: string, steps: number | undefined): Mode {
  const run = readRun(dir, diskFiles());
  if (run?.status === 'completed' && (steps === undefined || run.totalSteps === steps)) return 'done';
  return hasCheckpoint(dir) ? 'resume' : 'new';
}

/** The trainer's arguments for a job; a new one's folder (which never got to a checkpoint) is cleared first. */
export function trainerArgs(job: Job, o: TrainerOptions): string[] {
  let args: string[];
  if (job.mode === 'resume') args = ['--resume', job.dir];
  else {
    rmSync(job.dir, { recursive: true, force: true });
    args = ['--config', job.configFile, '--run-dir', job.dir, '--base-dir', o.baseDir];
  }
  if (o.steps !== undefined) args.push('--steps', String(o.steps));
  if (o.backend) args.push('--backend', o.backend);
  if (o.builtinRoot) args.push('--builtin-root', o.builtinRoot);
  return args;
}
