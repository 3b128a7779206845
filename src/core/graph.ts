// The layer graph: every Keras layer of the generator and the discriminator, in creation order, with Keras's
// auto-names, output shapes and parameter counts, plus what Keras does not show (MACs, activation memory,
// skip sources). A pure function of the resolved config; the summary, the hovers and the tfjs builder read it.

import type { OutputActivation, ResolvedConfig } from './config';

/** Output shape without the batch dimension. */
export type Shape = readonly number[];

export type LayerOp =
  | { op: 'input' }
  | { op: 'conv2d'; filters: number; kernel: number; strides: number; transpose: boolean }
  | { op: 'batchNorm' }
  | { op: 'leakyRelu'; alpha: number }
  | { op: 'activation'; fn: 'relu' | OutputActivation }
  | { op: 'upSampling'; size: number }
  | { op: 'dropout'; rate: number }
  | { op: 'concat' }
  | { op: 'reshape'; target: Shape }
  | { op: 'permute'; dims: readonly number[] }
  | { op: 'flatten' }
  | { op: 'dense'; units: number; activation: 'softmax' | 'linear' }
  | { op: 'timeDistributed'; layer: Exclude<LayerOp, { op: 'timeDistributed' | 'input' }> };

export type Part = 'input' | 'encoder' | 'decoder' | 'output' | 'patches' | 'trunk' | 'head';

export interface SkipInfo {
  /** The encoder layer whose output is concatenated. */
  from: string;
  encoderLevel: number;
  upChannels: number;
  skipChannels: number;
}

export interface LayerNode {
  name: string;
  /** Keras class name, as in the summary's "(type)" column. */
  className: string;
  op: LayerOp;
  outputShape: Shape;
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  /** Multiply-accumulates per sample (convolutions and dense layers). */
  macs: number;
  /** float32 bytes of this layer's output per sample. */
  activationBytes: number;
  inbound: string[];
  part: Part;
  /** Encoder level (1 = full resolution) or decoder level (1 = deepest). */
  level?: number;
  skip?: SkipInfo;
}

export interface Totals {
  params: number;
  trainableParams: number;
  nonTrainableParams: number;
  macs: number;
  activationBytes: number;
}

export interface ModelGraph {
  /** Keras model name. */
  name: string;
  part: 'generator' | 'discriminator';
  layers: LayerNode[];
  totals: Totals;
}

const KERAS_PREFIX: Record<string, string> = {
  InputLayer: 'input',
  Conv2D: 'conv2d',
  Conv2DTranspose: 'conv2d_transpose',
  BatchNormalization: 'batch_normalization',
  LeakyReLU: 'leaky_re_lu',
  Activation: 'activation',
  UpSampling2D: 'up_sampling2d',
  Dropout: 'dropout',
  Concatenate: 'concatenate',
  Reshape: 'reshape',
  Permute: 'permute',
  Flatten: 'flatten',
  Dense: 'dense',
  TimeDistributed: 'time_distributed',
};

function className(op: LayerOp): string {
  switch (op.op) {
    case 'input':
      return 'InputLayer';
    case 'conv2d':
      return op.transpose ? 'Conv2DTranspose' : 'Conv2D';
    case 'batchNorm':
      return 'BatchNormalization';
    case 'leakyRelu':
      return 'LeakyReLU';
    case 'activation':
      return 'Activation';
    case 'upSampling':
      return 'UpSampling2D';
    case 'dropout':
      return 'Dropout';
    case 'concat':
      return 'Concatenate';
    case 'reshape':
      return 'Reshape';
    case 'permute':
      return 'Permute';
    case 'flatten':
      return 'Flatten';
    case 'dense':
      return 'Dense';
    case 'timeDistributed':
      return 'TimeDistributed';
  }
}

interface Computed {
  shape: Shape;
  trainable: number;
  nonTrainable: number;
  macs: number;
}

const product = (s: Shape) => s.reduce((a, b) => a * b, 1);

/** Output shape, weights and MACs of one op on its input shapes, as Keras computes them ('same' padding). */
export function computeLayer(op: LayerOp, inputs: readonly Shape[]): Computed {
  const x = inputs[0] ?? [];
  const c = x[x.length - 1] ?? 0;
  switch (op.op) {
    case 'input':
      return { shape: x, trainable: 0, nonTrainable: 0, macs: 0 };
    case 'conv2d': {
      const [h, w] = x;
      const shape = op.transpose ? [h * op.strides, w * op.strides, op.filters] : [Math.ceil(h / op.strides), Math.ceil(w / op.strides), op.filters];
      const kk = op.kernel * op.kernel * c * op.filters;
      const macs = op.transpose ? h * w * kk : shape[0] * shape[1] * kk;
      return { shape, trainable: kk + op.filters, nonTrainable: 0, macs };
    }
    case 'batchNorm':
      return { shape: x, trainable: 2 * c, nonTrainable: 2 * c, macs: 0 };
    case 'leakyRelu':
    case 'activation':
    case 'dropout':
      return { shape: x, trainable: 0, nonTrainable: 0, macs: 0 };
    case 'upSampling':
      return { shape: [x[0] * op.size, x[1] * op.size, c], trainable: 0, nonTrainable: 0, macs: 0 };
    case 'concat': {
      const channels = inputs.reduce((sum, s) => sum + s[s.length - 1], 0);
      return { shape: [...x.slice(0, -1), channels], trainable: 0, nonTrainable: 0, macs: 0 };
    }
    case 'reshape':
      return { shape: op.target, trainable: 0, nonTrainable: 0, macs: 0 };
    case 'permute':
      return { shape: op.dims.map((d) => x[d - 1]), trainable: 0, nonTrainable: 0, macs: 0 };
    case 'flatten':
      return { shape: [product(x)], trainable: 0, nonTrainable: 0, macs: 0 };
    case 'dense':
      return { shape: [...x.slice(0, -1), op.units], trainable: c * op.units + op.units, nonTrainable: 0, macs: product(x.slice(0, -1)) * c * op.units };
    case 'timeDistributed': {
      const inner = computeLayer(op.layer, [x.slice(1)]);
      return { shape: [x[0], ...inner.shape], trainable: inner.trainable, nonTrainable: inner.nonTrainable, macs: x[0] * inner.macs };
    }
  }
}

class GraphBuilder {
  readonly layers: LayerNode[] = [];
  private readonly counters = new Map<string, number>();
  private readonly shapes = new Map<string, Shape>();

  constructor(readonly name: string, readonly part: ModelGraph['part']) {}

  /** Adds a layer; without `name` it gets Keras's auto-name (`batch_normalization_3`). */
  add(op: LayerOp, inbound: string[], meta: { part: Part; level?: number; name?: string; inputShape?: Shape; skip?: SkipInfo }): string {
    const cls = className(op);
    let name = meta.name;
    if (!name) {
      const prefix = op.op === 'timeDistributed' ? KERAS_PREFIX.TimeDistributed : KERAS_PREFIX[cls];
      const n = (this.counters.get(prefix) ?? 0) + 1;
      this.counters.set(prefix, n);
      name = `${prefix}_${n}`;
    }
    const inputs = meta.inputShape ? [meta.inputShape] : inbound.map((i) => this.shapeOf(i));
    const r = computeLayer(op, inputs);
    this.shapes.set(name, r.shape);
    this.layers.push({
      name,
      className: cls,
      op,
      outputShape: r.shape,
      params: r.trainable + r.nonTrainable,
      trainableParams: r.trainable,
      nonTrainableParams: r.nonTrainable,
      macs: r.macs,
      activationBytes: product(r.shape) * 4,
      inbound,
      part: meta.part,
      level: meta.level,
      skip: meta.skip,
    });
    return name;
  }

  shapeOf(name: string): Shape {
    const s = this.shapes.get(name);
    if (!s) throw new Error(`internal: unknown layer ${name}`);
    return s;
  }

  build(): ModelGraph {
    const totals: Totals = { params: 0, trainableParams: 0, nonTrainableParams: 0, macs: 0, activationBytes: 0 };
    for (const l of this.layers) {
      totals.params += l.params;
      totals.trainableParams += l.trainableParams;
      totals.nonTrainableParams += l.nonTrainableParams;
      totals.macs += l.macs;
      totals.activationBytes += l.activationBytes;
    }
    return { name: this.name, part: this.part, layers: this.layers, totals };
  }
}

/** Keras `generator_unet_upsampling` / `generator_unet_deconv`, generalised by the DSL. */
export function generatorGraph(config: ResolvedConfig): ModelGraph {
  const g = config.generator;
  const { size, channels } = config.input;
  const b = new GraphBuilder(g.upsampling === 'transpose' ? 'generator_unet_deconv' : 'generator_unet_upsampling', 'generator');
  const conv = (filters: number, strides: number, transpose = false): LayerOp => ({ op: 'conv2d', filters, kernel: g.kernel, strides, transpose });

  let x = b.add({ op: 'input' }, [], { part: 'input', name: 'unet_input', inputShape: [size, size, channels] });
  const encoderOut: string[] = [];
  for (let i = 1; i <= g.levels; i++) {
    if (i > 1) x = b.add({ op: 'leakyRelu', alpha: 0.2 }, [x], { part: 'encoder', level: i });
    x = b.add(conv(g.encoderFilters[i - 1], 2), [x], { part: 'encoder', level: i, name: `unet_conv2D_${i}` });
    if (i > 1) x = b.add({ op: 'batchNorm' }, [x], { part: 'encoder', level: i });
    encoderOut.push(x);
  }

  const transpose = g.upsampling === 'transpose';
  for (const d of g.decoder) {
    const meta = { part: 'decoder' as const, level: d.level };
    x = b.add({ op: 'activation', fn: 'relu' }, [x], meta);
    if (transpose) {
      x = b.add(conv(d.filters, 2, true), [x], { ...meta, name: `unet_upconv2D_${d.level}` });
    } else {
      x = b.add({ op: 'upSampling', size: 2 }, [x], meta);
      x = b.add(conv(d.filters, 1), [x], { ...meta, name: `unet_upconv2D_${d.level}` });
    }
    x = b.add({ op: 'batchNorm' }, [x], meta);
    if (d.dropout > 0) x = b.add({ op: 'dropout', rate: d.dropout }, [x], meta);
    if (d.skip) {
      const encoderLevel = g.levels - d.level;
      const from = encoderOut[encoderLevel - 1];
      const skip: SkipInfo = {
        from,
        encoderLevel,
        upChannels: last(b.shapeOf(x)),
        skipChannels: last(b.shapeOf(from)),
      };
      x = b.add({ op: 'concat' }, [x, from], { ...meta, skip });
    }
  }

  const out = { part: 'output' as const };
  x = b.add({ op: 'activation', fn: 'relu' }, [x], out);
  if (transpose) {
    x = b.add(conv(config.output.channels, 2, true), [x], { ...out, name: 'last_conv' });
  } else {
    x = b.add({ op: 'upSampling', size: 2 }, [x], out);
    x = b.add(conv(config.output.channels, 1), [x], { ...out, name: 'last_conv' });
  }
  b.add({ op: 'activation', fn: config.output.activation }, [x], out);
  return b.build();
}

/**
 * PatchGAN as in the seed: the (input, image) pair is cut into tiles, one shared trunk of stride-2
 * Conv2D-BatchNorm-LeakyReLU(0.2) classifies each tile (softmax over real/fake), and a Dense layer merges them.
 * Tiling is Reshape -> Permute -> Reshape and sharing is TimeDistributed, so every layer is a stock Keras layer.
 */
export function discriminatorGraph(config: ResolvedConfig): ModelGraph {
  const d = config.discriminator;
  const size = config.input.size;
  const channels = config.input.channels + config.output.channels;
  const p = d.patch;
  const grid = size / p;
  const n = grid * grid;
  const b = new GraphBuilder('DCGAN_discriminator', 'discriminator');

  let x = b.add({ op: 'input' }, [], { part: 'input', name: 'disc_input', inputShape: [size, size, channels] });
  x = b.add({ op: 'reshape', target: [grid, p, grid, p, channels] }, [x], { part: 'patches' });
  x = b.add({ op: 'permute', dims: [1, 3, 2, 4, 5] }, [x], { part: 'patches' });
  x = b.add({ op: 'reshape', target: [n, p, p, channels] }, [x], { part: 'patches' });
  for (let i = 1; i <= d.layers; i++) {
    const filters = d.filters * Math.min(8, 2 ** (i - 1));
    const meta = { part: 'trunk' as const, level: i };
    x = b.add({ op: 'timeDistributed', layer: { op: 'conv2d', filters, kernel: 3, strides: 2, transpose: false } }, [x], { ...meta, name: `disc_conv2d_${i}` });
    x = b.add({ op: 'timeDistributed', layer: { op: 'batchNorm' } }, [x], meta);
    x = b.add({ op: 'timeDistributed', layer: { op: 'leakyRelu', alpha: 0.2 } }, [x], meta);
  }
  x = b.add({ op: 'timeDistributed', layer: { op: 'flatten' } }, [x], { part: 'head' });
  x = b.add({ op: 'timeDistributed', layer: { op: 'dense', units: 2, activation: 'softmax' } }, [x], { part: 'head', name: 'disc_dense' });
  x = b.add({ op: 'flatten' }, [x], { part: 'head' });
  b.add({ op: 'dense', units: 2, activation: 'softmax' }, [x], { part: 'head', name: 'disc_output' });
  return b.build();
}

function last(s: Shape): number {
  return s[s.length - 1];
}

/** "1024 = 512 up + 512 skip" */
export function channelArithmetic(layer: LayerNode): string | undefined {
  if (!layer.skip) return undefined;
  return `${last(layer.outputShape)} = ${layer.skip.upChannels} up + ${layer.skip.skipChannels} skip`;
}
