// Is the generator copying its training targets? Pixel-space measures that need no pretrained network: each
// output's nearest training target, the copy rate (the authenticity criterion: an output closer to a training
// target than that target is to any other training target), and Meehan, Chaudhuri and Dasgupta's data-copying
// statistic C_T (2020): per cell of a k-means partition of the training set, a Mann-Whitney U test of generated
// against held-out 1-NN distances, combined by the held-out share. C_T well below 0 means copying, near 0 none.
// Pure: images are flat Float32Arrays on [-1, 1] of one size.
//
// Known limit: distances are in pixels, so a copy moved by one pixel is far from its original (a checkerboard-like
// target differs everywhere); such a copy is not caught. test/unit/memorisation.test.ts shows it.

import { SeededRandom } from './random';

/** The median of `xs` (the mean of the middle two of an even count). */
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length / 2;
  return s.length % 2 ? s[Math.floor(m)] : (s[m - 1] + s[m]) / 2;
};

/** The root-mean-square difference of two images: their L2 distance on [-1, 1], per value. */
export function rmsDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s / a.length);
}

export interface Neighbour {
  index: number;
  distance: number;
}

/**
 * Each query's nearest reference (by rmsDistance); `skipSelf` leaves out the reference of the query's own index.
 * A sum stops once it passes the best so far (checked every 1,024 values): the search costs about one pass over
 * the references per query however many there are.
 */
export function nearestNeighbours(
  queries: readonly Float32Array[],
  references: readonly Float32Array[],
  skipSelf = false,
): Neighbour[] {
  return queries.map((q, qi) => {
    let bestIndex = -1;
    let bestSum = Infinity;
    references.forEach((r, ri) => {
      if (skipSelf && ri === qi) return;
      let s = 0;
      for (let start = 0; start < q.length && s < bestSum; start += 1024) {
        const end = Math.min(q.length, start + 1024);
        for (let i = start; i < end; i++) s += (q[i] - r[i]) ** 2;
      }
      if (s < bestSum) [bestIndex, bestSum] = [ri, s];
    });
    return { index: bestIndex, distance: bestIndex < 0 ? Infinity : Math.sqrt(bestSum / q.length) };
  });
}

/**
 * The share of outputs closer to their nearest training target than that target is to its own nearest other
 * training target (`trainSpacing[i]`, from nearestNeighbours(train, train, true)).
 */
export function copyRate(outputs: readonly Neighbour[], trainSpacing: readonly Neighbour[]): number {
  if (!outputs.length) return 0;
  return outputs.filter((o) => o.distance < trainSpacing[o.index].distance).length / outputs.length;
}

/** Mann-Whitney's U of `a` against `b` (pairs with a > b, ties half) and its z under the null, tie-corrected. */
export function mannWhitney(a: readonly number[], b: readonly number[]): { u: number; z: number } {
  const m = a.length;
  const n = b.length;
  const all = [...a.map((v) => ({ v, a: true })), ...b.map((v) => ({ v, a: false }))].sort((x, y) => x.v - y.v);
  let rankSumA = 0;
  let ties = 0;
  for (let i = 0; i < all.length;) {
    let j = i;
    while (j < all.length && all[j].v === all[i].v) j++;
    const rank = (i + 1 + j) / 2; // mid-rank of positions i+1..j
    for (let k = i; k < j; k++) if (all[k].a) rankSumA += rank;
    ties += (j - i) ** 3 - (j - i);
    i = j;
  }
  const u = rankSumA - (m * (m + 1)) / 2;
  const N = m + n;
  const variance = ((m * n) / 12) * (N + 1 - ties / (N * (N - 1)));
  return { u, z: variance > 0 ? (u - (m * n) / 2) / Math.sqrt(variance) : 0 };
}

/** Lloyd's k-means with k-means++ seeding from `seed` (at most `rounds`, fewer once no point changes cell). */
function kMeans(points: readonly Float32Array[], k: number, seed = 0, rounds = 20) {
  const rng = new SeededRandom(seed);
  const centres: Float32Array[] = [Float32Array.from(points[Math.floor(rng.next() * points.length)])];
  while (centres.length < Math.min(k, points.length)) {
    const d2 = points.map((p) => Math.min(...centres.map((c) => rmsDistance(p, c) ** 2)));
    let pick = rng.next() * d2.reduce((s, v) => s + v, 0);
    const i = Math.max(
      0,
      d2.findIndex((v) => (pick -= v) <= 0),
    );
    centres.push(Float32Array.from(points[i]));
  }
  let cells = points.map(() => -1);
  for (let r = 0; r < rounds; r++) {
    const next = nearestNeighbours(points, centres).map((n) => n.index);
    if (next.every((c, i) => c === cells[i])) break; // converged: the centres would not move
    cells = next;
    centres.forEach((c, ci) => {
      const members = points.filter((_, i) => cells[i] === ci);
      if (!members.length) return;
      c.fill(0);
      for (const m of members) for (let j = 0; j < c.length; j++) c[j] += m[j] / members.length;
    });
  }
  return { cells, centres };
}

export interface CopyingOptions {
  /** Cells of the training set's k-means partition; default: one per 20 held-out samples, 1 to 5. */
  cells?: number;
  /** A cell enters C_T only with at least this many generated and this many held-out samples. */
  minPerCell?: number;
  seed?: number;
}

/**
 * What a run's evaluations measure their outputs against, computed once: the training targets, each one's nearest
 * other (the copy-rate yardstick), the k-means cells of C_T and the held-out samples' cells and 1-NN distances.
 */
export interface MemorisationReference {
  train: readonly Float32Array[];
  spacing: Neighbour[];
  centres: Float32Array[];
  heldOutCells: number[];
  heldOutDistances: number[];
  minPerCell: number;
}

export function memorisationReference(
  train: readonly Float32Array[],
  heldOut: readonly Float32Array[],
  { cells, minPerCell = 5, seed = 0 }: CopyingOptions = {},
): MemorisationReference {
  const k = cells ?? Math.max(1, Math.min(5, Math.floor(heldOut.length / 20)));
  const { centres } = kMeans(train, k, seed);
  return {
    train,
    spacing: nearestNeighbours(train, train, true),
    centres,
    heldOutCells: nearestNeighbours(heldOut, centres).map((n) => n.index),
    heldOutDistances: nearestNeighbours(heldOut, train).map((n) => n.distance),
    minPerCell,
  };
}

/**
 * C_T of generated samples whose nearest training targets are `neighbours`: per cell, Mann-Whitney's z of their
 * 1-NN distances against the held-out samples', weighted by the cell's share of held-out samples. Negative:
 * generated samples are closer to the training set than new real ones (copying). Undefined when no cell has enough.
 */
function dataCopyingOf(
  ref: MemorisationReference,
  generated: readonly Float32Array[],
  neighbours: readonly Neighbour[] = nearestNeighbours(generated, ref.train),
): { ct: number | undefined; cellsUsed: number } {
  const generatedCells = nearestNeighbours(generated, ref.centres).map((n) => n.index);
  const heldOutCount = ref.heldOutCells.length;
  let weighted = 0;
  let weight = 0;
  let cellsUsed = 0;
  ref.centres.forEach((_, c) => {
    const held = ref.heldOutDistances.filter((_, i) => ref.heldOutCells[i] === c);
    const gen = neighbours.filter((_, i) => generatedCells[i] === c).map((n) => n.distance);
    if (held.length < ref.minPerCell || gen.length < ref.minPerCell) return;
    const share = held.length / heldOutCount;
    weighted += share * mannWhitney(gen, held).z;
    weight += share;
    cellsUsed++;
  });
  return { ct: weight ? weighted / weight : undefined, cellsUsed };
}

/** C_T of `generated` against `train` and held-out real samples of the same distribution (Meehan et al. 2020). */
export function dataCopying(
  train: readonly Float32Array[],
  heldOut: readonly Float32Array[],
  generated: readonly Float32Array[],
  options: CopyingOptions = {},
): { ct: number | undefined; cellsUsed: number } {
  return dataCopyingOf(memorisationReference(train, heldOut, options), generated);
}

/** An evaluation's memorisation summary: its outputs' nearest training targets, summarised. */
export interface MemorisationSummary {
  /** The median RMS distance from an output to its nearest training target. */
  nnMedian: number;
  copyRate: number;
  /** C_T; absent when no cell had enough samples. */
  ct?: number;
  cellsUsed: number;
}

/** Each output's nearest training target and the summary: median distance, copy rate and C_T. */
export function memorisationOf(
  ref: MemorisationReference,
  generated: readonly Float32Array[],
): { neighbours: Neighbour[]; summary: MemorisationSummary } {
  const neighbours = nearestNeighbours(generated, ref.train);
  const { ct, cellsUsed } = dataCopyingOf(ref, generated, neighbours);
  const nnMedian = median(neighbours.map((n) => n.distance));
  const summary = {
    nnMedian,
    copyRate: copyRate(neighbours, ref.spacing),
    cellsUsed,
    ...(ct === undefined ? {} : { ct }),
  };
  return { neighbours, summary };
}

/**
 * The diversity of K outputs for one input (K dropout draws): their mean pairwise rmsDistance, and the per-value
 * standard deviation across them (an image of where they differ). Zero for a generator that ignores its noise.
 */
export function outputDiversity(outputs: readonly Float32Array[]): { meanDistance: number; sd: Float32Array } {
  const k = outputs.length;
  let sum = 0;
  let pairs = 0;
  for (let i = 0; i < k; i++)
    for (let j = i + 1; j < k; j++) {
      sum += rmsDistance(outputs[i], outputs[j]);
      pairs++;
    }
  const sd = new Float32Array(outputs[0]?.length ?? 0);
  for (let p = 0; p < sd.length; p++) {
    let m = 0;
    for (const o of outputs) m += o[p] / k;
    let v = 0;
    for (const o of outputs) v += (o[p] - m) ** 2;
    sd[p] = k > 1 ? Math.sqrt(v / (k - 1)) : 0;
  }
  return { meanDistance: pairs ? sum / pairs : 0, sd };
}

/** Two models' outputs on the same inputs, each trained on one of two disjoint halves of a training set. */
export interface HalvesAgreement {
  images: number;
  /** The median RMS distance between the two models' outputs for the same input. */
  between: number;
  /** The median over inputs of the two outputs' mean RMS distance to their target. */
  toTarget: number;
  /** between / toTarget: well below 1, the models agree (they generalise); near or above, each follows its half. */
  ratio: number;
}

/**
 * Kadkhodaie et al.'s test (ICLR 2024) in pixel space: how close the outputs of models trained on disjoint halves
 * are (`a[i]`, `b[i]` for input i) against how far they are from the target (`toTargetA[i]`, `toTargetB[i]`).
 */
export function halvesAgreement(
  a: readonly Float32Array[],
  b: readonly Float32Array[],
  toTargetA: readonly number[],
  toTargetB: readonly number[],
): HalvesAgreement | undefined {
  const n = Math.min(a.length, b.length, toTargetA.length, toTargetB.length);
  if (!n) return undefined;
  const between = median(Array.from({ length: n }, (_, i) => rmsDistance(a[i], b[i])));
  const toTarget = median(Array.from({ length: n }, (_, i) => (toTargetA[i] + toTargetB[i]) / 2));
  return { images: n, between, toTarget, ratio: toTarget > 0 ? between / toTarget : Infinity };
}
