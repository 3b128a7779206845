import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { registerCpuTrainingKernels } from '../../src/trainer/kernels/cpuKernels';
import { registerWasmTrainingKernels, wasmKernelOptions } from '../../src/trainer/kernels/wasmKernels';
import { rng } from '../support/marked';

tf.env().set('PROD', true);
/** The cpu backend's own kernel, before this project replaces it. */
const stockCpuFilter = tf.getKernel('Conv2DBackpropFilter', 'cpu')!;

/** dL/dx and dL/dfilter of sum(conv2d(x, f) * dy): the backend's Conv2DBackpropInput and Conv2DBackpropFilter. */
function grads(
  x: Float32Array,
  xShape: number[],
  f: Float32Array,
  fShape: number[],
  dy: Float32Array,
  strides: number,
  pad: 'same' | 'valid',
): { dx: Float32Array; df: Float32Array } {
  return tf.tidy(() => {
    const xt = tf.tensor4d(x, xShape as [number, number, number, number]);
    const ft = tf.tensor4d(f, fShape as [number, number, number, number]);
    const outShape = tf.conv2d(xt, ft, strides, pad).shape;
    const dyt = tf.tensor(
      dy.subarray(
        0,
        outShape.reduce((a, b) => a * b, 1),
      ),
      outShape,
    );
    const [gx, gf] = tf.grads((xx: tf.Tensor, ff: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(xx as tf.Tensor4D, ff as tf.Tensor4D, strides, pad), dyt)),
    )([xt, ft]);
    return { dx: gx.dataSync() as Float32Array, df: gf.dataSync() as Float32Array };
  });
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < actual.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(expected[i]));
    maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
  }
  return maxDiff / maxAbs;
}

describe('wasm Conv2DBackpropFilter and Conv2DBackpropInput', () => {
  it('match the cpu backend on random inputs (strides 1 and 2, same and valid, odd sizes, chunked)', async () => {
    const r = rng(99);
    const cases = [
      { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 1, pad: 'same' as const },
      { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' as const },
      { x: [2, 8, 8, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' as const },
      { x: [1, 8, 8, 5], f: [3, 3, 5, 2], s: 1, pad: 'valid' as const },
      { x: [3, 11, 7, 2], f: [3, 3, 2, 6], s: 2, pad: 'valid' as const },
      { x: [5, 16, 16, 8], f: [5, 5, 8, 16], s: 2, pad: 'same' as const },
      { x: [2, 10, 10, 4], f: [4, 4, 4, 3], s: 2, pad: 'same' as const }, // even kernel: asymmetric padding
      { x: [2, 64, 64, 3], f: [3, 3, 3, 64], s: 2, pad: 'same' as const, chunk: 1000 }, // many chunks, one partial
      { x: [3, 32, 32, 16], f: [3, 3, 16, 8], s: 1, pad: 'same' as const, chunk: 5000 },
      { x: [1, 6, 6, 1], f: [1, 1, 1, 1], s: 1, pad: 'valid' as const },
    ];
    for (const c of cases as ((typeof cases)[number] & { chunk?: number })[]) {
      const x = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const f = Float32Array.from({ length: c.f.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const dy = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) * c.f[3] }, () => r() * 2 - 1);
      await tf.setBackend('cpu');
      const expected = grads(x, c.x, f, c.f, dy, c.s, c.pad);
      await tf.setBackend('wasm');
      registerWasmTrainingKernels(tf);
      const saved = wasmKernelOptions.chunkFloats;
      if (c.chunk) wasmKernelOptions.chunkFloats = c.chunk;
      const actual = grads(x, c.x, f, c.f, dy, c.s, c.pad);
      wasmKernelOptions.chunkFloats = saved;
      const ef = relativeError(actual.df, expected.df);
      const ex = relativeError(actual.dx, expected.dx);
      assert.ok(ef < 1e-4, `${JSON.stringify(c)}: filter gradient relative error ${ef}`);
      assert.ok(ex < 1e-4, `${JSON.stringify(c)}: input gradient relative error ${ex}`);
    }
  });

  it('does not leak wasm memory over repeated steps', async () => {
    await tf.setBackend('wasm');
    registerWasmTrainingKernels(tf);
    const r = rng(5);
    const x = Float32Array.from({ length: 2 * 16 * 16 * 8 }, () => r());
    const f = Float32Array.from({ length: 3 * 3 * 8 * 8 }, () => r());
    const dy = Float32Array.from({ length: 2 * 16 * 16 * 8 }, () => r());
    grads(x, [2, 16, 16, 8], f, [3, 3, 8, 8], dy, 2, 'same');
    const before = tf.memory().numBytes;
    for (let i = 0; i < 20; i++) grads(x, [2, 16, 16, 8], f, [3, 3, 8, 8], dy, 2, 'same');
    assert.equal(tf.memory().numBytes, before);
  });

  it('trains a model end to end on wasm where the stock backend throws', async () => {
    await tf.setBackend('wasm');
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [8, 8, 1], filters: 2, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 1 }),
      ],
    });
    model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
    const h = await model.fit(tf.ones([4, 8, 8, 1]), tf.ones([4, 1]), { epochs: 2, verbose: 0 });
    assert.equal(h.history.loss.length, 2);
    model.dispose();
  });
});

describe('cpu training kernels', () => {
  it('ResizeNearestNeighborGrad is the exact adjoint of nearest upsampling, on cpu and on wasm', async () => {
    const r = rng(11);
    for (const [n, h, w, c, f] of [
      [5, 2, 2, 64, 2],
      [2, 3, 5, 3, 3],
      [5, 16, 16, 32, 2],
    ]) {
      const x = Float32Array.from({ length: n * h * w * c }, () => r());
      const dy = Float32Array.from({ length: n * f * f * h * w * c }, () => r() * 2 - 1);
      const exact = new Float32Array(x.length);
      for (let b = 0; b < n; b++)
        for (let y = 0; y < f * h; y++)
          for (let xx = 0; xx < f * w; xx++)
            for (let ch = 0; ch < c; ch++)
              exact[((b * h + Math.floor(y / f)) * w + Math.floor(xx / f)) * c + ch] +=
                dy[((b * f * h + y) * f * w + xx) * c + ch];
      const grad = () =>
        tf.tidy(
          () =>
            tf
              .grad((t: tf.Tensor) =>
                tf.sum(
                  tf.mul(
                    tf.image.resizeNearestNeighbor(t as tf.Tensor4D, [f * h, f * w]),
                    tf.tensor4d(dy, [n, f * h, f * w, c]),
                  ),
                ),
              )(tf.tensor4d(x, [n, h, w, c]))
              .dataSync() as Float32Array,
        );
      await tf.setBackend('cpu');
      registerCpuTrainingKernels(tf);
      assert.ok(relativeError(grad(), exact) < 1e-6, `cpu ${[n, h, w, c, f]}`);
      await tf.setBackend('wasm');
      assert.ok(relativeError(grad(), exact) < 1e-6, `wasm ${[n, h, w, c, f]}`);
    }
  });

  it('Conv2DBackpropFilter matches the stock cpu kernel on random inputs', async () => {
    const r = rng(12);
    await tf.setBackend('cpu');
    for (const c of [
      { x: [2, 9, 9, 3], f: [3, 3, 3, 4], s: 2, pad: 'same' as const },
      { x: [3, 11, 7, 2], f: [3, 3, 2, 6], s: 2, pad: 'valid' as const },
      { x: [2, 10, 10, 4], f: [4, 4, 4, 3], s: 1, pad: 'same' as const },
    ]) {
      const x = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const f = Float32Array.from({ length: c.f.reduce((a, b) => a * b, 1) }, () => r() * 2 - 1);
      const dy = Float32Array.from({ length: c.x.reduce((a, b) => a * b, 1) * c.f[3] }, () => r() * 2 - 1);
      tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
      tf.registerKernel(stockCpuFilter);
      const theirs = grads(x, c.x, f, c.f, dy, c.s, c.pad).df;
      registerCpuTrainingKernels(tf);
      const ours = grads(x, c.x, f, c.f, dy, c.s, c.pad).df;
      assert.ok(relativeError(ours, theirs) < 1e-5, JSON.stringify(c));
    }
  });
});
