// The report's table over seeds recomputed by hand from the runs' metrics.csv: each variant's mean test L1 and the
// half-width of its 95% Student-t interval over seeds, and its difference from the reference paired by seed. For
// the sweep tests, local and on SLURM.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SUMMARY_HEADER } from '../../src/runFolders/replicateStats';
import type { SweepPlan } from '../../src/runFolders/sweepFolder';

const [DELTA, VERDICT] = ['Δ test L1 [95% CI]', 'Verdict'].map((h) => SUMMARY_HEADER.indexOf(h));

/** t(0.975, df) from a printed table (df 1 to 4). */
const T975: Record<number, number> = { 1: 12.706204736, 2: 4.30265273, 3: 3.182446305, 4: 2.776445105 };

/** The last evaluation's test L1 in a run folder's metrics.csv (column 6). */
export function lastTestL1(runDir: string): number {
  const lines = readFileSync(join(runDir, 'metrics.csv'), 'utf8').trim().split('\n');
  return Number(lines[lines.length - 1].split(',')[5]);
}

const num = (v: string) => Number(v.replace('−', '-'));
const meanOf = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const halfWidth = (xs: number[]) => {
  const m = meanOf(xs);
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  return (T975[xs.length - 1] * sd) / Math.sqrt(xs.length);
};

/**
 * Checks every variant's row of report.md's table over seeds against metrics.csv: "mean ± half" of test L1 and, for
 * all but the reference, "Δ [low, high]" paired by seed; returns the verdicts by variant.
 */
export function assertReportOverSeeds(sweepDir: string, plan: SweepPlan, reference: string): Map<string, string> {
  const md = readFileSync(join(sweepDir, 'report.md'), 'utf8');
  const bySeed = new Map<string, Map<number, number>>();
  for (const v of plan.variants) {
    const { of, seed } = v.replicate!;
    bySeed.set(of, (bySeed.get(of) ?? new Map()).set(seed, lastTestL1(join(sweepDir, v.dir))));
  }
  const verdicts = new Map<string, string>();
  for (const [variant, values] of bySeed) {
    const row = md.split('\n').find((l) => l.startsWith(`| ${variant} | ${values.size} |`));
    assert.ok(row, `${variant}'s row over ${values.size} seeds in:\n${md}`);
    const cells = row.split(' | ').map((c) => c.replace(/ \|$/, '').trim());
    const xs = [...values.values()];
    const [mean, half] = cells[3].split(' ± ').map(Number);
    assert.ok(Math.abs(mean - meanOf(xs)) < 6e-4, `${variant} test L1 ${cells[3]} against ${meanOf(xs)}`);
    assert.ok(Math.abs(half - halfWidth(xs)) < 6e-4, `${variant} half-width ${half} against ${halfWidth(xs)}`);
    verdicts.set(variant, cells[VERDICT]);
    if (variant === reference) continue;
    const ref = bySeed.get(reference)!;
    const diffs = [...values].map(([seed, x]) => x - ref.get(seed)!);
    const delta = /^([+−][\d.]+) \[([+−][\d.]+), ([+−][\d.]+)\]$/.exec(cells[DELTA]);
    assert.ok(delta, `${variant} Δ ${cells[DELTA]}`);
    assert.ok(Math.abs(num(delta[1]) - meanOf(diffs)) < 6e-4, `${variant} Δ ${cells[DELTA]} against ${meanOf(diffs)}`);
    const low = meanOf(diffs) - halfWidth(diffs);
    assert.ok(Math.abs(num(delta[2]) - low) < 6e-4, `${variant} Δ low ${cells[DELTA]} against ${low}`);
  }
  return verdicts;
}
