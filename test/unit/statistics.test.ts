// core/statistics.ts against textbook values: Student's t table, Student's own paired example (1908, the sleep
// data as R's t.test prints it), an interval worked by hand, Holm on a known list; and a property: two variants
// that are the same model trained from different seeds differ by an interval that contains zero in at least 90%
// of 40 synthetic draws.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SeededRandom } from '../../src/core/random';
import {
  differenceFromReference,
  holm,
  meanInterval,
  pairedDifference,
  tCdf,
  tQuantile,
} from '../../src/core/statistics';

const close = (got: number, want: number, digits: number, what: string) =>
  assert.ok(Math.abs(got - want) < 0.5 * 10 ** -digits, `${what}: ${got}, the table's ${want}`);

describe('statistics', () => {
  it("gives Student's t quantiles of the table (two-sided 95% and one-sided 95%)", () => {
    const table: [number, number][] = [
      [1, 12.706],
      [2, 4.303],
      [3, 3.182],
      [4, 2.776],
      [9, 2.262],
      [29, 2.045],
      [120, 1.98],
    ];
    for (const [df, t] of table) close(tQuantile(0.975, df), t, 3, `t(0.975, ${df})`);
    close(tQuantile(0.95, 10), 1.812, 3, 't(0.95, 10)');
    close(tQuantile(0.025, 4), -2.776, 3, 't(0.025, 4)');
    close(tQuantile(0.975, 1e6), 1.96, 3, 't(0.975, large) tends to the normal');
    close(tCdf(0, 7), 0.5, 12, 'tCdf(0)');
    close(tCdf(1, 1), 0.75, 10, 'Cauchy: tCdf(1, 1) = 3/4');
  });

  it("reproduces Student's paired sleep example: mean 1.58, t 4.0621, p 0.002833, 95% interval [0.700, 2.460]", () => {
    const hyoscine = [1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4];
    const hyoscyamine = [0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0];
    const d = pairedDifference(hyoscine, hyoscyamine);
    close(d.mean, 1.58, 10, 'mean difference');
    close(d.interval![0], 0.7001142, 6, 'lower bound');
    close(d.interval![1], 2.4598858, 6, 'upper bound');
    close(d.p!, 0.002833, 6, 'p');
  });

  it('matches an interval worked by hand, and says when there is none', () => {
    // d = [2, 1, 0, 3]: mean 1.5, sd sqrt(5/3), se sqrt(5/3)/2, t(0.975, 3) 3.182446.
    const d = pairedDifference([10, 12, 9, 11], [8, 11, 9, 8]);
    const half = (3.182446305 * Math.sqrt(5 / 3)) / 2;
    close(d.interval![0], 1.5 - half, 6, 'lower');
    close(d.interval![1], 1.5 + half, 6, 'upper');
    close(d.p!, 0.102728, 5, 'p (t 2.32379 on 3 degrees of freedom)');
    const one = meanInterval([0.42]);
    assert.equal(one.interval, undefined);
    assert.equal(one.sd, undefined);
    assert.throws(() => pairedDifference([1, 2], [1]));
  });

  it("adjusts p-values by Holm's step-down rule, in the order given", () => {
    // Sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1: 0.02, 0.03, 0.06, 0.04 -> monotone 0.02, 0.03, 0.06, 0.06.
    const adjusted = holm([0.01, 0.04, 0.03, 0.005]);
    [0.03, 0.06, 0.06, 0.02].forEach((want, i) => close(adjusted[i], want, 12, `p ${i}`));
    assert.deepEqual(holm([0.5, 0.9]), [1, 1]);
    assert.deepEqual(holm([]), []);
  });

  it('with one seed, an interval over images only, labelled so', () => {
    const d = differenceFromReference([[0.1, -0.05, 0.02, 0.04]]);
    assert.equal(d.over, 'images');
    assert.equal(d.n, 4);
    const seeds = differenceFromReference([
      [0.1, 0.2],
      [0.0, 0.1],
      [0.05, 0.05],
    ]);
    assert.equal(seeds.over, 'seeds');
    assert.equal(seeds.n, 3);
    close(seeds.mean, 0.0833333, 6, 'the mean of the per-seed means');
  });

  it('covers zero for two copies of one model trained from different seeds, in at least 90% of 40 draws', () => {
    const random = new SeededRandom(2026);
    const normal = () => Math.sqrt(-2 * Math.log(1 - random.next())) * Math.cos(2 * Math.PI * random.next());
    const [seeds, images] = [3, 100];
    let covered = 0;
    let coveredByImages = 0;
    for (let draw = 0; draw < 40; draw++) {
      // Test L1 per image: the image's difficulty (shared by every run), a seed's offset of the whole run (each
      // variant's training has its own), and per-image noise.
      const difficulty = Array.from({ length: images }, () => 0.4 + 0.1 * normal());
      const run = () => {
        const offset = 0.02 * normal();
        return difficulty.map((v) => v + offset + 0.01 * normal());
      };
      const differences = Array.from({ length: seeds }, () => {
        const [variant, reference] = [run(), run()];
        return variant.map((v, i) => v - reference[i]);
      });
      const [lo, hi] = differenceFromReference(differences).interval!;
      if (lo <= 0 && 0 <= hi) covered++;
      const [imageLo, imageHi] = differenceFromReference(differences.slice(0, 1)).interval!;
      if (imageLo <= 0 && 0 <= imageHi) coveredByImages++;
    }
    assert.ok(covered >= 36, `zero inside ${covered} of 40 intervals`);
    // One seed's interval over images cannot see the seed's offset: it calls copies of one model different.
    assert.ok(coveredByImages <= 20, `the one-seed interval covers zero in ${coveredByImages} of 40`);
  });
});
