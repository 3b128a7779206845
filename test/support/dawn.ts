/// <reference types="@webgpu/types" />
// A Dawn device for the WebGPU tests, with the watch the trainer puts on it. One Dawn instance per set of flags, held
// as long as the process lives: Dawn for Node aborts (std::system_error, a pthread mutex assertion) when the garbage
// collector frees an instance whose device still works.
import assert from 'node:assert/strict';
import { DeviceWatch } from '../../src/trainer/webgpu';

/** One instance per set of flags, held as long as the process lives. */
const instances = new Map<string, GPU>();

/**
 * A device with the adapter's limits, as the trainer opens it (src/trainer/webgpu.ts), or with WebGPU's default
 * limits (`limits: 'default'`: 16 KiB of workgroup storage, 128 MiB bindings, 256 MiB buffers), all that a device
 * is guaranteed, and all that many Apple, Intel and mobile GPUs give.
 */
export async function open(
  flags: string[],
  options: { limits?: 'adapter' | 'default' } = {},
): Promise<{ adapter: GPUAdapter; device: GPUDevice; watch: DeviceWatch }> {
  const dawn = (await import('webgpu')) as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, dawn.globals);
  let instance = instances.get(flags.join());
  if (!instance) instances.set(flags.join(), (instance = dawn.create(flags)));
  const adapter = (await instance.requestAdapter())!;
  assert.ok(adapter, `an adapter for ${JSON.stringify(flags)}`);
  const limits = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupStorageSize'] as const;
  const requiredLimits = Object.fromEntries(limits.map((k) => [k, adapter.limits[k]]));
  const device = await adapter.requestDevice(options.limits === 'default' ? {} : { requiredLimits });
  return { adapter, device, watch: new DeviceWatch(device) };
}

/** Lets Dawn deliver its callbacks (errors, lost) to JavaScript. */
export async function settle(device: GPUDevice): Promise<void> {
  await device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 20));
}

/** The watch's failure, which check() throws (and nothing while there is none). */
export function failure(watch: DeviceWatch): string | undefined {
  if (watch.problem) assert.throws(() => watch.check(), { message: watch.problem });
  else assert.doesNotThrow(() => watch.check());
  return watch.problem;
}
