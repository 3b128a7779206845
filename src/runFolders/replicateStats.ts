// The ablation table over seeds (`ablation.seeds`): per variant the mean and 95% interval of each metric over its
// replicates, and its difference from the reference (the base, else the first variant) in test L1, paired by
// seed, with Holm's correction over the variants compared and a plain verdict. A variant with one seed has no seed
// variance to measure: its difference is paired by test image within that seed, and says so (`over: 'images'`).
// Pure (core/statistics.ts): the report, `p2p ablate --status` and the panel read it.

import {
  differenceFromReference,
  holm,
  meanInterval,
  type DifferenceFromReference,
  type Estimate,
} from '../core/statistics';
import type { SweepRow } from '../protocol/runs';
import { signed } from './sweepTable';

const SUMMARY_METRICS = [
  'trainL1',
  'testL1',
  'gap',
  'testSsim',
  'copyRate',
  'copyingCt',
  'diversity',
  'criticRt',
  'criticRv',
] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];

export type Verdict = 'better' | 'worse' | 'no detectable difference at this noise' | 'reference';

export interface ReplicateSummary {
  variant: string;
  /** The seeds of its completed replicates, in order. */
  seeds: number[];
  metrics: Record<SummaryMetric, Estimate | undefined>;
  /**
   * Test L1 minus the reference's: paired by seed over two shared seeds or more, else paired by test image within
   * the one shared seed; absent for the reference and without pairs.
   */
  difference?: DifferenceFromReference & { adjusted: number | undefined };
  verdict: Verdict | undefined;
}

export interface SweepSummary {
  reference: string;
  variants: ReplicateSummary[];
  /** The seed-to-seed standard deviation of test L1, the median over variants: the noise floor. */
  noiseFloor: number | undefined;
  /** Whether any variant has two completed seeds: otherwise seed variance is unmeasured. */
  seedVariance: boolean;
}

/** A row's variant (a replicate's model) and seed (a sweep without replicates: all at the sweep's seed). */
const variantOf = (r: SweepRow) => r.replicate?.of ?? r.variant;

/** The summary of a sweep's completed runs, grouped by variant; undefined without rows. */
export function summarizeReplicates(rows: readonly SweepRow[], sweepSeed = 0): SweepSummary | undefined {
  const groups = new Map<string, SweepRow[]>();
  // Runs on half the training set are another experiment (disjointHalves.ts), not replicates.
  for (const r of rows.filter((r) => !r.half)) groups.set(variantOf(r), [...(groups.get(variantOf(r)) ?? []), r]);
  if (!groups.size) return undefined;
  const seedOf = (r: SweepRow) => r.replicate?.seed ?? sweepSeed;
  const completed = (name: string) => groups.get(name)!.filter((r) => r.status === 'completed');
  const names = [...groups.keys()];
  const reference = names.includes('base') ? 'base' : names[0];
  const ref = new Map(completed(reference).map((r) => [seedOf(r), r]));
  const variants = names.map((name): ReplicateSummary => {
    const runs = completed(name);
    const summary: ReplicateSummary = {
      variant: name,
      seeds: runs.map(seedOf),
      metrics: metricEstimates(runs),
      verdict: name === reference ? 'reference' : undefined,
    };
    const paired = runs.flatMap((r) => {
      const other = ref.get(seedOf(r));
      return other?.testL1 !== undefined && r.testL1 !== undefined ? [[r, other] as const] : [];
    });
    const d = name === reference ? undefined : difference(paired);
    return d ? { ...summary, difference: { ...d, adjusted: undefined } } : summary;
  });
  adjust(variants);
  const spreads = variants
    .map((v) => v.metrics.testL1?.sd)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  const noiseFloor = spreads.length ? spreads[Math.floor((spreads.length - 1) / 2)] : undefined;
  return { reference, variants, noiseFloor, seedVariance: spreads.length > 0 };
}

function metricEstimates(runs: readonly SweepRow[]): ReplicateSummary['metrics'] {
  return Object.fromEntries(
    SUMMARY_METRICS.map((m) => {
      const values = runs.map((r) => r[m]).filter((v): v is number => v !== undefined && Number.isFinite(v));
      return [m, values.length ? meanInterval(values) : undefined];
    }),
  ) as ReplicateSummary['metrics'];
}

/** Paired by seed from two pairs of runs; from one, paired by test image where both recorded the same images. */
function difference(pairs: readonly (readonly [SweepRow, SweepRow])[]): DifferenceFromReference | undefined {
  if (pairs.length >= 2) return differenceFromReference(pairs.map(([r, ref]) => [r.testL1! - ref.testL1!]));
  if (pairs.length !== 1) return undefined;
  const [a, b] = [pairs[0][0].testImageL1, pairs[0][1].testImageL1];
  if (!a || !b || a.length !== b.length || a.length < 2) return undefined;
  return differenceFromReference([a.map((v, i) => v - b[i])]);
}

/** Holm over the variants with a difference, then each one's verdict (test L1: lower is better). */
function adjust(variants: ReplicateSummary[]): void {
  const compared = variants.filter((v) => v.difference?.p !== undefined);
  const adjusted = holm(compared.map((v) => v.difference!.p!));
  compared.forEach((v, i) => {
    const d = v.difference!;
    d.adjusted = adjusted[i];
    const [lo, hi] = d.interval!;
    const real = adjusted[i] < 0.05 && (hi < 0 || lo > 0);
    v.verdict = !real ? 'no detectable difference at this noise' : hi < 0 ? 'better' : 'worse';
  });
}

/** "0.412 ± 0.018" (the 95% interval's half-width), or the mean alone from one seed. */
export function plusMinus(e: Estimate | undefined, digits = 3): string {
  if (!e) return '—';
  if (!e.interval) return e.mean.toFixed(digits);
  return `${e.mean.toFixed(digits)} ± ${((e.interval[1] - e.interval[0]) / 2).toFixed(digits)}`;
}

export const SUMMARY_HEADER = [
  'Variant',
  'Seeds',
  'Train L1',
  'Test L1',
  'Gap (L1)',
  'Test SSIM',
  'Copy rate',
  'C_T',
  'Diversity',
  'Critic r_t',
  'Critic r_v',
  'Δ test L1 [95% CI]',
  'p (Holm)',
  'Verdict',
];

/** What the table's intervals are over: the line under it in the report, `p2p ablate --status` and the panel. */
export function summaryNote(summary: SweepSummary): string {
  const seeds = summary.seedVariance
    ? "Mean ± half the 95% Student-t interval over each variant's seeds (its completed replicates). " +
      `Δ: test L1 minus \`${summary.reference}\`'s, paired by seed; p from the paired t test, Holm-adjusted over ` +
      'the variants compared.'
    : 'One seed per variant: seed variance is unmeasured, so nothing here says what another seed would give. ' +
      `Δ: test L1 minus \`${summary.reference}\`'s, paired by test image; p from the paired t test over the images, ` +
      'Holm-adjusted over the variants compared.';
  const images = summary.variants.some((v) => v.difference?.over === 'images');
  const marked = images ? ' ‡: one shared seed, the interval is over test images only (seed variance unmeasured).' : '';
  const floor =
    summary.noiseFloor === undefined
      ? ''
      : ` Noise floor (seed-to-seed sd of test L1, median over variants): ${summary.noiseFloor.toFixed(3)}.`;
  return `${seeds}${marked}${floor}`;
}

/** The section's title: over seeds, or over the test images of one seed. */
export const summaryTitle = (summary: SweepSummary) =>
  summary.seedVariance ? 'Over seeds' : 'Paired by test image (one seed)';

/** "+0.012 [−0.003, +0.027]", marked ‡ where the interval is over test images only; "—" without one. */
export function differenceText(d: ReplicateSummary['difference']): string {
  if (!d?.interval) return '—';
  const images = d.over === 'images' ? ' ‡' : '';
  return `${signed(d.mean, 3)} [${signed(d.interval[0], 3)}, ${signed(d.interval[1], 3)}]${images}`;
}

/** One summary row's cells, the same in the report and the panel. */
export function summaryCells(v: ReplicateSummary): string[] {
  const d = v.difference;
  return [
    v.variant,
    String(v.seeds.length),
    ...SUMMARY_METRICS.map((m) =>
      plusMinus(v.metrics[m], m === 'copyingCt' || m === 'criticRt' || m === 'criticRv' ? 2 : 3),
    ),
    differenceText(d),
    d?.adjusted === undefined ? '—' : d.adjusted < 0.001 ? '<0.001' : d.adjusted.toFixed(3),
    v.verdict ?? '—',
  ];
}

/** The table over seeds as every surface writes it: title, the line under it, header, rows, numeric columns. */
export interface SummaryTable {
  title: string;
  note: string;
  header: string[];
  rows: string[][];
  /** Columns of numbers (right-aligned): seeds to p. */
  numeric: (column: number) => boolean;
}

export function summaryTable(summary: SweepSummary): SummaryTable {
  return {
    title: summaryTitle(summary),
    note: summaryNote(summary),
    header: SUMMARY_HEADER,
    rows: summary.variants.map(summaryCells),
    numeric: (i) => i >= 1 && i <= SUMMARY_METRICS.length + 3,
  };
}
