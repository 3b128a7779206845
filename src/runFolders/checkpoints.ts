// A run folder's checkpoints: `checkpoints/step-<n>/`, each published whole by a rename, each with a manifest
// (`manifest.json`: every file's size and SHA-256) written last. Readers find them by scanning, not by
// `latest.json` (only a hint for people), and a resumed run checks the manifest before it loads anything, so one
// broken file costs the checkpoint it is in and nothing more.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const CHECKPOINTS = 'checkpoints';
export const MANIFEST = 'manifest.json';

export interface CheckpointRef {
  step: number;
  dir: string;
}

export interface Manifest {
  step: number;
  /** The last evaluation's test L1 when it was written: the best is kept whatever its age. */
  testL1?: number;
  files: Record<string, { size: number; sha256: string }>;
}

export const checkpointName = (step: number) => `step-${String(step).padStart(7, '0')}`;

/** The published checkpoints of a run, oldest first (temporary folders of an unfinished write are not). */
export function keptCheckpoints(runDir: string): CheckpointRef[] {
  const root = join(runDir, CHECKPOINTS);
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .filter((d) => /^step-\d+$/.test(d))
    .map((d) => ({ step: Number(d.slice(5)), dir: join(root, d) }))
    .sort((a, b) => a.step - b.step);
}

export const hasCheckpoint = (runDir: string) => keptCheckpoints(runDir).length > 0;

/** The checkpoint of `step` (the newest without one); an error lists the kept steps. */
export function checkpointAt(runDir: string, step?: number): CheckpointRef {
  const kept = keptCheckpoints(runDir);
  if (!kept.length) throw new Error(`${runDir} has no checkpoint`);
  const chosen = step === undefined ? kept[kept.length - 1] : kept.find((c) => c.step === step);
  if (!chosen)
    throw new Error(`${runDir} keeps checkpoints at steps ${kept.map((c) => c.step).join(', ')}, not ${step}`);
  return chosen;
}

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** The manifest of a filled checkpoint folder: each of its files' size and hash. */
export function manifestOf(dir: string, step: number, testL1: number | undefined): Manifest {
  const files: Manifest['files'] = {};
  for (const name of readdirSync(dir).sort()) {
    if (name === MANIFEST) continue;
    files[name] = { size: statSync(join(dir, name)).size, sha256: sha256(join(dir, name)) };
  }
  return { step, ...(testL1 === undefined ? {} : { testL1 }), files };
}

/** The manifest as written, undefined where there is none or it does not parse. */
export function readManifest(dir: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8')) as Manifest;
    return m && typeof m.files === 'object' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What is wrong with a checkpoint, naming the file, or undefined when every file is as its manifest says. One
 * written before manifests existed has nothing to check against: its files are left to the loader.
 */
export function checkpointProblem(dir: string): string | undefined {
  if (!existsSync(join(dir, MANIFEST))) return undefined;
  const manifest = readManifest(dir);
  if (!manifest) return `${join(dir, MANIFEST)} is not a readable manifest`;
  for (const [name, want] of Object.entries(manifest.files)) {
    const file = join(dir, name);
    if (!existsSync(file)) return `${file} is missing`;
    const size = statSync(file).size;
    if (size !== want.size) return `${file} is ${size} bytes, its manifest says ${want.size}`;
    if (sha256(file) !== want.sha256) return `${file} does not match its checksum`;
  }
  return undefined;
}
