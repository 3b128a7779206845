// ADA's overfitting heuristics on logits whose answer is worked by hand: a critic that scores held-out real
// images as it scores training ones (r_v 0), one that scores them as generated ones (r_v 1: memorised), and r_t
// as the share of confident training decisions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { criticFromLogits } from '../../src/core/critic';

describe("the critic's overfitting heuristics", () => {
  it('gives r_v 0 when held-out images score as training ones, 1 when they score as generated ones', () => {
    const healthy = criticFromLogits([2, 2, 2, 2], [2, 2], [-2, -2]);
    assert.equal(healthy.rt, 1);
    assert.equal(healthy.rv, 0);
    assert.ok(Math.abs(healthy.train - 1 / (1 + Math.exp(-2))) < 1e-12);
    assert.ok(Math.abs(healthy.generated - 1 / (1 + Math.exp(2))) < 1e-12);
    const memorised = criticFromLogits([3, 1, 2, 2], [-1, -3], [-2, -2]);
    assert.equal(memorised.rv, 1);
    // Halfway: held-out logits at the midpoint of the training (2) and generated (-2) means.
    assert.equal(criticFromLogits([2, 2], [0, 0], [-2, -2]).rv, 0.5);
  });

  it('gives r_t as E[sign(logit)] over training patches (ADA targets 0.6), and no r_v without a scale', () => {
    assert.equal(criticFromLogits([1, 1, 1, -1], [0], [0]).rt, 0.5);
    assert.equal(criticFromLogits([0.5, -0.5], [0], [0]).rt, 0);
    assert.equal(criticFromLogits([1, -1], [3], [0]).rv, undefined);
  });
});
