// The one reader of run files on disk, for the runs panel, the sweep folder and the sweep queue.

import { readFileSync } from 'node:fs';
import type { RunFiles } from './runState';

/** Run files read from disk: a file that is missing or unreadable reads as undefined. */
export function diskFiles(isLive: (dir: string) => boolean = () => false): RunFiles {
  return {
    readText: (p) => {
      try {
        return readFileSync(p, 'utf8');
      } catch {
        return undefined;
      }
    },
    isLive,
  };
}
