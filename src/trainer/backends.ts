/// <reference types="@webgpu/types" />
// Backend choice for training. `auto` tries, in order: CUDA (@tensorflow/tfjs-node-gpu), WebGPU (Dawn for Node
// + @tensorflow/tfjs-backend-webgpu, on a hardware adapter), native CPU (@tensorflow/tfjs-node), wasm, cpu. The
// tfjs-node packages are optional installs loaded at run time (tensorflowPackage.ts says from where); each backend
// not used gets a line saying why.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Backend } from '../core/config';
import { registerCpuTrainingKernels } from './kernels/cpuKernels';
import { missingOnThisMachine } from './cudaLibraries';
import { registerTrainingGradients } from './kernels/gradients';
import { describeAdapter, type AdapterReport } from '../protocol/trainer';
import { registerWasmTrainingKernels } from './kernels/wasmKernels';
import {
  describePackage,
  locateTensorflow,
  TENSORFLOW_PATH_VARIABLE,
  type TensorflowPackageName,
} from './tensorflowPackage';
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
  /** On tensorflow and tensorflow-gpu: the package, its version and where it was found (describePackage). */
  tensorflow?: string;
}

type Loaded = Pick<ChosenBackend, 'tf' | 'adapter' | 'watch' | 'device' | 'tensorflow'>;
type Attempt = (requested: Backend, options: BackendOptions) => Promise<Loaded>;

export interface BackendOptions {
  /** Flags for Dawn's `create` (`backend=null` executes nothing: the benchmarks' measure of host work). */
  dawnFlags?: string[];
  /** The WebGPU device's limits: the adapter's (absent), or WebGPU's defaults (`openWebGpu`). */
  limits?: 'adapter' | 'default';
}

/** The tfjs-node package `name` with its 'tensorflow' backend set, and where it came from; or why not. */
async function loadTensorflow(name: TensorflowPackageName, needs = ''): Promise<Loaded> {
  const found = locateTensorflow(name, process.env[TENSORFLOW_PATH_VARIABLE] || undefined);
  if ('missing' in found) throw new Error(`${found.missing}${needs}`);
  let tf: Tf;
  try {
    tf = found.load();
  } catch (e) {
    throw new Error(`${describePackage(found)} failed to load: ${(e as Error).message.split('\n')[0].trim()}${needs}`);
  }
  if (!(await tf.setBackend('tensorflow')))
    throw new Error(`${describePackage(found)} loaded, but its tensorflow backend failed to initialise`);
  return { tf, tensorflow: describePackage(found) };
}

const tensorflowGpu: Attempt = async () => {
  const loaded = await loadTensorflow('@tensorflow/tfjs-node-gpu', ' (it needs CUDA 11.2 and cuDNN 8.1)');
  const backend = loaded.tf.backend() as unknown as { isUsingGpuDevice?: boolean };
  if (!backend.isUsingGpuDevice) {
    const missing = missingOnThisMachine();
    throw new Error(
      `${loaded.tensorflow} loaded, but TensorFlow found no usable GPU: ` +
        'it needs CUDA 11.2 (libcudart.so.11.0), cuDNN 8.1 (libcudnn.so.8) and a driver > 450' +
        (missing ? `; this machine has no ${missing}` : ''),
    );
  }
  return loaded;
};

// A software adapter (llvmpipe, SwiftShader) is slower than wasm: `auto` passes over it, `webgpu` takes it.
const webgpu: Attempt = async (requested, options) => {
  const tf: Tf = require('@tensorflow/tfjs');
  const allowSoftware = requested === 'webgpu' || requested === 'webgpu-tfjs';
  return { tf, ...(await openWebGpu(tf, { allowSoftware, ...options })) };
};

const tensorflowCpu: Attempt = () => loadTensorflow('@tensorflow/tfjs-node');

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
      const { tf, adapter, watch, device, tensorflow } = await ATTEMPTS[name](requested, options);
      await tf.ready();
      registerTrainingGradients(tf);
      tf.env().set('PROD', true); // no "install tfjs-node" banner; NaN checks happen in the loop instead
      const what = adapter ? `: ${describeAdapter(adapter)}` : tensorflow ? `: ${tensorflow}` : '';
      log.push(`${name}: chosen${requested === 'auto' ? ' (auto)' : ''}${what}`);
      const compiledStep = device ? requested !== 'webgpu-tfjs' : undefined;
      return { tf, name, log, adapter, watch, device, compiledStep, tensorflow };
    } catch (e) {
      log.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no usable backend for \`train.backend: ${requested}\`:\n  ${log.join('\n  ')}`);
}
