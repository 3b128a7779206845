// What each skip does over seeds, from probes whose answer is worked by hand: a skip whose removal adds 0.10,
// 0.12 and 0.14 to train L1 over three seeds has a mean change of +0.12 ± t(0.975, 2) x 0.02 / sqrt(3).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Probe } from '../../src/protocol/trainer';
import { skipEffectCells, skipEffects } from '../../src/runFolders/probeSummary';

const q = (l1: number) => ({ l1, psnr: 20, ssim: 0.5 });
/** A probe of one skip (level 2, reading encoder level 1) whose alpha = 0 adds `train` and `test` to L1. */
const probe = (train: number, test: number): Probe => ({
  run: 'r',
  step: 10,
  evalMode: 'inference',
  images: { train: 16, test: 100 },
  alphas: [0, 1],
  skips: [{ level: 2, encoderLevel: 1, channels: 8 }],
  unmodified: { train: q(0.3), test: q(0.4) },
  doses: [
    { level: 2, mode: 'scale', alpha: 0, train: q(0.3 + train), test: q(0.4 + test) },
    { level: 2, mode: 'mean', alpha: 0, train: q(9), test: q(9) },
    { level: 2, mode: 'scale', alpha: 1, train: q(0.3), test: q(0.4) },
  ],
  figures: { unmodified: 'u.png', alphaZero: [] },
});

describe('what each skip does over seeds', () => {
  it('gives the mean change of L1 without each skip, with its interval over seeds', () => {
    const rows = skipEffects([
      { of: 'base', probe: probe(0.1, -0.02) },
      { of: 'base', probe: probe(0.12, -0.02) },
      { of: 'base', probe: probe(0.14, -0.02) },
      { of: 'other', probe: probe(0.05, 0.01) },
    ]);
    assert.equal(rows.length, 2);
    const [base, other] = rows;
    assert.equal(base.seeds, 3);
    assert.ok(Math.abs(base.train.mean - 0.12) < 1e-12);
    const half = (4.30265273 * 0.02) / Math.sqrt(3);
    assert.ok(Math.abs((base.train.interval![1] - base.train.interval![0]) / 2 - half) < 1e-9);
    assert.deepEqual(skipEffectCells(base), ['base', '2 (1)', '3', '+0.120 ± 0.050', '−0.020 ± 0.000']);
    assert.deepEqual(skipEffectCells(other), ['other', '2 (1)', '1', '+0.050', '+0.010']);
  });
});
