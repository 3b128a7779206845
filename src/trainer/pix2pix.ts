// The pix2pix training step and evaluation: a conditional GAN whose discriminator sees (image, input) pairs, with an
// L1 term in the generator loss. The generator and discriminator run in training mode (batch statistics,
// dropout) in every update, as in the paper's code.

import type * as TF from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../core/config';
import type { ModelGraph } from '../core/graph';
import type { ImagePair } from '../data/dataset';
import { buildModel } from '../model/build';
import type { Tf } from '../model/tf';
import type { Quality } from '../runFolders/contract';
import { quality } from './metrics';

export interface Nets {
  generator: TF.LayersModel;
  discriminator: TF.LayersModel;
  gOptimizer: TF.Optimizer;
  dOptimizer: TF.Optimizer;
}

/** The two networks of a config's graphs and their Adam optimizers (`train.optimizer`), as the trainer and the benchmarks train them. */
export function createNets(
  tf: Tf,
  graphs: { generator: ModelGraph; discriminator: ModelGraph; config: ResolvedConfig },
): Nets {
  const { lr, beta1, beta2 } = graphs.config.train.optimizer;
  return {
    generator: buildModel(tf, graphs.generator),
    discriminator: buildModel(tf, graphs.discriminator),
    gOptimizer: tf.train.adam(lr, beta1, beta2, 1e-8),
    dOptimizer: tf.train.adam(lr, beta1, beta2, 1e-8),
  };
}

export function disposeNets(tf: Tf, nets: Nets): void {
  nets.generator.dispose();
  nets.discriminator.dispose();
  nets.gOptimizer.dispose();
  nets.dOptimizer.dispose();
  tf.disposeVariables();
}

export interface LossWeights {
  l1: number;
  gan: number;
}

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

/** Mean absolute error, the generator's L1 term. */
export function l1Loss(tf: Tf, a: TF.Tensor, b: TF.Tensor): TF.Scalar {
  return tf.mean(tf.abs(tf.sub(a, b))) as TF.Scalar;
}

/** Binary cross-entropy on the softmax [fake, real] output: -mean(log p[:, cls]). */
export function bce(tf: Tf, p: TF.Tensor, cls: 0 | 1): TF.Scalar {
  const column = tf.slice(p, [0, cls], [-1, 1]);
  return tf.neg(tf.mean(tf.log(tf.clipByValue(column, 1e-7, 1)))) as TF.Scalar;
}

/** The discriminator's [fake, real] probabilities for `image` given the generator's `input` (its two inputs). */
function discriminate(d: TF.LayersModel, image: TF.Tensor, input: TF.Tensor): TF.Tensor {
  return d.apply([image, input], { training: true }) as TF.Tensor;
}

/**
 * One training step: a generator update, then a discriminator update on the same fake batch. The four losses
 * come back in one asynchronous read (GPU backends cannot read synchronously in Node).
 */
export async function trainStep(
  tf: Tf,
  nets: Nets,
  weights: LossWeights,
  x: TF.Tensor4D,
  y: TF.Tensor4D,
): Promise<StepLosses> {
  const { generator: g, discriminator: d } = nets;
  let fake: TF.Tensor | undefined;
  let l1: TF.Scalar | undefined;
  let gan: TF.Scalar | undefined;
  const gStep = tf.variableGrads(() => {
    const out = g.apply(x, { training: true }) as TF.Tensor;
    fake = tf.keep(out);
    const p = discriminate(d, out, x);
    l1 = tf.keep(l1Loss(tf, out, y));
    gan = tf.keep(bce(tf, p, 1));
    return tf.add(tf.mul(l1, weights.l1), tf.mul(gan, weights.gan)) as TF.Scalar;
  }, variablesOf(g));
  nets.gOptimizer.applyGradients(gStep.grads);
  tf.dispose(gStep.grads);

  const dStep = tf.variableGrads(() => {
    const pFake = discriminate(d, fake!, x);
    const pReal = discriminate(d, y, x);
    return tf.mul(tf.add(bce(tf, pFake, 0), bce(tf, pReal, 1)), 0.5) as TF.Scalar;
  }, variablesOf(d));
  nets.dOptimizer.applyGradients(dStep.grads);
  tf.dispose(dStep.grads);

  const losses = tf.stack([gStep.value, dStep.value, l1!, gan!]);
  tf.dispose([gStep.value, dStep.value, l1!, gan!, fake!]);
  const [gTotal, dLoss, gL1, gGan] = await losses.data();
  losses.dispose();
  return { gL1, gGan, gTotal, dLoss };
}

/**
 * Generated images for `pairs`, in batches of `batchSize`. In `training` mode (the paper's test-time
 * behaviour: dropout and batch statistics on) the BatchNorm moving statistics are restored afterwards, so
 * evaluation never changes the model.
 */
export async function generate(
  tf: Tf,
  g: TF.LayersModel,
  pairs: readonly ImagePair[],
  shapes: Shapes,
  batchSize: number,
  mode: 'training' | 'inference',
): Promise<Float32Array> {
  const { size, inChannels, outChannels } = shapes;
  const out = new Float32Array(pairs.length * size * size * outChannels);
  const moving = g.nonTrainableWeights.map((w) => (w as unknown as { read(): TF.Variable }).read());
  const saved = mode === 'training' ? moving.map((v) => tf.clone(v)) : [];
  for (let i = 0; i < pairs.length; i += batchSize) {
    const chunk = pairs.slice(i, i + batchSize);
    const generated = tf.tidy(
      () =>
        g.apply(
          batchTensor(
            tf,
            chunk.map((p) => p.input),
            size,
            inChannels,
          ),
          { training: mode === 'training' },
        ) as TF.Tensor,
    );
    out.set(await generated.data(), i * size * size * outChannels);
    generated.dispose();
  }
  moving.forEach((v, k) => mode === 'training' && v.assign(saved[k]));
  tf.dispose(saved);
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
): Promise<{ quality: Quality; generated: Float32Array }> {
  const generated = await generate(tf, g, pairs, shapes, batchSize, mode);
  return {
    quality: quality(generated, targetsOf(pairs, shapes), pairs.length, shapes.size, shapes.outChannels),
    generated,
  };
}
