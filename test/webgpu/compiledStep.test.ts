// The compiled WebGPU step against tfjs `cpu`, one whole training step at a time: the four losses, every gradient
// of both networks (the same dropout masks on both sides: core/dropoutMask.ts), the BatchNorm moving statistics and
// the weights after Adam, for tiny (the seed's two-stream discriminator) and a 64x64 config with the PatchGAN, some
// skips off and a level of each size. On the machine's adapter (lavapipe in CI).
/// <reference types="@webgpu/types" />
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import { setDropoutDraw } from '../../src/model/build';
import { CompiledStep, type CompiledGraphs } from '../../src/trainer/compiled/step';
import { downloadNets, readBuffer, uploadNets, weightRanges } from '../../src/trainer/compiled/models';
import { registerCpuTrainingKernels } from '../../src/trainer/cpuKernels';
import { registerTrainingGradients } from '../../src/trainer/gradients';
import { bce, createNets, l1Loss, type Nets } from '../../src/trainer/pix2pix';
import { SeededRandom } from '../../src/core/random';
import { open } from '../support/dawn';

let device: GPUDevice;
before(async () => {
  device = (await open([])).device;
  await tf.setBackend('cpu');
  registerCpuTrainingKernels(tf);
  registerTrainingGradients(tf);
});

const TINY = `
input: { size: 32, channels: 1 }
output: { channels: 3 }
generator: { filters: 16, maxMultiplier: 4, levels: 5, skips: all, dropout: { rate: 0.5, levels: [1, 2] } }
discriminator: { patch: 16, filters: 16, layers: 3 }
train: { batchSize: 3, seed: 1 }
`;

const PATCHGAN_64 = `
input: { size: 64, channels: 3 }
output: { channels: 3 }
generator: { filters: 8, maxMultiplier: 8, levels: 6, skips: [1, 3, 4], dropout: { levels: none } }
discriminator: { type: patchgan, patch: 32, filters: 8, layers: 2 }
train: { batchSize: 2, seed: 3, loss: { l1: 50, gan: 2 } }
`;

function graphsOf(text: string): CompiledGraphs {
  const { config, generator, discriminator, diagnostics } = analyze(text);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors, [], 'the test config is valid');
  return { config: config!, generator: generator!, discriminator: discriminator! };
}

const download = (buffer: GPUBuffer) => readBuffer(device, buffer);

const variablesOf = (model: tf.LayersModel) => model.trainableWeights.map((w) => w.read() as tf.Variable);

/** tfjs's step (pix2pix.ts trainStep), keeping both networks' gradients. */
function reference(nets: Nets, graphs: CompiledGraphs, x: tf.Tensor4D, y: tf.Tensor4D) {
  const { generator: g, discriminator: d } = nets;
  const weights = graphs.config.train.loss;
  const losses: number[] = [];
  let fake: tf.Tensor | undefined;
  const gStep = tf.variableGrads(() => {
    const out = g.apply(x, { training: true }) as tf.Tensor;
    fake = tf.keep(out);
    const p = d.apply([out, x], { training: true }) as tf.Tensor;
    const l1 = l1Loss(tf, out, y);
    const gan = bce(tf, p, 1);
    losses.push(l1.dataSync()[0], gan.dataSync()[0]);
    return tf.add(tf.mul(l1, weights.l1), tf.mul(gan, weights.gan)) as tf.Scalar;
  }, variablesOf(g));
  nets.gOptimizer.applyGradients(gStep.grads);
  const dStep = tf.variableGrads(() => {
    const fakeLoss = bce(tf, d.apply([fake!, x], { training: true }) as tf.Tensor, 0);
    const realLoss = bce(tf, d.apply([y, x], { training: true }) as tf.Tensor, 1);
    losses.push(fakeLoss.dataSync()[0], realLoss.dataSync()[0]);
    return tf.mul(tf.add(fakeLoss, realLoss), 0.5) as tf.Scalar;
  }, variablesOf(d));
  nets.dOptimizer.applyGradients(dStep.grads);
  return { losses, g: gStep.grads, d: dStep.grads };
}

/** The largest difference relative to the reference's largest magnitude (at least 1e-3). */
function relativeError(got: Float32Array, want: Float32Array, floor = 1e-3): number {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), floor);
  return got.reduce((worst, g, i) => Math.max(worst, Math.abs(g - want[i]) / scale), 0);
}

async function compareStep(text: string, steps: number): Promise<void> {
  const graphs = graphsOf(text);
  const { config } = graphs;
  Math.random = new SeededRandom(config.train.seed).next;
  const nets = createNets(tf, graphs);
  const compiled = new CompiledStep(device, graphs);
  await uploadNets(compiled, nets, 0);
  const random = new SeededRandom(99);
  const batch = config.train.batchSize;
  const images = (channels: number) =>
    Float32Array.from({ length: batch * config.input.size ** 2 * channels }, () => random.next() * 2 - 1);
  for (let step = 0; step < steps; step++) {
    const [x, y] = [images(config.input.channels), images(config.output.channels)];
    const got = await compiled.step(x, y, batch, step);
    const shape = (c: number) => [batch, config.input.size, config.input.size, c] as [number, number, number, number];
    setDropoutDraw(config.train.seed, step);
    const want = reference(
      nets,
      graphs,
      tf.tensor4d(x, shape(config.input.channels)),
      tf.tensor4d(y, shape(config.output.channels)),
    );
    const losses = [got.l1, got.gan, got.dFake, got.dReal];
    losses.forEach((l, i) =>
      assert.ok(
        Math.abs(l - want.losses[i]) <= 1e-4 * Math.max(1, Math.abs(want.losses[i])),
        `step ${step} loss ${i}: ${l} against ${want.losses[i]}`,
      ),
    );
    const noise = await compareGradients(compiled, nets, want, step);
    const fresh = createNets(tf, graphs);
    await downloadNets(tf, compiled, fresh, step + 1, true);
    const drift = 2 * config.train.optimizer.lr * (step + 1);
    for (const [model, mine] of [
      [nets.generator, fresh.generator],
      [nets.discriminator, fresh.discriminator],
    ] as const) {
      model.weights.forEach((w, i) => {
        const [got, wanted] = [mine.weights[i], w].map((v) => v.read().dataSync() as Float32Array);
        const noisy = noise.get(w);
        const scale = wanted.reduce((m, v) => Math.max(m, Math.abs(v)), 1e-3);
        got.forEach((g, k) => {
          const allowed = noisy?.[k] ? drift : 1e-4 * scale;
          if (Math.abs(g - wanted[k]) > allowed)
            assert.fail(`step ${step}: ${w.name}[${k}] after the update is ${g}, tfjs's ${wanted[k]}`);
        });
      });
    }
  }
  compiled.destroy();
}

/**
 * Compares both networks' gradients; returns, per weight, the elements whose gradient is within the comparison's
 * tolerance of zero: Adam's first steps move a weight by about lr whatever its gradient's size, so their sign (and
 * the update) may differ from tfjs's.
 */
async function compareGradients(
  compiled: CompiledStep,
  nets: Nets,
  want: ReturnType<typeof reference>,
  step: number,
): Promise<Map<tf.LayerVariable, boolean[]>> {
  const noise = new Map<tf.LayerVariable, boolean[]>();
  const g = await download(compiled.g.gradients[0]);
  const [d0, d1] = [await download(compiled.d.gradients[0]), await download(compiled.d.gradients[1])];
  const d = d0.map((v, i) => v + d1[i]);
  // Near-zero gradients (a convolution's bias before a BatchNorm is zero in exact arithmetic) are compared at a
  // hundredth of the network's largest gradient.
  const check = (model: tf.LayersModel, arena: Float32Array, grads: tf.NamedTensorMap, params: CompiledStep['g']) => {
    const wanted = model.trainableWeights.map((w) => grads[(w.read() as tf.Variable).name].dataSync() as Float32Array);
    const largest = wanted.reduce((m, v) => v.reduce((n, x) => Math.max(n, Math.abs(x)), m), 0);
    weightRanges(model, params).forEach((range, i) => {
      const own = wanted[i].reduce((m, v) => Math.max(m, Math.abs(v), largest / 100), 0);
      noise.set(
        model.trainableWeights[i],
        Array.from(wanted[i], (v) => Math.abs(v) <= 1e-4 * own),
      );
      const got = arena.slice(range.offset, range.offset + range.count);
      const error = relativeError(got, wanted[i], largest / 100);
      assert.ok(error < 1e-4, `step ${step}: gradient of ${model.trainableWeights[i].name}, relative error ${error}`);
    });
  };
  check(nets.generator, g, want.g, compiled.g);
  check(nets.discriminator, d, want.d, compiled.d);
  return noise;
}

describe('the compiled step against tfjs cpu', () => {
  it('tiny (the seed discriminator, dropout on two levels): losses, gradients, moving statistics and weights after the update', async () => {
    await compareStep(TINY, 1);
  });

  it('64x64 with a PatchGAN and skips 1, 3, 4 off: the same', async () => {
    await compareStep(PATCHGAN_64, 1);
  });
});
