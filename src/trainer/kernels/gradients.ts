// The BatchNormalization gradient without its tiles: tfjs-core's FusedBatchNorm gradient tiles 1/sqrt(var + eps)
// to the full activation shape before multiplying (a full-size temporary per layer, 7% of a seed step on wasm);
// broadcasting over the channel axis computes the same values.

import type * as TF from '@tensorflow/tfjs';

import type { Tf } from '../../model/tf';

let registered = false;

export function registerTrainingGradients(tf: Tf): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const [x, mean, variance, scale] = saved as TF.Tensor[];
      const dyT = dy as TF.Tensor;
      const scaleValue = scale ?? tf.scalar(1);
      const reductionAxes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const perChannel = mean.rank === 1;
      const reduce = (t: TF.Tensor) => tf.reshape(perChannel ? tf.sum(t, reductionAxes) : t, mean.shape);
      const oneOverSqrtVariance = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const xMinusMean = tf.sub(x, mean);
      const dyTimesScale = tf.mul(dyT, scaleValue);
      const minusHalfRCube = tf.mul(
        tf.mul(tf.mul(oneOverSqrtVariance, oneOverSqrtVariance), oneOverSqrtVariance),
        tf.scalar(-0.5),
      );
      return {
        x: () => tf.reshape(tf.mul(tf.mul(dyT, oneOverSqrtVariance), scaleValue), x.shape),
        mean: () => reduce(tf.mul(tf.mul(oneOverSqrtVariance, tf.scalar(-1)), dyTimesScale)),
        variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyTimesScale)),
        scale: () => reduce(tf.mul(dyT, tf.mul(xMinusMean, oneOverSqrtVariance))),
        offset: () => reduce(dyT),
      };
    },
  });
}
