// The compiled WebGPU step's kernels against tfjs `cpu`, on the machine's adapter (lavapipe in CI): random shapes
// and values, odd sizes, strides 1 and 2, to 1e-4 relative. One Dawn instance per process (test/support/dawn.ts).
/// <reference types="@webgpu/types" />
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import {
  conv2dFilterGradient,
  conv2dForward,
  conv2dInputGradient,
  convGeometry,
  samePadding,
  sourceBindings,
  type Conv2dShape,
  type ConvGeometry,
} from '../../src/trainer/compiled/conv2d';
import {
  conv2dTransposeFilterGradient,
  conv2dTransposeForward,
  conv2dTransposeInputGradient,
  transposeGeometry,
  type TransposeGeometry,
} from '../../src/trainer/compiled/conv2dTranspose';
import { FusedAdam } from '../../src/trainer/compiled/adam';
import { UNSPLIT, type GemmOptions, type Kernel } from '../../src/trainer/compiled/gemm';
import { OutputLoss, SoftmaxCrossEntropy } from '../../src/trainer/compiled/loss';
import { crossEntropy, l1Loss } from '../../src/trainer/pix2pix';
import { GENERATED_TARGET, REAL_TARGET, l1ChannelSum, realTarget } from '../../src/core/trainingLoop';
import {
  denseForward,
  denseInputGradient,
  denseWeightGradient,
  type DenseShape,
} from '../../src/trainer/compiled/dense';
import { registerCpuTrainingKernels } from '../../src/trainer/kernels/cpuKernels';
import type { Activation } from '../../src/trainer/compiled/activation';
import { FusedBatchNorm } from '../../src/trainer/compiled/batchNorm';
import { kept } from '../../src/core/dropoutMask';
import { open } from '../support/dawn';
import { rng } from '../support/marked';

let device: GPUDevice;
before(async () => {
  device = (await open([])).device;
  await tf.setBackend('cpu');
  registerCpuTrainingKernels(tf); // the exact adjoint of nearest upsampling (tfjs's own is not: cpuKernels.ts)
});

function upload(values: Float32Array): GPUBuffer {
  const buffer = device.createBuffer({
    size: values.byteLength,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    mappedAtCreation: true,
  });
  new Float32Array(buffer.getMappedRange()).set(values);
  buffer.unmap();
  return buffer;
}

async function download(buffer: GPUBuffer, floats: number): Promise<Float32Array> {
  const read = device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, read, 0, floats * 4);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.destroy();
  return out;
}

/**
 * Runs a FusedBatchNorm once on uploaded inputs (forward, and backward unless it is in inference mode): y, dx,
 * dgamma, dbeta and the moving statistics after it.
 */
async function runBatchNorm(
  norm: FusedBatchNorm,
  input: { x: Float32Array; dy: Float32Array; gamma: Float32Array; beta: Float32Array; moving: Float32Array },
): Promise<{ outputs: Float32Array[]; moving: Float32Array }> {
  const { channels } = norm.shape;
  const storage = (floats: number) =>
    device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const statistics = channels * 4 * (norm.shape.patches?.count ?? 1);
  const [stats, y, dx, dgb] = [statistics, input.x.length, input.x.length, 2 * channels].map(storage);
  const moving = upload(input.moving);
  const gb = upload(Float32Array.from([...input.gamma, ...input.beta]));
  norm.bind({ x: upload(input.x), gb, stats, y, dy: upload(input.dy), dx, dgb, moving });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  norm.recordForward(pass);
  if (norm.shape.mode !== 'inference') norm.recordBackward(pass);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const gradients = await download(dgb, 2 * channels);
  return {
    outputs: [
      await download(y, input.x.length),
      await download(dx, input.x.length),
      gradients.subarray(0, channels),
      gradients.subarray(channels),
    ],
    moving: await download(moving, 2 * channels),
  };
}

/** The largest difference relative to the reference's scale (its largest magnitude, at least 1). */
function relativeError(got: Float32Array, want: Float32Array): number {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
  return got.reduce((worst, g, i) => Math.max(worst, Math.abs(g - want[i]) / scale), 0);
}

const random = (n: number, next: () => number) => Float32Array.from({ length: n }, () => next() * 2 - 1);

describe('compiled step kernels against cpu', () => {
  it("TensorFlow's 'same' padding", () => {
    assert.deepEqual(samePadding(32, 4, 2), { out: 16, before: 1 });
    assert.deepEqual(samePadding(7, 3, 2), { out: 4, before: 1 });
    assert.deepEqual(samePadding(5, 4, 1), { out: 5, before: 1 });
    assert.deepEqual(samePadding(1, 4, 2), { out: 1, before: 1 });
  });

  it('conv2d forward and its input, filter and bias gradients, on random shapes: odd sizes, kernels 1 to 4, strides 1 and 2', async () => {
    const next = rng(14);
    const shapes: Conv2dShape[] = [
      { batch: 2, height: 16, width: 16, inChannels: 3, outChannels: 8, kernel: 4, stride: 2 },
      { batch: 1, height: 7, width: 9, inChannels: 5, outChannels: 70, kernel: 3, stride: 1 },
      { batch: 3, height: 5, width: 5, inChannels: 17, outChannels: 3, kernel: 4, stride: 2 },
      { batch: 1, height: 2, width: 2, inChannels: 64, outChannels: 65, kernel: 4, stride: 2 },
      { batch: 5, height: 32, width: 32, inChannels: 1, outChannels: 16, kernel: 4, stride: 2 },
      { batch: 2, height: 9, width: 11, inChannels: 8, outChannels: 12, kernel: 1, stride: 1 },
    ];
    for (const shape of shapes) await checkConv(shape, next);
  });

  it('conv2d split along K (the partial products summed by a second dispatch), as a GPU with many cores runs small grids', async () => {
    const next = rng(16);
    const options = { parallelism: 4096 };
    const shapes: Conv2dShape[] = [
      { batch: 5, height: 32, width: 32, inChannels: 1, outChannels: 16, kernel: 4, stride: 2 },
      { batch: 4, height: 15, width: 17, inChannels: 8, outChannels: 65, kernel: 3, stride: 1 },
      {
        batch: 2,
        height: 16,
        width: 16,
        inChannels: 24,
        outChannels: 3,
        kernel: 3,
        stride: 1,
        input: { split: 16, upsample: 2, activation: { kind: 'relu' } },
      },
    ];
    for (const shape of shapes) {
      const g = convGeometry(shape);
      assert.ok(conv2dFilterGradient(device, g, options).split.splits > 1, 'the filter gradient is split');
      await checkConv(shape, next, options);
    }
  });

  it("conv2d over a level's input folded into its gathers: UpSampling2D(ReLU(Concatenate([a, skip]))), patches, LeakyReLU", async () => {
    const next = rng(15);
    const shapes: Conv2dShape[] = [
      {
        batch: 2,
        height: 8,
        width: 8,
        inChannels: 12,
        outChannels: 6,
        kernel: 3,
        stride: 1,
        input: { split: 5, upsample: 2, activation: { kind: 'relu' } },
      },
      {
        batch: 1,
        height: 2,
        width: 2,
        inChannels: 128,
        outChannels: 64,
        kernel: 4,
        stride: 1,
        input: { split: 64, upsample: 2, activation: { kind: 'relu' } },
      },
      {
        batch: 3,
        height: 6,
        width: 10,
        inChannels: 7,
        outChannels: 9,
        kernel: 4,
        stride: 2,
        input: { upsample: 2, activation: { kind: 'relu' } },
      },
      { batch: 2, height: 5, width: 7, inChannels: 4, outChannels: 3, kernel: 3, stride: 1, input: { split: 1 } },
      // The discriminator's first convolutions: 16x16 patches of a 32x32 image (4 per image), each padded alone.
      {
        batch: 2 * 4,
        height: 16,
        width: 16,
        inChannels: 3,
        outChannels: 16,
        kernel: 3,
        stride: 2,
        input: { tiles: { across: 2 } },
      },
      {
        batch: 1 * 9,
        height: 4,
        width: 4,
        inChannels: 2,
        outChannels: 5,
        kernel: 4,
        stride: 1,
        input: { tiles: { across: 3 } },
      },
      // An encoder level: LeakyReLU(0.2) of the level above, then a 4x4 stride-2 convolution.
      {
        batch: 2,
        height: 16,
        width: 16,
        inChannels: 8,
        outChannels: 16,
        kernel: 4,
        stride: 2,
        input: { activation: { kind: 'leakyRelu', alpha: 0.2 } },
      },
    ];
    for (const shape of shapes) await checkConv(shape, next);
  });

  it("conv2d transpose forward and its input, filter and bias gradients: kernels 2 to 4, odd sizes, a level's ReLU(Concatenate), split K", async () => {
    const next = rng(17);
    const shapes: Conv2dShape[] = [
      { batch: 2, height: 4, width: 4, inChannels: 8, outChannels: 6, kernel: 4, stride: 2 },
      { batch: 3, height: 5, width: 3, inChannels: 7, outChannels: 5, kernel: 3, stride: 2 },
      {
        batch: 2,
        height: 4,
        width: 6,
        inChannels: 12,
        outChannels: 3,
        kernel: 3,
        stride: 2,
        input: { split: 5, activation: { kind: 'relu' } },
      },
      {
        batch: 1,
        height: 1,
        width: 1,
        inChannels: 64,
        outChannels: 65,
        kernel: 4,
        stride: 2,
        input: { activation: { kind: 'relu' } },
      },
      { batch: 2, height: 3, width: 3, inChannels: 4, outChannels: 9, kernel: 2, stride: 2 },
      { batch: 2, height: 5, width: 4, inChannels: 6, outChannels: 4, kernel: 3, stride: 1, input: { split: 2 } },
    ];
    for (const shape of shapes) await checkTranspose(shape, next);
    const split = { parallelism: 4096 };
    const wide: Conv2dShape = { ...shapes[2], batch: 4, height: 8, width: 8 };
    assert.ok(conv2dTransposeFilterGradient(device, transposeGeometry(wide), split).parts[1].split.splits > 1);
    await checkTranspose(wide, next, split);
  });

  it('Adam over a flat arena, three steps, as tfjs updates three variables', async () => {
    const next = rng(7);
    const sizes = [300, 1, 4099];
    const settings = { lr: 2e-4, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 };
    const initial = sizes.map((n) => random(n, next));
    const steps = [0, 1, 2].map(() => sizes.map((n) => random(n, next)));
    const variables = initial.map((v) => tf.variable(tf.tensor1d(v)));
    const optimizer = tf.train.adam(settings.lr, settings.beta1, settings.beta2, settings.epsilon);
    const count = sizes.reduce((a, b) => a + b, 0);
    /** A network's arena: its variables end to end (zeros for the gradients and moments). */
    const arena = (values: Float32Array[] = []) => {
      const buffer = device.createBuffer({
        size: count * 4,
        usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC,
        mappedAtCreation: true,
      });
      new Float32Array(buffer.getMappedRange()).set(values.flatMap((v) => [...v]));
      buffer.unmap();
      return buffer;
    };
    const [weights, gradients, first, second] = [arena(initial), arena(), arena(), arena()];
    const adam = new FusedAdam(device, settings, count);
    adam.bind({ weights, gradients, first, second });
    for (const grads of steps) {
      optimizer.applyGradients(variables.map((v, i) => ({ name: v.name, tensor: tf.tensor1d(grads[i]) })));
      device.queue.writeBuffer(gradients, 0, Float32Array.from(grads.flatMap((g) => [...g])));
      adam.setStep();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      adam.record(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = await download(weights, count);
      const want = Float32Array.from(variables.flatMap((v) => [...(v.dataSync() as Float32Array)]));
      const error = got.reduce(
        (worst, g, i) => Math.max(worst, Math.abs(g - want[i]) / Math.max(1e-6, Math.abs(want[i]))),
        0,
      );
      assert.ok(error < 1e-5, `relative error ${error}`);
    }
    optimizer.dispose();
    variables.forEach((v) => v.dispose());
  });

  it('dropout masks from counters: the kept fraction, and a new mask each step', () => {
    const n = 20_000;
    const fraction = (step: number) =>
      Array.from({ length: n }, (_, i) => kept(9, step, i, 0.5)).filter(Boolean).length / n;
    assert.ok(Math.abs(fraction(1) - 0.5) < 0.02, `kept ${fraction(1)}`);
    assert.ok(
      Math.abs(Array.from({ length: n }, (_, i) => kept(9, 2, i, 0.3)).filter(Boolean).length / n - 0.7) < 0.02,
    );
    const differ = Array.from({ length: 1000 }, (_, i) => kept(9, 1, i, 0.5) !== kept(9, 2, i, 0.5)).filter(
      Boolean,
    ).length;
    assert.ok(differ > 400 && differ < 600, `${differ} of 1000 differ between steps`);
  });

  it('BatchNormalization in training mode fused with its activation and dropout, forward and backward', async () => {
    const next = rng(21);
    const dropout = { rate: 0.5, seed: 0x5eed };
    const cases: [positions: number, channels: number, activation: Activation, drop?: typeof dropout][] = [
      [70, 3, { kind: 'leakyRelu', alpha: 0.2 }],
      [1280, 64, { kind: 'relu' }],
      [2, 512, { kind: 'linear' }],
      [4099, 5, { kind: 'leakyRelu', alpha: 0.2 }],
      [200, 32, { kind: 'linear' }, dropout],
      [18, 7, { kind: 'leakyRelu', alpha: 0.2 }, { rate: 0.3, seed: 1 }],
      // The seed's third dropout level: 5 images of 8x8, 256 channels, its stream.
      [320, 256, { kind: 'linear' }, { rate: 0.5, seed: 262898690 }],
    ];
    const step = 41;
    for (const [positions, channels, activation, drop] of cases) {
      const mask = Float32Array.from({ length: positions * channels }, (_, i) =>
        !drop ? 1 : kept(drop.seed, step, i, drop.rate) ? 1 / (1 - drop.rate) : 0,
      );
      const epsilon = 1e-3;
      const x = random(positions * channels, next);
      const gamma = random(channels, next);
      const beta = random(channels, next);
      const dy = random(positions * channels, next);
      const want = tf.tidy(() => {
        const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
          const { mean, variance } = tf.moments(xi, [0]);
          const z = tf.batchNorm(xi, mean, variance, bi, gi, epsilon);
          const a =
            activation.kind === 'relu'
              ? tf.relu(z)
              : activation.kind === 'leakyRelu'
                ? tf.leakyRelu(z, activation.alpha)
                : z;
          return tf.mul(a, tf.tensor2d(mask, [positions, channels]));
        };
        const inputs = [tf.tensor2d(x, [positions, channels]), tf.tensor1d(gamma), tf.tensor1d(beta)];
        const y = f(inputs[0], inputs[1], inputs[2]);
        const [dx, dgamma, dbeta] = tf.grads(f)(inputs, tf.tensor2d(dy, [positions, channels]));
        return [y, dx, dgamma, dbeta].map((t) => t.dataSync() as Float32Array);
      });
      const norm = new FusedBatchNorm(device, {
        positions,
        channels,
        epsilon,
        momentum: 0.99,
        activation,
        dropout: drop,
      });
      norm.setStep(step);
      const movingBefore = random(2 * channels, next).map(Math.abs);
      const { outputs: got, moving } = await runBatchNorm(norm, { x, dy, gamma, beta, moving: movingBefore });
      // The moving statistics as tfjs-layers updates them: moving - (moving - batch) * (1 - momentum).
      const wantMoving = tf.tidy(() => {
        const { mean, variance } = tf.moments(tf.tensor2d(x, [positions, channels]), [0]);
        const before = tf.tensor1d(movingBefore);
        const batch = tf.concat([mean, variance]);
        return tf.sub(before, tf.mul(tf.sub(before, batch), 1 - 0.99)).dataSync() as Float32Array;
      });
      const movingError = relativeError(moving, wantMoving);
      assert.ok(movingError < 1e-5, `moving statistics of ${positions}x${channels}: relative error ${movingError}`);
      ['y', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => {
        const error = relativeError(got[i], want[i]);
        const what = `${name} of ${positions}x${channels} ${activation.kind}${drop ? ` dropout ${drop.rate}` : ''}`;
        assert.ok(error < 1e-4, `${what}: relative error ${error}`);
      });
    }
  });

  it('BatchNormalization per patch position (the seed discriminator) and in inference mode', async () => {
    const next = rng(24);
    const [images, patches, pixels, channels] = [3, 4, 5, 6];
    const positions = images * patches * pixels;
    const epsilon = 1e-3;
    const [x, dy] = [random(positions * channels, next), random(positions * channels, next)];
    const [gamma, beta] = [random(channels, next), random(channels, next)];
    const movingBefore = random(2 * channels, next).map(Math.abs);
    const leaky = { kind: 'leakyRelu', alpha: 0.2 } as const;
    // Each patch position on its own: a plain BatchNorm over the images and pixels of that patch.
    const want = tf.tidy(() => {
      const f = (xi: tf.Tensor, gi: tf.Tensor, bi: tf.Tensor) => {
        const perPatch = tf.unstack(tf.reshape(xi, [images, patches, pixels, channels]), 1).map((t) => {
          const { mean, variance } = tf.moments(t, [0, 1]);
          return tf.leakyRelu(tf.batchNorm(t, mean, variance, bi, gi, epsilon), 0.2);
        });
        return tf.reshape(tf.stack(perPatch, 1), [positions, channels]);
      };
      const inputs = [tf.tensor2d(x, [positions, channels]), tf.tensor1d(gamma), tf.tensor1d(beta)];
      const [dx, dgamma, dbeta] = tf.grads(f)(inputs, tf.tensor2d(dy, [positions, channels]));
      return [f(inputs[0], inputs[1], inputs[2]), dx, dgamma, dbeta].map((t) => t.dataSync() as Float32Array);
    });
    // The moving statistics take each patch's statistics in turn.
    const wantMoving = Float32Array.from(movingBefore);
    const patchStats = tf.tidy(() =>
      tf.unstack(tf.reshape(tf.tensor1d(x), [images, patches, pixels, channels]), 1).map((t) => {
        const { mean, variance } = tf.moments(t, [0, 1]);
        return [...mean.dataSync(), ...variance.dataSync()];
      }),
    );
    for (const stats of patchStats)
      stats.forEach((v, k) => (wantMoving[k] = Math.fround(wantMoving[k] - Math.fround((wantMoving[k] - v) * 0.01))));
    const run = async (mode: 'training' | 'inference') => {
      const norm = new FusedBatchNorm(device, {
        positions,
        channels,
        epsilon,
        momentum: 0.99,
        activation: leaky,
        patches: mode === 'training' ? { count: patches, pixels } : undefined,
        mode,
      });
      return runBatchNorm(norm, { x, dy, gamma, beta, moving: movingBefore });
    };
    const training = await run('training');
    ['y', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => {
      const error = relativeError(training.outputs[i], want[i]);
      assert.ok(error < 1e-4, `per-patch ${name}: relative error ${error}`);
    });
    const movingError = relativeError(training.moving, wantMoving);
    assert.ok(movingError < 1e-5, `per-patch moving statistics: relative error ${movingError}`);
    // Inference: the moving statistics normalise, and stay as they were.
    const inference = await run('inference');
    const wantInference = tf.tidy(() => {
      const [mean, variance] = [movingBefore.slice(0, channels), movingBefore.slice(channels)].map((v) =>
        tf.tensor1d(v),
      );
      const z = tf.batchNorm(
        tf.tensor2d(x, [positions, channels]),
        mean,
        variance,
        tf.tensor1d(beta),
        tf.tensor1d(gamma),
        epsilon,
      );
      return tf.leakyRelu(z, 0.2).dataSync() as Float32Array;
    });
    const inferenceError = relativeError(inference.outputs[0], wantInference);
    assert.ok(inferenceError < 1e-5, `inference y: relative error ${inferenceError}`);
    assert.deepEqual(
      [...inference.moving],
      [...Float32Array.from(movingBefore)],
      'inference leaves the moving statistics',
    );
  });

  it('dense forward and its input, weight and bias gradients', async () => {
    const next = rng(22);
    const shapes: DenseShape[] = [
      { rows: 20, inputs: 1024, units: 2 },
      { rows: 5, inputs: 8, units: 2 },
      { rows: 67, inputs: 33, units: 70 },
    ];
    for (const d of shapes) {
      const [x, w, bias, dy] = [d.rows * d.inputs, d.inputs * d.units, d.units, d.rows * d.units].map((n) =>
        random(n, next),
      );
      const want = tf.tidy(() => {
        const f = (xi: tf.Tensor, wi: tf.Tensor, bi: tf.Tensor) =>
          tf.add(tf.matMul(xi as tf.Tensor2D, wi as tf.Tensor2D), bi);
        const inputs = [tf.tensor2d(x, [d.rows, d.inputs]), tf.tensor2d(w, [d.inputs, d.units]), tf.tensor1d(bias)];
        const y = f(inputs[0], inputs[1], inputs[2]);
        return [y, ...tf.grads(f)(inputs, tf.tensor2d(dy, [d.rows, d.units]))].map((t) => t.dataSync() as Float32Array);
      });
      const sizes = [d.rows * d.units, d.rows * d.inputs, d.inputs * d.units, d.units];
      const outputs = sizes.map((n) =>
        device.createBuffer({ size: n * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC }),
      );
      const [xb, wb, bb, dyb] = [x, w, bias, dy].map(upload);
      const [y, dx, dw, db] = outputs;
      const kernels = [
        [denseForward(device, d), { x: xb, w: wb, bias: bb, y }],
        [denseInputGradient(device, d), { dy: dyb, w: wb, dx }],
        [denseWeightGradient(device, d), { x: xb, dy: dyb, dw, db }],
      ] as const;
      const got = await runOnce(kernels, outputs, sizes);
      ['y', 'dx', 'dw', 'db'].forEach((name, i) => {
        const error = relativeError(got[i], want[i]);
        assert.ok(error < 1e-4, `${name} of ${JSON.stringify(d)}: relative error ${error}`);
      });
    }
  });

  it("the generator's output with its L1 term, and the discriminator's softmax cross-entropy, with their gradients", async () => {
    const next = rng(23);
    const storage = (floats: number) =>
      device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    for (const [count, activation, reduction] of [
      [5 * 32 * 32 * 3, 'tanh', 'sum-channels'],
      [300, 'sigmoid', 'mean'],
      [9, 'linear', 'sum-channels'],
      [5 * 32 * 32 * 3, 'tanh', 'mean'],
    ] as const) {
      const [pre, truth, dOut] = [0, 1, 2].map(() => random(count, next));
      // RGB: the seed's L1 sums the 3 channels, then averages over the pixels.
      const weight = 10;
      const act = (z: tf.Tensor) => (activation === 'tanh' ? tf.tanh(z) : activation === 'sigmoid' ? tf.sigmoid(z) : z);
      const want = tf.tidy(() => {
        const [z, t, d] = [pre, truth, dOut].map((v) => tf.tensor2d(v, [count / 3, 3]));
        const loss = (zi: tf.Tensor) =>
          tf.add(tf.mul(l1Loss(tf, act(zi), t, reduction), weight), tf.sum(tf.mul(act(zi), d))) as tf.Scalar;
        return [act(z), tf.grad(loss)(z), l1Loss(tf, act(z), t, reduction).reshape([1])].map(
          (x) => x.dataSync() as Float32Array,
        );
      });
      const channelSum = l1ChannelSum(reduction, 3);
      const output = new OutputLoss(device, { count, activation, weight, slot: 1, channelSum });
      const [out, dPre, losses] = [storage(count), storage(count), storage(4)];
      output.bind({ pre: upload(pre), truth: upload(truth), dOut: upload(dOut), out, dPre, losses });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      output.recordForward(pass);
      output.recordBackward(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = [await download(out, count), await download(dPre, count), (await download(losses, 4)).slice(1, 2)];
      ['out', 'dPre', 'L1'].forEach((name, i) => {
        const error = relativeError(got[i], want[i]);
        assert.ok(error < 1e-4, `${name} of ${count} ${activation} (${reduction}): relative error ${error}`);
      });
    }
    for (const [rows, target] of [
      [20, REAL_TARGET],
      [5, GENERATED_TARGET],
      [600, REAL_TARGET],
      [40, realTarget('zeros')],
    ] as const) {
      const logits = Float32Array.from(random(rows * 2, next), (v) => v * 8);
      const weight = 0.5;
      const want = tf.tidy(() => {
        const z = tf.tensor2d(logits, [rows, 2]);
        const loss = (zi: tf.Tensor) => tf.mul(crossEntropy(tf, tf.softmax(zi), target), weight) as tf.Scalar;
        return [tf.softmax(z), tf.grad(loss)(z), crossEntropy(tf, tf.softmax(z), target).reshape([1])].map(
          (x) => x.dataSync() as Float32Array,
        );
      });
      const softmax = new SoftmaxCrossEntropy(device, { rows, target, weight, slot: 2 });
      const [p, dLogits, losses] = [storage(rows * 2), storage(rows * 2), storage(4)];
      softmax.bind({ logits: upload(logits), p, dLogits, losses });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      softmax.record(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = [
        await download(p, rows * 2),
        await download(dLogits, rows * 2),
        (await download(losses, 4)).slice(2, 3),
      ];
      ['p', 'dLogits', 'loss'].forEach((name, i) => {
        const error = relativeError(got[i], want[i]);
        assert.ok(error < 1e-4, `${name} of ${rows} rows, target ${target}: relative error ${error}`);
      });
    }
  });
});

/** The convolution's four kernels against tfjs cpu, the input built as the graph's layers build it. */
async function checkConv(shape: Conv2dShape, next: () => number, options: GemmOptions = UNSPLIT): Promise<void> {
  const g = convGeometry(shape);
  const { batch, height, width, outChannels: o, kernel: k, inChannels: c, stride } = shape;
  const up = g.upsample;
  const sources = g.sources.map((channels) => random((batch * height * width * channels) / (up * up), next));
  const w = random(k * k * c * o, next);
  const bias = random(o, next);
  const dy = random(g.pixels * o, next);
  const want = tf.tidy(() => {
    const input = (...parts: tf.Tensor[]) => {
      let v = parts.length > 1 ? tf.concat(parts, 3) : parts[0];
      const activation = shape.input?.activation;
      if (activation?.kind === 'relu') v = tf.relu(v);
      if (activation?.kind === 'leakyRelu') v = tf.leakyRelu(v, activation.alpha);
      const tiles = shape.input?.tiles;
      if (tiles) {
        // The discriminator's Reshape, Permute and Reshape into patches.
        const [b, a] = [batch / tiles.across ** 2, tiles.across];
        const split = tf.reshape(v, [b, a, height, a, width, c]);
        return tf.reshape(tf.transpose(split, [0, 1, 3, 2, 4, 5]), [batch, height, width, c]);
      }
      // UpSampling2D is nearest resizing by a whole factor: source pixel floor(i / up).
      return up === 1 ? v : tf.image.resizeNearestNeighbor(v as tf.Tensor4D, [height, width]);
    };
    const conv = (...args: tf.Tensor[]) => {
      const [wi, bi] = args.slice(-2);
      return tf.add(tf.conv2d(input(...args.slice(0, -2)) as tf.Tensor4D, wi as tf.Tensor4D, stride, 'same'), bi);
    };
    const across = shape.input?.tiles?.across ?? 1;
    const shapes = g.sources.map((channels) => [
      batch / across ** 2,
      (height / up) * across,
      (width / up) * across,
      channels,
    ]);
    const inputs = [...sources.map((x, i) => tf.tensor(x, shapes[i])), tf.tensor4d(w, [k, k, c, o]), tf.tensor1d(bias)];
    const y = conv(...inputs);
    const grads = tf.grads(conv)(inputs, tf.tensor(dy, y.shape));
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
  const got = await runConv(g, sources, { w, bias, dy }, options);
  const names = ['y', ...sources.map((_, i) => `dx${i}`), 'dw', 'db'];
  names.forEach((name, i) => {
    assert.equal(got[i].length, want[i].length, `${name} of ${JSON.stringify(shape)}`);
    const error = relativeError(got[i], want[i]);
    assert.ok(error < 1e-4, `${name} of ${JSON.stringify(shape)}: relative error ${error}`);
  });
}

/** The four kernels of one convolution, recorded into one pass and submitted once, as a step does. */
async function runConv(
  g: ConvGeometry,
  sources: Float32Array[],
  data: Record<'w' | 'bias' | 'dy', Float32Array>,
  options: GemmOptions,
) {
  const xs = sources.map(upload);
  const [w, bias, dy] = [data.w, data.bias, data.dy].map(upload);
  const output = (floats: number) =>
    device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const sizes = [g.pixels * g.shape.outChannels, ...sources.map((x) => x.length), data.w.length, g.shape.outChannels];
  const outputs = sizes.map(output);
  const [y, dw, db] = [outputs[0], outputs.at(-2)!, outputs.at(-1)!];
  const dxs = outputs.slice(1, -2);
  const x = sourceBindings('x', xs);
  const kernels = [
    [conv2dForward(device, g, options), { ...x, w, bias, y }],
    [conv2dInputGradient(device, g, options), { ...x, dy, w, ...sourceBindings('dx', dxs) }],
    [conv2dFilterGradient(device, g, options), { ...x, dy, dw, db }],
  ] as const;
  return runOnce(kernels, outputs, sizes);
}

/** Binds and records kernels into one pass, submits it once (as a step does), and reads the outputs back. */
async function runOnce(
  kernels: readonly (readonly [Kernel, Readonly<Record<string, GPUBuffer>>])[],
  outputs: GPUBuffer[],
  sizes: number[],
) {
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  for (const [kernel, bound] of kernels) {
    kernel.bind(bound);
    kernel.record(pass);
  }
  pass.end();
  device.queue.submit([encoder.finish()]);
  return Promise.all(outputs.map((b, i) => download(b, sizes[i])));
}

/** The transposed convolution's four kernels against tfjs cpu's conv2dTranspose and its gradients. */
async function checkTranspose(shape: Conv2dShape, next: () => number, options: GemmOptions = UNSPLIT): Promise<void> {
  const g = transposeGeometry(shape);
  const { batch, height, width, outChannels: o, kernel: k, inChannels: c, stride } = shape;
  const sources = g.view.sources.map((channels) => random(batch * height * width * channels, next));
  const w = random(k * k * o * c, next);
  const bias = random(o, next);
  const dy = random(g.pixels * o, next);
  const outShape: [number, number, number, number] = [batch, height * stride, width * stride, o];
  const want = tf.tidy(() => {
    const deconv = (...args: tf.Tensor[]) => {
      const [wi, bi] = args.slice(-2);
      const parts = args.slice(0, -2);
      let v = parts.length > 1 ? tf.concat(parts, 3) : parts[0];
      if (shape.input?.activation?.kind === 'relu') v = tf.relu(v);
      return tf.add(tf.conv2dTranspose(v as tf.Tensor4D, wi as tf.Tensor4D, outShape, stride, 'same'), bi);
    };
    const inputs = [
      ...sources.map((x, i) => tf.tensor(x, [batch, height, width, g.view.sources[i]])),
      tf.tensor4d(w, [k, k, o, c]),
      tf.tensor1d(bias),
    ];
    const y = deconv(...inputs);
    const grads = tf.grads(deconv)(inputs, tf.tensor(dy, y.shape));
    return [y, ...grads].map((t) => t.dataSync() as Float32Array);
  });
  const got = await runTranspose(g, sources, { w, bias, dy }, options);
  const names = ['y', ...sources.map((_, i) => `dx${i}`), 'dw', 'db'];
  names.forEach((name, i) => {
    assert.equal(got[i].length, want[i].length, `${name} of ${JSON.stringify(shape)}`);
    const error = relativeError(got[i], want[i]);
    assert.ok(error < 1e-4, `${name} of ${JSON.stringify(shape)}: relative error ${error}`);
  });
}

async function runTranspose(
  g: TransposeGeometry,
  sources: Float32Array[],
  data: Record<'w' | 'bias' | 'dy', Float32Array>,
  options: GemmOptions,
) {
  const xs = sources.map(upload);
  const [w, bias, dy] = [data.w, data.bias, data.dy].map(upload);
  const output = (floats: number) =>
    device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
  const sizes = [g.pixels * g.shape.outChannels, ...sources.map((x) => x.length), data.w.length, g.shape.outChannels];
  const outputs = sizes.map(output);
  const [y, dw, db] = [outputs[0], outputs.at(-2)!, outputs.at(-1)!];
  const x = sourceBindings('x', xs);
  const kernels = [
    [conv2dTransposeForward(device, g, options), { ...x, w, bias, y }],
    [conv2dTransposeInputGradient(device, g, options), { ...x, dy, w, ...sourceBindings('dx', outputs.slice(1, -2)) }],
    [conv2dTransposeFilterGradient(device, g, options), { ...x, dy, dw, db }],
  ] as const;
  return runOnce(kernels, outputs, sizes);
}
