// Run folders on disk for the panel: which exist, what they hold, and which sample files may be shown.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { readRun, type RunState } from './runState';

/** The run folder a sample path belongs to, or undefined when the path leaves it (never served). */
export function sampleInside(runDir: string, samplePath: string): string | undefined {
  const full = path.resolve(runDir, samplePath);
  const rel = path.relative(path.join(runDir, 'samples'), full);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) && full.endsWith('.png') ? full : undefined;
}

/** Reads every run folder under `root`, newest first; unreadable ones are left out. */
export function readRuns(root: string, isLive: (dir: string) => boolean): RunState[] {
  let names: string[];
  try {
    names = readdirSync(root).filter((n) => statSync(path.join(root, n)).isDirectory());
  } catch {
    return [];
  }
  const files = {
    readText: (p: string) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
    isLive,
  };
  return names
    .sort()
    .reverse()
    .map((n) => readRun(path.join(root, n), files))
    .filter((r): r is RunState => !!r);
}
