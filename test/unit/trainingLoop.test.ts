// The training loop's keys (their defaults by preset, and the hovers that say where a default comes from) and the
// pure choices of core/trainingLoop.ts: what the discriminator sees, the seed loop's generator batches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyze } from '../../src/core/analysis';
import { discriminatorSees, generatorBatch, l1ChannelSum, realTarget } from '../../src/core/trainingLoop';
import { hover } from '../../src/server/service/hover';

const loopKeys = (text: string) => {
  const { train, discriminator } = analyze(text).config;
  return [train.loop, train.loss.l1Reduction, train.loss.realLabel, discriminator.patchNorm, train.evalMode];
};

describe('the training loop', () => {
  it("defaults to the seed's script with preset seed and to the paper's code with preset paper; written keys win", () => {
    assert.deepEqual(loopKeys(''), ['seed', 'sum-channels', 'zeros', 'per-patch', 'inference']);
    assert.deepEqual(loopKeys('train: { preset: paper }'), ['paper', 'mean', 'one', 'shared', 'training']);
    const mixed = 'discriminator: { patchNorm: shared }\ntrain: { loop: paper, loss: { realLabel: one } }\n';
    assert.deepEqual(loopKeys(mixed), ['paper', 'sum-channels', 'one', 'shared', 'inference']);
    assert.ok(analyze('train: { loop: keras }').diagnostics.some((d) => d.severity === 'error'));
  });

  it('changes no parameter count or summary: per-patch statistics are a training behaviour', () => {
    const [perPatch, shared] = ['per-patch', 'shared'].map((n) => analyze(`discriminator: { patchNorm: ${n} }`));
    assert.equal(perPatch.discriminator!.totals.params, 857_492);
    assert.deepEqual(perPatch.discriminator!.totals, shared.discriminator!.totals);
    assert.deepEqual(
      perPatch.discriminator!.layers.map((l) => [l.name, l.className, l.outputShape]),
      shared.discriminator!.layers.map((l) => [l.name, l.className, l.outputShape]),
    );
  });

  it('hovers say which source a value follows and where its default comes from', () => {
    const text = 'train:\n  loop: paper\n  loss:\n    l1Reduction: mean\n';
    const at = (s: string) => hover(analyze(text), text.indexOf(s) + s.length - 1)?.markdown ?? '';
    assert.match(at('loop: paper'), /`paper`: The paper's code/);
    assert.match(at('loop'), /Default: `"seed"`, from `train.preset: seed`/);
    assert.match(at('l1Reduction: mean'), /`mean`: The paper's/);
  });

  it('alternates a real and a generated batch from the first batch of an epoch in the seed loop', () => {
    assert.deepEqual(
      [0, 1, 2, 3].map((k) => discriminatorSees('seed', k)),
      ['real', 'generated', 'real', 'generated'],
    );
    assert.equal(discriminatorSees('paper', 1), 'both');
  });

  it("draws the seed loop's generator batches with replacement, the same for the same (seed, step), uniformly", () => {
    assert.deepEqual(generatorBatch(3, 17, 90, 5), generatorBatch(3, 17, 90, 5));
    assert.notDeepEqual(generatorBatch(3, 17, 90, 5), generatorBatch(3, 18, 90, 5));
    assert.notDeepEqual(generatorBatch(3, 17, 90, 5), generatorBatch(4, 17, 90, 5));
    const counts = new Array(10).fill(0);
    let repeats = 0;
    for (let step = 0; step < 2000; step++) {
      const batch = generatorBatch(0, step, 10, 5);
      batch.forEach((i) => counts[i]++);
      if (new Set(batch).size < batch.length) repeats++;
    }
    // 10,000 draws over 10 images: each count within 5 standard deviations (30) of 1,000.
    for (const c of counts) assert.ok(Math.abs(c - 1000) < 150, `counts ${counts}`);
    // With replacement, 5 of 10 repeat an image with probability 1 - 10*9*8*7*6 / 10^5 = 0.6976.
    assert.ok(Math.abs(repeats / 2000 - 0.6976) < 0.05, `repeats in ${repeats} of 2000 batches`);
  });

  it("weighs the seed's L1 and real label as its script does", () => {
    assert.equal(l1ChannelSum('sum-channels', 3), 3);
    assert.equal(l1ChannelSum('mean', 3), 1);
    assert.deepEqual(realTarget('zeros'), [0.5, 0.5]);
    assert.deepEqual(realTarget('one'), [0, 1]);
  });
});
