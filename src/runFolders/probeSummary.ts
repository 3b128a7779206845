// What each skip does across a sweep (`ablation.probeSkips`): per variant and decoder level, how much train and
// test L1 change when that skip alone is scaled to zero at inference (its probe's alpha = 0 against the
// unmodified model), mean and 95% interval over the variant's seeds. Pure over the probes read back.

import { meanInterval, type Estimate } from '../core/statistics';
import type { Probe } from '../protocol/trainer';
import { signed } from './sweepTable';

export interface SkipEffectRow {
  variant: string;
  level: number;
  encoderLevel: number;
  seeds: number;
  /** alpha = 0 minus unmodified, toward zero (`scale`). */
  train: Estimate;
  test: Estimate;
}

/** One row per variant and level with a skip, from the probes of its completed runs (`of`: the variant a run repeats). */
export function skipEffects(probes: readonly { of: string; probe: Probe }[]): SkipEffectRow[] {
  const byVariant = new Map<string, Probe[]>();
  for (const { of, probe } of probes) byVariant.set(of, [...(byVariant.get(of) ?? []), probe]);
  return [...byVariant].flatMap(([variant, list]) =>
    list[0].skips.map((skip) => {
      const delta = (p: Probe, split: 'train' | 'test') => {
        const off = p.doses.find((d) => d.level === skip.level && d.mode === 'scale' && d.alpha === 0);
        return off ? off[split].l1 - p.unmodified[split].l1 : NaN;
      };
      const of = (split: 'train' | 'test') => meanInterval(list.map((p) => delta(p, split)).filter(Number.isFinite));
      return {
        variant,
        level: skip.level,
        encoderLevel: skip.encoderLevel,
        seeds: list.length,
        train: of('train'),
        test: of('test'),
      };
    }),
  );
}

export const SKIP_EFFECTS_HEADER = [
  'Variant',
  'Level (encoder)',
  'Seeds',
  'Δ train L1 without it',
  'Δ test L1 without it',
];

export const SKIP_EFFECTS_NOTE =
  'Each skip alone scaled to zero at inference (`p2p probe`, no retraining), against the unmodified model at the ' +
  "run's last checkpoint: the change in L1, mean ± half the 95% Student-t interval over the variant's seeds. " +
  'Level 1 is the deepest decoder level; the encoder level is the one its skip reads.';

/** "+0.055 ± 0.012": the mean change and the interval's half-width; the mean alone from one seed. */
const delta = (e: Estimate) =>
  e.interval ? `${signed(e.mean, 3)} ± ${((e.interval[1] - e.interval[0]) / 2).toFixed(3)}` : signed(e.mean, 3);

export const skipEffectCells = (r: SkipEffectRow): string[] => [
  r.variant,
  `${r.level} (${r.encoderLevel})`,
  String(r.seeds),
  delta(r.train),
  delta(r.test),
];
