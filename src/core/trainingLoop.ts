// What a training step trains on, by `train.loop` (README, "The seed"):
//   seed   the article's script: the discriminator first, on a real batch at odd batch counts of an epoch (the
//          first batch is count 1) and on a generated batch (the generator in inference mode) at even ones; then
//          the generator on a fresh random batch, drawn with replacement, through the frozen discriminator
//   paper  the paper's code: the discriminator on the generated and the real pair of the batch, then the
//          generator on the same batch
// Every backend's step reads these, so they train the same loop. Pure: no tfjs.

import type { L1Reduction, Loop, RealLabel } from './config';
import { lowbias32 } from './dropoutMask';

/** What the discriminator is updated on at a step. */
export type DiscriminatorSees = 'real' | 'generated' | 'both';

/** One step's images: inputs and targets in [-1, 1], NHWC. */
export interface StepImages {
  /** The discriminator's batch (in the paper's loop, the generator's too). */
  x: Float32Array<ArrayBuffer>;
  y: Float32Array<ArrayBuffer>;
  batch: number;
  /** The generator's batch: the same arrays in the paper's loop, a fresh random batch in the seed's. */
  gx: Float32Array<ArrayBuffer>;
  gy: Float32Array<ArrayBuffer>;
  gBatch: number;
  sees: DiscriminatorSees;
}

/** What the discriminator trains on at the batch with index `batchInEpoch` (0-based) of an epoch. */
export function discriminatorSees(loop: Loop, batchInEpoch: number): DiscriminatorSees {
  if (loop === 'paper') return 'both';
  return batchInEpoch % 2 === 0 ? 'real' : 'generated';
}

/** The stream of the seed loop's generator batches (XORed with train.seed). */
const GENERATOR_BATCH_STREAM = 0x68e31da4;

/**
 * The seed loop's generator batch at `step`: `size` indices into `count` training images, drawn with replacement,
 * a pure function of (seed, step) so that a resumed run draws what an uninterrupted one would.
 */
export function generatorBatch(seed: number, step: number, count: number, size: number): number[] {
  const stream = lowbias32((seed ^ GENERATOR_BATCH_STREAM) >>> 0);
  return Array.from({ length: size }, (_, i) => {
    const h = lowbias32((lowbias32((stream ^ step) >>> 0) ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0);
    return Math.floor((h / 4294967296) * count);
  });
}

/**
 * Targets over the discriminator's softmax [fake, real] as class weights t, for the loss -sum_k t_k log p_k:
 * Keras's binary_crossentropy on the two columns averages BCE over them, so `[1, 0]` is -log p_fake, `[0, 1]`
 * -log p_real, and the seed's real label `[0, 0]` is -(log p_fake + log p_real) / 2, minimised at [0.5, 0.5].
 */
export type Target = readonly [number, number];

export const GENERATED_TARGET: Target = [1, 0];
export const REAL_TARGET: Target = [0, 1];

/** The discriminator's target for a real batch. */
export function realTarget(label: RealLabel): Target {
  return label === 'zeros' ? [0.5, 0.5] : REAL_TARGET;
}

/** The L1 term's factor over the per-element mean: the channels when it sums over them (the seed's), else 1. */
export function l1ChannelSum(reduction: L1Reduction, channels: number): number {
  return reduction === 'sum-channels' ? channels : 1;
}

/** A step on one batch (the benchmarks' and tests'): the generator's batch is the discriminator's. */
export function oneBatch(
  loop: Loop,
  x: Float32Array<ArrayBuffer>,
  y: Float32Array<ArrayBuffer>,
  batch: number,
  batchInEpoch: number,
): StepImages {
  return { x, y, batch, gx: x, gy: y, gBatch: batch, sees: discriminatorSees(loop, batchInEpoch) };
}
