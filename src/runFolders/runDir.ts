// The run folder, as its one writer (the trainer holding `run.lock`) sees it: every file is written to a temporary
// name and renamed, checkpoints are whole folders with a manifest renamed into place, so a killed trainer leaves
// only complete files; and what a fault can still break (a torn last line, a lost metrics.csv, a temporary folder
// of a full disk) is repaired before a resumed run writes again.

import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkpointName, CHECKPOINTS, keptCheckpoints, manifestOf, MANIFEST, readManifest } from './checkpoints';
import type { EvalPayload, NeighbourRecord, Quality, TrainerEvent } from '../protocol/trainer';
import { RunLock } from './runLock';
import { writeAtomic } from './atomicWrite';
import { evalScalars, lossScalars, TensorBoardLog } from './tensorboard';

/** `20261127-231500-tiny` */
export function runName(name: string, now: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${name.replace(/[^\w.-]+/g, '_')}`;
}

const STEP_EVENTS = new Set(['step', 'eval', 'sample', 'checkpoint']);

/** Whether an events.jsonl line records a step, evaluation, sample or checkpoint after `step`. */
function stepAfter(line: string, step: number): boolean {
  try {
    const e = JSON.parse(line) as { type?: string; payload?: { step?: number } };
    return STEP_EVENTS.has(e.type ?? '') && (e.payload?.step ?? 0) > step;
  } catch {
    return false;
  }
}

export const METRICS_FILE = 'metrics.csv';
export const METRICS_HEADER =
  'step,epoch,train_l1,train_psnr,train_ssim,test_l1,test_psnr,test_ssim,gap_l1,gap_psnr,gap_ssim,' +
  'test_nn_median,copy_rate,copying_ct,diversity,critic_train,critic_test,critic_generated,critic_rt,critic_rv';

/** An evaluation's row of metrics.csv. */
export function metricsRow(e: EvalPayload): string {
  const cells = (q: Quality | null | undefined) =>
    q ? [q.l1.toFixed(5), q.psnr.toFixed(3), q.ssim.toFixed(4)] : ['', '', ''];
  const m = e.memorisation;
  const memorised = [m?.nnMedian.toFixed(5), m?.copyRate.toFixed(4), m?.ct?.toFixed(3), m?.diversity?.toFixed(5)];
  const c = e.critic;
  const critic = [
    c?.train.toFixed(4),
    c?.test.toFixed(4),
    c?.generated.toFixed(4),
    c?.rt.toFixed(4),
    c?.rv?.toFixed(4),
  ];
  return [
    e.step,
    e.epoch.toFixed(3),
    ...cells(e.train),
    ...cells(e.test),
    ...cells(e.gap),
    ...[...memorised, ...critic].map((v) => v ?? ''),
  ].join(',');
}

/**
 * Each test image's L1 at each evaluation (`image` counts from 0 in the test set's order): the pairs by image; and
 * its output's nearest training target (`nn`, an index in the training set) and RMS distance to it (on [-1, 1]), and
 * the output's RMS distance to its own target: `nn_rms / own_rms` below 1 is an output nearer a training target.
 */
export const TEST_IMAGES_FILE = 'test-images.csv';
const TEST_IMAGES_HEADER = 'step,image,l1,nn,nn_rms,own_rms';

/** Keeps a CSV file's header and the rows of steps up to `step` (the first column); rewrites it only if needed. */
function dropRowsAfter(file: string, step: number): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const kept = lines.filter((l, i) => i === 0 || !(Number(l.split(',')[0]) > step));
  if (kept.length < lines.length) writeAtomic(file, kept.join('\n') + '\n');
}

/** Claims `dir` by creating it (mkdir without `recursive` fails if it exists): false when it exists already. */
function claimFolder(dir: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new Error(`cannot create the run folder ${dir}: ${(e as Error).message}`);
  }
}

export class RunDir {
  private readonly tensorboard: TensorBoardLog;

  private constructor(
    readonly dir: string,
    readonly lock: RunLock,
  ) {
    this.tensorboard = new TensorBoardLog(dir);
  }

  /** A new run in a new folder under `root`, named by the time (`-2`, `-3`, ... when taken). */
  static create(root: string, name: string, now: Date): RunDir {
    mkdirSync(root, { recursive: true });
    let dir = join(root, runName(name, now));
    for (let i = 2; !claimFolder(dir); i++) dir = join(root, `${runName(name, now)}-${i}`);
    return RunDir.start(dir);
  }

  /** A new run in exactly `dir` (a sweep's variant); refuses a folder that already holds a run. */
  static createAt(dir: string): RunDir {
    mkdirSync(join(dir, '..'), { recursive: true });
    claimFolder(dir);
    return RunDir.start(dir);
  }

  /** The folder of a run to resume, locked. */
  static open(dir: string): RunDir {
    return new RunDir(dir, RunLock.acquire(dir));
  }

  private static start(dir: string): RunDir {
    const lock = RunLock.acquire(dir);
    if (existsSync(join(dir, 'events.jsonl'))) {
      lock.release();
      throw new Error(`trainer: ${dir} already holds a run; resume it or choose another folder`);
    }
    mkdirSync(join(dir, 'samples'), { recursive: true });
    mkdirSync(join(dir, CHECKPOINTS), { recursive: true });
    writeAtomic(join(dir, METRICS_FILE), METRICS_HEADER + '\n');
    writeAtomic(join(dir, TEST_IMAGES_FILE), TEST_IMAGES_HEADER + '\n');
    return new RunDir(dir, lock);
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /**
   * One line per event; a single O_APPEND write each, so lines never interleave. A step's losses, an evaluation's
   * metrics and a sample figure go to TensorBoard's log as well (tensorboard.ts).
   */
  appendEvent(event: TrainerEvent): void {
    appendFileSync(this.path('events.jsonl'), JSON.stringify({ ...event, time: new Date().toISOString() }) + '\n');
    if (event.type === 'step') this.tensorboard.scalars(event.payload.step, lossScalars(event.payload));
    else if (event.type === 'eval') this.tensorboard.scalars(event.payload.step, evalScalars(event.payload));
    else if (event.type === 'sample')
      this.tensorboard.image(event.payload.step, `samples/${event.payload.split}`, readFileSync(event.payload.path));
    this.lock.touch();
  }

  appendEval(e: EvalPayload): void {
    appendFileSync(this.path(METRICS_FILE), metricsRow(e) + '\n');
  }

  /** One row per test image; the header first in a run begun before the file existed. */
  appendTestImages(step: number, l1s: readonly number[], neighbours?: readonly NeighbourRecord[]): void {
    const file = this.path(TEST_IMAGES_FILE);
    const header = existsSync(file) ? '' : TEST_IMAGES_HEADER + '\n';
    const nn = (i: number) => {
      const n = neighbours?.[i];
      return n ? `${n.index},${n.rms.toFixed(5)},${n.ownRms.toFixed(5)}` : ',,';
    };
    appendFileSync(file, header + l1s.map((l1, i) => `${step},${i},${l1.toFixed(6)},${nn(i)}\n`).join(''));
  }

  /**
   * Drops what was recorded after `step` (the checkpoint a resumed run goes on from): metrics and test-image rows,
   * and step, eval and sample events and their TensorBoard records. So a run killed between checkpoints repeats no
   * step in metrics.csv, test-images.csv, events.jsonl or TensorBoard's log.
   */
  dropAfter(step: number): void {
    this.tensorboard.dropAfter(step);
    dropRowsAfter(this.path(METRICS_FILE), step);
    dropRowsAfter(this.path(TEST_IMAGES_FILE), step);
    const events = this.path('events.jsonl');
    if (!existsSync(events)) return;
    const lines = readFileSync(events, 'utf8').split('\n').filter(Boolean);
    const kept = lines.filter((l) => !stepAfter(l, step));
    if (kept.length < lines.length) writeAtomic(events, kept.join('\n') + '\n');
  }

  write(name: string, data: string | Uint8Array): string {
    const file = this.path(name);
    writeAtomic(file, data);
    return file;
  }

  /**
   * Writes a checkpoint folder through `fill` and its manifest, then publishes it by a rename; keeps the newest
   * `keep` and the one of the lowest test L1. A failed write (a full disk) removes its temporary folder.
   */
  async checkpoint(
    step: number,
    fill: (dir: string) => Promise<void>,
    { keep = 3, testL1 }: { keep?: number; testL1?: number } = {},
  ): Promise<string> {
    const final = this.path(CHECKPOINTS, checkpointName(step));
    const tmp = `${final}.tmp-${process.pid}`;
    try {
      rmSync(tmp, { recursive: true, force: true });
      mkdirSync(tmp, { recursive: true });
      await fill(tmp);
      writeAtomic(join(tmp, MANIFEST), JSON.stringify(manifestOf(tmp, step, testL1)) + '\n');
      rmSync(final, { recursive: true, force: true });
      renameSync(tmp, final);
    } catch (e) {
      rmSync(tmp, { recursive: true, force: true });
      throw new Error(
        `the checkpoint at step ${step} could not be written (${(e as Error).message}); the earlier ones are kept`,
      );
    }
    const hint = { step, dir: final.slice(this.dir.length + 1) };
    writeAtomic(this.path(CHECKPOINTS, 'latest.json'), JSON.stringify(hint) + '\n');
    this.prune(keep);
    return final;
  }

  /** Removes all but the newest `keep` checkpoints and the best (lowest test L1 in its manifest). */
  private prune(keep: number): void {
    const all = keptCheckpoints(this.dir);
    const scored = all.map((c) => ({ ...c, testL1: readManifest(c.dir)?.testL1 ?? Infinity }));
    const best = scored.reduce((b, c) => (c.testL1 < b.testL1 ? c : b), scored[0]);
    for (const old of all.slice(0, Math.max(0, all.length - keep)))
      if (old.step !== best?.step || !Number.isFinite(best.testL1)) rmSync(old.dir, { recursive: true, force: true });
  }

  /** The newest published checkpoint (by scanning: `latest.json` is a hint for people). */
  latestCheckpoint(): { step: number; dir: string } | undefined {
    return keptCheckpoints(this.dir).at(-1);
  }
}
