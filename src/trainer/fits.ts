// Whether a run can fit before anything is allocated: a training step's working set (core/memory.ts) against the
// wasm backend's heap and the machine's memory, and the data set's bytes against what is left for it. Refused with
// the figure and what to change; a step that fits the machine but not its free memory is a warning.

import { freemem, totalmem } from 'node:os';
import type { ResolvedConfig } from '../core/config';
import type { ModelGraph } from '../core/graph';
import { binaryBytes, describeStepMemory, stepMemory, WASM_HEAP_BYTES } from '../core/memory';
import type { ChosenBackend } from './backends';

/** The most a loaded data set may hold: half the machine's memory (the rest is the step's and the system's). */
export const dataBudget = () => Math.floor(totalmem() / 2);

const LOWER = 'lower `input.size`, `train.batchSize` or `generator.filters`';

/** Throws when a step of `config` cannot fit `backend` here; a warning when it may not fit what is free now. */
export function checkStepFits(
  graphs: { config: ResolvedConfig; generator: ModelGraph; discriminator: ModelGraph },
  backend: ChosenBackend['name'],
): string | undefined {
  const m = stepMemory(graphs.config, graphs.generator, graphs.discriminator);
  const needs = `a training step needs ${describeStepMemory(m, graphs.config.train.batchSize)}`;
  if (backend === 'webgpu' || backend === 'tensorflow-gpu') return undefined; // device memory: the GPU's to say
  if (backend === 'wasm' && m.total > WASM_HEAP_BYTES)
    throw new Error(
      `trainer: ${needs}, more than the wasm backend's ${binaryBytes(WASM_HEAP_BYTES)}: ${LOWER}, or train on a GPU (--backend webgpu)`,
    );
  if (m.total > totalmem())
    throw new Error(
      `trainer: ${needs}, more than this machine's ${binaryBytes(totalmem())}: ${LOWER}, or train on a GPU`,
    );
  if (m.total > freemem())
    return `${needs}, more than the ${binaryBytes(freemem())} free now: it may swap or be killed`;
  return undefined;
}
