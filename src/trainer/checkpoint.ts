// Checkpoints: both networks as tfjs `model.json` + `weights.bin` (loadable by tf.loadLayersModel), both Adam
// states, and the loop state (step, data order, random state). Resuming rebuilds the networks from the graph
// and loads these weights into them in order.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../model/tf';
import type { Nets } from './pix2pix';
import { writeAtomic } from '../runFolders/runDir';

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

function readBuffer(file: string): ArrayBuffer {
  const b = readFileSync(file);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

export function loadModelWeights(tf: Tf, model: TF.LayersModel, dir: string, name: string): void {
  const json = JSON.parse(readFileSync(join(dir, `${name}.model.json`), 'utf8'));
  const specs = json.weightsManifest[0].weights as TF.io.WeightsManifestEntry[];
  const map = tf.io.decodeWeights(readBuffer(join(dir, `${name}.weights.bin`)), specs);
  if (specs.length !== model.weights.length) {
    throw new Error(
      `checkpoint ${name} has ${specs.length} weights, the model built from the config has ${model.weights.length}: the config changed since this run started`,
    );
  }
  model.setWeights(specs.map((s) => map[s.name]));
  tf.dispose(Object.values(map));
}

async function loadOptimizer(tf: Tf, optimizer: TF.Optimizer, dir: string, name: string): Promise<void> {
  const specs = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as TF.io.WeightsManifestEntry[];
  const map = tf.io.decodeWeights(readBuffer(join(dir, `${name}.bin`)), specs);
  await optimizer.setWeights(specs.map((s) => ({ name: s.name, tensor: map[s.name] })));
}

export async function loadCheckpoint(tf: Tf, nets: Nets, dir: string): Promise<LoopState> {
  loadModelWeights(tf, nets.generator, dir, 'generator');
  loadModelWeights(tf, nets.discriminator, dir, 'discriminator');
  await loadOptimizer(tf, nets.gOptimizer, dir, 'optimizer-generator');
  await loadOptimizer(tf, nets.dOptimizer, dir, 'optimizer-discriminator');
  return JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as LoopState;
}
