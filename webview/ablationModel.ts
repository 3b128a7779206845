// What the Ablations tab shows of a sweep, as data: its seeds, the runs of the seed whose samples are shown, and
// per variant a curve that is the mean over its seeds with a band for their spread (min to max, as W&B draws
// grouped runs) and, on demand, each seed's own curve. Pure: the panel renders it, the unit tests check it.

import type { EvalPayload } from '../src/protocol/trainer';
import type { Series } from './charts';
import type { PanelSweep } from '../src/protocol/panel';

/** A row's variant and seed: a replicate's model and seed, or the row itself at the sweep's seed. */
const variantOf = (sw: PanelSweep, i: number) => sw.rows[i].replicate?.of ?? sw.rows[i].variant;
const seedOf = (sw: PanelSweep, i: number) => sw.rows[i].replicate?.seed ?? sw.seed;

/** The sweep's seeds in ascending order: the sweep's own seed alone without replicates. */
export function sweepSeeds(sw: PanelSweep): number[] {
  return [...new Set(sw.rows.map((_, i) => seedOf(sw, i)))].sort((a, b) => a - b);
}

/** The seed whose samples are shown: the one chosen where the sweep has it, else its first. */
export function shownSeed(sw: PanelSweep, chosen: number | undefined): number {
  const seeds = sweepSeeds(sw);
  return chosen !== undefined && seeds.includes(chosen) ? chosen : seeds[0];
}

/** Per variant in the sweep's order, the panel id of its run at `seed` (undefined before it starts). */
export function runsAtSeed(sw: PanelSweep, seed: number): { variant: string; runId: string | undefined }[] {
  return sw.rows.flatMap((_, i) =>
    seedOf(sw, i) === seed ? [{ variant: variantOf(sw, i), runId: sw.runIds[i] }] : [],
  );
}

/** One value of an evaluation (test L1, the gap), undefined where it has none. */
export type EvalValue = (e: EvalPayload) => number | undefined;

/**
 * The curves of a sweep's variants: per variant the mean over its seeds at each step that all of its seeds with
 * a run have evaluated, with the band [min, max] over them where there are two or more; with `eachSeed`, also
 * one thin curve per seed in the variant's colour (`of`: the index of its variant's series).
 */
export function seedCurves(
  sw: PanelSweep,
  evalsOf: (runId: string) => readonly EvalPayload[] | undefined,
  value: EvalValue,
  eachSeed = false,
): Series[] {
  const variants = [...new Set(sw.rows.map((_, i) => variantOf(sw, i)))];
  const curves: Series[] = [];
  const seeds: Series[] = [];
  variants.forEach((variant, of) => {
    const runs = sw.rows.flatMap((_, i) => {
      const id = sw.runIds[i];
      const evals = id === undefined || variantOf(sw, i) !== variant ? undefined : evalsOf(id);
      return evals ? [{ seed: seedOf(sw, i), points: valuesByStep(evals, value) }] : [];
    });
    curves.push(
      meanCurve(
        variant,
        runs.map((r) => r.points),
      ),
    );
    if (eachSeed && runs.length > 1)
      for (const r of runs) seeds.push({ name: `${variant} seed ${r.seed}`, points: [...r.points], of });
  });
  return [...curves, ...seeds];
}

function valuesByStep(evals: readonly EvalPayload[], value: EvalValue): Map<number, number> {
  const out = new Map<number, number>();
  for (const e of evals) {
    const v = value(e);
    if (v !== undefined && Number.isFinite(v)) out.set(e.step, v);
  }
  return out;
}

/** The mean over runs at the steps all of them have, and the band of their min and max from two runs on. */
function meanCurve(name: string, runs: Map<number, number>[]): Series {
  if (!runs.length) return { name, points: [] };
  const steps = [...runs[0].keys()].filter((s) => runs.every((r) => r.has(s))).sort((a, b) => a - b);
  const points = steps.map((s): [number, number] => [s, runs.reduce((a, r) => a + r.get(s)!, 0) / runs.length]);
  if (runs.length < 2) return { name, points };
  const band = steps.map((s): [number, number] => {
    const vs = runs.map((r) => r.get(s)!);
    return [Math.min(...vs), Math.max(...vs)];
  });
  return { name: `${name} (mean of ${runs.length})`, points, band };
}
