/// <reference types="@webgpu/types" />
// WebGPU for training: Dawn for Node (the `webgpu` package: Vulkan, Metal or D3D12) under tfjs-backend-webgpu.
// The backend runs on a device this module opens, so the adapter can be reported (and a software one passed
// over) and the device watched: a lost device or an error the GPU reports ends the run with what happened,
// instead of training on garbage.

import { describeAdapter, type AdapterReport } from '../protocol/trainer';

import type { Tf } from '../model/tf';

/** Features that matter for training kernels, reported when present. */
const REPORTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'] as const;
const REPORTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupsPerDimension',
] as const;

/**
 * tfjs-backend-webgpu settings for training, as measured (`npm run bench:gpu` prints the table; the README's GPU
 * section has the numbers). On lavapipe the naive input gradient beats the matrix-multiply one
 * (`WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE: false`) by 1.4-3.2x on the seed's layers: for stride 2 the latter
 * multiplies the zeros of the dilated gradient, 4x the MACs. The submit batch size and CPU forwarding move the
 * host's work per step (Dawn's null backend) by less than its noise. Pinned here so that a tfjs upgrade does not
 * change them unmeasured; bench:gpu measures each again on a real GPU.
 */
export const TRAINING_FLAGS: Record<string, number | boolean> = {
  WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE: true,
};

/** Software rasterisers that present themselves as GPUs (Mesa, Chrome's, Windows' WARP): correct, slower than wasm. */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|microsoft basic render/i;

export function adapterReport(adapter: GPUAdapter): AdapterReport {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const limits: Record<string, number> = {};
  for (const k of REPORTED_LIMITS) limits[k] = adapter.limits[k];
  const text = [info.vendor, info.architecture, info.device, info.description].join(' ');
  return {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    software: !!info.isFallbackAdapter || info.architecture === 'software' || SOFTWARE.test(text),
    features: REPORTED_FEATURES.filter((f) => adapter.features.has(f)),
    limits,
  };
}

/**
 * What went wrong with the device, once something has: a lost device or an error the GPU reported. The training
 * loop checks it after each step; a run that fails for any reason while it is set failed because of the device.
 */
export class DeviceWatch {
  private failure: string | undefined;

  constructor(device: GPUDevice) {
    void device.lost.then((info) => {
      this.fail(`the GPU device was lost (${info.reason}${info.message ? `: ${info.message}` : ''})`);
    });
    device.addEventListener('uncapturederror', (e) => {
      const error = (e as GPUUncapturedErrorEvent).error;
      const oom = error.constructor?.name === 'GPUOutOfMemoryError';
      this.fail(
        oom
          ? `out of GPU memory (a smaller train.batchSize or input.size needs less): ${error.message.split('\n')[0]}`
          : `a GPU error: ${error.message.split('\n')[0]}`,
      );
    });
  }

  private fail(message: string): void {
    this.failure ??= message;
  }

  /** The first failure, or undefined while the device is healthy. */
  get problem(): string | undefined {
    return this.failure;
  }

  /** Throws once the device has failed: the weights on it are no longer to be trusted. */
  check(): void {
    if (this.failure) throw new Error(this.failure);
  }
}

/**
 * Dawn's GPU instances, held for the life of the process: Dawn for Node aborts (`std::system_error`, or a pthread
 * mutex assertion) when the garbage collector frees an instance while a device made from it still works.
 */
const dawnInstances: GPU[] = [];

export interface OpenedWebGpu {
  adapter: AdapterReport;
  watch: DeviceWatch;
  device: GPUDevice;
}

/**
 * Opens a Dawn device and makes it tfjs's `webgpu` backend. Refuses a software adapter unless `allowSoftware`
 * (an explicit `backend: webgpu`). `dawnFlags` go to Dawn's `create` (`backend=null` measures host work alone).
 * The device asks the adapter's limits (deeper GEMM k-steps, larger bindings), or with `limits: 'default'` none:
 * WebGPU's defaults, all that every device is guaranteed.
 */
export async function openWebGpu(
  tf: Tf,
  options: { allowSoftware: boolean; dawnFlags?: string[]; limits?: 'adapter' | 'default' },
): Promise<OpenedWebGpu> {
  const dawn = (await import('webgpu')) as { create(flags: string[]): GPU; globals: object };
  Object.assign(globalThis, dawn.globals);
  const gpu = dawn.create(options.dawnFlags ?? []);
  dawnInstances.push(gpu);
  // tfjs-backend-webgpu checks navigator.gpu when it loads, so this comes first.
  const nav = ((globalThis as { navigator?: object }).navigator ??= {}) as { gpu?: GPU };
  Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter)
    throw new Error('no WebGPU adapter: Dawn found no Vulkan, Metal or D3D12 device (is the GPU driver installed?)');
  const report = adapterReport(adapter);
  if (report.software && !options.allowSoftware) {
    throw new Error(
      `passed over the software adapter ${describeAdapter(report)}: it renders on the CPU, slower than wasm; \`train.backend: webgpu\` uses it anyway`,
    );
  }
  const device = await adapter.requestDevice({
    requiredFeatures: adapter.features.has('timestamp-query') ? ['timestamp-query'] : [],
    requiredLimits:
      options.limits === 'default' ? {} : Object.fromEntries(REPORTED_LIMITS.map((k) => [k, adapter.limits[k]])),
  });
  const watch = new DeviceWatch(device);
  const { WebGPUBackend } = (await import('@tensorflow/tfjs-backend-webgpu')) as unknown as {
    WebGPUBackend: new (device: GPUDevice, info: GPUAdapterInfo) => import('@tensorflow/tfjs').KernelBackend;
  };
  tf.removeBackend('webgpu');
  tf.registerBackend('webgpu', () => new WebGPUBackend(device, adapter.info), 3);
  if (!(await tf.setBackend('webgpu'))) throw new Error('the tfjs webgpu backend failed to initialise on this device');
  for (const [flag, value] of Object.entries(TRAINING_FLAGS)) tf.env().set(flag, value);
  return { adapter: report, watch, device };
}
