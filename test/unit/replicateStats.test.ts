// The table over seeds, on rows whose answer is worked by hand: means and Student-t half-widths, differences
// from the reference paired by seed, Holm over the variants, verdicts and the noise floor.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  plusMinus,
  SUMMARY_HEADER,
  summarizeReplicates,
  summaryCells,
  summaryNote,
  summaryTitle,
} from '../../src/runFolders/replicateStats';
import { forestSvg } from '../../src/runFolders/forestPlot';
import type { SweepRow } from '../../src/protocol/runs';

const row = (of: string, seed: number, testL1: number, status: SweepRow['status'] = 'completed'): SweepRow => ({
  variant: `${of}-seed${seed}`,
  origin: of === 'base' ? 'base' : 'dropoutLevels',
  skips: 'all',
  dropout: 'none',
  params: 1,
  macs: 1,
  status,
  step: 10,
  trainL1: testL1 - 0.1,
  trainSsim: 0.5,
  testL1,
  testSsim: 0.4,
  gap: 0.1,
  copyRate: 0.1 * seed,
  copyingCt: -seed,
  seconds: 1,
  replicate: { of, seed },
});

describe('the table over seeds', () => {
  it('gives means with Student-t intervals, paired differences, Holm-adjusted verdicts and the noise floor', () => {
    const rows = [
      // base: 0.40, 0.42, 0.44 (mean 0.42, sd 0.02).
      row('base', 1, 0.4),
      row('base', 2, 0.42),
      row('base', 3, 0.44),
      // worse: the base + 0.10, 0.11, 0.12 by seed: differences mean 0.11, sd 0.01.
      row('worse', 1, 0.5),
      row('worse', 2, 0.53),
      row('worse', 3, 0.56),
      // same: the base -0.01, +0.02, -0.01 by seed: mean 0, sd sqrt(0.0003); no detectable difference.
      row('same', 1, 0.39),
      row('same', 2, 0.44),
      row('same', 3, 0.43),
      // A replicate still running counts for nothing yet.
      row('same', 4, 0.9, 'running'),
    ];
    const summary = summarizeReplicates(rows)!;
    assert.equal(summary.reference, 'base');
    const [base, worse, same] = summary.variants;
    const t2 = 4.302652729911275; // t(0.975, 2)
    assert.deepEqual(base.seeds, [1, 2, 3]);
    assert.equal(base.verdict, 'reference');
    assert.ok(Math.abs(base.metrics.testL1!.mean - 0.42) < 1e-12);
    assert.ok(Math.abs(base.metrics.testL1!.interval![1] - (0.42 + (t2 * 0.02) / Math.sqrt(3))) < 1e-9);
    assert.equal(plusMinus(base.metrics.testL1), `0.420 ± ${((t2 * 0.02) / Math.sqrt(3)).toFixed(3)}`);
    // worse: t = 0.11 / (0.01 / sqrt 3) = 19.05 on 2 df, p = 0.00274; Holm over 2: x2 (the smaller p) = 0.00549.
    assert.ok(Math.abs(worse.difference!.mean - 0.11) < 1e-12);
    assert.ok(Math.abs(worse.difference!.interval![0] - (0.11 - (t2 * 0.01) / Math.sqrt(3))) < 1e-9);
    assert.ok(Math.abs(worse.difference!.p! - 0.002744) < 2e-6, `p ${worse.difference!.p}`);
    assert.ok(Math.abs(worse.difference!.adjusted! - 2 * worse.difference!.p!) < 1e-12);
    assert.equal(worse.verdict, 'worse');
    assert.equal(same.seeds.length, 3);
    assert.equal(same.verdict, 'no detectable difference at this noise');
    assert.ok(same.difference!.adjusted! >= same.difference!.p!);
    // The sds of test L1 over seeds: base 0.02, worse 0.03, same sqrt((0.03^2 + 0.02^2 + 0.01^2) / 2) = 0.02646,
    // whose median is the noise floor.
    assert.ok(Math.abs(summary.noiseFloor! - Math.sqrt(0.0007)) < 1e-9);
    const delta = SUMMARY_HEADER.indexOf('Δ test L1 [95% CI]');
    assert.deepEqual(summaryCells(worse).slice(delta), ['+0.110 [+0.085, +0.135]', '0.005', 'worse']);
    // Copy rate 0.1, 0.2, 0.3 and C_T -1, -2, -3 by seed: means 0.2 and -2, sd 0.1 and 1, t(0.975, 2) = 4.303;
    // diversity and the critic's r_t and r_v absent (runs recorded before them).
    const copy = SUMMARY_HEADER.indexOf('Copy rate');
    assert.deepEqual(summaryCells(worse).slice(copy, delta), ['0.200 ± 0.248', '-2.00 ± 2.48', '—', '—', '—']);
  });

  it('with one seed, pairs by test image and says that seed variance is unmeasured', () => {
    const single = (variant: string, testL1: number, images?: number[]): SweepRow => ({
      ...row(variant, 7, testL1),
      variant,
      replicate: undefined,
      ...(images ? { testImageL1: images } : {}),
    });
    // Per image, other minus base: +0.10, +0.11, +0.12 (mean 0.11, sd 0.01, t = 19.05 on 2 df: p = 0.002744).
    const rows = [single('base', 0.5, [0.4, 0.5, 0.6]), single('other', 0.61, [0.5, 0.61, 0.72]), single('old', 0.7)];
    const summary = summarizeReplicates(rows, 7)!;
    assert.equal(summary.seedVariance, false);
    assert.equal(summary.noiseFloor, undefined);
    assert.match(summaryNote(summary), /seed variance is unmeasured/);
    assert.equal(summaryTitle(summary), 'Paired by test image (one seed)');
    const [base, other, old] = summary.variants;
    assert.deepEqual(base.seeds, [7]);
    assert.equal(plusMinus(other.metrics.testL1), '0.610');
    const d = other.difference!;
    assert.equal(d.over, 'images');
    assert.ok(Math.abs(d.mean - 0.11) < 1e-12);
    assert.ok(Math.abs(d.p! - 0.002744) < 2e-6, `p ${d.p}`);
    // One comparison: Holm leaves p as it is.
    assert.equal(d.adjusted, d.p);
    assert.equal(other.verdict, 'worse');
    assert.equal(summaryCells(other)[SUMMARY_HEADER.indexOf('Δ test L1 [95% CI]')], '+0.110 [+0.085, +0.135] ‡');
    // A run that recorded no per-image values (before test-images.csv) gets no interval rather than a wrong one.
    assert.equal(old.difference, undefined);
    assert.equal(old.verdict, undefined);
  });

  it('gives no interval from one value', () => {
    const one = summarizeReplicates([row('base', 1, 0.4), row('other', 1, 0.5)])!;
    assert.equal(one.variants[1].difference, undefined);
    assert.equal(plusMinus(one.variants[1].metrics.testL1), '0.500');
  });
});

describe('the forest plot', () => {
  it('draws each difference and its interval on one scale with the line at zero', () => {
    const rows = [0.4, 0.42, 0.44].flatMap((b, i) => [
      row('base', i + 1, b),
      row('worse', i + 1, b + 0.1 + 0.01 * i),
      row('same', i + 1, b + [-0.01, 0.02, -0.01][i]),
    ]);
    const svg = forestSvg(summarizeReplicates(rows)!);
    const zero = Number(/<line class="zero" x1="([\d.]+)" x2="\1" /.exec(svg)![1]);
    const rowOf = (variant: string) => {
      const g = new RegExp(`<g class="forest-row (\\w+)" data-variant="${variant}">(.*?)</g>`).exec(svg)!;
      const [lo, hi] = /<line x1="([\d.]+)" x2="([\d.]+)"/.exec(g[2])!.slice(1).map(Number);
      return { kind: g[1], lo, hi, at: Number(/<circle cx="([\d.]+)"/.exec(g[2])![1]) };
    };
    const worse = rowOf('worse');
    const same = rowOf('same');
    assert.equal(worse.kind, 'worse');
    assert.ok(zero < worse.lo && worse.lo < worse.at && worse.at < worse.hi, 'all of it right of zero');
    assert.equal(same.kind, 'none');
    assert.ok(same.lo < zero && zero < same.hi, 'its interval crosses zero');
    // Same scale: the worse point (+0.11) is as far right of zero per unit as the same one (0.0) is at zero.
    assert.ok(Math.abs(same.at - zero) < 0.2);
    assert.match(svg, /paired by seed/);
    assert.ok(!svg.includes('data-variant="base"'), 'the reference is the zero line, not a row');
    // Colours are attributes (a webview's CSP refuses style attributes); at 400 px the values give way to the plot.
    assert.ok(!svg.includes('style='));
    const narrow = forestSvg(summarizeReplicates(rows)!, 400);
    assert.ok(!/>\+0\.110 \[[^<]*<\/text>/.test(narrow), 'no value column');
    assert.ok(/>\+0\.110 \[[^<]*<\/text>/.test(svg), 'a value column at 640 px');
    const xs = [...narrow.matchAll(/ (?:x1|x2|cx|x)="([\d.]+)"/g)].map((m) => Number(m[1]));
    assert.ok(Math.max(...xs) <= 400, `everything within 400 px: ${Math.max(...xs)}`);
  });
});
