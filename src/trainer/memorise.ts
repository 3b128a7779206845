// An evaluation's memorisation measures on the generator's outputs (the statistics are core/memorisation.ts):
// each output's nearest training target, with its RMS distance and the distance to its own target (and 1 - SSIM
// for the sample figures' columns); the
// test outputs' median distance, copy rate and C_T; and the diversity of K dropout draws for a few fixed inputs.

import type * as TF from '@tensorflow/tfjs';
import {
  memorisationOf,
  memorisationReference,
  nearestNeighbours,
  outputDiversity,
  rmsDistance,
  type MemorisationReference,
  type MemorisationSummary,
} from '../core/memorisation';
import { lowbias32 } from '../core/dropoutMask';
import type { ImagePair } from '../data/dataset';
import { setDropoutDraw } from '../model/build';
import type { NeighbourRecord } from '../protocol/trainer';
import { imageSsim } from './metrics';
import { generate, targetsOf, type Shapes } from './pix2pix';

type Tf = typeof TF;

/** At most this many training targets are searched (the first of the training set's order). */
export const NEIGHBOUR_TARGETS = 200;
/** Test inputs whose dropout draws measure diversity. */
export const DIVERSITY_INPUTS = 4;
const DIVERSITY_STREAM = 0x6a09e667;

/** Flat [n, ...] images as n views. */
export function imagesOf(flat: Float32Array, count: number): Float32Array[] {
  const per = flat.length / Math.max(1, count);
  return Array.from({ length: count }, (_, i) => flat.subarray(i * per, (i + 1) * per));
}

/** The run's reference: its first training targets against the evaluation's test targets (the held-out images). */
export function referenceOf(train: readonly ImagePair[], test: readonly ImagePair[], shapes: Shapes, seed: number) {
  const targets = train.slice(0, NEIGHBOUR_TARGETS);
  if (targets.length < 2 || !test.length) return undefined;
  const held = imagesOf(targetsOf(test, shapes), test.length);
  return memorisationReference(imagesOf(targetsOf(targets, shapes), targets.length), held, { seed });
}

/**
 * Each output's nearest training target (by RMS distance) and the output's distance to its own target; 1 - SSIM
 * to the neighbour for the first `ssimCount` (the figures' columns: SSIM costs more than the search itself).
 */
function records(
  ref: MemorisationReference,
  outputs: readonly Float32Array[],
  neighbours: readonly { index: number; distance: number }[],
  targets: readonly Float32Array[],
  { shapes, ssimCount }: { shapes: Shapes; ssimCount: number },
): NeighbourRecord[] {
  return outputs.map((o, i) => {
    const { index, distance } = neighbours[i];
    const ssim = i < ssimCount ? imageSsim(o, ref.train[index] as Float32Array, shapes.size, shapes.outChannels) : NaN;
    const copied = distance < ref.spacing[index].distance;
    return { index, rms: distance, dssim: 1 - ssim, ownRms: rmsDistance(o, targets[i]), copied };
  });
}

/** The test outputs measured: every image's nearest training target and the evaluation's summary. */
export function measureTest(
  ref: MemorisationReference,
  generated: Float32Array,
  pairs: readonly ImagePair[],
  { shapes, ssimCount }: { shapes: Shapes; ssimCount: number },
): { summary: MemorisationSummary; records: NeighbourRecord[] } {
  const outputs = imagesOf(generated, pairs.length);
  const { neighbours, summary } = memorisationOf(ref, outputs);
  const targets = imagesOf(targetsOf(pairs, shapes), pairs.length);
  return { summary, records: records(ref, outputs, neighbours, targets, { shapes, ssimCount }) };
}

/** The nearest training targets of the outputs of `pairs`, the first of `generated` (a sample figure's columns). */
export function measureColumns(
  ref: MemorisationReference,
  generated: Float32Array,
  pairs: readonly ImagePair[],
  shapes: Shapes,
): NeighbourRecord[] {
  const per = shapes.size * shapes.size * shapes.outChannels;
  const outputs = imagesOf(generated.subarray(0, pairs.length * per), pairs.length);
  const targets = imagesOf(targetsOf(pairs, shapes), pairs.length);
  return records(ref, outputs, nearestNeighbours(outputs, ref.train), targets, { shapes, ssimCount: pairs.length });
}

/**
 * `draws` outputs for each of `pairs` in training mode (dropout on, whatever `train.evalMode` says: a generator
 * without dropout has none to draw), each draw with its own masks from the evaluation's step; the BatchNorm
 * statistics are restored. Their mean pairwise distance (averaged over the inputs), the first draw and the
 * per-pixel spread of each input.
 */
export async function diversityOf(
  tf: Tf,
  g: TF.LayersModel,
  pairs: readonly ImagePair[],
  shapes: Shapes,
  { draws, seed, step }: { draws: number; seed: number; step: number },
): Promise<{ diversity: number; first: Float32Array; spread: Float32Array[] }> {
  const outputs: Float32Array[][] = pairs.map(() => []);
  let first: Float32Array = new Float32Array(0);
  for (let k = 0; k < draws; k++) {
    setDropoutDraw(g, (seed ^ DIVERSITY_STREAM ^ lowbias32(k + 1)) >>> 0, step);
    const generated = await generate(tf, g, pairs, shapes, pairs.length, 'training');
    if (k === 0) first = generated;
    imagesOf(generated, pairs.length).forEach((o, i) => outputs[i].push(o));
  }
  const each = outputs.map(outputDiversity);
  const diversity = each.reduce((s, d) => s + d.meanDistance, 0) / Math.max(1, each.length);
  return { diversity, first, spread: each.map((d) => d.sd) };
}
