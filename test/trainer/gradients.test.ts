import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { registerTrainingGradients } from '../../src/trainer/kernels/gradients';
import { rng } from '../support/marked';

tf.env().set('PROD', true);

describe('BatchNormalization gradient without tiles', () => {
  it('gives the stock gradients for x, mean, variance, scale and offset', async () => {
    await tf.setBackend('cpu');
    const r = rng(3);
    const data = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
    const [n, h, w, c] = [3, 5, 4, 6];
    const x = tf.tensor4d(data(n * h * w * c), [n, h, w, c]);
    const mean = tf.tensor1d(data(c));
    const variance = tf.tensor1d(data(c, 0.1, 2));
    const scale = tf.tensor1d(data(c));
    const offset = tf.tensor1d(data(c));
    const dy = tf.tensor4d(data(n * h * w * c), [n, h, w, c]);
    const grads = () =>
      tf
        .grads((a: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
          tf.sum(
            tf.mul(
              tf.batchNorm(
                a as tf.Tensor4D,
                m as tf.Tensor1D,
                v as tf.Tensor1D,
                o as tf.Tensor1D,
                s as tf.Tensor1D,
                1e-3,
              ),
              dy,
            ),
          ),
        )([x, mean, variance, scale, offset])
        .map((g) => g.dataSync() as Float32Array);
    const stock = grads();
    registerTrainingGradients(tf);
    const ours = grads();
    ours.forEach((g, i) => {
      let worst = 0;
      g.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - stock[i][j]) / Math.max(1, Math.abs(stock[i][j])))));
      assert.ok(worst < 1e-5, `input ${i}: ${worst}`);
    });
  });
});
