// A run's skip probe (`p2p probe`, src/trainer/probe.ts) read back for the panel: `probes/<run>/probe.json` in the
// folder that holds the run. A missing, half-written or foreign file gives undefined, never a throw.

import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Probe } from '../protocol/trainer';

export const PROBE_FILE = 'probe.json';

/** `probes/<run>/` in the folder that holds the run: beside it, never inside it. */
export const probesDir = (runDir: string) => join(dirname(runDir), 'probes', basename(runDir));

/** When the run's probe.json was last written (ms), or undefined without one: a newer probe is shown again. */
export function probeMtime(runDir: string): number | undefined {
  try {
    return statSync(join(probesDir(runDir), PROBE_FILE)).mtimeMs;
  } catch {
    return undefined;
  }
}

/**
 * The run's probe, its figures taken from the folder probe.json is in (the runs folder may have moved since it
 * recorded absolute paths, and nothing outside that folder is ever named).
 */
export function readProbe(runDir: string): Probe | undefined {
  const dir = probesDir(runDir);
  let probe: Probe;
  try {
    probe = JSON.parse(readFileSync(join(dir, PROBE_FILE), 'utf8')) as Probe;
  } catch {
    return undefined;
  }
  if (!isProbe(probe)) return undefined;
  const inDir = (file: string) => join(dir, basename(file));
  const { unmodified, alphaZero } = probe.figures;
  return {
    ...probe,
    figures: { unmodified: inDir(unmodified), alphaZero: alphaZero.map((f) => ({ ...f, image: inDir(f.image) })) },
  };
}

/** The fields the panel reads, of the types it reads them as. */
function isProbe(p: Probe): boolean {
  const quality = (q: Probe['unmodified']['test'] | undefined) => typeof q?.l1 === 'number';
  return (
    !!p &&
    typeof p === 'object' &&
    Number.isInteger(p.step) &&
    Array.isArray(p.alphas) &&
    Array.isArray(p.skips) &&
    p.skips.every((s) => Number.isInteger(s?.level) && Number.isInteger(s.encoderLevel)) &&
    Array.isArray(p.doses) &&
    p.doses.every((d) => Number.isInteger(d?.level) && quality(d.train) && quality(d.test)) &&
    quality(p.unmodified?.train) &&
    quality(p.unmodified?.test) &&
    typeof p.figures?.unmodified === 'string' &&
    Array.isArray(p.figures.alphaZero) &&
    p.figures.alphaZero.every((f) => typeof f?.image === 'string')
  );
}
