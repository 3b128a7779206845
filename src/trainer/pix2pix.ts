// The pix2pix training step and evaluation on tfjs: a conditional GAN whose discriminator sees (image, input)
// pairs, with an L1 term in the generator loss, trained by the loop of `train.loop` (core/trainingLoop.ts).

import type * as TF from '@tensorflow/tfjs';
import type { L1Reduction, TrainConfig } from '../core/config';
import {
  GENERATED_TARGET,
  REAL_TARGET,
  discriminatorSees,
  realTarget,
  type DiscriminatorSees,
  type Target,
} from '../core/trainingLoop';
import type { ImagePair } from '../data/dataset';
import type { Tf } from '../model/tf';
import type { Nets } from '../model/nets';
import type { Quality } from '../protocol/trainer';
import { imageL1s, quality } from './metrics';

export interface StepLosses {
  gL1: number;
  gGan: number;
  gTotal: number;
  dLoss: number;
}

export interface Shapes {
  size: number;
  inChannels: number;
  outChannels: number;
}

/** Bytes [0, 255] of several images to floats in [-1, 1] (x / 127.5 - 1, as the seed), NHWC. */
export function batchFloats(images: readonly Uint8Array[], size: number, channels: number): Float32Array<ArrayBuffer> {
  const per = size * size * channels;
  const data = new Float32Array(images.length * per);
  images.forEach((img, k) => {
    for (let i = 0; i < per; i++) data[k * per + i] = img[i] / 127.5 - 1;
  });
  return data;
}

/** Bytes [0, 255] of several images to one float tensor in [-1, 1]. */
export function batchTensor(tf: Tf, images: readonly Uint8Array[], size: number, channels: number): TF.Tensor4D {
  return tf.tensor4d(batchFloats(images, size, channels), [images.length, size, size, channels]);
}

const variablesOf = (model: TF.LayersModel) =>
  model.trainableWeights.map((w) => (w as unknown as { read(): TF.Variable }).read());

/** The L1 term: the per-element mean of |a - b|, or (the seed's) its sum over channels averaged over the rest. */
export function l1Loss(tf: Tf, a: TF.Tensor, b: TF.Tensor, reduction: L1Reduction = 'mean'): TF.Scalar {
  const abs = tf.abs(tf.sub(a, b));
  return tf.mean(reduction === 'sum-channels' ? tf.sum(abs, -1) : abs) as TF.Scalar;
}

/** Cross-entropy of the softmax [fake, real] output with a target (core/trainingLoop.ts): -mean(sum_k t_k log p_k). */
export function crossEntropy(tf: Tf, p: TF.Tensor, target: Target): TF.Scalar {
  const terms = target.flatMap((t, k) => {
    if (t === 0) return [];
    const column = tf.slice(p, [0, k], [-1, 1]);
    const log = tf.log(tf.clipByValue(column, 1e-7, 1));
    return [t === 1 ? log : tf.mul(log, t)];
  });
  return tf.neg(tf.mean(terms.length === 1 ? terms[0] : tf.addN(terms))) as TF.Scalar;
}

/** Binary cross-entropy against class `cls` (0 fake, 1 real): -mean(log p[:, cls]). */
export function bce(tf: Tf, p: TF.Tensor, cls: 0 | 1): TF.Scalar {
  return crossEntropy(tf, p, cls === 1 ? REAL_TARGET : GENERATED_TARGET);
}

/** The discriminator's [fake, real] probabilities for `image` given the generator's `input` (its two inputs). */
function discriminate(d: TF.LayersModel, image: TF.Tensor, input: TF.Tensor): TF.Tensor {
  return d.apply([image, input], { training: true }) as TF.Tensor;
}

/** Saves `model`'s BatchNorm moving statistics; the function returned puts them back (a frozen Keras model's, an evaluation's). */
export function saveStatistics(tf: Tf, model: TF.LayersModel): () => void {
  const moving = model.nonTrainableWeights.map((w) => (w as unknown as { read(): TF.Variable }).read());
  const saved = moving.map((v) => tf.clone(v));
  return () => {
    moving.forEach((v, k) => v.assign(saved[k]));
    tf.dispose(saved);
  };
}

function keepingStatistics<T>(tf: Tf, model: TF.LayersModel, fn: () => T): T {
  const restore = saveStatistics(tf, model);
  try {
    return fn();
  } finally {
    restore();
  }
}

/** One step's tensors (core/trainingLoop.ts `StepImages`). */
export interface StepTensors {
  x: TF.Tensor4D;
  y: TF.Tensor4D;
  gx: TF.Tensor4D;
  gy: TF.Tensor4D;
  sees: DiscriminatorSees;
}

/** The settings a step reads. */
export type StepSettings = Pick<TrainConfig, 'loop' | 'loss'>;

/** Receives each network's gradients before they are disposed (tests compare them with another backend's). */
export type GradientSink = (net: 'generator' | 'discriminator', grads: TF.NamedTensorMap) => void;

/**
 * One training step of `train.loop` (core/trainingLoop.ts): the discriminator's update, then the generator's. The
 * four losses come back in one asynchronous read (GPU backends cannot read synchronously in Node).
 */
export async function trainStep(
  tf: Tf,
  nets: Nets,
  settings: StepSettings,
  images: StepTensors,
  sink?: GradientSink,
): Promise<StepLosses> {
  const dLoss = discriminatorUpdate(tf, nets, settings, images, sink);
  const { generator: g, discriminator: d } = nets;
  const { gx, gy } = images;
  const { loss } = settings;
  let l1: TF.Scalar | undefined;
  let gan: TF.Scalar | undefined;
  const update = () =>
    tf.variableGrads(() => {
      const out = g.apply(gx, { training: true }) as TF.Tensor;
      l1 = tf.keep(l1Loss(tf, out, gy, loss.l1Reduction));
      gan = tf.keep(crossEntropy(tf, discriminate(d, out, gx), REAL_TARGET));
      return tf.add(tf.mul(l1, loss.l1), tf.mul(gan, loss.gan)) as TF.Scalar;
    }, variablesOf(g));
  // The seed's combined model holds the discriminator frozen: batch statistics, its moving ones left alone.
  const gStep = settings.loop === 'seed' ? keepingStatistics(tf, d, update) : update();
  sink?.('generator', gStep.grads);
  nets.gOptimizer.applyGradients(gStep.grads);
  tf.dispose(gStep.grads);
  const losses = tf.stack([gStep.value, dLoss, l1!, gan!]);
  tf.dispose([gStep.value, dLoss, l1!, gan!]);
  const [gTotal, dValue, gL1, gGan] = await losses.data();
  losses.dispose();
  return { gL1, gGan, gTotal, dLoss: dValue };
}

/** The discriminator's update of a step; its loss stays on the backend. */
function discriminatorUpdate(
  tf: Tf,
  nets: Nets,
  settings: StepSettings,
  { x, y, sees }: StepTensors,
  sink?: GradientSink,
): TF.Scalar {
  const { generator: g, discriminator: d } = nets;
  const real = realTarget(settings.loss.realLabel);
  // The seed's fake is `generator.predict`; the paper's is the generator's training-mode output that its own update
  // then differentiates (computed twice here, so its moving statistics are kept from this first forward pass).
  const generate = (training: boolean) => tf.tidy(() => g.apply(x, { training }) as TF.Tensor);
  const fake =
    sees === 'real'
      ? undefined
      : sees === 'generated'
        ? generate(false)
        : keepingStatistics(tf, g, () => generate(true));
  const dStep = tf.variableGrads(() => {
    if (sees === 'real') return crossEntropy(tf, discriminate(d, y, x), real);
    const onFake = crossEntropy(tf, discriminate(d, fake!, x), GENERATED_TARGET);
    if (sees === 'generated') return onFake;
    return tf.mul(tf.add(onFake, crossEntropy(tf, discriminate(d, y, x), real)), 0.5) as TF.Scalar;
  }, variablesOf(d));
  sink?.('discriminator', dStep.grads);
  nets.dOptimizer.applyGradients(dStep.grads);
  tf.dispose(dStep.grads);
  fake?.dispose();
  return dStep.value;
}

/**
 * Generated images for `pairs`, in batches of `batchSize`. In `training` mode (the paper's test-time
 * behaviour: dropout and batch statistics on) the BatchNorm moving statistics are restored afterwards, so
 * evaluation never changes the model. `doses`: a probe model's skip doses (model/build.ts).
 */
export async function generate(
  tf: Tf,
  g: TF.LayersModel,
  pairs: readonly ImagePair[],
  shapes: Shapes,
  batchSize: number,
  mode: 'training' | 'inference',
  doses?: readonly number[],
): Promise<Float32Array> {
  const { size, inChannels, outChannels } = shapes;
  const out = new Float32Array(pairs.length * size * size * outChannels);
  const generateAll = async () => {
    for (let i = 0; i < pairs.length; i += batchSize) {
      const chunk = pairs.slice(i, i + batchSize);
      const generated = tf.tidy(() => {
        const x = batchTensor(
          tf,
          chunk.map((p) => p.input),
          size,
          inChannels,
        );
        // A probe model's second input: the same skip doses for every image of the batch.
        const ins = doses ? [x, tf.tile(tf.tensor2d([[...doses]]), [chunk.length, 1])] : x;
        return g.apply(ins, { training: mode === 'training' }) as TF.Tensor;
      });
      out.set(await generated.data(), i * size * size * outChannels);
      generated.dispose();
    }
  };
  const restore = mode === 'training' ? saveStatistics(tf, g) : () => {};
  try {
    await generateAll();
  } finally {
    restore();
  }
  return out;
}

export function targetsOf(pairs: readonly ImagePair[], shapes: Shapes): Float32Array {
  const per = shapes.size * shapes.size * shapes.outChannels;
  const out = new Float32Array(pairs.length * per);
  pairs.forEach((p, k) => {
    for (let i = 0; i < per; i++) out[k * per + i] = p.target[i] / 127.5 - 1;
  });
  return out;
}

export async function evaluate(
  tf: Tf,
  g: TF.LayersModel,
  pairs: readonly ImagePair[],
  shapes: Shapes,
  batchSize: number,
  mode: 'training' | 'inference',
): Promise<{ quality: Quality; generated: Float32Array; imageL1: number[] }> {
  const generated = await generate(tf, g, pairs, shapes, batchSize, mode);
  const targets = targetsOf(pairs, shapes);
  const per = shapes.size * shapes.size * shapes.outChannels;
  return {
    quality: quality(generated, targets, pairs.length, shapes.size, shapes.outChannels),
    generated,
    imageL1: imageL1s(generated, targets, pairs.length, per),
  };
}

/**
 * A step on one batch (the benchmarks' and some tests'): the generator trains on it too, and the discriminator sees
 * what the loop gives it at batch `batchInEpoch` of an epoch.
 */
export function stepOnBatch(
  tf: Tf,
  nets: Nets,
  settings: StepSettings,
  x: TF.Tensor4D,
  y: TF.Tensor4D,
  batchInEpoch = 0,
): Promise<StepLosses> {
  return trainStep(tf, nets, settings, { x, y, gx: x, gy: y, sees: discriminatorSees(settings.loop, batchInEpoch) });
}
