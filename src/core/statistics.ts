// The statistics of an ablation with replicates: means over seeds with Student-t intervals, differences from a
// reference paired by seed (and, within a seed, by test image), Holm's correction for the number of variants
// compared. Pure: no I/O, no tfjs.

/** ln Gamma(x) for x > 0 (Lanczos, g = 7, 9 coefficients: about 15 significant digits). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let sum = c[0];
  for (let i = 1; i < 9; i++) sum += c[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(sum);
}

/** The continued fraction of the regularised incomplete beta function (modified Lentz), for x < (a+1)/(a+b+2). */
function betaFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  d = 1 / (Math.abs(d) < tiny ? tiny : d);
  let h = d;
  for (let m = 1; m <= 300; m++) {
    for (const numerator of [
      (m * (b - m) * x) / ((a + 2 * m - 1) * (a + 2 * m)),
      (-(a + m) * (a + b + m) * x) / ((a + 2 * m) * (a + 2 * m + 1)),
    ]) {
      d = 1 + numerator * d;
      d = 1 / (Math.abs(d) < tiny ? tiny : d);
      c = 1 + numerator / c;
      if (Math.abs(c) < tiny) c = tiny;
      h *= d * c;
    }
    if (Math.abs(d * c - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b). */
function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  return x < (a + 1) / (a + b + 2) ? (front * betaFraction(a, b, x)) / a : 1 - (front * betaFraction(b, a, 1 - x)) / b;
}

/** Student's t distribution function with `df` degrees of freedom. */
export function tCdf(t: number, df: number): number {
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with `df` degrees of freedom (bisection on the distribution function). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1) || !(df > 0)) throw new Error(`tQuantile: p ${p} and df ${df} out of range`);
  if (p < 0.5) return -tQuantile(1 - p, df);
  let [lo, hi] = [0, 1];
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** A mean with its two-sided interval; no interval from fewer than two values. */
export interface Estimate {
  mean: number;
  /** The sample standard deviation (n - 1), undefined for one value. */
  sd: number | undefined;
  n: number;
  interval: [number, number] | undefined;
}

function mean(values: readonly number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

/** The sample standard deviation (n - 1 in the denominator). */
function sampleSd(values: readonly number[]): number {
  const m = mean(values);
  return Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / (values.length - 1));
}

/** The mean of `values` and its Student-t interval at `level` (0.95: mean +- t(0.975, n - 1) sd / sqrt(n)). */
export function meanInterval(values: readonly number[], level = 0.95): Estimate {
  const n = values.length;
  if (!n) throw new Error('meanInterval: no values');
  const m = mean(values);
  if (n < 2) return { mean: m, sd: undefined, n, interval: undefined };
  const sd = sampleSd(values);
  const half = (tQuantile(1 - (1 - level) / 2, n - 1) * sd) / Math.sqrt(n);
  return { mean: m, sd, n, interval: [m - half, m + half] };
}

/** A paired difference (a - b, pair by pair) with its interval and the two-sided p-value of the paired t test. */
export interface PairedDifference extends Estimate {
  p: number | undefined;
}

export function pairedDifference(a: readonly number[], b: readonly number[], level = 0.95): PairedDifference {
  if (a.length !== b.length) throw new Error(`pairedDifference: ${a.length} values against ${b.length}`);
  const d = a.map((v, i) => v - b[i]);
  const estimate = meanInterval(d, level);
  if (estimate.sd === undefined) return { ...estimate, p: undefined };
  if (estimate.sd === 0) return { ...estimate, p: estimate.mean === 0 ? 1 : 0 };
  const t = estimate.mean / (estimate.sd / Math.sqrt(d.length));
  return { ...estimate, p: 2 * (1 - tCdf(Math.abs(t), d.length - 1)) };
}

/** Holm's step-down adjustment of p-values for multiple comparisons: in the order given, each at most 1. */
export function holm(pValues: readonly number[]): number[] {
  const m = pValues.length;
  const order = pValues.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

/**
 * A variant's difference from the reference on one metric: `differences[s][i]` is variant minus reference on test
 * image i under seed s (the same images under every seed). With two seeds or more the interval is Student t over
 * the per-seed mean differences: paired by seed, and within a seed by image (the images' mean is the seed's
 * value), so it carries the seed-to-seed spread that a retrained model has. A hierarchical bootstrap would do
 * the same, but with the 3 to 5 seeds an ablation affords its percentile interval is too narrow (it cannot see
 * spread the few seeds drawn did not show); t is exact for normal per-seed means and conservative enough near
 * them. With one seed, seed variance is unmeasured: the interval is over images only, and says so.
 */
export interface DifferenceFromReference extends PairedDifference {
  over: 'seeds' | 'images';
}

export function differenceFromReference(
  differences: readonly (readonly number[])[],
  level = 0.95,
): DifferenceFromReference {
  if (!differences.length) throw new Error('differenceFromReference: no seeds');
  if (differences.length === 1) {
    const d = differences[0];
    return {
      ...pairedDifference(
        d,
        d.map(() => 0),
        level,
      ),
      over: 'images',
    };
  }
  const perSeed = differences.map(mean);
  return {
    ...pairedDifference(
      perSeed,
      perSeed.map(() => 0),
      level,
    ),
    over: 'seeds',
  };
}
