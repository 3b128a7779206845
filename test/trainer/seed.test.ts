// The seed's own model trains: its generator and the article's two-stream discriminator, one step on wasm.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import { buildModel } from '../../src/model/build';
import { chooseBackend } from '../../src/trainer/backends';
import { stepOnBatch } from '../../src/trainer/pix2pix';
import { type Nets } from '../../src/model/nets';

describe('the seed model', () => {
  it("builds the seed discriminator with the graph's parameters and trains it one step, both streams learning", async () => {
    const a = analyze('');
    assert.equal(a.config.discriminator.type, 'seed');
    const { tf } = await chooseBackend('wasm');
    const nets: Nets = {
      generator: buildModel(tf, a.generator!),
      discriminator: buildModel(tf, a.discriminator!),
      gOptimizer: tf.train.adam(1e-3),
      dOptimizer: tf.train.adam(1e-3),
    };
    assert.equal(nets.discriminator.countParams(), a.discriminator!.totals.params);
    assert.equal(nets.discriminator.countParams(), 857_492);
    const kernel = (name: string) => nets.discriminator.getLayer(name).getWeights()[0];
    const watched = ['disc_conv2d_1', 'raw_disc_conv2d_1', 'disc_conv2d_6', 'disc_dense', 'disc_output'];
    const before = await Promise.all(watched.map((n) => kernel(n).data()));
    const x = tf.randomUniform([5, 128, 128, 1], -1, 1) as TF.Tensor4D;
    const y = tf.randomUniform([5, 128, 128, 3], -1, 1) as TF.Tensor4D;
    const losses = await stepOnBatch(tf, nets, a.config.train, x, y, 1);
    assert.ok(Object.values(losses).every(Number.isFinite), JSON.stringify(losses));
    const after = await Promise.all(watched.map((n) => kernel(n).data()));
    watched.forEach((n, i) =>
      assert.ok(
        after[i].some((v, j) => v !== before[i][j]),
        `${n} was updated`,
      ),
    );
  });
});
