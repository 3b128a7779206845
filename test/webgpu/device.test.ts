// The device watch and the adapter report on real Dawn devices: the machine's adapter (lavapipe in CI) and Dawn's
// null backend, whose small memory makes a real out-of-memory error.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { adapterReport, DeviceWatch } from '../../src/trainer/webgpu';

async function open(flags: string[]): Promise<{ adapter: GPUAdapter; device: GPUDevice; watch: DeviceWatch }> {
  const dawn = (await import('webgpu')) as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, dawn.globals);
  const adapter = (await dawn.create(flags).requestAdapter())!;
  assert.ok(adapter, `an adapter for ${JSON.stringify(flags)}`);
  const device = await adapter.requestDevice({ requiredLimits: { maxBufferSize: adapter.limits.maxBufferSize } });
  return { adapter, device, watch: new DeviceWatch(device) };
}

/** Lets Dawn deliver its callbacks (errors, lost) to JavaScript. */
async function settle(device: GPUDevice): Promise<void> {
  await device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 20));
}

/** The watch's failure, which check() throws (and nothing while there is none). */
function failure(watch: DeviceWatch): string | undefined {
  if (watch.problem) assert.throws(() => watch.check(), { message: watch.problem });
  else assert.doesNotThrow(() => watch.check());
  return watch.problem;
}

describe('WebGPU device watch and adapter report', () => {
  it('reports the adapter: its features that matter, its limits, and lavapipe as software', async () => {
    const { adapter, device } = await open([]);
    const report = adapterReport(adapter);
    assert.deepEqual(report.features, ['shader-f16', 'subgroups', 'timestamp-query'].filter((f) => adapter.features.has(f)));
    assert.equal(report.limits.maxStorageBufferBindingSize, adapter.limits.maxStorageBufferBindingSize);
    assert.ok(report.description || report.device, 'the adapter has a name');
    if (/llvmpipe/.test(report.description)) {
      assert.equal(report.software, true);
      assert.deepEqual([report.vendor, report.architecture, report.features.length], ['mesa', 'software', 3]);
    }
    device.destroy();
  });

  it('turns an out-of-memory error into a failure that names it', async () => {
    const { adapter, device, watch } = await open(['backend=null']);
    assert.equal(adapterReport(adapter).software, false);
    assert.equal(failure(watch), undefined);
    for (let i = 0; i < 8; i++) device.createBuffer({ size: adapter.limits.maxBufferSize, usage: GPUBufferUsage.STORAGE });
    await settle(device);
    assert.match(failure(watch) ?? '', /^out of GPU memory \(a smaller train\.batchSize or input\.size needs less\): Out of memory/);
    device.destroy();
  });

  it('turns a validation error, and a lost device, into failures; the first one is kept', async () => {
    const { device, watch } = await open([]);
    device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE }); // not a valid usage pair
    await settle(device);
    const first = failure(watch);
    assert.match(first ?? '', /^a GPU error: /);
    device.destroy();
    await settle(device).catch(() => undefined);
    assert.equal(failure(watch), first);

    const fresh = await open([]);
    fresh.device.destroy();
    await new Promise((r) => setTimeout(r, 20));
    assert.match(failure(fresh.watch) ?? '', /^the GPU device was lost \(destroyed/);
  });
});
