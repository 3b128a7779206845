// The Ablations tab's view model on a sweep whose answer is worked by hand: seeds, the runs of the seed picked, and
// the curves as the mean over seeds with a min-max band.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EvalPayload } from '../../src/protocol/trainer';
import type { SweepRow } from '../../src/protocol/runs';
import { runsAtSeed, seedCurves, shownSeed, sweepSeeds } from '../../webview/ablationModel';
import type { PanelSweep } from '../../src/protocol/panel';

const row = (variant: string, replicate?: { of: string; seed: number }): SweepRow => ({
  variant,
  origin: 'base',
  skips: 'all',
  dropout: 'none',
  params: 1,
  macs: 1,
  status: 'completed',
  step: 20,
  seconds: 1,
  ...(replicate ? { replicate } : {}),
});

function sweep(rows: SweepRow[], runIds: (string | undefined)[]): PanelSweep {
  return { id: 's', name: 's', rows, runIds, data: { train: 'a', transform: 'canny' }, seed: 7, executor: 'local' };
}

const evalAt = (step: number, test: number): EvalPayload => ({
  step,
  epoch: step / 10,
  train: { l1: 0, psnr: 0, ssim: 0 },
  test: { l1: test, psnr: 0, ssim: 0 },
  gap: { l1: test, psnr: 0, ssim: 0 },
});

// base and other, seeds 1 and 2; other-seed2 has not started.
const replicated = sweep(
  [
    row('base-seed1', { of: 'base', seed: 1 }),
    row('base-seed2', { of: 'base', seed: 2 }),
    row('other-seed1', { of: 'other', seed: 1 }),
    row('other-seed2', { of: 'other', seed: 2 }),
  ],
  ['b1', 'b2', 'o1', undefined],
);
const evals: Record<string, EvalPayload[]> = {
  b1: [evalAt(0, 0.5), evalAt(10, 0.4), evalAt(20, 0.3)],
  b2: [evalAt(0, 0.7), evalAt(10, 0.6)], // still at step 10
  o1: [evalAt(0, 0.9), evalAt(10, 0.8)],
};
const testL1 = (e: EvalPayload) => e.test?.l1;

describe('the Ablations view model', () => {
  it('lists the seeds and the run of each variant at the seed picked', () => {
    assert.deepEqual(sweepSeeds(replicated), [1, 2]);
    assert.equal(shownSeed(replicated, 2), 2);
    assert.equal(shownSeed(replicated, 9), 1, 'a seed the sweep does not have falls back to its first');
    assert.deepEqual(runsAtSeed(replicated, 2), [
      { variant: 'base', runId: 'b2' },
      { variant: 'other', runId: undefined },
    ]);
    const plain = sweep([row('skips-all'), row('skips-none')], ['x', 'y']);
    assert.deepEqual(sweepSeeds(plain), [7]);
    assert.deepEqual(
      runsAtSeed(plain, 7).map((r) => r.runId),
      ['x', 'y'],
    );
  });

  it('draws the mean over seeds where all have evaluated, with a min-max band, and each seed on demand', () => {
    const [base, other] = seedCurves(replicated, (id) => evals[id], testL1);
    assert.equal(base.name, 'base (mean of 2)');
    assert.deepEqual(
      base.points.map(([s, v]) => [s, Number(v.toFixed(12))]),
      [
        [0, 0.6],
        [10, 0.5],
      ],
      'step 20 is not in both seeds yet',
    );
    assert.deepEqual(base.band, [
      [0.5, 0.7],
      [0.4, 0.6],
    ]);
    assert.equal(other.name, 'other', 'one seed with a run: its own curve, no band');
    assert.equal(other.band, undefined);
    const all = seedCurves(replicated, (id) => evals[id], testL1, true);
    assert.deepEqual(
      all.map((s) => [s.name, s.of]),
      [
        ['base (mean of 2)', undefined],
        ['other', undefined],
        ['base seed 1', 0],
        ['base seed 2', 0],
      ],
    );
    assert.deepEqual(all[2].points, [
      [0, 0.5],
      [10, 0.4],
      [20, 0.3],
    ]);
  });
});
