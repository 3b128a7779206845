// SplitV (every Concatenate's gradient) as strided copies, against the stock kernels of `cpu` and `wasm`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerSplitKernel } from '../../src/trainer/kernels/splitKernels';
import { rng } from '../support/marked';

tf.env().set('PROD', true);
const stock = { cpu: tf.getKernel('SplitV', 'cpu')!, wasm: tf.getKernel('SplitV', 'wasm')! };

function useStock(backend: 'cpu' | 'wasm'): void {
  tf.unregisterKernel('SplitV', backend);
  tf.registerKernel(stock[backend]);
}

/** The outputs of tf.split and the gradient of a weighted concatenation, as plain arrays. */
function splitAndGradient(x: tf.Tensor, sizes: number[], axis: number): number[][] {
  return tf.tidy(() => {
    const parts = tf.split(x, sizes, axis);
    const weights = tf.tensor(
      Array.from({ length: x.size }, (_, i) => (i % 7) - 3),
      x.shape,
      x.dtype,
    );
    const grads = tf.grads((...ps: tf.Tensor[]) => tf.sum(tf.mul(tf.concat(ps, axis), weights)))(
      parts.map((p) => p.toFloat()),
    );
    return [...parts, ...grads].map((t) => Array.from(t.dataSync()));
  });
}

const CASES: { shape: number[]; sizes: number[]; axis: number }[] = [
  { shape: [10], sizes: [3, 7], axis: 0 },
  { shape: [4, 6], sizes: [1, 2, 3], axis: 1 },
  { shape: [4, 6], sizes: [2, 2], axis: 0 },
  { shape: [2, 5, 9], sizes: [4, 0, 5], axis: 2 },
  { shape: [5, 8, 8, 128], sizes: [64, 64], axis: 3 }, // a skip's concatenation: long runs, copied with set
  { shape: [3, 4, 5, 6], sizes: [2, 3], axis: 2 },
  { shape: [5, 4, 8, 8, 96], sizes: [32, 64], axis: 4 }, // the seed discriminator's streams, per patch
  { shape: [2, 3, 4, 5, 6], sizes: [1, 2], axis: 1 },
  { shape: [2, 2, 3, 2, 2, 4], sizes: [1, 1, 2], axis: 5 },
];

describe('SplitV as strided copies', () => {
  for (const backend of ['cpu', 'wasm'] as const)
    it(`equals the stock ${backend} kernel for ranks 1 to 6, every split axis, float32 and int32`, async () => {
      const r = rng(5);
      await tf.setBackend(backend);
      for (const { shape, sizes, axis } of CASES)
        for (const dtype of ['float32', 'int32'] as const) {
          const n = shape.reduce((a, b) => a * b, 1);
          const values = Array.from({ length: n }, () => (dtype === 'int32' ? Math.floor(r() * 1000) : r() * 2 - 1));
          const x = tf.tensor(values, shape, dtype);
          useStock(backend);
          const theirs = splitAndGradient(x, sizes, axis);
          registerSplitKernel(tf, backend);
          assert.equal(tf.getKernel('SplitV', backend)?.kernelFunc.name, 'splitVStrided');
          const ours = splitAndGradient(x, sizes, axis);
          assert.deepEqual(ours, theirs, `${backend} ${dtype} ${shape} split ${sizes} on axis ${axis}`);
          x.dispose();
        }
    });
});
