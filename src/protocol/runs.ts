// What a run folder and a sweep read back as: the shapes the host's readers (src/runFolders) produce and the
// panel, the CLI and the sweep report consume. Types only; the readers are in src/runFolders.

import type { ResolvedConfig } from '../core/config';
import type { SchedulerState } from '../core/slurm';
import type { VariantOrigin } from '../core/sweep';
import type { AdapterReport, EvalPayload, NeighbourRecord, SampleSplit, StepPayload } from './trainer';

export type RunStatus = 'running' | 'completed' | 'stopped' | 'failed' | 'interrupted';

export interface SampleRef {
  step: number;
  split: SampleSplit;
  /** Path of the PNG inside the run folder. */
  path: string;
  neighbours?: NeighbourRecord[];
}

export interface RunState {
  id: string;
  dir: string;
  name: string;
  /** The sweep this run is a variant of. */
  sweep?: string;
  status: RunStatus;
  /** The backend of the newest session; a run resumed elsewhere lists the earlier ones in `backends`. */
  backend?: string;
  /** Every backend the run trained on, in order, each once per change (`['webgpu', 'wasm']`). */
  backends: string[];
  /** The GPU adapter of the newest session, on webgpu. */
  adapter?: AdapterReport;
  /** The tfjs-node package of the newest session and where it came from, on tensorflow(-gpu). */
  tensorflow?: string;
  params?: { generator: number; discriminator: number };
  step: number;
  totalSteps?: number;
  /** Step curves, thinned to at most MAX_POINTS points. */
  steps: Pick<StepPayload, 'step' | 'gL1' | 'gGan' | 'dLoss' | 'imgPerSec'>[];
  evals: EvalPayload[];
  samples: SampleRef[];
  bestTestL1?: number;
  /** The step of the evaluation with the lowest test L1 (the earliest of equals). */
  bestStep?: number;
  lastEval?: EvalPayload;
  medianImgPerSec?: number;
  /** Seconds spent training, summed over the sessions of a resumed run. */
  seconds: number;
  error?: string;
  /** The newest warnings (a config changed at a resume, a checkpoint skipped, a repair), oldest first. */
  warnings: string[];
  /** The error was the GPU device's: the run can go on from its checkpoint on another backend. */
  deviceError?: boolean;
  config?: ResolvedConfig;
}

export interface ConfigChange {
  path: string;
  base: unknown;
  other: unknown;
}

/** One variant of a sweep as a report row. */
export interface SweepRow {
  variant: string;
  origin: VariantOrigin;
  skips: string;
  dropout: string;
  params: number;
  macs: number;
  status: RunState['status'] | 'pending';
  step: number;
  totalSteps?: number;
  trainL1?: number;
  trainSsim?: number;
  testL1?: number;
  testSsim?: number;
  /** test L1 - train L1 at the last evaluation. */
  gap?: number;
  /** The last evaluation's copy rate and C_T (core/memorisation.ts); absent in runs recorded before them. */
  copyRate?: number;
  copyingCt?: number;
  /** The last evaluation's mean pairwise distance of dropout draws. */
  diversity?: number;
  /** The last evaluation's critic heuristics (core/critic.ts). */
  criticRt?: number;
  criticRv?: number;
  imgPerSec?: number;
  seconds: number;
  error?: string;
  /** The scheduler's state of the variant's task, on SLURM. */
  scheduler?: SchedulerState;
  replicate?: { of: string; seed: number };
  half?: { of: string; half: 1 | 2 };
  /** Each test image's L1 at the last evaluation, in the test set's order (test-images.csv). */
  testImageL1?: number[];
}
