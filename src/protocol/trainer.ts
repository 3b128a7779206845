// Trainer <-> host messages. The trainer (dist/trainer.js, a child process) sends TrainerEvents over IPC and
// appends each to the run's events.jsonl; the host sends TrainerCommands.

import type { Backend } from '../core/config';
import type { CriticScores } from '../core/critic';

/** Image quality of generated against target images: L1 on [-1, 1], PSNR and SSIM on [0, 1]. */
export interface Quality {
  l1: number;
  psnr: number;
  ssim: number;
}

/** The WebGPU adapter a run trains on, as the backend probe saw it. */
export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A rasteriser on the CPU (llvmpipe, SwiftShader): correct, slower than wasm. */
  software: boolean;
  /** Of `shader-f16`, `subgroups`, `timestamp-query`: those the adapter has. */
  features: string[];
  limits: Record<string, number>;
}

/** How an adapter is named wherever it is shown: "NVIDIA H200 (nvidia, hopper)", "llvmpipe: Mesa 25.0.7 (mesa, software)". */
export function describeAdapter(a: AdapterReport): string {
  const name = a.description || a.device || 'unnamed adapter';
  const kind = [a.vendor, a.architecture].filter(Boolean).join(', ');
  return `${name}${kind ? ` (${kind})` : ''}${a.software && a.architecture !== 'software' ? ' [software]' : ''}`;
}

/** The adapter and the features that matter, as a run's header shows them: "NVIDIA H200 (nvidia, hopper) · subgroups". */
export function adapterWithFeatures(a: AdapterReport): string {
  return `${describeAdapter(a)}${a.features.length ? ` · ${a.features.join(', ')}` : ''}`;
}

export interface StartedPayload {
  runDir: string;
  name: string;
  backend: string;
  /** Why each backend before the chosen one was not used. */
  backendLog: string[];
  /** The GPU adapter, on `webgpu`. */
  adapter?: AdapterReport;
  /** On tensorflow and tensorflow-gpu: which tfjs-node package, its version and where it was found. */
  tensorflow?: string;
  /** What runs a training step: "tfjs", or on WebGPU "compiled (262 dispatches per step at batch 5)". */
  trainStep?: string;
  totalSteps: number;
  stepsPerEpoch: number;
  batchSize: number;
  trainImages: number;
  testImages: number;
  params: { generator: number; discriminator: number };
  /** The step a resumed run continues from (0 for a new run). */
  startStep: number;
  evalMode: 'training' | 'inference';
  time: string;
}

export interface StepPayload {
  step: number;
  epoch: number;
  /** Generator losses: L1 (unweighted), GAN (BCE), total (weighted sum). */
  gL1: number;
  gGan: number;
  gTotal: number;
  /** Discriminator loss: mean BCE over the fake and the real batch. */
  dLoss: number;
  imgPerSec: number;
  numTensors: number;
}

export interface EvalPayload {
  step: number;
  epoch: number;
  train: Quality;
  test: Quality | null;
  /** test minus train (null without a test set). */
  gap: Quality | null;
  /** Whether the test outputs copy training targets (absent in runs recorded before it was measured). */
  memorisation?: EvalMemorisation;
  /** Whether the discriminator overfits (trainer/critic.ts; absent in runs recorded before it was measured). */
  critic?: CriticScores;
}

/**
 * An evaluation's memorisation measures (core/memorisation.ts): the test outputs' nearest training targets, and
 * the spread of K dropout draws for a few fixed test inputs.
 */
export interface EvalMemorisation {
  /** The median RMS distance (on [-1, 1]) from a test output to its nearest training target. */
  nnMedian: number;
  /** The share of test outputs closer to a training target than that target is to its nearest other. */
  copyRate: number;
  /** Meehan et al.'s C_T (well below 0: copying); absent when no k-means cell had enough samples. */
  ct?: number;
  /** The mean pairwise RMS distance of `draws` outputs per fixed input (dropout draws), over the inputs. */
  diversity?: number;
  draws?: number;
}

/** A sample figure's kind: a split's input / generated / target rows, the same columns' nearest training targets, or the per-pixel spread of dropout draws. */
export type SampleSplit = 'train' | 'test' | 'train-neighbours' | 'test-neighbours' | 'diversity';

/** One column of a neighbours figure: the nearest training target of a generated image and how near it is. */
export interface NeighbourRecord {
  /** The training target's index in the run's training set (its order after the split). */
  index: number;
  /** RMS distance on [-1, 1] from the generated image to it, and 1 - SSIM between them (NaN where not computed). */
  rms: number;
  dssim: number;
  /** RMS distance from the generated image to its own target. */
  ownRms: number;
  /** Counted by the copy rate: nearer this training target than it is to its own nearest other training target. */
  copied?: boolean;
}

export interface SamplePayload {
  step: number;
  split: SampleSplit;
  path: string;
  mode: 'training' | 'inference';
  /** A neighbours figure's columns. */
  neighbours?: NeighbourRecord[];
}

export interface ErrorPayload {
  message: string;
  stack?: string;
  /** The GPU device failed (lost, out of memory): another backend can resume the run from its last checkpoint. */
  device?: boolean;
}

/** The trainer's exit status after a stop (a signal, a `stop` message): its checkpoint is written; resume to go on. */
export const EXIT_STOPPED = 75;

export interface FinishedPayload {
  step: number;
  reason: 'completed' | 'stopped' | 'failed';
  runDir: string;
  /** Why a run stopped before its last step: "a stop was requested", "SIGTERM", "the host went away". */
  why?: string;
}

export type TrainerEvent =
  | { type: 'started'; payload: StartedPayload }
  | { type: 'step'; payload: StepPayload }
  | { type: 'eval'; payload: EvalPayload }
  | { type: 'sample'; payload: SamplePayload }
  | { type: 'checkpoint'; payload: { step: number; path: string } }
  | { type: 'warning'; payload: { message: string } }
  | { type: 'error'; payload: ErrorPayload }
  | { type: 'finished'; payload: FinishedPayload }
  | { type: 'translated'; payload: Translation }
  | { type: 'evaluated'; payload: Evaluated }
  | { type: 'probed'; payload: Probe };

/** One dose of one skip in a probe: the skip scaled by alpha toward 0 (`scale`) or toward its per-channel mean. */
export interface ProbeDose {
  level: number;
  mode: 'scale' | 'mean';
  alpha: number;
  train: Quality;
  test: Quality;
}

/** What each skip of a trained generator does (`p2p probe`, trainer/probe.ts), as `probe.json` records it. */
export interface Probe {
  run: string;
  step: number;
  evalMode: 'training' | 'inference';
  images: { train: number; test: number };
  alphas: number[];
  /** The decoder levels with a skip, the encoder level each reads and its channels. */
  skips: { level: number; encoderLevel: number; channels: number }[];
  unmodified: { train: Quality; test: Quality };
  doses: ProbeDose[];
  /** PNG rows of the first test outputs: unmodified, and with each skip at alpha = 0. */
  figures: { unmodified: string; alphaZero: { level: number; mode: 'scale' | 'mean'; image: string }[] };
}

/** A run's checkpoints evaluated again (`p2p evaluate`): its rows, as `file` (evaluations.csv) has them. */
export interface Evaluated {
  run: string;
  file: string;
  evals: EvalPayload[];
}

/** Images through runs' generators (`p2p translate`, the panel's Translate), as `translation.json` records them. */
export interface Translation {
  /** The folder holding the PNGs and translation.json. */
  out: string;
  images: {
    name: string;
    /** The image resized as the first run's config says (PNG). */
    original: string;
    outputs: {
      run: string;
      label: string;
      step: number;
      mode: 'training' | 'inference';
      input: string;
      output: string;
      /** The output's nearest training target (`p2p translate --neighbours`): its index and file, distance and PNG. */
      neighbour?: { index: number; name: string; rms: number; image: string };
    }[];
  }[];
}

export type TrainerCommand = { type: 'stop' };

// The one-shot requests (`--evaluate`, `--probe`, `--translate` with a JSON request) that the host asks of a
// trainer process instead of a training run.

export interface EvaluateRequest {
  run: string;
  /** Every kept checkpoint; else the one of `step`, else the newest. */
  all?: boolean;
  step?: number;
  backend?: Backend;
  builtinRoot?: string;
}

export interface ProbeRequest {
  run: string;
  step?: number;
  backend?: Backend;
  builtinRoot?: string;
}

export interface TranslateRequest {
  runs: string[];
  /** Image files or folders of them. */
  images: string[];
  /** A kept checkpoint step of every run; each run's newest by default. */
  step?: number;
  out: string;
  backend?: Backend;
  /** Also find each output's nearest training target in the run's own training set (its split and half). */
  neighbours?: boolean;
  /** Where builtin sets are cached (the trainer's default). */
  builtinRoot?: string;
}
