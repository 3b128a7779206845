// The memory a training step is estimated to take (core/memory.ts), against what tfjs really holds at its peak
// during one step of the seed model (tf.profile on the cpu backend).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import { stepMemory } from '../../src/core/memory';
import { chooseBackend } from '../../src/trainer/backends';
import { stepOnBatch } from '../../src/trainer/pix2pix';
import { createNets, disposeNets } from '../../src/model/nets';

describe('the memory of a training step', () => {
  it("is estimated within 25% of tfjs's peak for the seed model at 32 px", async () => {
    const { tf } = await chooseBackend('cpu');
    const a = analyze('input: { size: 32 }\n');
    const nets = createNets(tf, { generator: a.generator!, discriminator: a.discriminator!, config: a.config });
    const b = a.config.train.batchSize;
    const x = tf.randomUniform([b, 32, 32, 1], -1, 1) as TF.Tensor4D;
    const y = tf.randomUniform([b, 32, 32, 3], -1, 1) as TF.Tensor4D;
    await stepOnBatch(tf, nets, a.config.train, x, y, 1); // Adam's moments exist from the first step on
    const profile = await tf.profile(async () => {
      await stepOnBatch(tf, nets, a.config.train, x, y, 1);
    });
    const estimate = stepMemory(a.config, a.generator!, a.discriminator!).total;
    const ratio = estimate / profile.peakBytes;
    assert.ok(ratio > 0.8 && ratio < 1.25, `estimate ${estimate} against a peak of ${profile.peakBytes}: ${ratio}`);
    tf.dispose([x, y]);
    disposeNets(tf, nets);
  });
});
