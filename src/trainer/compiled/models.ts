/// <reference types="@webgpu/types" />
// The compiled step and the tfjs models hold the same variables: a run starts (or resumes) from the tfjs models,
// whose initialisers and checkpoints are the other backends', and the models are brought up to date from the GPU
// before they are read (an evaluation, a checkpoint). So a run moves between this step and any backend at a
// checkpoint, in today's checkpoint format.

import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../../model/tf';
import type { Nets } from '../../model/nets';
import { Parameters, type ArenaSlice } from './parameters';
import type { CompiledStep } from './step';

interface Placement {
  variable: TF.LayerVariable;
  arena: 'weights' | 'moving';
  range: ArenaSlice;
}

/** Where each variable of a model lives in its network's arenas. */
function placements(model: TF.LayersModel, params: Parameters): Placement[] {
  const out: Placement[] = [];
  for (const [name, r] of params.layers) {
    const layer = model.getLayer(name);
    const [first, second] = layer.trainableWeights;
    if (r.kind === 'kernel')
      out.push(
        { variable: first, arena: 'weights', range: r.kernel },
        { variable: second, arena: 'weights', range: r.bias },
      );
    else {
      const half = (x: ArenaSlice, k: number) => ({ offset: x.offset + k * (x.count / 2), count: x.count / 2 });
      const [mean, variance] = layer.nonTrainableWeights;
      out.push(
        { variable: first, arena: 'weights', range: half(r.gb, 0) },
        { variable: second, arena: 'weights', range: half(r.gb, 1) },
      );
      out.push(
        { variable: mean, arena: 'moving', range: half(r.moving, 0) },
        { variable: variance, arena: 'moving', range: half(r.moving, 1) },
      );
    }
  }
  for (const p of out) {
    const size = p.variable.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
    if (size !== p.range.count)
      throw new Error(`compiled step: ${p.variable.name} has ${size} values, its range ${p.range.count}`);
  }
  return out;
}

/** The range of each trainable weight, in the model's (and its optimizer's) order. */
export function weightRanges(model: TF.LayersModel, params: Parameters): ArenaSlice[] {
  return trainableRanges(model, placements(model, params));
}

function trainableRanges(model: TF.LayersModel, placed: Placement[]): ArenaSlice[] {
  return model.trainableWeights.map((w) => {
    const p = placed.find((q) => q.variable === w);
    if (!p) throw new Error(`compiled step: ${w.name} has no place in the arena`);
    return p.range;
  });
}

/** A whole buffer's floats, read back once the queue has run what was submitted before. */
export async function readBuffer(device: GPUDevice, buffer: GPUBuffer): Promise<Float32Array> {
  const read = device.createBuffer({ size: buffer.size, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, read, 0, buffer.size);
  device.queue.submit([encoder.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const out = new Float32Array(read.getMappedRange().slice(0));
  read.destroy();
  return out;
}

async function uploadNetwork(device: GPUDevice, model: TF.LayersModel, optimizer: TF.Optimizer, params: Parameters) {
  const placed = placements(model, params);
  const arenas = { weights: new Float32Array(params.count), moving: new Float32Array(params.movingCount) };
  for (const p of placed) arenas[p.arena].set((await p.variable.read().data()) as Float32Array, p.range.offset);
  device.queue.writeBuffer(params.weights, 0, arenas.weights);
  device.queue.writeBuffer(params.moving, 0, arenas.moving);
  const encoder = device.createCommandEncoder();
  params.resetMoments(encoder);
  device.queue.submit([encoder.finish()]);
  const state = await optimizer.getWeights();
  const moments = state.slice(1);
  if (moments.length) {
    const ranges = trainableRanges(model, placed);
    const [first, second] = [new Float32Array(params.count), new Float32Array(params.count)];
    for (let i = 0; i < ranges.length; i++) {
      first.set((await moments[i].tensor.data()) as Float32Array, ranges[i].offset);
      second.set((await moments[ranges.length + i].tensor.data()) as Float32Array, ranges[i].offset);
    }
    device.queue.writeBuffer(params.first, 0, first);
    device.queue.writeBuffer(params.second, 0, second);
  }
  state[0].tensor.dispose(); // the iteration count, a new scalar each call
}

/** Loads both networks (and their Adam moments, after a resume) from the tfjs models into the step's arenas. */
export async function uploadNets(step: CompiledStep, nets: Nets, iterations: number): Promise<void> {
  await uploadNetwork(step.device, nets.generator, nets.gOptimizer, step.g);
  await uploadNetwork(step.device, nets.discriminator, nets.dOptimizer, step.d);
  const { beta1, beta2 } = step.graphs.config.train.optimizer;
  const products = {
    beta1Power: Math.fround(beta1 ** (iterations + 1)),
    beta2Power: Math.fround(beta2 ** (iterations + 1)),
  };
  step.adamG.restore(products);
  step.adamD.restore(products);
}

async function downloadNetwork(
  tf: Tf,
  device: GPUDevice,
  model: TF.LayersModel,
  optimizer: TF.Optimizer | undefined,
  params: Parameters,
  iterations: number,
) {
  const placed = placements(model, params);
  const arenas = { weights: await readBuffer(device, params.weights), moving: await readBuffer(device, params.moving) };
  const slice = (arena: Float32Array, r: ArenaSlice) => arena.slice(r.offset, r.offset + r.count);
  for (const p of placed) {
    const value = tf.tensor(slice(arenas[p.arena], p.range), p.variable.shape as number[]);
    p.variable.write(value);
    value.dispose();
  }
  if (!optimizer) return;
  const [first, second] = [await readBuffer(device, params.first), await readBuffer(device, params.second)];
  const variables = model.trainableWeights.map((w) => w.read() as TF.Variable);
  const ranges = trainableRanges(model, placed);
  const moment = (arena: Float32Array, suffix: string) =>
    variables.map((v, i) => ({ name: `${v.name}/${suffix}`, tensor: tf.tensor(slice(arena, ranges[i]), v.shape) }));
  const previous = await optimizer.getWeights();
  const next = [
    { name: 'iter', tensor: tf.scalar(iterations, 'int32') },
    ...moment(first, 'm'),
    ...moment(second, 'v'),
  ];
  await optimizer.setWeights(next);
  tf.dispose([...previous.map((w) => w.tensor), ...next.map((w) => w.tensor)]);
}

/**
 * Brings the tfjs models up to date from the step's arenas (weights and moving statistics), and with `optimizers`
 * the Adam states too (the moments and the iteration count): what a checkpoint saves.
 */
export async function downloadNets(tf: Tf, step: CompiledStep, nets: Nets, iterations: number, optimizers: boolean) {
  await downloadNetwork(tf, step.device, nets.generator, optimizers ? nets.gOptimizer : undefined, step.g, iterations);
  await downloadNetwork(
    tf,
    step.device,
    nets.discriminator,
    optimizers ? nets.dOptimizer : undefined,
    step.d,
    iterations,
  );
}
