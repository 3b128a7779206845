/// <reference types="@webgpu/types" />
// The compiled pix2pix training step: both networks' passes built once per batch size from the layer graphs, all
// buffers, pipelines and bind groups made then, and each step recorded into one command encoder, submitted once,
// with the four losses read back in one small copy. The order is tfjs's (pix2pix.ts `trainStep`), by `train.loop`:
//   paper  the generator forward, its output activation; the discriminator on (fake, input) and on (real, input),
//          each with its loss and backward into a gradient arena of its own; Adam on the discriminator's arena
//          over the sum of the two; the discriminator (updated) on (fake, input), its loss (real) and backward to
//          the fake; the L1 term and the generator's backward; Adam on the generator's arena
//   seed   the discriminator's update first, on (real, input), or on (generated, input) with the generated batch
//          from a forward pass of the generator in inference mode; Adam on the discriminator; then the generator
//          on its own batch through the frozen discriminator (batch statistics, moving ones unchanged), as above
// The discriminator's BatchNorm moving statistics are updated by each of its passes in training mode, as
// tfjs-layers updates them on each call.

import type { ModelPlan } from '../../core/modelPlan';
import { FusedAdam } from './adam';
import {
  GENERATED_TARGET,
  REAL_TARGET,
  l1ChannelSum,
  realTarget,
  type DiscriminatorSees,
  type StepImages,
  type Target,
} from '../../core/trainingLoop';
import { OutputLoss, SoftmaxCrossEntropy } from './loss';
import { Parameters } from './parameters';
import { checkBindable } from './layout';
import { BufferPool } from './pool';
import { NetworkPass, recording, type PassOptions, type Recording } from './pass';

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

export interface StepMemory {
  arenas: number;
  generatorPasses: number;
  discriminatorPasses: number;
  plans: number;
  total: number;
  unshared: number;
}

export interface StepOptions {
  /**
   * The workgroups the device runs at once, roughly (gemm.ts `GemmOptions`): a few hundred on a GPU, 1 on a
   * software adapter (one workgroup per CPU thread, where splitting a product along K only adds work). Absent: 1.
   */
  parallelism?: number;
  /** Whether the GEMMs' k-steps are unrolled (gemm.ts `GemmOptions`). Absent: true. */
  unrolled?: boolean;
}

/** A network's pass at a batch size: the generator on `input`, or the discriminator on (`image`, `input`). */
type PassSpec = {
  batch: number;
  /** The arena of its weights' gradients; without one it computes input gradients only (the discriminator's image). */
  gradients?: GPUBuffer;
  batchNorm?: PassOptions['batchNorm'];
  input: GPUBuffer;
} & ({ net: 'generator' } | { net: 'discriminator'; image: GPUBuffer });

/** Everything one pair of batch sizes needs: the inputs, the passes, the losses and each kind of step's recordings. */
class Plan {
  readonly x: GPUBuffer;
  readonly y: GPUBuffer;
  readonly gx: GPUBuffer;
  readonly gy: GPUBuffer;
  /** The generator's output in its update. */
  readonly fake: GPUBuffer;
  readonly passes: NetworkPass[] = [];
  /** The generator's training pass, whose dropout masks each step draws. */
  readonly generator: NetworkPass;
  readonly recordings: Partial<Record<DiscriminatorSees, Recording[]>> = {};
  private readonly own: GPUBuffer[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly step: CompiledStep,
    readonly batch: number,
    readonly gBatch: number,
  ) {
    const { config } = step.graphs;
    const paper = config.train.loop === 'paper';
    const floats = (b: number, channels: number) => b * config.input.size ** 2 * channels;
    this.x = this.buffer(floats(batch, config.input.channels));
    this.y = this.buffer(floats(batch, config.output.channels));
    this.gx = paper ? this.x : this.buffer(floats(gBatch, config.input.channels));
    this.gy = paper ? this.y : this.buffer(floats(gBatch, config.output.channels));
    this.fake = this.buffer(floats(gBatch, config.output.channels));
    this.generator = this.pass({ net: 'generator', input: this.gx, batch: gBatch, gradients: step.g.gradients[0] });
    const update = this.generatorUpdate();
    if (paper) {
      this.recordings.both = this.paperStep(update);
    } else {
      const generated = this.predicted();
      for (const [sees, image] of [
        ['real', this.y],
        ['generated', generated.out],
      ] as const) {
        const prediction = sees === 'generated' ? generated.recordings : [];
        this.recordings[sees] = [
          ...prediction,
          ...this.discriminatorUpdate(image, sees),
          ...update.forward,
          ...update.rest,
        ];
      }
    }
  }

  private buffer(floats: number): GPUBuffer {
    checkBindable(this.device, floats * 4, `an input or output batch of ${this.batch}`);
    const b = this.device.createBuffer({ size: floats * 4, usage: storage() });
    this.own.push(b);
    return b;
  }

  /** A network's pass; the step binds its head's gradient (the loss) and then calls its `finishBackward()`. */
  private pass(spec: PassSpec): NetworkPass {
    const { generator, discriminator, config } = this.step.graphs;
    const inputs: PassOptions['inputs'] =
      spec.net === 'generator'
        ? { unet_input: { buffer: spec.input, needsGrad: false } }
        : {
            disc_input: { buffer: spec.image, needsGrad: !spec.gradients },
            disc_raw_input: { buffer: spec.input, needsGrad: false },
          };
    const pass = new NetworkPass(this.device, spec.net === 'generator' ? generator : discriminator, {
      batch: spec.batch,
      params: spec.net === 'generator' ? this.step.g : this.step.d,
      inputs,
      gradients: spec.gradients,
      seed: config.train.seed,
      batchNorm: spec.batchNorm,
      parallelism: this.step.parallelism,
      unrolled: this.step.unrolled,
      allocate: this.step.pools[spec.net].member(),
    });
    this.passes.push(pass);
    return pass;
  }

  /**
   * The generator's update: its forward pass and output activation, then the discriminator on the fake, the GAN
   * term (real) sent back through it, the L1 term, the generator's backward and Adam. The paper's loop records the
   * discriminator's update between the two parts.
   */
  private generatorUpdate(): { forward: Recording[]; rest: Recording[] } {
    const { config, generator } = this.step.graphs;
    const g = this.generator;
    const batchNorm = config.train.loop === 'seed' ? 'frozen' : 'training';
    const dOnFake = this.pass({
      net: 'discriminator',
      input: this.gx,
      image: this.fake,
      batch: this.gBatch,
      batchNorm,
    });
    const ganLoss = this.crossEntropy(dOnFake, this.gBatch, REAL_TARGET, config.train.loss.gan, 1);
    dOnFake.finishBackward();
    // The GAN term's gradient of the fake joins the L1 term's, which starts the generator's backward pass.
    const output = this.outputLoss(g, this.gy, this.fake, dOnFake.inputGradient('disc_input'));
    g.finishBackward();
    return {
      forward: [...g.forward, recording('output activation', 'last_conv', (p) => output.recordForward(p))],
      rest: [
        ...dOnFake.forward,
        ganLoss,
        ...dOnFake.backward,
        recording('output L1 and gradient', 'last_conv', (p) => output.recordBackward(p)),
        ...g.backward,
        recording('adam', generator.name, (p) => this.step.adamG.record(p)),
      ],
    };
  }

  /** The paper's step: the discriminator on the fake and the real pair of the batch, then the generator's update. */
  private paperStep({ forward, rest }: { forward: Recording[]; rest: Recording[] }): Recording[] {
    const { config, discriminator } = this.step.graphs;
    const [d0, d1] = this.step.d.gradients;
    const on = (image: GPUBuffer, gradients: GPUBuffer) =>
      this.pass({ net: 'discriminator', input: this.x, image, batch: this.batch, gradients });
    const [dFake, dReal] = [on(this.fake, d0), on(this.y, d1)];
    const fakeLoss = this.crossEntropy(dFake, this.batch, GENERATED_TARGET, 0.5, 2);
    const realLoss = this.crossEntropy(dReal, this.batch, realTarget(config.train.loss.realLabel), 0.5, 3);
    dFake.finishBackward();
    dReal.finishBackward();
    return [
      ...forward,
      ...dFake.forward,
      fakeLoss,
      ...dFake.backward,
      ...dReal.forward,
      realLoss,
      ...dReal.backward,
      recording('adam', discriminator.name, (p) => this.step.adamD.record(p)),
      ...rest,
    ];
  }

  /** The seed's discriminator update on one batch, real (`y`) or generated, with its loss in slot 3 or 2. */
  private discriminatorUpdate(image: GPUBuffer, sees: 'real' | 'generated'): Recording[] {
    const { config, discriminator } = this.step.graphs;
    const d = this.pass({
      net: 'discriminator',
      input: this.x,
      image,
      batch: this.batch,
      gradients: this.step.d.gradients[0],
    });
    const loss =
      sees === 'real'
        ? this.crossEntropy(d, this.batch, realTarget(config.train.loss.realLabel), 1, 3)
        : this.crossEntropy(d, this.batch, GENERATED_TARGET, 1, 2);
    d.finishBackward();
    return [...d.forward, loss, ...d.backward, recording('adam', discriminator.name, (p) => this.step.adamD.record(p))];
  }

  /** The generator in inference mode on the discriminator's batch (the seed's `generator.predict`) into `out`. */
  private predicted(): { out: GPUBuffer; recordings: Recording[] } {
    const { config } = this.step.graphs;
    const out = this.buffer(this.batch * config.input.size ** 2 * config.output.channels);
    const g = this.pass({ net: 'generator', input: this.x, batch: this.batch, batchNorm: 'inference' });
    const output = this.outputLoss(g, this.y, out, this.buffer(out.size / 4));
    g.finishBackward(); // its backward is never recorded, but its BatchNorms' forward shares their bind groups
    return {
      out,
      recordings: [...g.forward, recording('output activation', 'last_conv', (p) => output.recordForward(p))],
    };
  }

  private crossEntropy(pass: NetworkPass, rows: number, target: Target, weight: number, slot: number): Recording {
    const loss = new SoftmaxCrossEntropy(this.device, { rows, target, weight, slot });
    const [logits, p, dLogits] = [pass.head.buffer, this.buffer(rows * 2), pass.gradientOf(pass.head)];
    loss.bind({ logits, p, dLogits, losses: this.step.losses });
    return recording('softmax cross-entropy', pass.graph.name, (e) => loss.record(e));
  }

  /** The output activation of `g` into `out` and the L1 term against `truth`, its gradient joined by `dOut` (the GAN term's). */
  private outputLoss(g: NetworkPass, truth: GPUBuffer, out: GPUBuffer, dOut: GPUBuffer): OutputLoss {
    const { activation, channels } = this.step.graphs.config.output;
    const { l1, l1Reduction } = this.step.graphs.config.train.loss;
    const output = new OutputLoss(this.device, {
      count: out.size / 4,
      activation,
      weight: l1,
      slot: 0,
      channelSum: l1ChannelSum(l1Reduction, channels),
    });
    output.bind({ pre: g.head.buffer, truth, dOut, out, dPre: g.gradientOf(g.head), losses: this.step.losses });
    return output;
  }

  /** Bytes of the plan's own buffers (its passes' are in the step's pools). */
  bytes(): number {
    return this.own.reduce((sum, b) => sum + b.size, 0);
  }

  destroy(): void {
    for (const b of this.own) b.destroy();
  }
}

export class CompiledStep {
  readonly g: Parameters;
  readonly d: Parameters;
  readonly adamG: FusedAdam;
  readonly adamD: FusedAdam;
  readonly losses: GPUBuffer;
  /** How the GEMMs of every plan fill the device (`StepOptions`). */
  readonly parallelism: number;
  readonly unrolled: boolean;
  private readonly readback: GPUBuffer;
  private readonly plans = new Map<string, Plan>();
  /**
   * Each network's passes, of every plan, share one pool (pool.ts): no two of them overlap within a step, and
   * steps (of one plan or another) run one after the other.
   */
  readonly pools: Record<'generator' | 'discriminator', BufferPool>;

  constructor(
    readonly device: GPUDevice,
    readonly graphs: ModelPlan,
    options: StepOptions = {},
  ) {
    this.parallelism = options.parallelism ?? 1;
    this.unrolled = options.unrolled ?? true;
    this.pools = { generator: new BufferPool(device), discriminator: new BufferPool(device) };
    this.g = new Parameters(device, graphs.generator, 1);
    // The paper's discriminator update sums the gradients of two passes; the seed's makes one.
    const paper = graphs.config.train.loop === 'paper';
    this.d = new Parameters(device, graphs.discriminator, paper ? 2 : 1);
    const { lr, beta1, beta2 } = graphs.config.train.optimizer;
    const settings = { lr, beta1, beta2, epsilon: 1e-8 };
    this.adamG = new FusedAdam(device, settings, this.g.count);
    this.adamG.bind({
      weights: this.g.weights,
      gradients: this.g.gradients[0],
      first: this.g.first,
      second: this.g.second,
    });
    this.adamD = new FusedAdam(device, settings, this.d.count, paper);
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

  /**
   * The plan of the discriminator's and the generator's batch sizes (the same in the paper's loop), built the first
   * time (an epoch's last batch may be smaller).
   */
  plan(batch: number, gBatch = batch): Plan {
    const key = `${batch}/${gBatch}`;
    let plan = this.plans.get(key);
    if (!plan) this.plans.set(key, (plan = new Plan(this.device, this, batch, gBatch)));
    return plan;
  }

  /** GPU memory of the arenas and of every plan built so far, in bytes. */
  bytes(): number {
    return this.memory().total;
  }

  /**
   * GPU memory by part: the arenas, each network's pool of pass buffers, and the plans' own (inputs, losses); and
   * `unshared`, the total with a buffer of its own for every pass's every tensor (before the pools).
   */
  memory(): StepMemory {
    const arenas = this.g.bytes() + this.d.bytes() + this.losses.size;
    const plans = [...this.plans.values()].reduce((sum, p) => sum + p.bytes(), 0);
    const { generator, discriminator } = this.pools;
    const [generatorPasses, discriminatorPasses] = [generator.bytes(), discriminator.bytes()];
    const total = arenas + generatorPasses + discriminatorPasses + plans;
    const unshared = arenas + generator.requested() + discriminator.requested() + plans;
    return { arenas, generatorPasses, discriminatorPasses, plans, total, unshared };
  }

  /** Dispatches in one step at this batch size (the most of the loop's kinds of step). */
  dispatches(batch: number): number {
    const counts = Object.values(this.plan(batch).recordings).map((list) => {
      let count = 0;
      const counter = { setPipeline() {}, setBindGroup() {}, dispatchWorkgroups: () => count++ };
      for (const r of list) r.record(counter as unknown as GPUComputePassEncoder);
      return count;
    });
    return Math.max(...counts);
  }

  /**
   * One training step on a step's images at training step `step` (which draws the dropout masks): one submit, and
   * the losses once the GPU has run it (the discriminator's that the step did not compute are left as they were).
   */
  async step(images: StepImages, step: number): Promise<RawLosses> {
    const recordings = this.prepare(images, step);
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    for (const r of recordings) r.record(pass);
    pass.end();
    encoder.copyBufferToBuffer(this.losses, 0, this.readback, 0, 16);
    this.device.queue.submit([encoder.finish()]);
    await this.readback.mapAsync(GPUMapMode.READ);
    const [l1, gan, dFake, dReal] = new Float32Array(this.readback.getMappedRange().slice(0));
    this.readback.unmap();
    return { l1, gan, dFake, dReal };
  }

  /**
   * One step with each kernel in a compute pass of its own, timed by timestamp queries (the device needs the
   * `timestamp-query` feature): GPU milliseconds per recorded kernel, in the step's order.
   */
  async profile(images: StepImages, step: number): Promise<KernelTime[]> {
    if (!this.device.features.has('timestamp-query'))
      throw new Error('the device has no timestamp-query feature: kernels cannot be timed on it');
    const recordings = this.prepare(images, step);
    const count = recordings.length * 2;
    const querySet = this.device.createQuerySet({ type: 'timestamp', count });
    const resolved = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const read = this.device.createBuffer({
      size: count * 8,
      usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.MAP_READ,
    });
    const encoder = this.device.createCommandEncoder();
    recordings.forEach((r, i) => {
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
    return recordings.map((r, i) => ({
      kernel: r.kernel,
      layer: r.layer,
      ms: Number(times[2 * i + 1] - times[2 * i]) / 1e6,
    }));
  }

  /** Writes a step's images and its per-step uniforms (dropout's step, Adam's bias corrections): its recordings. */
  private prepare(images: StepImages, step: number): Recording[] {
    const plan = this.plan(images.batch, images.gBatch);
    const recordings = plan.recordings[images.sees];
    if (!recordings)
      throw new Error(`compiled step: train.loop ${this.graphs.config.train.loop} has no ${images.sees} step`);
    const queue = this.device.queue;
    queue.writeBuffer(plan.x, 0, images.x);
    queue.writeBuffer(plan.y, 0, images.y);
    if (plan.gx !== plan.x) queue.writeBuffer(plan.gx, 0, images.gx);
    if (plan.gy !== plan.y) queue.writeBuffer(plan.gy, 0, images.gy);
    plan.generator.setDropoutStep(step);
    this.adamG.setStep();
    this.adamD.setStep();
    return recordings;
  }

  destroy(): void {
    for (const p of this.plans.values()) p.destroy();
    this.pools.generator.destroy();
    this.pools.discriminator.destroy();
    this.g.destroy();
    this.d.destroy();
    this.losses.destroy();
    this.readback.destroy();
  }
}
