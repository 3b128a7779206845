// The run folder: every file is written to a temporary name and renamed, checkpoints are whole folders renamed
// into place and then named by `checkpoints/latest.json`, so a killed trainer leaves only complete files.

import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import type { TrainerEvent } from './contract';

export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

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
    return false; // a torn last line is kept for the reader to skip
  }
}

export const METRICS_HEADER =
  'step,epoch,train_l1,train_psnr,train_ssim,test_l1,test_psnr,test_ssim,gap_l1,gap_psnr,gap_ssim';

/** Each test image's L1 at each evaluation (`image` counts from 0 in the test set's order): the pairs by image. */
export const TEST_IMAGES_FILE = 'test-images.csv';
export const TEST_IMAGES_HEADER = 'step,image,l1';

/** Keeps a CSV file's header and the rows of steps up to `step` (the first column); rewrites it only if needed. */
function dropRowsAfter(file: string, step: number): void {
  if (!existsSync(file)) return;
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const kept = lines.filter((l, i) => i === 0 || !(Number(l.split(',')[0]) > step));
  if (kept.length < lines.length) writeAtomic(file, kept.join('\n') + '\n');
}

export class RunDir {
  constructor(readonly dir: string) {}

  static create(root: string, name: string, now: Date): RunDir {
    let dir = join(root, runName(name, now));
    for (let i = 2; existsSync(dir); i++) dir = join(root, `${runName(name, now)}-${i}`);
    return RunDir.createAt(dir);
  }

  /** A new run in exactly `dir`; refuses a folder that already holds a run. */
  static createAt(dir: string): RunDir {
    if (existsSync(join(dir, 'events.jsonl')))
      throw new Error(`trainer: ${dir} already holds a run; resume it or choose another folder`);
    mkdirSync(join(dir, 'samples'), { recursive: true });
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    writeAtomic(join(dir, 'metrics.csv'), METRICS_HEADER + '\n');
    writeAtomic(join(dir, TEST_IMAGES_FILE), TEST_IMAGES_HEADER + '\n');
    return new RunDir(dir);
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** One line per event; a single O_APPEND write each, so lines never interleave or tear. */
  appendEvent(event: TrainerEvent): void {
    appendFileSync(this.path('events.jsonl'), JSON.stringify({ ...event, time: new Date().toISOString() }) + '\n');
  }

  appendMetrics(line: string): void {
    appendFileSync(this.path('metrics.csv'), line + '\n');
  }

  /** One row per test image; the header first in a run begun before the file existed. */
  appendTestImages(step: number, l1s: readonly number[]): void {
    const file = this.path(TEST_IMAGES_FILE);
    const header = existsSync(file) ? '' : TEST_IMAGES_HEADER + '\n';
    appendFileSync(file, header + l1s.map((l1, i) => `${step},${i},${l1.toFixed(6)}\n`).join(''));
  }

  /**
   * Drops what was recorded after `step` (the checkpoint a resumed run goes on from): metrics and test-image rows, and step, eval
   * and sample events. So a run killed between checkpoints repeats no step in metrics.csv, test-images.csv or
   * events.jsonl.
   */
  dropAfter(step: number): void {
    dropRowsAfter(this.path('metrics.csv'), step);
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

  /** Writes a checkpoint folder through `fill`, then publishes it; keeps the newest `keep`. */
  async checkpoint(step: number, fill: (dir: string) => Promise<void>, keep = 3): Promise<string> {
    const final = this.path('checkpoints', `step-${String(step).padStart(7, '0')}`);
    const tmp = `${final}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await fill(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    writeAtomic(
      this.path('checkpoints', 'latest.json'),
      JSON.stringify({ step, dir: final.slice(this.dir.length + 1) }) + '\n',
    );
    const all = readdirSync(this.path('checkpoints'))
      .filter((d) => /^step-\d+$/.test(d))
      .sort();
    for (const old of all.slice(0, Math.max(0, all.length - keep)))
      rmSync(this.path('checkpoints', old), { recursive: true, force: true });
    return final;
  }

  latestCheckpoint(): { step: number; dir: string } | undefined {
    const file = this.path('checkpoints', 'latest.json');
    if (!existsSync(file)) return undefined;
    const { step, dir } = JSON.parse(readFileSync(file, 'utf8')) as { step: number; dir: string };
    return { step, dir: this.path(dir) };
  }
}
