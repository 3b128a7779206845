// One evaluation of a generator and its critic at a step: L1, PSNR and SSIM on the first training and test
// images, the test outputs' memorisation measures and the dropout draws' diversity (memorise.ts), and the critic's
// overfitting (critic.ts). The trainer runs it on the live model; `p2p evaluate` on a checkpoint's weights, with
// the same random streams, so both give the same row.

import type * as TF from '@tensorflow/tfjs';
import type { ResolvedConfig } from '../core/config';
import type { MemorisationReference } from '../core/memorisation';
import { SeededRandom, withRandom } from '../core/random';
import type { Dataset } from '../data/dataset';
import { setDropoutDraw } from '../model/build';
import type { EvalMemorisation, EvalPayload, Quality } from '../protocol/trainer';
import { criticScores } from './critic';
import { DIVERSITY_INPUTS, diversityOf, measureTest, referenceOf } from './memorise';
import { evaluate, type Shapes } from './pix2pix';

type Tf = typeof TF;

export const EVAL_TRAIN_IMAGES = 16;
export const EVAL_TEST_IMAGES = 100;
/** Columns of the sample figures (and of the nearest-neighbour rows under them). */
export const SAMPLE_COLUMNS = 5;
/** The random stream of evaluations (and of translations, which draw as an evaluation at the same step does). */
const EVAL_STREAM = 0x2545f491;

/** What an evaluation needs; `ref` (the training targets' reference) is built at the first evaluation. */
export interface Evaluator {
  tf: Tf;
  nets: { generator: TF.LayersModel; discriminator: TF.LayersModel };
  data: Dataset;
  config: ResolvedConfig;
  shapes: Shapes;
  batchSize: number;
  stepsPerEpoch: number;
  ref?: MemorisationReference;
}

/**
 * `fn` with the evaluation's random streams of `step`: the dropout masks of its own stream and anything else random
 * seeded by the step (the trainer's evaluation, `p2p evaluate`, `p2p probe` and translations draw alike).
 */
export function atEvaluationStreams<T>(
  g: TF.LayersModel,
  seed: number,
  step: number,
  fn: () => Promise<T>,
): Promise<T> {
  setDropoutDraw(g, seed ^ EVAL_STREAM, step);
  return withRandom(new SeededRandom(seed ^ EVAL_STREAM ^ step).next, fn);
}

function diff(a: Quality, b: Quality): Quality {
  return { l1: a.l1 - b.l1, psnr: a.psnr - b.psnr, ssim: a.ssim - b.ssim };
}

/** The evaluation at `step`: its payload (a metrics.csv row) and what the trainer's figures are drawn from. */
export async function evaluateAt(e: Evaluator, step: number) {
  const { tf, nets, shapes, batchSize, config } = e;
  const mode = config.train.evalMode;
  const evalTrain = e.data.train.slice(0, EVAL_TRAIN_IMAGES);
  const evalTest = e.data.test.slice(0, EVAL_TEST_IMAGES);
  // Evaluation's dropout draws masks of its own stream (and anything else random from a stream seeded by the
  // step): training's draws do not depend on when evaluations happen, so a run stopped and resumed (on any
  // backend) trains as an uninterrupted one.
  const { train, test } = await atEvaluationStreams(nets.generator, config.train.seed, step, async () => ({
    train: await evaluate(tf, nets.generator, evalTrain, shapes, batchSize, mode),
    test: evalTest.length ? await evaluate(tf, nets.generator, evalTest, shapes, batchSize, mode) : undefined,
  }));
  const gap = test ? diff(test.quality, train.quality) : null;
  const measured = test && (await measureMemorisation(e, evalTest, test.generated, step));
  const sets = { train: evalTrain, test: evalTest, generated: train.generated };
  const critic = await criticScores(tf, nets.discriminator, sets, { shapes, batchSize });
  const payload: EvalPayload = {
    step,
    epoch: step / e.stepsPerEpoch,
    train: train.quality,
    test: test?.quality ?? null,
    gap,
    ...(measured ? { memorisation: measured.memorisation } : {}),
    ...(critic ? { critic } : {}),
  };
  return { payload, evalTrain, evalTest, train, test, measured };
}

/**
 * The test outputs against the training targets (their nearest, the copy rate, C_T) and the diversity of dropout
 * draws for the first test inputs; undefined with fewer than two training images.
 */
async function measureMemorisation(e: Evaluator, evalTest: Dataset['test'], generated: Float32Array, step: number) {
  const { shapes } = e;
  const { seed, diversityDraws: draws } = e.config.train;
  e.ref ??= referenceOf(e.data.train, evalTest, shapes, seed);
  const ref = e.ref;
  if (!ref) return undefined;
  const { summary, records } = measureTest(ref, generated, evalTest, { shapes, ssimCount: SAMPLE_COLUMNS });
  const inputs = evalTest.slice(0, DIVERSITY_INPUTS);
  const diversity =
    draws > 1 ? await diversityOf(e.tf, e.nets.generator, inputs, shapes, { draws, seed, step }) : undefined;
  const { nnMedian, copyRate, ct } = summary;
  const memorisation: EvalMemorisation = {
    nnMedian,
    copyRate,
    ...(ct === undefined ? {} : { ct }),
    ...(diversity ? { diversity: diversity.diversity, draws } : {}),
  };
  return { ref, records, memorisation, diversity };
}
