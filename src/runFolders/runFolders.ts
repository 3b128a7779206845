// Run folders on disk, for the panel and the command line: which exist, what they hold, and which sample files may
// be shown.

import { readdirSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readSweep, SWEEP_FILE, type SweepState } from './sweepFolder';
import { diskFiles } from './diskFiles';
import type { RunState } from '../protocol/runs';
import { readRun } from './runState';
import { RunTail } from './runTail';

/** The run folder a sample path belongs to, or undefined when the path leaves it (never served). */
export function sampleInside(runDir: string, samplePath: string): string | undefined {
  const full = path.resolve(runDir, samplePath);
  const rel = path.relative(path.join(runDir, 'samples'), full);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) && full.endsWith('.png') ? full : undefined;
}

/** Runs read before, by folder: each read as it grows, with the size and mtime of its events.jsonl then. */
export type RunCache = Map<string, { key: string; live: boolean; state: RunState; tail: RunTail }>;

/**
 * Reads every run folder under `root`, newest first, then the variant runs of every sweep folder (a folder with
 * sweep.json) in sweep order, with ids `sweep/variant`; unreadable ones are left out. With a cache, only runs
 * whose events.jsonl changed (or whose liveness changed) are read again, and only what was appended to them
 * (runTail.ts): the panel refreshes while a run trains, at a cost that does not grow with the run's length.
 */
export function readRuns(root: string, isLive: (dir: string) => boolean, cache?: RunCache): RunState[] {
  return readRunsAndSweeps(root, isLive, cache).runs;
}

export function readRunsAndSweeps(
  root: string,
  isLive: (dir: string) => boolean,
  cache?: RunCache,
): { runs: RunState[]; sweeps: SweepState[] } {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => statSync(path.join(root, n)).isDirectory());
  } catch {
    return { runs: [], sweeps: [] };
  }
  const files = diskFiles(isLive);
  const read = (dir: string, id: string): RunState | undefined => {
    const withId = (s: RunState | undefined) => s && { ...s, id };
    if (!cache) return withId(readRun(dir, files));
    let key: string;
    try {
      const st = statSync(path.join(dir, 'events.jsonl'));
      key = `${st.size}:${st.mtimeMs}`;
    } catch {
      cache.delete(dir);
      return undefined;
    }
    const live = isLive(dir);
    const hit = cache.get(dir);
    if (hit && hit.key === key && hit.live === live) return hit.state;
    const tail = hit?.tail ?? new RunTail(dir);
    const state = withId(tail.read(files));
    if (state) cache.set(dir, { key, live, state, tail });
    return state;
  };
  const runs: RunState[] = [];
  const sweeps: SweepState[] = [];
  for (const n of names.sort().reverse()) {
    const dir = path.join(root, n);
    if (files.readText(path.join(dir, SWEEP_FILE)) !== undefined) {
      const sweep = readSweep(dir, isLive, (runDir) => read(runDir, `${n}/${path.basename(runDir)}`));
      if (!sweep) continue;
      sweeps.push(sweep);
      for (const v of sweep.plan.variants) {
        const run = sweep.runs.get(v.name);
        if (run) runs.push({ ...run, name: v.name, sweep: sweep.plan.name });
      }
      continue;
    }
    const run = read(dir, n);
    if (run) runs.push(run);
  }
  return { runs, sweeps };
}
