/// <reference types="@webgpu/types" />
// One network's forward and backward pass, compiled from its layer graph (the graph the hovers show) for one batch
// size. Walking the graph, each layer becomes kernels or nothing:
//   Conv2D (also inside TimeDistributed)     an implicit GEMM forward; input, filter and bias gradients
//   Conv2DTranspose                          the same three, as its adjoint Conv2D's (conv2dTranspose.ts)
//   BatchNormalization                       the fused kernel, taking in the activation and the dropout after it
//                                            when they are its only consumer; per patch position where the graph
//                                            says so, frozen or in inference where the pass says so
//   LeakyReLU, ReLU, UpSampling2D, Concatenate, the patches' Reshape/Permute/Reshape
//                                            nothing: a view that the next convolution folds into its gathers
//   Flatten                                  nothing: the same memory
//   Dense (softmax)                          a GEMM, then a row softmax (the last Dense's softmax is the loss's)
// Every tensor that is computed has a buffer and, for the backward pass, one gradient buffer per consumer that
// sends a gradient back (a U-Net encoder level has two when its skip is on); the backward pass adds them before
// the layer that produced the tensor uses them. The network's head (the generator's pre-activation output, the
// discriminator's last logits) is left to the step, which puts the loss on it.

import { dropoutStream } from '../../core/dropoutMask';
import type { LayerNode, LayerOp, ModelGraph } from '../../core/graph';
import type { Activation } from './activation';
import { FusedBatchNorm } from './batchNorm';
import {
  conv2dFilterGradient,
  conv2dForward,
  conv2dInputGradient,
  convGeometry,
  sourceBindings,
  type Conv2dShape,
  type ConvFilterGradientBinding,
  type ConvForwardBinding,
  type ConvInputGradientBinding,
} from './conv2d';
import {
  conv2dTransposeFilterGradient,
  conv2dTransposeForward,
  conv2dTransposeInputGradient,
  transposeGeometry,
} from './conv2dTranspose';
import { denseForward, denseInputGradient, denseWeightGradient, type DenseShape } from './dense';
import type { GemmOptions, Kernel } from './gemm';
import { Parameters, type KernelRanges } from './parameters';
import { checkBindable, UnsupportedGraph } from './layout';
import type { Allocator } from './pool';
import { AddInto, RowSoftmax } from './rows';

export interface Tensor {
  name: string;
  floats: number;
  buffer: GPUBuffer;
  /** Whether a gradient is sent back to it (network inputs may not need one). */
  needsGrad: boolean;
  /** Gradient buffers, one per consumer; the first receives the sum. */
  grads: GPUBuffer[];
}

/** What a layer's output is to its consumers: one or two tensors, seen through an activation, upsampling or tiles. */
interface View {
  sources: Tensor[];
  activation?: Activation;
  upsample: number;
  tiles?: number;
}

/** One kernel's dispatch, named for profiles ("conv2d forward", "unet_conv2D_3"). */
export interface Recording {
  kernel: string;
  layer: string;
  record(pass: GPUComputePassEncoder): void;
}

export const recording = (kernel: string, layer: string, record: Recording['record']): Recording => ({
  kernel,
  layer,
  record,
});

export interface PassOptions extends GemmOptions {
  batch: number;
  params: Parameters;
  /** The network's inputs by layer name: their buffers, and whether a gradient is wanted for them. */
  inputs: Record<string, { buffer: GPUBuffer; needsGrad: boolean }>;
  /** The arena that receives the weight gradients; without it the pass computes input gradients only. */
  gradients?: GPUBuffer;
  /** Where its buffers come from: a pool shared with the network's other passes, which never overlap it. */
  allocate: Allocator;
  /** The seed of the dropout masks (train.seed; each layer's stream adds its name: core/dropoutMask.ts). */
  seed: number;
  /**
   * BatchNorm: `training` (batch statistics, the moving ones updated), `frozen` (batch statistics, the moving ones
   * left alone: the seed's frozen discriminator) or `inference` (the moving statistics and no dropout: the seed's
   * `generator.predict`, a pass with no backward to record).
   */
  batchNorm?: 'training' | 'frozen' | 'inference';
}

const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * A network's pass, built in two steps: the constructor walks the graph (the forward kernels bound, the backward
 * ones waiting for their gradients), the step binds the gradient of the head (its loss, through `gradientOf`),
 * and `finishBackward()` then binds the backward kernels and the forward ones that share their bind groups. The
 * recordings and the inputs' gradients can be read only after that.
 */
export class NetworkPass {
  private readonly forwardList: Recording[] = [];
  private readonly backwardBuilders: (() => Recording[])[] = [];
  private backwardList: Recording[] | undefined;
  private readonly values = new Map<string, View>();
  private readonly consumers = new Map<string, LayerNode[]>();
  private readonly fused = new Set<string>();
  private headTensor: Tensor | undefined;
  private readonly batchNorms: FusedBatchNorm[] = [];
  private readonly gemm: GemmOptions;

  constructor(
    private readonly device: GPUDevice,
    readonly graph: ModelGraph,
    private readonly options: PassOptions,
  ) {
    this.gemm = { parallelism: options.parallelism, unrolled: options.unrolled };
    for (const node of graph.layers) {
      for (const from of node.inbound) this.consumers.set(from, [...(this.consumers.get(from) ?? []), node]);
    }
    const last = graph.layers[graph.layers.length - 1];
    for (const node of graph.layers) if (!this.fused.has(node.name)) this.layer(node, node === last);
  }

  /** The head: the last layer's output before its activation, where the step puts the loss. */
  get head(): Tensor {
    if (!this.headTensor) throw new UnsupportedGraph(`${this.graph.name} ends in neither an activation nor a Dense`);
    return this.headTensor;
  }

  /** A new gradient buffer of `t` for one consumer to write; only before `finishBackward()`, which sums them. */
  gradientOf(t: Tensor): GPUBuffer {
    if (this.backwardList)
      throw new Error(`compiled step: a gradient of ${t.name} bound after ${this.graph.name}'s finishBackward()`);
    const g = this.allocate(t.floats);
    t.grads.push(g);
    return g;
  }

  /**
   * Binds the backward pass, from the head's gradient (which the loss must have bound) to the inputs', and the
   * forward kernels that share their bind groups with it. Once, after the last `gradientOf`.
   */
  finishBackward(): void {
    if (this.backwardList) throw new Error(`compiled step: ${this.graph.name}'s finishBackward() called twice`);
    const list: Recording[] = [];
    for (let i = this.backwardBuilders.length - 1; i >= 0; i--) list.push(...this.backwardBuilders[i]());
    for (const [name, spec] of Object.entries(this.options.inputs)) {
      if (spec.needsGrad) list.push(...this.summed(this.plain(name)));
    }
    this.backwardList = list;
  }

  /** The forward pass's recordings, once `finishBackward()` has bound them all. */
  get forward(): Recording[] {
    this.finished('forward');
    return this.forwardList;
  }

  /** The backward pass's recordings, from the head's gradient to the inputs'. */
  get backward(): Recording[] {
    return this.finished('backward');
  }

  /** The gradient of a network input, complete after the backward pass. */
  inputGradient(name: string): GPUBuffer {
    this.finished(`the gradient of ${name}`);
    const t = this.plain(name);
    if (!t.grads.length) throw new Error(`compiled step: nothing sends a gradient to ${name}`);
    return t.grads[0];
  }

  /** The step whose dropout masks the next recorded passes draw (written before the step's submit). */
  setDropoutStep(step: number): void {
    for (const norm of this.batchNorms) norm.setStep(step);
  }

  private finished(what: string): Recording[] {
    if (!this.backwardList) throw new Error(`compiled step: ${this.graph.name}'s ${what} read before finishBackward()`);
    return this.backwardList;
  }

  private allocate(floats: number): GPUBuffer {
    const bytes = Math.max(16, floats * 4);
    checkBindable(this.device, bytes, `a tensor of ${this.graph.name} at batch ${this.options.batch}`);
    return this.options.allocate(bytes);
  }

  private tensor(name: string, floats: number): Tensor {
    return { name, floats, buffer: this.allocate(floats), needsGrad: true, grads: [] };
  }

  /** Adds a tensor's other gradients into its first, before its producer reads it. */
  private summed(t: Tensor): Recording[] {
    if (!t.grads.length) throw new Error(`compiled step: no gradient reaches ${t.name}`);
    return t.grads.slice(1).map((g) => {
      const add = new AddInto(this.device, t.floats, { a: t.grads[0], b: g });
      return recording('add gradients', t.name, (pass) => add.record(pass));
    });
  }

  private view(name: string): View {
    const v = this.values.get(name);
    if (!v) throw new Error(`compiled step: ${name} is used before it is computed`);
    return v;
  }

  /** A layer output that must be one tensor as it is in memory. */
  private plain(name: string): Tensor {
    const v = this.view(name);
    if (v.sources.length !== 1 || v.activation || v.upsample !== 1 || v.tiles)
      throw new UnsupportedGraph(
        `${name} is read as it is, but it is a view (an activation, upsampling, concatenation or patches)`,
      );
    return v.sources[0];
  }

  /** Images in the batch of a layer's input: the batch, times the patches inside TimeDistributed. */
  private images(node: LayerNode): number {
    return node.op.op === 'timeDistributed' ? this.options.batch * node.outputShape[0] : this.options.batch;
  }

  private layer(node: LayerNode, last: boolean): void {
    const op: LayerOp = node.op.op === 'timeDistributed' ? node.op.layer : node.op;
    switch (op.op) {
      case 'input':
        return this.input(node);
      case 'conv2d':
        return this.conv(node, op);
      case 'batchNorm':
        return this.batchNorm(node);
      case 'leakyRelu':
        return this.activation(node, { kind: 'leakyRelu', alpha: op.alpha });
      case 'activation':
        if (op.fn === 'relu') return this.activation(node, { kind: 'relu' });
        if (!last) throw new UnsupportedGraph(`${node.name}: a ${op.fn} activation inside the network`);
        this.headTensor = this.plain(node.inbound[0]);
        return;
      case 'upSampling': {
        const v = this.view(node.inbound[0]);
        if (v.upsample !== 1 || v.tiles) throw new UnsupportedGraph(`${node.name}: upsampling of a view`);
        this.values.set(node.name, { ...v, upsample: op.size });
        return;
      }
      case 'concat':
        return this.concat(node);
      case 'reshape':
      case 'permute':
        return this.patches(node, op);
      case 'flatten':
        this.values.set(node.name, { sources: [this.plain(node.inbound[0])], upsample: 1 });
        return;
      case 'dense':
        return this.dense(node, op, last);
      case 'dropout':
        throw new UnsupportedGraph(`${node.name}: a dropout that does not follow a BatchNormalization`);
    }
  }

  private input(node: LayerNode): void {
    const spec = this.options.inputs[node.name];
    if (!spec) throw new Error(`compiled step: no buffer for the input ${node.name}`);
    const floats = this.options.batch * product(node.outputShape);
    this.values.set(node.name, {
      sources: [{ name: node.name, floats, buffer: spec.buffer, needsGrad: spec.needsGrad, grads: [] }],
      upsample: 1,
    });
  }

  private activation(node: LayerNode, activation: Activation): void {
    const v = this.view(node.inbound[0]);
    if (v.activation || v.upsample !== 1) throw new UnsupportedGraph(`${node.name}: an activation of a view`);
    this.values.set(node.name, { ...v, activation });
  }

  private concat(node: LayerNode): void {
    const sources = node.inbound.map((name) => this.plain(name));
    if (sources.length !== 2) throw new UnsupportedGraph(`${node.name}: a concatenation of ${sources.length} tensors`);
    this.values.set(node.name, { sources, upsample: 1 });
  }

  /** Reshape (grid, p, grid, p, c), Permute (1, 3, 2, 4, 5), Reshape (grid^2, p, p, c): the patches, as a view. */
  private patches(node: LayerNode, op: Extract<LayerOp, { op: 'reshape' | 'permute' }>): void {
    const v = this.view(node.inbound[0]);
    const shape = node.outputShape;
    const consumer = this.consumers.get(node.name) ?? [];
    const tiled = op.op === 'reshape' && shape.length === 4 && consumer.every((c) => c.op.op === 'timeDistributed');
    const splitting = op.op === 'reshape' && shape.length === 5;
    const permuting = op.op === 'permute' && op.dims.join() === '1,3,2,4,5';
    if (!(tiled || splitting || permuting) || v.activation || v.upsample !== 1)
      throw new UnsupportedGraph(`${node.name}: a reshape that is not the discriminator's patches`);
    this.values.set(node.name, tiled ? { ...v, tiles: Math.round(Math.sqrt(shape[0])) } : v);
  }

  private conv(node: LayerNode, op: Extract<LayerOp, { op: 'conv2d' }>): void {
    const v = this.view(node.inbound[0]);
    const td = node.op.op === 'timeDistributed';
    const [height, width] = td ? node.outputShape.slice(1) : node.outputShape;
    const input = this.inputShape(node);
    const conv = convolution(
      this.device,
      {
        batch: this.images(node),
        height: input[0],
        width: input[1],
        inChannels: input[2],
        outChannels: op.filters,
        kernel: op.kernel,
        stride: op.strides,
        input: {
          split: v.sources.length === 2 ? this.channels(v.sources[0]) : undefined,
          upsample: v.upsample,
          tiles: v.tiles ? { across: v.tiles } : undefined,
          activation: v.activation,
        },
      },
      op.transpose,
      this.gemm,
    );
    if (conv.outHeight !== height || conv.outWidth !== width)
      throw new Error(`compiled step: ${node.name} computes ${conv.outHeight}x${conv.outWidth}`);
    const y = this.tensor(node.name, conv.pixels * op.filters);
    this.values.set(node.name, { sources: [y], upsample: 1 });
    const ranges = this.options.params.ranges(node.name, 'kernel');
    const weights = this.options.params.weights;
    const forward = conv.forward();
    forward.bind({
      ...sourceBindings(
        'x',
        v.sources.map((s) => s.buffer),
      ),
      w: Parameters.binding(weights, ranges.kernel),
      bias: Parameters.binding(weights, ranges.bias),
      y: y.buffer,
    });
    this.forwardList.push(recording(`${conv.kind} forward`, node.name, (pass) => forward.record(pass)));
    const dxs = v.sources.some((s) => s.needsGrad)
      ? v.sources.map((s) => (s.needsGrad ? this.gradientOf(s) : this.allocate(s.floats)))
      : [];
    this.backwardBuilders.push(() => this.convBackward(node.name, conv, v.sources, y, dxs, ranges));
  }

  /** The convolution's input gradient into `dxs` (none: no source wants one) and its weights' into the arena. */
  private convBackward(
    name: string,
    conv: Convolution,
    sources: Tensor[],
    y: Tensor,
    dxs: GPUBuffer[],
    ranges: KernelRanges,
  ): Recording[] {
    const list = this.summed(y);
    const dy = y.grads[0];
    const xs = sourceBindings(
      'x',
      sources.map((s) => s.buffer),
    );
    if (dxs.length) {
      const inputGradient = conv.inputGradient();
      const w = Parameters.binding(this.options.params.weights, ranges.kernel);
      inputGradient.bind({ ...xs, dy, w, ...sourceBindings('dx', dxs) });
      list.push(recording(`${conv.kind} input gradient`, name, (pass) => inputGradient.record(pass)));
    }
    const arena = this.options.gradients;
    if (arena) {
      const filter = conv.filterGradient();
      const [dw, db] = [Parameters.binding(arena, ranges.kernel), Parameters.binding(arena, ranges.bias)];
      filter.bind({ ...xs, dy, dw, db });
      list.push(recording(`${conv.kind} filter and bias gradient`, name, (pass) => filter.record(pass)));
    }
    return list;
  }

  /** The per-image shape a layer reads (inside TimeDistributed, without the patch dimension). */
  private inputShape(node: LayerNode): readonly number[] {
    const from = this.graph.layers.find((l) => l.name === node.inbound[0]);
    if (!from) throw new Error(`compiled step: ${node.name} reads ${node.inbound[0]}, which is not in the graph`);
    return node.op.op === 'timeDistributed' ? from.outputShape.slice(1) : from.outputShape;
  }

  /** Channels of one source of a concatenation: the last dimension of the layer that made it. */
  private channels(first: Tensor): number {
    const layer = this.graph.layers.find((l) => l.name === first.name);
    if (!layer) throw new UnsupportedGraph(`${first.name}: a concatenation of an intermediate tensor`);
    return layer.outputShape[layer.outputShape.length - 1];
  }

  /** The activation and the dropout a BatchNorm takes in (each when it is the only consumer), and the last of them. */
  private fusedAfter(node: LayerNode): {
    activation: Activation;
    dropout?: { rate: number; seed: number };
    end: LayerNode;
  } {
    let activation: Activation = { kind: 'linear' };
    let dropout: { rate: number; seed: number } | undefined;
    let end = node;
    const next = () => {
      const after = this.consumers.get(end.name) ?? [];
      return after.length === 1 ? after[0] : undefined;
    };
    const act = next();
    const inner = act && (act.op.op === 'timeDistributed' ? act.op.layer : act.op);
    if (act && inner && (inner.op === 'leakyRelu' || (inner.op === 'activation' && inner.fn === 'relu'))) {
      activation = inner.op === 'leakyRelu' ? { kind: 'leakyRelu', alpha: inner.alpha } : { kind: 'relu' };
      this.fused.add(act.name);
      end = act;
    }
    const drop = next();
    if (drop && drop.op.op === 'dropout') {
      // Inference keeps every element.
      if (this.options.batchNorm !== 'inference')
        dropout = { rate: drop.op.rate, seed: dropoutStream(this.options.seed, drop.name) };
      this.fused.add(drop.name);
      end = drop;
    }
    return { activation, dropout, end };
  }

  private batchNorm(node: LayerNode): void {
    const x = this.plain(node.inbound[0]);
    const channels = node.outputShape[node.outputShape.length - 1];
    const mode = this.options.batchNorm ?? 'training';
    const { activation, dropout, end } = this.fusedAfter(node);
    const y = this.tensor(end.name, x.floats);
    for (const name of new Set([node.name, end.name])) this.values.set(name, { sources: [y], upsample: 1 });
    const perPatch = node.op.op === 'timeDistributed' && node.op.layer.op === 'batchNorm' && node.op.layer.perPatch;
    const patches =
      perPatch && mode !== 'inference'
        ? { count: node.outputShape[0], pixels: node.outputShape[1] * node.outputShape[2] }
        : undefined;
    const norm = new FusedBatchNorm(this.device, {
      positions: x.floats / channels,
      channels,
      epsilon: 1e-3,
      momentum: mode === 'frozen' ? 1 : 0.99,
      activation,
      dropout,
      patches,
      mode: mode === 'inference' ? 'inference' : 'training',
    });
    this.batchNorms.push(norm);
    this.forwardList.push(recording('batch norm forward', node.name, (pass) => norm.recordForward(pass)));
    const { gb, moving } = this.options.params.ranges(node.name, 'batchNorm');
    const params = this.options.params;
    const dx = this.gradientOf(x);
    const stats = this.allocate(channels * 4 * (patches?.count ?? 1));
    // The forward kernels share one bind group with the backward ones, which needs dy: bound by finishBackward().
    this.backwardBuilders.push(() => {
      const list = this.summed(y);
      const dgb = this.options.gradients ? Parameters.binding(this.options.gradients, gb) : this.allocate(gb.count);
      norm.bind({
        x: x.buffer,
        gb: Parameters.binding(params.weights, gb),
        stats,
        y: y.buffer,
        dy: y.grads[0],
        dx,
        dgb,
        moving: Parameters.binding(params.moving, moving),
      });
      list.push(recording('batch norm backward', node.name, (pass) => norm.recordBackward(pass)));
      return list;
    });
  }

  private dense(node: LayerNode, op: Extract<LayerOp, { op: 'dense' }>, last: boolean): void {
    const x = this.plain(node.inbound[0]);
    const rows = this.images(node);
    const shape = { rows, inputs: x.floats / rows, units: op.units };
    const z = this.tensor(node.name, rows * op.units);
    const ranges = this.options.params.ranges(node.name, 'kernel');
    const weights = this.options.params.weights;
    const forward = denseForward(this.device, shape, this.gemm);
    const [w, bias] = [Parameters.binding(weights, ranges.kernel), Parameters.binding(weights, ranges.bias)];
    forward.bind({ x: x.buffer, w, bias, y: z.buffer });
    this.forwardList.push(recording('dense forward', node.name, (pass) => forward.record(pass)));
    const dx = x.needsGrad ? this.gradientOf(x) : undefined;
    this.backwardBuilders.push(() => this.denseBackward(node.name, shape, { x, z, dx }, ranges));
    let out = z;
    if (op.activation === 'softmax' && !last) {
      const q = this.tensor(`${node.name}:softmax`, z.floats);
      const softmax = new RowSoftmax(this.device, { rows, units: op.units });
      this.forwardList.push(recording('softmax forward', node.name, (pass) => softmax.recordForward(pass)));
      const dz = this.gradientOf(z);
      this.backwardBuilders.push(() => {
        softmax.bind({ z: z.buffer, q: q.buffer, dq: q.grads[0], dz });
        return [...this.summed(q), recording('softmax backward', node.name, (pass) => softmax.recordBackward(pass))];
      });
      out = q;
    } else if (last) {
      this.headTensor = z;
    } else if (op.activation !== 'linear') {
      throw new UnsupportedGraph(`${node.name}: a Dense with a ${op.activation} activation`);
    }
    this.values.set(node.name, { sources: [out], upsample: 1 });
  }

  /** The Dense's input gradient into `dx` (absent: none wanted) and its weights' into the arena. */
  private denseBackward(
    name: string,
    shape: DenseShape,
    { x, z, dx }: { x: Tensor; z: Tensor; dx: GPUBuffer | undefined },
    ranges: KernelRanges,
  ): Recording[] {
    const list = this.summed(z);
    const dz = z.grads[0];
    if (dx) {
      const inputGradient = denseInputGradient(this.device, shape, this.gemm);
      inputGradient.bind({ dy: dz, w: Parameters.binding(this.options.params.weights, ranges.kernel), dx });
      list.push(recording('dense input gradient', name, (pass) => inputGradient.record(pass)));
    }
    const arena = this.options.gradients;
    if (arena) {
      const weightGradient = denseWeightGradient(this.device, shape, this.gemm);
      const [dw, db] = [Parameters.binding(arena, ranges.kernel), Parameters.binding(arena, ranges.bias)];
      weightGradient.bind({ x: x.buffer, dy: dz, dw, db });
      list.push(recording('dense weight and bias gradient', name, (pass) => weightGradient.record(pass)));
    }
    return list;
  }
}

/** A Conv2D's or a Conv2DTranspose's output size and kernels, made when the pass binds them. */
interface Convolution {
  kind: 'conv2d' | 'conv2d transpose';
  outHeight: number;
  outWidth: number;
  /** Output pixels over the batch. */
  pixels: number;
  forward(): Kernel<ConvForwardBinding>;
  inputGradient(): Kernel<ConvInputGradientBinding>;
  filterGradient(): Kernel<ConvFilterGradientBinding>;
}

function convolution(device: GPUDevice, shape: Conv2dShape, transpose: boolean, gemm: GemmOptions): Convolution {
  if (transpose) {
    const g = transposeGeometry(shape);
    return {
      kind: 'conv2d transpose',
      outHeight: shape.height * shape.stride,
      outWidth: shape.width * shape.stride,
      pixels: g.pixels,
      forward: () => conv2dTransposeForward(device, g, gemm),
      inputGradient: () => conv2dTransposeInputGradient(device, g, gemm),
      filterGradient: () => conv2dTransposeFilterGradient(device, g, gemm),
    };
  }
  const g = convGeometry(shape);
  return {
    kind: 'conv2d',
    outHeight: g.uniforms.outHeight,
    outWidth: g.uniforms.outWidth,
    pixels: g.pixels,
    forward: () => conv2dForward(device, g, gemm),
    inputGradient: () => conv2dInputGradient(device, g, gemm),
    filterGradient: () => conv2dFilterGradient(device, g, gemm),
  };
}
