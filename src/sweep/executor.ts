// The executor seam of the sweep: what trains a sweep's unfinished variants. The local queue trains them in child
// processes of this one; SLURM takes them as one job array. Both read and write the same sweep folder.

import type { SchedulerState } from '../core/slurm';
import type { Sweep } from '../core/sweep';
import type { TrainerEvent } from '../protocol/trainer';
import type { SweepPlan } from '../runFolders/sweepFolder';
import type { Job, TrainerOptions } from './jobs';

export type SweepEvent =
  | {
      type: 'planned';
      sweepDir: string;
      /** "5 variants × 3 seeds = 15 runs" */
      runs: string;
      variants: { name: string; mode: 'done' | 'resume' | 'new' }[];
    }
  | { type: 'capacity'; parallel: number; why: string }
  | { type: 'variant'; variant: string; event: TrainerEvent }
  | { type: 'exit'; variant: string; reason: 'completed' | 'stopped' | 'failed'; error?: string }
  | { type: 'submitted'; submission: Submission }
  | { type: 'probed'; variant: string; error?: string }
  | { type: 'report'; files: string[] };

/** One `sbatch` of a sweep, as `slurm/submissions.jsonl` keeps it. */
export interface Submission {
  /** The array's job id. */
  job: string;
  /** Plan indices, one array task each. */
  indices: number[];
  variants: string[];
  /** The `--array` value. */
  array: string;
  script: string;
  time: string;
}

export interface SweepOutcome {
  sweepDir: string;
  completed: string[];
  failed: string[];
  stopped: string[];
  /** Variants not started because the sweep was stopped (local), or left to the scheduler (SLURM). */
  pending: string[];
  report: string[];
  /** The job array, when the sweep went to SLURM and something was left to train. */
  submitted?: Submission;
  /** Variants already queued or running on the scheduler, not submitted again. */
  active?: string[];
}

/** One `run()` of a sweep, as an executor receives it. */
export interface SweepPass {
  sweepDir: string;
  /** The sweep as loaded from its config: the first variant's graphs (memory estimates), `slurm` settings. */
  sweep: Sweep;
  plan: SweepPlan;
  /** Variants at once, and what set it (`--parallel`, `ablation.parallel`); else the local queue works it out. */
  parallel?: { count: number; from: string };
  /** Every variant, in plan order, with what it needs. */
  jobs: Job[];
  trainer: TrainerOptions;
  outcome: SweepOutcome;
}

/** The scheduler's view of a sweep: each variant's state, or why it could not be read. */
export interface SweepStatus {
  states: Map<string, SchedulerState>;
  error?: string;
}

/** What every executor is made with: the trainer it runs and the environment the host gives it. */
export interface ExecutorOptions {
  /** dist/trainer.js; dist/cli.js beside it runs SLURM's array tasks. */
  trainerPath: string;
  /** The trainers' environment as the host sets it (a SLURM batch script takes its tfjs-node folder). */
  env?: NodeJS.ProcessEnv;
}

export interface SweepExecutor {
  readonly kind: 'local' | 'slurm';
  /** Trains (local) or submits (SLURM) the variants that are not done; resolves when they are handed over. */
  submit(pass: SweepPass): Promise<void>;
  /** Each variant's scheduler state, where the executor knows one. */
  status(sweepDir: string, plan: SweepPlan): Promise<SweepStatus>;
  /** Stops what is queued or running; run folders keep their last checkpoint. Says what it did. */
  cancel(sweepDir: string, plan: SweepPlan): Promise<string>;
  /** Asks what this process trains to checkpoint and stop, and starts no more; a scheduler's work goes on. */
  stop(): void;
  /**
   * Ends what this process runs (its variants checkpoint and stop) within `ms`, then kills what is left; work a
   * scheduler holds goes on (`cancel` ends that).
   */
  shutdown(ms?: number): Promise<void>;
  /** The variants this process trains now. */
  readonly runningVariants: string[];
  /** What was handed to a scheduler for the sweep, oldest first (none for the local queue). */
  submissions(sweepDir: string): Submission[];
}

export const now = () => new Date().toISOString();
