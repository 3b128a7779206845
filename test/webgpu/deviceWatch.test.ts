// The device watch on a real Dawn device, the null backend: its small memory makes a real out-of-memory error.
// Its own process (one Dawn instance per process: test/support/dawn.ts). Validation errors are not provoked here:
// a process that had them crashed inside Dawn for Node about one run in twenty (lavapipe and null alike); a lost
// device is test/webgpu/trainer.test.ts's.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterReport } from '../../src/trainer/webgpu';
import { failure, open, settle } from '../support/dawn';

describe('WebGPU device watch (Dawn\'s null backend)', () => {
  it('turns an out-of-memory error into a failure that names it', async () => {
    const { adapter, device, watch } = await open(['backend=null']);
    assert.equal(adapterReport(adapter).software, false);
    assert.equal(failure(watch), undefined);
    for (let i = 0; i < 8; i++) device.createBuffer({ size: adapter.limits.maxBufferSize, usage: GPUBufferUsage.STORAGE });
    await settle(device);
    assert.match(failure(watch) ?? '', /^out of GPU memory \(a smaller train\.batchSize or input\.size needs less\): Out of memory/);
  });
});
