/// <reference types="@webgpu/types" />
// Backend choice for training. `auto` tries, in order: CUDA (@tensorflow/tfjs-node-gpu), WebGPU (Dawn for Node
// + @tensorflow/tfjs-backend-webgpu, on a hardware adapter), native CPU (@tensorflow/tfjs-node), wasm, cpu. The
// tfjs-node packages are optional installs loaded at run time; each backend not used gets a line saying why.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Backend } from '../core/config';
import { registerCpuTrainingKernels } from './cpuKernels';
import { registerTrainingGradients } from './gradients';
import { describeAdapter, type AdapterReport } from '../runFolders/contract';
import { registerWasmTrainingKernels } from './wasmKernels';
import { openWebGpu, type DeviceWatch } from './webgpu';

import type { Tf } from '../model/tf';

export interface ChosenBackend {
  tf: Tf;
  name: 'tensorflow-gpu' | 'webgpu' | 'tensorflow' | 'wasm' | 'cpu';
  /** One line per backend tried, the chosen one last. */
  log: string[];
  /** On webgpu: the adapter, and the watch that reports a lost device or a GPU error. */
  adapter?: AdapterReport;
  watch?: DeviceWatch;
  /** On webgpu: the device, and whether training runs the compiled step on it (not `webgpu-tfjs`). */
  device?: GPUDevice;
  compiledStep?: boolean;
}

type Loaded = Pick<ChosenBackend, 'tf' | 'adapter' | 'watch' | 'device'>;
type Attempt = (requested: Backend, options: BackendOptions) => Promise<Loaded>;

export interface BackendOptions {
  /** Flags for Dawn's `create` (`backend=null` executes nothing: the benchmarks' measure of host work). */
  dawnFlags?: string[];
}

function missing(pkg: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'MODULE_NOT_FOUND'
    ? `${pkg} is not installed`
    : `${pkg} failed to load: ${(e as Error).message.split('\n')[0]}`;
}

const tensorflowGpu: Attempt = async () => {
  let tf: Tf;
  try {
    tf = require('@tensorflow/tfjs-node-gpu');
  } catch (e) {
    throw new Error(
      `${missing('@tensorflow/tfjs-node-gpu', e)} (npm install @tensorflow/tfjs-node-gpu; needs CUDA 11.2 and cuDNN 8.1)`,
    );
  }
  await tf.setBackend('tensorflow');
  const backend = tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (!backend.isUsingGpuDevice) {
    throw new Error(
      '@tensorflow/tfjs-node-gpu loaded, but TensorFlow found no usable GPU: ' +
        'it needs CUDA 11.2 (libcudart.so.11.0) and cuDNN 8.1 (libcudnn.so.8) and a driver > 450',
    );
  }
  return { tf };
};

// A software adapter (llvmpipe, SwiftShader) is slower than wasm: `auto` passes over it, `webgpu` takes it.
const webgpu: Attempt = async (requested, options) => {
  const tf: Tf = require('@tensorflow/tfjs');
  const allowSoftware = requested === 'webgpu' || requested === 'webgpu-tfjs';
  return { tf, ...(await openWebGpu(tf, { allowSoftware, dawnFlags: options.dawnFlags })) };
};

const tensorflowCpu: Attempt = async () => {
  let tf: Tf;
  try {
    tf = require('@tensorflow/tfjs-node');
  } catch (e) {
    throw new Error(`${missing('@tensorflow/tfjs-node', e)} (npm install @tensorflow/tfjs-node)`);
  }
  await tf.setBackend('tensorflow');
  return { tf };
};

/** The wasm backend's binaries: beside the bundle (dist/wasm, copied by esbuild.js), else in the package (tests). */
function wasmBinaries(): string {
  const bundled = join(__dirname, 'wasm');
  return existsSync(bundled) ? bundled : dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
}

const wasm: Attempt = async () => {
  const tf: Tf = require('@tensorflow/tfjs');
  const backend = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
  backend.setWasmPaths(join(wasmBinaries(), '/'));
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm: the backend failed to initialise');
  registerWasmTrainingKernels(tf);
  return { tf };
};

const cpu: Attempt = async () => {
  const tf: Tf = require('@tensorflow/tfjs');
  await tf.setBackend('cpu');
  registerCpuTrainingKernels(tf);
  return { tf };
};

const ATTEMPTS: Record<ChosenBackend['name'], Attempt> = {
  'tensorflow-gpu': tensorflowGpu,
  webgpu,
  tensorflow: tensorflowCpu,
  wasm,
  cpu,
};

const ORDER: Record<Backend, ChosenBackend['name'][]> = {
  auto: ['tensorflow-gpu', 'webgpu', 'tensorflow', 'wasm', 'cpu'],
  tensorflow: ['tensorflow-gpu', 'tensorflow'],
  webgpu: ['webgpu'],
  'webgpu-tfjs': ['webgpu'],
  wasm: ['wasm'],
  cpu: ['cpu'],
};

export async function chooseBackend(requested: Backend, options: BackendOptions = {}): Promise<ChosenBackend> {
  const log: string[] = [];
  for (const name of ORDER[requested]) {
    try {
      const { tf, adapter, watch, device } = await ATTEMPTS[name](requested, options);
      await tf.ready();
      registerTrainingGradients(tf);
      tf.env().set('PROD', true); // no "install tfjs-node" banner; NaN checks happen in the loop instead
      log.push(
        `${name}: chosen${requested === 'auto' ? ' (auto)' : ''}${adapter ? `: ${describeAdapter(adapter)}` : ''}`,
      );
      const compiledStep = device ? requested !== 'webgpu-tfjs' : undefined;
      return { tf, name, log, adapter, watch, device, compiledStep };
    } catch (e) {
      log.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no usable backend for \`train.backend: ${requested}\`:\n  ${log.join('\n  ')}`);
}
