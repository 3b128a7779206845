// Checkpoints: both networks as tfjs `model.json` + `weights.bin` (loadable by tf.loadLayersModel), both Adam
// states, and the loop state (step, data order, random state). Resuming rebuilds the networks from the graph
// and loads these weights into them in order.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../model/tf';
import type { Nets } from '../model/nets';
import { writeAtomic } from '../runFolders/atomicWrite';

export interface LoopState {
  step: number;
  totalSteps: number;
  /** Training-set order of the current epoch and the position in it. */
  order: number[];
  position: number;
  rng: number;
  /** The data-order stream (absent in checkpoints written before it existed). */
  dataRng?: number;
}

async function saveModel(tf: Tf, model: TF.LayersModel, dir: string, name: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = tf.io.CompositeArrayBuffer.join(artifacts.weightData!);
      writeAtomic(join(dir, `${name}.weights.bin`), new Uint8Array(weights));
      const modelJson = {
        format: 'layers-model',
        generatedBy: 'p2p-ablation-lab',
        convertedBy: null,
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: [`${name}.weights.bin`], weights: artifacts.weightSpecs }],
      };
      writeAtomic(join(dir, `${name}.model.json`), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

async function saveOptimizer(tf: Tf, optimizer: TF.Optimizer, dir: string, name: string): Promise<void> {
  const named = await optimizer.getWeights();
  const { data, specs } = await tf.io.encodeWeights(named);
  // The iteration count comes back as a new scalar each call (the moments are the optimizer's own variables).
  tf.dispose(named.filter((w) => w.name === 'iter').map((w) => w.tensor));
  writeAtomic(join(dir, `${name}.bin`), new Uint8Array(data as ArrayBuffer));
  writeAtomic(join(dir, `${name}.json`), JSON.stringify(specs));
}

export async function saveCheckpoint(tf: Tf, nets: Nets, dir: string, state: LoopState): Promise<void> {
  await saveModel(tf, nets.generator, dir, 'generator');
  await saveModel(tf, nets.discriminator, dir, 'discriminator');
  await saveOptimizer(tf, nets.gOptimizer, dir, 'optimizer-generator');
  await saveOptimizer(tf, nets.dOptimizer, dir, 'optimizer-discriminator');
  writeAtomic(join(dir, 'state.json'), JSON.stringify(state));
}

/** A checkpoint file's bytes; a missing or unreadable one is an error naming it. */
function readBuffer(file: string): ArrayBuffer {
  let b: Buffer;
  try {
    b = readFileSync(file);
  } catch (e) {
    throw new Error(`${file} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** A checkpoint's JSON file, parsed; an error names the file and what is wrong with it. */
function readJson<T>(file: string): T {
  const text = Buffer.from(readBuffer(file)).toString('utf8');
  try {
    return JSON.parse(text) as T;
  } catch (e) {
    throw new Error(`${file} is not valid JSON (${(e as Error).message})`);
  }
}

/** The weights of `bin` by their specs; a file of the wrong size (truncated) is an error naming it. */
function decode(tf: Tf, bin: string, specs: TF.io.WeightsManifestEntry[]): TF.NamedTensorMap {
  const data = readBuffer(bin);
  const bytes = specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1) * 4, 0);
  if (data.byteLength !== bytes) throw new Error(`${bin} is ${data.byteLength} bytes, its weights need ${bytes}`);
  return tf.io.decodeWeights(data, specs);
}

export function loadModelWeights(tf: Tf, model: TF.LayersModel, dir: string, name: string): void {
  const file = join(dir, `${name}.model.json`);
  const json = readJson<{ weightsManifest?: { weights: TF.io.WeightsManifestEntry[] }[] }>(file);
  const specs = json.weightsManifest?.[0]?.weights;
  if (!Array.isArray(specs)) throw new Error(`${file} has no weights manifest`);
  if (specs.length !== model.weights.length) {
    throw new Error(
      `checkpoint ${name} has ${specs.length} weights, the model built from the config has ${model.weights.length}: the config changed since this run started`,
    );
  }
  const map = decode(tf, join(dir, `${name}.weights.bin`), specs);
  const shape = specs.find((s, i) => s.shape.join('x') !== model.weights[i].shape.join('x'));
  if (shape) {
    tf.dispose(Object.values(map));
    throw new Error(
      `${file}: weight ${shape.name} is ${shape.shape.join('x')}, the model built from the config needs another ` +
        'shape: the config changed since this run started',
    );
  }
  model.setWeights(specs.map((s) => map[s.name]));
  tf.dispose(Object.values(map));
}

async function loadOptimizer(tf: Tf, optimizer: TF.Optimizer, dir: string, name: string): Promise<void> {
  const file = join(dir, `${name}.json`);
  const specs = readJson<TF.io.WeightsManifestEntry[]>(file);
  if (!Array.isArray(specs)) throw new Error(`${file} is not a list of weights`);
  const map = decode(tf, join(dir, `${name}.bin`), specs);
  await optimizer.setWeights(specs.map((s) => ({ name: s.name, tensor: map[s.name] })));
}

export async function loadCheckpoint(tf: Tf, nets: Nets, dir: string): Promise<LoopState> {
  loadModelWeights(tf, nets.generator, dir, 'generator');
  loadModelWeights(tf, nets.discriminator, dir, 'discriminator');
  await loadOptimizer(tf, nets.gOptimizer, dir, 'optimizer-generator');
  await loadOptimizer(tf, nets.dOptimizer, dir, 'optimizer-discriminator');
  const file = join(dir, 'state.json');
  const state = readJson<LoopState>(file);
  if (!Number.isInteger(state?.step) || !Array.isArray(state.order))
    throw new Error(`${file} does not hold a loop state (step, data order)`);
  return state;
}
