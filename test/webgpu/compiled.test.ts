// The compiled WebGPU step's kernels against tfjs `cpu`, on the machine's adapter (lavapipe in CI): random shapes
// and values, odd sizes, strides 1 and 2, to 1e-4 relative. One Dawn instance per process (test/support/dawn.ts).
/// <reference types="@webgpu/types" />
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { Conv2dForward, samePadding, type Conv2dShape } from '../../src/trainer/compiled/conv2d';
import { open } from '../support/dawn';
import { rng } from '../support/marked';

let device: GPUDevice;
before(async () => {
  device = (await open([])).device;
  await tf.setBackend('cpu');
});

function upload(values: Float32Array): GPUBuffer {
  const buffer = device.createBuffer({
    size: values.byteLength,
    usage: GPUBufferUsage.STORAGE,
    mappedAtCreation: true,
  });
  new Float32Array(buffer.getMappedRange()).set(values);
  buffer.unmap();
  return buffer;
}

async function download(buffer: GPUBuffer, floats: number): Promise<Float32Array> {
  const read = device.createBuffer({ size: floats * 4, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, read, 0, floats * 4);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.destroy();
  return out;
}

/** The largest difference relative to the reference's scale (its largest magnitude, at least 1). */
function relativeError(got: Float32Array, want: Float32Array): number {
  const scale = Math.max(1, ...want.map(Math.abs));
  return got.reduce((worst, g, i) => Math.max(worst, Math.abs(g - want[i]) / scale), 0);
}

const random = (n: number, next: () => number) => Float32Array.from({ length: n }, () => next() * 2 - 1);

describe('compiled step kernels against cpu', () => {
  it("TensorFlow's 'same' padding", () => {
    assert.deepEqual(samePadding(32, 4, 2), { out: 16, before: 1 });
    assert.deepEqual(samePadding(7, 3, 2), { out: 4, before: 1 });
    assert.deepEqual(samePadding(5, 4, 1), { out: 5, before: 1 });
    assert.deepEqual(samePadding(1, 4, 2), { out: 1, before: 1 });
  });

  it('conv2d forward with bias, on random shapes: odd sizes, kernels 1 to 4, strides 1 and 2', async () => {
    const next = rng(14);
    const shapes: Conv2dShape[] = [
      { batch: 2, height: 16, width: 16, inChannels: 3, outChannels: 8, kernel: 4, stride: 2 },
      { batch: 1, height: 7, width: 9, inChannels: 5, outChannels: 70, kernel: 3, stride: 1 },
      { batch: 3, height: 5, width: 5, inChannels: 17, outChannels: 3, kernel: 4, stride: 2 },
      { batch: 1, height: 2, width: 2, inChannels: 64, outChannels: 65, kernel: 4, stride: 2 },
      { batch: 5, height: 32, width: 32, inChannels: 1, outChannels: 16, kernel: 4, stride: 2 },
      { batch: 2, height: 9, width: 11, inChannels: 8, outChannels: 12, kernel: 1, stride: 1 },
    ];
    for (const shape of shapes) {
      const conv = new Conv2dForward(device, shape);
      const sizes = conv.sizes;
      const [x, w, bias] = [random(sizes.x, next), random(sizes.w, next), random(sizes.bias, next)];
      const y = device.createBuffer({ size: sizes.y * 4, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
      conv.bind({ x: upload(x), w: upload(w), bias: upload(bias), y });
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      conv.record(pass);
      pass.end();
      device.queue.submit([encoder.finish()]);
      const got = await download(y, sizes.y);
      const { batch, height, width, inChannels, outChannels, kernel, stride } = shape;
      const want = tf.tidy(() => {
        const input = tf.tensor4d(x, [batch, height, width, inChannels]);
        const filter = tf.tensor4d(w, [kernel, kernel, inChannels, outChannels]);
        return tf.add(tf.conv2d(input, filter, stride, 'same'), tf.tensor1d(bias)).dataSync() as Float32Array;
      });
      assert.equal(got.length, want.length, JSON.stringify(shape));
      const error = relativeError(got, want);
      assert.ok(error < 1e-4, `${JSON.stringify(shape)}: relative error ${error}`);
    }
  });
});
