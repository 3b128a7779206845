// The device watch on a real Dawn device, the null backend: its small memory makes a real out-of-memory error.
// Its own process (one Dawn instance per process: test/support/dawn.ts); a lost device is test/webgpu/trainer.test.ts's.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { adapterReport, DeviceWatch } from '../../src/trainer/webgpu';
import { failure, open, settle } from '../support/dawn';

let machine: Awaited<ReturnType<typeof open>>;
before(async () => {
  machine = await open(['backend=null']);
});

describe("WebGPU device watch (Dawn's null backend)", () => {
  it('turns an out-of-memory error into a failure that names it', async () => {
    const { adapter, device, watch } = machine;
    assert.equal(adapterReport(adapter).software, false);
    assert.equal(failure(watch), undefined);
    for (let i = 0; i < 8; i++)
      device.createBuffer({ size: adapter.limits.maxBufferSize, usage: GPUBufferUsage.STORAGE });
    await settle(device);
    assert.match(
      failure(watch) ?? '',
      /^out of GPU memory \(a smaller train\.batchSize or input\.size needs less\): Out of memory/,
    );
  });

  it('turns a validation error into a failure that names it, and keeps the first failure', async () => {
    const { device } = machine;
    const watch = new DeviceWatch(device);
    device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    await settle(device);
    assert.match(failure(watch) ?? '', /^a GPU error: .*usage/i);
    device.createTexture({ size: [4, 4], format: 'rgba8unorm', usage: 0 });
    await settle(device);
    assert.match(failure(watch) ?? '', /^a GPU error: .*usage/i);
  });
});
