// A sweep folder on disk: `sweep.json` (the plan: variants, their overrides and graph numbers), `sweep.jsonl`
// (what the queue did: starts and exits, including failures that left no run), and one ordinary run folder per
// variant. Read back into report rows for `report.md`, `report.html` and the runs panel.

import { appendFileSync } from 'node:fs';
import * as path from 'node:path';
import type { VariantOrigin } from '../core/sweep';
import { parseJsonLines } from './jsonl';
import { diskFiles } from './diskFiles';
import { TEST_IMAGES_FILE } from './runDir';
import type { RunState, SweepRow } from '../protocol/runs';
import { readRun, type RunFiles } from './runState';

export const SWEEP_FILE = 'sweep.json';
const SWEEP_LOG = 'sweep.jsonl';

export interface PlannedVariant {
  name: string;
  /** Run folder, relative to the sweep folder. */
  dir: string;
  origin: VariantOrigin;
  overrides: Record<string, unknown>;
  skips: string;
  dropout: string;
  params: number;
  discriminatorParams: number;
  /** Generator multiply-accumulates per image. */
  macs: number;
  /** A replicate (`ablation.seeds`): the variant it repeats and its seed. */
  replicate?: { of: string; seed: number };
  /** A run on one half of the training set (`ablation.disjointHalves`). */
  half?: { of: string; half: 1 | 2 };
}

export interface SweepPlan {
  name: string;
  configFile: string;
  /** Steps per variant, when the sweep sets them. */
  steps?: number;
  seed: number;
  data: { train: string; test?: string; transform: string };
  /** Where its variants train (absent in sweeps planned before SLURM: local). */
  executor?: 'local' | 'slurm';
  /** Which evaluation of each run the rows take (absent in sweeps planned before it: the last). */
  select?: 'last' | 'best';
  created: string;
  variants: PlannedVariant[];
}

/** A scheduler task that trains a variant: `12345_2` on a node with its GPUs, and how often it was restarted. */
export interface TaskInfo {
  job: string;
  node?: string;
  /** `CUDA_VISIBLE_DEVICES` as the scheduler set it. */
  gpus?: string;
  restart: number;
}

export type SweepLogEntry =
  | { type: 'start'; variant: string; mode: 'new' | 'resume'; time: string; task?: TaskInfo }
  | { type: 'exit'; variant: string; reason: 'completed' | 'stopped' | 'failed'; error?: string; time: string }
  | { type: 'capacity'; parallel: number; why: string; time: string }
  | { type: 'submit'; job: string; variants: string[]; array: string; time: string }
  | { type: 'requeue'; variant: string; job: string; step: number; time: string }
  | { type: 'cancel'; jobs: string[]; variants: string[]; time: string };

export interface SweepState {
  dir: string;
  plan: SweepPlan;
  rows: SweepRow[];
  /** The variants' runs, by variant name (absent: never started). */
  runs: Map<string, RunState>;
}

export function appendLog(sweepDir: string, entry: SweepLogEntry): void {
  appendFileSync(path.join(sweepDir, SWEEP_LOG), JSON.stringify(entry) + '\n');
}

/** What the executors did in a sweep folder, oldest first. */
export function readSweepLog(sweepDir: string): SweepLogEntry[] {
  return parseJsonLines<SweepLogEntry>(diskFiles().readText(path.join(sweepDir, SWEEP_LOG)) ?? '');
}

/** Reads a sweep folder; undefined when it holds no readable `sweep.json`. */
export function readSweep(
  dir: string,
  isLive: (dir: string) => boolean = () => false,
  readRunAt?: (dir: string) => RunState | undefined,
): SweepState | undefined {
  const files = diskFiles(isLive);
  const text = files.readText(path.join(dir, SWEEP_FILE));
  if (!text) return undefined;
  let plan: SweepPlan;
  try {
    plan = JSON.parse(text) as SweepPlan;
  } catch {
    return undefined;
  }
  const log = parseJsonLines<SweepLogEntry>(files.readText(path.join(dir, SWEEP_LOG)) ?? '');
  const runs = new Map<string, RunState>();
  const rows = plan.variants.map((v): SweepRow => {
    const runDir = path.join(dir, v.dir);
    const run = readRunAt ? readRunAt(runDir) : readRun(runDir, files);
    if (run) runs.set(v.name, run);
    const lastExit = log
      .filter((e): e is Extract<SweepLogEntry, { type: 'exit' }> => e.type === 'exit' && e.variant === v.name)
      .pop();
    const last = run && selectedEval(run, plan.select);
    return {
      variant: v.name,
      origin: v.origin,
      skips: v.skips,
      dropout: v.dropout,
      params: v.params,
      macs: v.macs,
      status: run ? run.status : lastExit?.reason === 'failed' ? 'failed' : 'pending',
      step: run?.step ?? 0,
      totalSteps: run?.totalSteps ?? plan.steps,
      trainL1: last?.train.l1,
      trainSsim: last?.train.ssim,
      testL1: last?.test?.l1,
      testSsim: last?.test?.ssim,
      gap: last?.gap?.l1,
      copyRate: last?.memorisation?.copyRate,
      copyingCt: last?.memorisation?.ct,
      diversity: last?.memorisation?.diversity,
      criticRt: last?.critic?.rt,
      criticRv: last?.critic?.rv,
      imgPerSec: run?.medianImgPerSec,
      seconds: run?.seconds ?? 0,
      error: run?.error ?? (lastExit?.reason === 'failed' ? lastExit.error : undefined),
      ...(v.replicate ? { replicate: v.replicate } : {}),
      ...(v.half ? { half: v.half } : {}),
      ...(last?.test && run?.status === 'completed' ? { testImageL1: imageL1At(files, runDir, last.step) } : {}),
    };
  });
  return { dir, plan, rows, runs };
}

/** A run's evaluation the rows show: its last, or (`select: best`) its lowest test L1. */
export function selectedEval(run: RunState, select: SweepPlan['select']): RunState['lastEval'] {
  if (select !== 'best' || run.bestStep === undefined) return run.lastEval;
  return run.evals.find((e) => e.step === run.bestStep) ?? run.lastEval;
}

/** A completed run's test-image L1s by folder and step: the file no longer changes, and panels re-read sweeps often. */
const imageL1Cache = new Map<string, number[] | undefined>();

/** The test images' L1 at one evaluation, by image index; undefined where the run recorded none (older runs). */
function imageL1At(files: RunFiles, runDir: string, step: number): number[] | undefined {
  const key = `${runDir}@${step}`;
  if (imageL1Cache.has(key)) return imageL1Cache.get(key);
  const text = files.readText(path.join(runDir, TEST_IMAGES_FILE));
  const l1s: number[] = [];
  let found = 0;
  for (const line of (text ?? '').split('\n').slice(1)) {
    const [s, image, l1] = line.split(',').map(Number);
    if (s === step && Number.isInteger(image) && image >= 0 && Number.isFinite(l1) && l1s[image] === undefined) {
      l1s[image] = l1;
      found++;
    }
  }
  const complete = found > 0 && found === l1s.length ? l1s : undefined;
  if (text !== undefined) imageL1Cache.set(key, complete);
  return complete;
}
