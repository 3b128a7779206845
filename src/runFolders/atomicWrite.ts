// A file written whole or not at all, for every writer of run and sweep folders.

import { renameSync, rmSync, writeFileSync } from 'node:fs';

/** Writes `file` whole or not at all: to a temporary name, then renamed; a failed write leaves no temporary. */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`cannot write ${file}: ${(e as Error).message}`);
  }
}
