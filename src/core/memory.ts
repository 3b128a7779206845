// What a training step and its data set take in memory, from the layer graph, before anything is allocated: so
// `check`, the hovers and `train` can say that a config cannot fit rather than die a minute in. The figures are
// estimates of the working set (tfjs keeps every layer's output for the backward pass, and its gradient is as
// large), fitted to tfjs cpu's peak (tf.profile) at 32, 64 and 128 px within 10%, and tested against it.

import type { ResolvedConfig } from './config';
import type { ModelGraph } from './graph';

/** float32 weights, gradients, Adam's moments and the temporaries of its update: 16 copies (fitted to tfjs cpu). */
const BYTES_PER_PARAM = 64;
/** A layer's output is kept for the backward pass, its gradient is as large, and part of it again transient. */
const ACTIVATION_COPIES = 2.5;
/** The wasm backend's whole heap (32-bit memory): 4 GiB. */
export const WASM_HEAP_BYTES = 4 * 1024 ** 3;

export interface StepMemory {
  /** Both networks' weights, gradients, Adam moments and the update's temporaries. */
  parameters: number;
  /** The generator's activations at the batch size, and the discriminator's for its real and generated streams. */
  activations: number;
  total: number;
}

/** The working set of one training step of `config` (its generator and discriminator graphs). */
export function stepMemory(config: ResolvedConfig, generator: ModelGraph, discriminator: ModelGraph): StepMemory {
  const batch = config.train.batchSize;
  const parameters = BYTES_PER_PARAM * (generator.totals.params + discriminator.totals.params);
  const perImage = generator.totals.activationBytes + 2 * discriminator.totals.activationBytes;
  const activations = ACTIVATION_COPIES * batch * perImage;
  return { parameters, activations, total: parameters + activations };
}

/** The bytes a loaded data set of `images` pairs holds: each input and target as bytes at the model's size. */
export function dataBytes(config: ResolvedConfig, images: number): number {
  const pixels = config.input.size * config.input.size;
  return images * pixels * (config.input.channels + config.output.channels);
}

/** 1536 -> "1.5 KiB", binary units as memory is counted. */
export function binaryBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${n} bytes` : `${n.toFixed(n >= 100 ? 0 : 1)} ${units[i]}`;
}

/** "about 9.1 GiB (parameters with gradients and Adam 1.2 GiB; activations at batch 5: 7.9 GiB)" */
export function describeStepMemory(m: StepMemory, batch: number): string {
  const parts = `parameters with gradients and Adam ${binaryBytes(m.parameters)}; activations at batch ${batch}: ${binaryBytes(m.activations)}`;
  return `about ${binaryBytes(m.total)} (${parts})`;
}
