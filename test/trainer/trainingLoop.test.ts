// One step of each training loop on a micro config, checked against numbers computed here by hand, not by the code
// under test. The weights make every number a closed form: the generator's are all zero (it outputs tanh(0) = 0 in
// training and in inference mode); the discriminator's are zero but for the centre taps of the image stream's first
// convolution and the bias b of its last Dense, so it outputs p = softmax(b) for any image, and Adam's first step
// moves each weight with a non-zero gradient by lr times its gradient's sign (|g| >> epsilon). So:
//   - the discriminator's loss is the cross-entropy of softmax(b) with the step's target;
//   - the generator's L1 term is that of |target| on the batch it saw, summed over channels (the seed's);
//   - its GAN term is -log p'[real], with p' the discriminator after its update (the update came first), where only
//     the last Dense moved: z' = b - lr * sign(g) * (1 + 0.5 * inputs), g = p - target (0.5 is each of the
//     8 inputs from the per-tile softmax of zeros);
//   - the moving statistics of the image stream's BatchNorm are those of the convolution's outputs on the batch
//     the discriminator saw, per patch position (the seed's) or over all patches (the paper's), taken in order.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import type { DiscriminatorSees } from '../../src/core/trainingLoop';
import { SeededRandom } from '../../src/core/random';
import type { Tf } from '../../src/model/tf';
import { chooseBackend } from '../../src/trainer/backends';
import { trainStep } from '../../src/trainer/pix2pix';
import { createNets, type Nets } from '../../src/model/nets';

const SIZE = 8;
const PATCH = 4;
const BATCH = 2;
const FILTERS = 2;
const LR = 0.05;
const BIAS = [0.3, -0.4];
/** Centre tap of disc_conv2d_1, [input channel][filter]. */
const CENTRE = [
  [0.5, -1],
  [2, 0.25],
  [-0.75, 1.5],
];

const micro = (train: string, patchNorm: string) => `
input: { size: ${SIZE}, channels: 1 }
output: { channels: 3 }
generator: { filters: 2, levels: 3, dropout: { levels: [1] } }
discriminator: { type: seed, patch: ${PATCH}, filters: ${FILTERS}, layers: 2, patchNorm: ${patchNorm} }
train: { ${train}, batchSize: ${BATCH}, optimizer: { lr: ${LR} } }
`;

function images(random: SeededRandom, channels: number): Float32Array {
  return Float32Array.from({ length: BATCH * SIZE * SIZE * channels }, () => random.next() * 2 - 1);
}

async function setUp(text: string) {
  const { tf } = await chooseBackend('cpu');
  const a = analyze(text);
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  const graphs = { generator: a.generator!, discriminator: a.discriminator!, config: a.config };
  const nets = createNets(tf, graphs);
  // Kernels and biases to zero; BatchNorm keeps gamma 1, beta 0 and its moving statistics (0, 1).
  for (const model of [nets.generator, nets.discriminator])
    for (const layer of model.layers) {
      const values = layer.getWeights();
      const keep = (i: number) => /gamma|moving_variance/.test(layer.weights[i].name);
      if (values.length) layer.setWeights(values.map((w, i) => (keep(i) ? w : tf.zerosLike(w))));
    }
  const kernel = new Float32Array(3 * 3 * 3 * FILTERS);
  CENTRE.forEach((row, c) => row.forEach((w, f) => (kernel[((1 * 3 + 1) * 3 + c) * FILTERS + f] = w)));
  nets.discriminator
    .getLayer('disc_conv2d_1')
    .setWeights([tf.tensor4d(kernel, [3, 3, 3, FILTERS]), tf.zeros([FILTERS])]);
  const output = nets.discriminator.getLayer('disc_output');
  output.setWeights([tf.zeros(output.getWeights()[0].shape), tf.tensor1d(BIAS)]);
  const norm = graphs.discriminator.layers.find((l) => l.inbound[0] === 'disc_conv2d_1')!.name;
  return { tf, nets, config: a.config, norm };
}

const softmax = (z: number[]) => {
  const e = z.map((v) => Math.exp(v - Math.max(...z)));
  return e.map((v) => v / (e[0] + e[1]));
};
const crossEntropy = (p: number[], t: number[]) => -(t[0] * Math.log(p[0]) + t[1] * Math.log(p[1]));

/** The GAN term after the discriminator's Adam step on target t: -log p'[real]. */
function ganAfterUpdate(t: number[]): number {
  const p = softmax(BIAS);
  const inputs = (SIZE / PATCH) ** 2 * 2;
  const z = BIAS.map((b, k) => b - LR * Math.sign(p[k] - t[k]) * (1 + 0.5 * inputs));
  return -Math.log(softmax(z)[1]);
}

/** The seed's L1: per pixel the sum over channels of |y - 0|, averaged over the batch and the pixels. */
function summedL1(y: Float32Array): number {
  return y.reduce((s, v) => s + Math.abs(v), 0) / (BATCH * SIZE * SIZE);
}

/**
 * The image stream's convolution outputs on `image`, by patch position: tile (a, b)'s output (i, j) reads the
 * centre tap at the tile's pixel (2i + 1, 2j + 1) ('same' padding at stride 2 pads 0 before and 1 after).
 */
function convByPatch(image: Float32Array): number[][][] {
  const grid = SIZE / PATCH;
  const out: number[][][] = [];
  for (let a = 0; a < grid; a++)
    for (let b = 0; b < grid; b++) {
      const perFilter: number[][] = Array.from({ length: FILTERS }, () => []);
      for (let n = 0; n < BATCH; n++)
        for (let i = 0; i < PATCH / 2; i++)
          for (let j = 0; j < PATCH / 2; j++) {
            const [row, col] = [a * PATCH + 2 * i + 1, b * PATCH + 2 * j + 1];
            for (let f = 0; f < FILTERS; f++) {
              let v = 0;
              for (let c = 0; c < 3; c++) v += CENTRE[c][f] * image[((n * SIZE + row) * SIZE + col) * 3 + c];
              perFilter[f].push(v);
            }
          }
      out.push(perFilter);
    }
  return out;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const variance = (v: number[]) => mean(v.map((x) => (x - mean(v)) ** 2));

/** Keras's moving statistics after passes with these (mean, variance) per filter, in order, from (0, 1). */
function moving(passes: { mean: number[]; variance: number[] }[]): { mean: number[]; variance: number[] } {
  const m = Array(FILTERS).fill(0);
  const v = Array(FILTERS).fill(1);
  for (const pass of passes)
    for (let f = 0; f < FILTERS; f++) {
      m[f] -= (m[f] - pass.mean[f]) * 0.01;
      v[f] -= (v[f] - pass.variance[f]) * 0.01;
    }
  return { mean: m, variance: v };
}

const perPatchPasses = (image: Float32Array) =>
  convByPatch(image).map((perFilter) => ({ mean: perFilter.map(mean), variance: perFilter.map(variance) }));

function sharedPass(image: Float32Array) {
  const all = convByPatch(image);
  const perFilter = Array.from({ length: FILTERS }, (_, f) => all.flatMap((patch) => patch[f]));
  return { mean: perFilter.map(mean), variance: perFilter.map(variance) };
}

async function step(tf: Tf, nets: Nets, config: ReturnType<typeof analyze>['config'], sees: DiscriminatorSees) {
  const random = new SeededRandom(7);
  // The generator's batch of the seed's loop: other images, and targets of half the range (so its L1 tells).
  const [x, y, gx] = [images(random, 1), images(random, 3), images(random, 1)];
  const gy = images(random, 3).map((v) => v / 2);
  const t = (data: Float32Array, c: number) => tf.tensor4d(data, [BATCH, SIZE, SIZE, c]) as TF.Tensor4D;
  const paper = sees === 'both';
  const tensors = { x: t(x, 1), y: t(y, 3), gx: paper ? t(x, 1) : t(gx, 1), gy: paper ? t(y, 3) : t(gy, 3), sees };
  const losses = await trainStep(tf, nets, config.train, tensors);
  tf.dispose([tensors.x, tensors.y, tensors.gx, tensors.gy]);
  return { losses, y, gy };
}

async function movingOf(nets: Nets, norm: string) {
  const [, , m, v] = nets.discriminator.getLayer(norm).getWeights();
  return { mean: [...(await m.data())], variance: [...(await v.data())] };
}

function close(got: number[] | number, want: number[] | number, what: string, tolerance = 1e-5) {
  const [g, w] = [[got].flat(), [want].flat()];
  g.forEach((v, i) =>
    assert.ok(Math.abs(v - w[i]) <= tolerance * Math.max(1, Math.abs(w[i])), `${what}: ${g} against ${w}`),
  );
}

describe("the seed's and the paper's training loops, against numbers computed by hand", () => {
  it("seed, a real batch: the [0, 0] label's BCE, the summed L1 of the generator's own batch, per-patch statistics of the real batch", async () => {
    const { tf, nets, config, norm } = await setUp(micro('preset: seed', 'per-patch'));
    const { losses, y, gy } = await step(tf, nets, config, 'real');
    const p = softmax(BIAS);
    close(losses.dLoss, -0.5 * (Math.log(p[0]) + Math.log(p[1])), 'D loss, real label [0, 0]');
    close(losses.gL1, summedL1(gy), "L1 summed over channels on the generator's batch");
    assert.ok(Math.abs(summedL1(gy) - summedL1(y)) > 0.01, 'the two batches tell apart');
    close(losses.gGan, ganAfterUpdate([0.5, 0.5]), 'GAN term through the updated discriminator');
    assert.ok(Math.abs(ganAfterUpdate([0.5, 0.5]) + Math.log(p[1])) > 0.01, 'the update shows in the GAN term');
    // The discriminator's update saw the real batch, per patch; the generator's pass left the statistics alone.
    const want = moving(perPatchPasses(y));
    const got = await movingOf(nets, norm);
    close(got.mean, want.mean, 'moving mean per patch');
    close(got.variance, want.variance, 'moving variance per patch');
    const shared = moving(Array(4).fill(sharedPass(y)));
    assert.ok(Math.abs(shared.variance[0] - want.variance[0]) > 1e-4, 'per-patch and shared statistics tell apart');
  });

  it('seed, a generated batch: the generator in inference mode (zeros), the [1, 0] BCE', async () => {
    const { tf, nets, config, norm } = await setUp(micro('preset: seed', 'per-patch'));
    const { losses, gy } = await step(tf, nets, config, 'generated');
    close(losses.dLoss, -Math.log(softmax(BIAS)[0]), 'D loss, generated label [1, 0]');
    close(losses.gL1, summedL1(gy), 'summed L1');
    close(losses.gGan, ganAfterUpdate([1, 0]), 'GAN term through the updated discriminator');
    const want = moving(perPatchPasses(new Float32Array(BATCH * SIZE * SIZE * 3)));
    close((await movingOf(nets, norm)).variance, want.variance, 'moving variance of the generated (zero) batch');
  });

  it("paper: both pairs of one batch, the mean L1 on it, shared statistics of the fake, the real and the updated critic's pass", async () => {
    const { tf, nets, config, norm } = await setUp(micro('preset: paper', 'shared'));
    const { losses, y } = await step(tf, nets, config, 'both');
    const p = softmax(BIAS);
    close(losses.dLoss, 0.5 * (crossEntropy(p, [1, 0]) + crossEntropy(p, [0, 1])), 'D loss, 0.5 (fake + real)');
    close(losses.gL1, summedL1(y) / 3, 'per-element mean L1 on the same batch');
    // 0.5 (p - [1, 0]) + 0.5 (p - [0, 1]) = p - [0.5, 0.5].
    close(losses.gGan, ganAfterUpdate([0.5, 0.5]), 'GAN term through the updated discriminator');
    const zeros = sharedPass(new Float32Array(BATCH * SIZE * SIZE * 3));
    const want = moving([zeros, sharedPass(y), zeros]);
    const got = await movingOf(nets, norm);
    close(got.mean, want.mean, 'moving mean over all patches, three passes');
    close(got.variance, want.variance, 'moving variance over all patches, three passes');
  });
});

describe('a training step of either loop', () => {
  it('leaves no tensor behind, whatever the discriminator sees', async () => {
    for (const [train, sees] of [
      ['preset: seed', 'real'],
      ['preset: seed', 'generated'],
      ['preset: paper', 'both'],
    ] as const) {
      const { tf, nets, config } = await setUp(micro(train, 'per-patch'));
      await step(tf, nets, config, sees); // Adam makes its moments on the first step
      const before = tf.memory().numTensors;
      await step(tf, nets, config, sees);
      assert.equal(tf.memory().numTensors, before, `${train}, ${sees}`);
    }
  });
});
