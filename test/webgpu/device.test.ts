// The adapter report of the machine's WebGPU adapter (lavapipe in CI). The device watch's tests run on Dawn's null
// backend in a file of their own (deviceWatch.test.ts: one Dawn instance per process, test/support/dawn.ts).
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { adapterReport } from '../../src/trainer/webgpu';
import { open } from '../support/dawn';

let machine: Awaited<ReturnType<typeof open>>;
before(async () => {
  machine = await open([]);
});

describe('WebGPU adapter report', () => {
  it('reports the adapter: its features that matter, its limits, and lavapipe as software', async () => {
    const { adapter, device } = machine;
    const report = adapterReport(adapter);
    assert.deepEqual(
      report.features,
      ['shader-f16', 'subgroups', 'timestamp-query'].filter((f) => adapter.features.has(f)),
    );
    assert.equal(report.limits.maxStorageBufferBindingSize, adapter.limits.maxStorageBufferBindingSize);
    assert.ok(report.description || report.device, 'the adapter has a name');
    if (/llvmpipe/.test(report.description)) {
      assert.equal(report.software, true);
      assert.deepEqual([report.vendor, report.architecture, report.features.length], ['mesa', 'software', 3]);
    }
    assert.ok(device.limits.maxBufferSize > 0);
  });

  it('keeps working after the garbage collector has run (Dawn aborts if its instance is freed under a device)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 30));
    }
    const { device } = machine;
    const buffer = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
    device.queue.writeBuffer(buffer, 0, new Float32Array([1, 2, 3, 4]));
    await buffer.mapAsync(GPUMapMode.READ);
    assert.deepEqual([...new Float32Array(buffer.getMappedRange())], [1, 2, 3, 4]);
    buffer.unmap();
  });
});
