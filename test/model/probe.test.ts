// The probe model (model/build.ts with `skipDoses`): built from the same layer graph as the generator, with dose
// layers on its skips and no weights of its own. At alpha = 1 it gives the generator's output bit for bit, in
// both modes; at alpha = 0 on every skip (toward zero) it is the encoder-decoder (`skips: none`) whose
// convolutions after each concatenation keep only the weights of the up channels: the concatenation stays as
// wide, and what the skip channels' weights multiply is zero.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import { SeededRandom } from '../../src/core/random';
import { buildModel } from '../../src/model/build';

const config = (skips: string) =>
  `input: { size: 16, channels: 1 }\ngenerator: { filters: 4, levels: 4, skips: ${skips}, dropout: { levels: none } }\n`;

function graphOf(skips: string) {
  const { generator } = analyze(config(skips));
  return generator!;
}

/** Random weights (the moving statistics made non-trivial), seeded. */
function randomise(model: tf.LayersModel, seed: number): void {
  const rng = new SeededRandom(seed);
  model.setWeights(
    model.weights.map((w) => {
      const shape = w.shape as number[];
      const values = Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () =>
        w.name.includes('variance') ? 0.5 + rng.next() : rng.next() - 0.5,
      );
      return tf.tensor(values, shape);
    }),
  );
}

const input = (n: number) => {
  const rng = new SeededRandom(11);
  return tf.tensor4d(
    Float32Array.from({ length: n * 16 * 16 }, () => rng.next() * 2 - 1),
    [n, 16, 16, 1],
  );
};
const doses = (n: number, skips: number, alpha: number) => tf.fill([n, skips], alpha);

describe('the probe model', () => {
  it('gives the generator its output bit for bit at alpha = 1, toward zero and toward the mean', async () => {
    await tf.setBackend('cpu');
    const graph = graphOf('all');
    const plain = buildModel(tf, graph);
    randomise(plain, 1);
    const x = input(3);
    const want = (plain.predict(x) as tf.Tensor).dataSync();
    for (const mode of ['scale', 'mean'] as const) {
      const probe = buildModel(tf, graph, { skipDoses: mode });
      assert.equal(probe.weights.length, plain.weights.length, 'no weights of its own');
      probe.setWeights(plain.getWeights());
      const got = (probe.predict([x, doses(3, 3, 1)]) as tf.Tensor).dataSync();
      assert.deepEqual(Array.from(got), Array.from(want), mode);
      const off = (probe.predict([x, doses(3, 3, 0)]) as tf.Tensor).dataSync();
      assert.ok(
        off.some((v, i) => v !== want[i]),
        `${mode}: alpha = 0 changes the output`,
      );
    }
  });

  it("is the encoder-decoder with the up channels' weights at alpha = 0 on every skip", () => {
    const probe = buildModel(tf, graphOf('all'), { skipDoses: 'scale' });
    randomise(probe, 2);
    const none = buildModel(tf, graphOf('none'));
    // Same layer names; a convolution after a concatenation reads [up, skip] channels: keep the first (up) ones.
    for (const layer of none.layers) {
      const theirs = probe.getLayer(layer.name).getWeights();
      layer.setWeights(
        layer
          .getWeights()
          .map((w, i) =>
            w.shape.join() === theirs[i].shape.join() ? theirs[i] : tf.slice(theirs[i], [0, 0, 0, 0], w.shape),
          ),
      );
    }
    const x = input(2);
    const a = (probe.predict([x, doses(2, 3, 0)]) as tf.Tensor).dataSync();
    const b = (none.predict(x) as tf.Tensor).dataSync();
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
    assert.ok(worst < 1e-5, `largest difference ${worst}`);
  });
});
