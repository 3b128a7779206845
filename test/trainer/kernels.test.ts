import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels, wasmKernelOptions } from '../../src/trainer/wasmKernels';
import { rng } from '../support/marked';

tf.env().set('PROD', true);

/** dL/dfilter of sum(conv2d(x, f) * dy), which runs the backend's Conv2DBackpropFilter kernel. */
function filterGrad(x: Float32Array, xShape: number[], fShape: number[], dy: Float32Array, strides: number, pad: 'same' | 'valid'): { values: Float32Array; dyShape: number[] } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xShape as [number, number, number, number]);
    const f = tf.zeros(fShape);
    const outShape = tf.conv2d(xt, f as tf.Tensor4D, strides, pad).shape;
    const dyt = tf.tensor(dy.subarray(0, outShape.reduce((a, b) => a * b, 1)), outShape);
    const g = tf.grad((ff: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(xt, ff as tf.Tensor4D, strides, pad), dyt)))(f);
    return { values: g.dataSync() as Float32Array, dyShape: outShape };
  });
}

describe('wasm Conv2DBackpropFilter', () => {
  it('matches the cpu backend on random inputs (strides 1 and 2, same and valid)', async () => {
    const r = rng(99);
    const cases = [
      { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' as const },
      { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' as const },
      { x: [1, 8, 8, 5], f: [3, 3, 5, 2], s: 1, pad: 'valid' as const },
      { x: [3, 11, 7, 2], f: [3, 3, 2, 6], s: 2, pad: 'valid' as const },
      { x: [5, 16, 16, 8], f: [5, 5, 8, 16], s: 2, pad: 'same' as const },
      { x: [2, 64, 64, 3], f: [3, 3, 3, 64], s: 2, pad: 'same' as const, chunk: 1000 }, // many im2col chunks, one partial
      { x: [1, 6, 6, 1], f: [1, 1, 1, 1], s: 1, pad: 'valid' as const },
    ];
    for (const c of cases as ((typeof cases)[number] & { chunk?: number })[]) {
      const x = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const dy = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) * c.f[3] }, () => r() * 2 - 1);
      await tf.setBackend('cpu');
      const expected = filterGrad(x, c.x, c.f, dy, c.s, c.pad).values;
      await tf.setBackend('wasm');
      registerWasmTrainingKernels(tf);
      const saved = wasmKernelOptions.chunkFloats;
      if (c.chunk) wasmKernelOptions.chunkFloats = c.chunk;
      const actual = filterGrad(x, c.x, c.f, dy, c.s, c.pad).values;
      wasmKernelOptions.chunkFloats = saved;
      assert.equal(actual.length, expected.length);
      let maxAbs = 0;
      let maxDiff = 0;
      for (let i = 0; i < actual.length; i++) {
        maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
        maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
      }
      assert.ok(maxDiff / maxAbs < 1e-4, `${JSON.stringify(c)}: relative error ${maxDiff / maxAbs}`);
    }
  });

  it('trains a model end to end on wasm where the stock backend throws', async () => {
    await tf.setBackend('wasm');
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, strides: 2, padding: 'same' }), tf.layers.flatten(), tf.layers.dense({ units: 1 })] });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h = await model.fit(tf.ones([4, 8, 8, 1]), tf.ones([4, 1]), { epochs: 2, verbose: 0 });
    assert.equal(h.history.loss.length, 2);
    model.dispose();
  });
});
