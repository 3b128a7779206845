/// <reference types="@webgpu/types" />
// The compiled pix2pix training step: both networks' passes built once per batch size from the layer graphs, all
// buffers, pipelines and bind groups made then, and each step recorded into one command encoder, submitted once,
// with the four losses read back in one small copy. The order is tfjs's (pix2pix.ts `trainStep`):
//   generator forward, output activation; discriminator on (fake, input); its loss (real) and backward to the
//   fake; the L1 term and the generator's backward; Adam on the generator's arena;
//   discriminator on (fake, input) and on (real, input), each with its loss and backward into a gradient arena of
//   its own; Adam on the discriminator's arena over the sum of the two.
// The discriminator's BatchNorm moving statistics are updated by each of its three passes, as tfjs-layers updates
// them on each call in training mode.

import type { ResolvedConfig } from '../../core/config';
import type { ModelGraph } from '../../core/graph';
import { FusedAdam } from './adam';
import { OutputLoss, SoftmaxCrossEntropy } from './loss';
import { Parameters } from './parameters';
import { NetworkPass, recording, type Recording } from './pass';

export interface CompiledGraphs {
  generator: ModelGraph;
  discriminator: ModelGraph;
  config: ResolvedConfig;
}

export interface KernelTime {
  kernel: string;
  layer: string;
  ms: number;
}

export interface RawLosses {
  l1: number;
  gan: number;
  dFake: number;
  dReal: number;
}

const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;

/** Everything one batch size needs: the inputs, the four passes and the losses. */
class Plan {
  readonly x: GPUBuffer;
  readonly y: GPUBuffer;
  readonly fake: GPUBuffer;
  readonly passes: NetworkPass[];
  readonly recordings: Recording[];
  private readonly own: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly step: CompiledStep,
    readonly batch: number,
  ) {
    const { config, generator, discriminator } = step.graphs;
    const pixels = batch * config.input.size ** 2;
    this.x = this.buffer(pixels * config.input.channels);
    this.y = this.buffer(pixels * config.output.channels);
    this.fake = this.buffer(pixels * config.output.channels);
    const g = this.generator();
    const dOnFake = this.discriminator(this.fake, undefined);
    const dFake = this.discriminator(this.fake, step.d.gradients[0]);
    const dReal = this.discriminator(this.y, step.d.gradients[1]);
    this.passes = [g, dOnFake, dFake, dReal];
    const { l1, gan } = config.train.loss;
    const ganLoss = this.crossEntropy(dOnFake, 1, gan, 1);
    const [fakeLoss, realLoss] = [this.crossEntropy(dFake, 0, 0.5, 2), this.crossEntropy(dReal, 1, 0.5, 3)];
    const dOnFakeBackward = dOnFake.backward; // complete before the fake's gradient is bound below
    const output = this.outputLoss(g, dOnFake, l1);
    this.recordings = [
      ...g.forward,
      recording('output activation', 'last_conv', (p) => output.recordForward(p)),
      ...dOnFake.forward,
      ganLoss,
      ...dOnFakeBackward,
      recording('output L1 and gradient', 'last_conv', (p) => output.recordBackward(p)),
      ...g.backward,
      recording('adam', generator.name, (p) => step.adamG.record(p)),
      ...dFake.forward,
      fakeLoss,
      ...dFake.backward,
      ...dReal.forward,
      realLoss,
      ...dReal.backward,
      recording('adam', discriminator.name, (p) => step.adamD.record(p)),
    ];
  }

  private buffer(floats: number): GPUBuffer {
    const b = this.device.createBuffer({ size: floats * 4, usage: storage() });
    this.own.push(b);
    return b;
  }

  private generator(): NetworkPass {
    const { generator, config } = this.step.graphs;
    return new NetworkPass(this.device, generator, {
      batch: this.batch,
      params: this.step.g,
      inputs: { unet_input: { buffer: this.x, needsGrad: false } },
      gradients: this.step.g.gradients[0],
      seed: config.train.seed,
    });
  }

  /** The discriminator on (image, input); with a gradient arena, it computes its weights' gradients there. */
  private discriminator(image: GPUBuffer, gradients: GPUBuffer | undefined): NetworkPass {
    const { discriminator, config } = this.step.graphs;
    return new NetworkPass(this.device, discriminator, {
      batch: this.batch,
      params: this.step.d,
      inputs: {
        disc_input: { buffer: image, needsGrad: !gradients },
        disc_raw_input: { buffer: this.x, needsGrad: false },
      },
      gradients,
      seed: config.train.seed,
    });
  }

  private crossEntropy(pass: NetworkPass, cls: 0 | 1, weight: number, slot: number): Recording {
    const loss = new SoftmaxCrossEntropy(this.device, { rows: this.batch, cls, weight, slot });
    const [logits, p, dLogits] = [pass.head.buffer, this.buffer(this.batch * 2), pass.gradientOf(pass.head)];
    loss.bind({ logits, p, dLogits, losses: this.step.losses });
    return recording('softmax cross-entropy', pass.graph.name, (e) => loss.record(e));
  }

  /** The output activation and L1 term, its gradient joined by what the GAN term sent back through `dOnFake`. */
  private outputLoss(g: NetworkPass, dOnFake: NetworkPass, weight: number): OutputLoss {
    const activation = this.step.graphs.config.output.activation;
    const output = new OutputLoss(this.device, { count: this.fake.size / 4, activation, weight, slot: 0 });
    output.bind({
      pre: g.head.buffer,
      truth: this.y,
      dOut: dOnFake.inputGradient('disc_input'),
      out: this.fake,
      dPre: g.gradientOf(g.head),
      losses: this.step.losses,
    });
    return output;
  }

  bytes(): number {
    return this.passes.reduce((sum, p) => sum + p.bytes(), 0) + this.own.reduce((sum, b) => sum + b.size, 0);
  }

  destroy(): void {
    for (const p of this.passes) p.destroy();
    for (const b of this.own) b.destroy();
  }
}

export class CompiledStep {
  readonly g: Parameters;
  readonly d: Parameters;
  readonly adamG: FusedAdam;
  readonly adamD: FusedAdam;
  readonly losses: GPUBuffer;
  private readonly readback: GPUBuffer;
  private readonly plans = new Map<number, Plan>();

  constructor(
    readonly device: GPUDevice,
    readonly graphs: CompiledGraphs,
  ) {
    this.g = new Parameters(device, graphs.generator, 1);
    this.d = new Parameters(device, graphs.discriminator, 2);
    const { lr, beta1, beta2 } = graphs.config.train.optimizer;
    const settings = { lr, beta1, beta2, epsilon: 1e-8 };
    this.adamG = new FusedAdam(device, settings, this.g.count);
    this.adamG.bind({
      weights: this.g.weights,
      gradients: this.g.gradients[0],
      first: this.g.first,
      second: this.g.second,
    });
    this.adamD = new FusedAdam(device, settings, this.d.count, true);
    this.adamD.bind({
      weights: this.d.weights,
      gradients: this.d.gradients[0],
      gradients2: this.d.gradients[1],
      first: this.d.first,
      second: this.d.second,
    });
    this.losses = device.createBuffer({ size: 16, usage: storage() });
    this.readback = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ });
  }

  /** The plan of a batch size, built the first time (an epoch's last batch may be smaller). */
  plan(batch: number): Plan {
    let plan = this.plans.get(batch);
    if (!plan) this.plans.set(batch, (plan = new Plan(this.device, this, batch)));
    return plan;
  }

  /** GPU memory of the arenas and of every plan built so far, in bytes. */
  bytes(): number {
    const plans = [...this.plans.values()].reduce((sum, p) => sum + p.bytes(), 0);
    return this.g.bytes() + this.d.bytes() + plans + this.losses.size;
  }

  /** Dispatches in one step at this batch size. */
  dispatches(batch: number): number {
    let count = 0;
    const counter = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups: () => count++ };
    for (const r of this.plan(batch).recordings) r.record(counter as unknown as GPUComputePassEncoder);
    return count;
  }

  /**
   * One training step on a batch (inputs and targets in [-1, 1], NHWC) at training step `step` (which draws the
   * dropout masks): one submit, and the losses once the GPU has run it.
   */
  async step(
    x: Float32Array<ArrayBuffer>,
    y: Float32Array<ArrayBuffer>,
    batch: number,
    step: number,
  ): Promise<RawLosses> {
    const plan = this.plan(batch);
    const queue = this.device.queue;
    this.prepare(plan, x, y, step);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const r of plan.recordings) r.record(pass);
    pass.end();
    encoder.copyBufferToBuffer(this.losses, 0, this.readback, 0, 16);
    queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ);
    const [l1, gan, dFake, dReal] = new Float32Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    return { l1, gan, dFake, dReal };
  }

  /**
   * One step with each kernel in a compute pass of its own, timed by timestamp queries (the device needs the
   * `timestamp-query` feature): GPU milliseconds per recorded kernel, in the step's order.
   */
  async profile(
    x: Float32Array<ArrayBuffer>,
    y: Float32Array<ArrayBuffer>,
    batch: number,
    step: number,
  ): Promise<KernelTime[]> {
    if (!this.device.features.has('timestamp-query'))
      throw new Error('the device has no timestamp-query feature: kernels cannot be timed on it');
    const plan = this.plan(batch);
    const count = plan.recordings.length * 2;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count });
    const resolved = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    this.prepare(plan, x, y, step);
    const encoder = this.device.createCommandEncoder();
    plan.recordings.forEach((r, i) => {
      const timestampWrites = { querySet, beginningOfPassWriteIndex: 2 * i, endOfPassWriteIndex: 2 * i + 1 };
      const pass = encoder.beginComputePass({ timestampWrites });
      r.record(pass);
      pass.end();
    });
    encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
    encoder.copyBufferToBuffer(resolved, 0, read, 0, count * 8);
    this.device.queue.submit([encoder.finish()]);
    await read.mapAsync(GPUMapMode.READ);
    const times = new BigUint64Array(read.getMappedRange().slice(0));
    read.destroy();
    resolved.destroy();
    querySet.destroy();
    return plan.recordings.map((r, i) => ({
      kernel: r.kernel,
      layer: r.layer,
      ms: Number(times[2 * i + 1] - times[2 * i]) / 1e6,
    }));
  }

  /** Writes a step's inputs and its per-step uniforms (dropout's step, Adam's bias corrections). */
  private prepare(plan: Plan, x: Float32Array<ArrayBuffer>, y: Float32Array<ArrayBuffer>, step: number): void {
    this.device.queue.writeBuffer(plan.x, 0, x);
    this.device.queue.writeBuffer(plan.y, 0, y);
    for (const norm of plan.passes[0].batchNorms) norm.setStep(step);
    this.adamG.setStep();
    this.adamD.setStep();
  }

  destroy(): void {
    for (const p of this.plans.values()) p.destroy();
    this.g.destroy();
    this.d.destroy();
    this.losses.destroy();
    this.readback.destroy();
  }
}
