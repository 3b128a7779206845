// The ablation table over seeds (`ablation.seeds`): per variant the mean and 95% interval of each metric over its
// replicates, and its difference from the reference (the base, else the first variant) in test L1, paired by
// seed, with Holm's correction over the variants compared and a plain verdict. Pure (core/statistics.ts): the
// report and the panel read it.

import { differenceFromReference, holm, meanInterval, type Estimate } from '../core/statistics';
import type { SweepRow } from './sweepFolder';

export const SUMMARY_METRICS = ['trainL1', 'testL1', 'gap', 'testSsim'] as const;
export type SummaryMetric = (typeof SUMMARY_METRICS)[number];

export type Verdict = 'better' | 'worse' | 'no detectable difference at this noise' | 'reference';

export interface ReplicateSummary {
  variant: string;
  /** The seeds of its completed replicates, in order. */
  seeds: number[];
  metrics: Record<SummaryMetric, Estimate | undefined>;
  /** Test L1 minus the reference's, paired by seed; absent for the reference and without two shared seeds. */
  difference?: Estimate & { p: number | undefined; adjusted: number | undefined };
  verdict: Verdict | undefined;
}

export interface SweepSummary {
  reference: string;
  variants: ReplicateSummary[];
  /** The seed-to-seed standard deviation of test L1, the median over variants: the noise floor. */
  noiseFloor: number | undefined;
}

const completed = (rows: readonly SweepRow[]) => rows.filter((r) => r.replicate && r.status === 'completed');

/** The summary over seeds; undefined when the sweep has no replicates. */
export function summarizeReplicates(rows: readonly SweepRow[]): SweepSummary | undefined {
  const groups = new Map<string, SweepRow[]>();
  for (const r of rows) if (r.replicate) groups.set(r.replicate.of, [...(groups.get(r.replicate.of) ?? []), r]);
  if (!groups.size) return undefined;
  const names = [...groups.keys()];
  const reference = names.includes('base') ? 'base' : names[0];
  const bySeed = (name: string) => new Map(completed(groups.get(name)!).map((r) => [r.replicate!.seed, r]));
  const ref = bySeed(reference);
  const variants = names.map((name) => {
    const runs = completed(groups.get(name)!);
    const metrics = Object.fromEntries(
      SUMMARY_METRICS.map((m) => {
        const values = runs.map((r) => r[m]).filter((v): v is number => v !== undefined && Number.isFinite(v));
        return [m, values.length ? meanInterval(values) : undefined];
      }),
    ) as ReplicateSummary['metrics'];
    const summary: ReplicateSummary = {
      variant: name,
      seeds: runs.map((r) => r.replicate!.seed),
      metrics,
      verdict: undefined,
    };
    if (name === reference) return { ...summary, verdict: 'reference' as const };
    const pairs = [...bySeed(name)].filter(
      ([seed, r]) => ref.get(seed)?.testL1 !== undefined && r.testL1 !== undefined,
    );
    if (pairs.length < 2) return summary;
    const d = differenceFromReference(pairs.map(([seed, r]) => [r.testL1! - ref.get(seed)!.testL1!]));
    return { ...summary, difference: { ...d, adjusted: undefined } };
  });
  adjust(variants);
  const spreads = variants
    .map((v) => v.metrics.testL1?.sd)
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
  const noiseFloor = spreads.length ? spreads[Math.floor((spreads.length - 1) / 2)] : undefined;
  return { reference, variants, noiseFloor };
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
  'Δ test L1 [95% CI]',
  'p (Holm)',
  'Verdict',
];

/** One summary row's cells, the same in the report and the panel. */
export function summaryCells(v: ReplicateSummary): string[] {
  const d = v.difference;
  const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(3)}`;
  return [
    v.variant,
    String(v.seeds.length),
    ...SUMMARY_METRICS.map((m) => plusMinus(v.metrics[m])),
    d?.interval ? `${signed(d.mean)} [${signed(d.interval[0])}, ${signed(d.interval[1])}]` : '—',
    d?.adjusted === undefined ? '—' : d.adjusted < 0.001 ? '<0.001' : d.adjusted.toFixed(3),
    v.verdict ?? '—',
  ];
}
