// The layer graph: every Keras layer of the generator and the discriminator, in creation order, with Keras's
// auto-names, output shapes and parameter counts, plus what Keras does not show (MACs, activation memory,
// skip sources). A pure function of the resolved config; the summary, the hovers and the tfjs builder read it.

import type { DiscriminatorConfig, OutputActivation, ResolvedConfig } from './config';

/** Output shape without the batch dimension. */
export type Shape = readonly number[];

export type LayerOp =
  | { op: 'input' }
  | { op: 'conv2d'; filters: number; kernel: number; strides: number; transpose: boolean }
  /** `perPatch` (inside TimeDistributed): statistics per patch position over the batch, moving statistics updated once per patch in order. */
  | { op: 'batchNorm'; perPatch?: boolean }
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
function computeLayer(op: LayerOp, inputs: readonly Shape[]): Computed {
  const x = inputs[0] ?? [];
  const c = x[x.length - 1] ?? 0;
  switch (op.op) {
    case 'input':
      return { shape: x, trainable: 0, nonTrainable: 0, macs: 0 };
    case 'conv2d': {
      const [h, w] = x;
      const shape = op.transpose
        ? [h * op.strides, w * op.strides, op.filters]
        : [Math.ceil(h / op.strides), Math.ceil(w / op.strides), op.filters];
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
      return {
        shape: [...x.slice(0, -1), op.units],
        trainable: c * op.units + op.units,
        nonTrainable: 0,
        macs: product(x.slice(0, -1)) * c * op.units,
      };
    case 'timeDistributed': {
      const inner = computeLayer(op.layer, [x.slice(1)]);
      return {
        shape: [x[0], ...inner.shape],
        trainable: inner.trainable,
        nonTrainable: inner.nonTrainable,
        macs: x[0] * inner.macs,
      };
    }
  }
}

class GraphBuilder {
  readonly layers: LayerNode[] = [];
  private readonly counters = new Map<string, number>();
  private readonly shapes = new Map<string, Shape>();

  constructor(
    readonly name: string,
    readonly part: ModelGraph['part'],
  ) {}

  /** Adds a layer; without `name` it gets Keras's auto-name (`batch_normalization_3`). */
  add(
    op: LayerOp,
    inbound: string[],
    meta: { part: Part; level?: number; name?: string; inputShape?: Shape; skip?: SkipInfo },
  ): string {
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
  const b = new GraphBuilder(
    g.upsampling === 'transpose' ? 'generator_unet_deconv' : 'generator_unet_upsampling',
    'generator',
  );
  const conv = (filters: number, strides: number, transpose = false): LayerOp => ({
    op: 'conv2d',
    filters,
    kernel: g.kernel,
    strides,
    transpose,
  });

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
 * The discriminator: it reads the image (real or generated, `disc_input`) and the generator's input
 * (`disc_raw_input`), cuts both into `patch` tiles (Reshape -> Permute -> Reshape), classifies every tile with one
 * shared network (TimeDistributed layers) as real/fake (softmax over 2, `disc_dense`), and merges the tiles with a
 * Dense softmax (`disc_output`). Every layer is a stock Keras layer.
 */
export function discriminatorGraph(config: ResolvedConfig): ModelGraph {
  const d = config.discriminator;
  const size = config.input.size;
  const b = new GraphBuilder('DCGAN_discriminator', 'discriminator');
  const image = b.add({ op: 'input' }, [], {
    part: 'input',
    name: 'disc_input',
    inputShape: [size, size, config.output.channels],
  });
  const raw = b.add({ op: 'input' }, [], {
    part: 'input',
    name: 'disc_raw_input',
    inputShape: [size, size, config.input.channels],
  });
  const perTile =
    d.type === 'seed'
      ? seedTrunk(b, d, tiles(b, [image, raw], d.patch))
      : patchganTrunk(b, d, tiles(b, [b.add({ op: 'concat' }, [image, raw], { part: 'patches' })], d.patch)[0]);
  let x = b.add({ op: 'timeDistributed', layer: { op: 'flatten' } }, [perTile], { part: 'head' });
  x = b.add({ op: 'timeDistributed', layer: { op: 'dense', units: 2, activation: 'softmax' } }, [x], {
    part: 'head',
    name: 'disc_dense',
  });
  x = b.add({ op: 'flatten' }, [x], { part: 'head' });
  b.add({ op: 'dense', units: 2, activation: 'softmax' }, [x], { part: 'head', name: 'disc_output' });
  return b.build();
}

// Parallel streams are built depth by depth (both reshapes, then both permutes, ...): the order in which Keras and
// tfjs list a model's layers, so the summary and the tfjs model agree row for row.

/** Each (size, size, c) input to (tiles, patch, patch, c), tiles in row-major order. */
function tiles(b: GraphBuilder, inputs: string[], p: number): string[] {
  const meta = { part: 'patches' as const };
  const grid = (from: string) => b.shapeOf(from)[0] / p;
  const channels = (from: string) => b.shapeOf(from)[2];
  const split = inputs.map((x) => b.add({ op: 'reshape', target: [grid(x), p, grid(x), p, channels(x)] }, [x], meta));
  const permuted = split.map((x) => b.add({ op: 'permute', dims: [1, 3, 2, 4, 5] }, [x], meta));
  return permuted.map((x, k) =>
    b.add({ op: 'reshape', target: [grid(inputs[k]) ** 2, p, p, channels(inputs[k])] }, [x], meta),
  );
}

/** A stride-2 Conv2D 3x3, BatchNorm and LeakyReLU(0.2) on every tile of each stream, the conv named `names[k]`. */
function downBlocks(
  b: GraphBuilder,
  d: DiscriminatorConfig,
  froms: string[],
  filters: number,
  names: string[],
  level: number,
): string[] {
  const meta = { part: 'trunk' as const, level };
  const conv = froms.map((x, k) =>
    b.add({ op: 'timeDistributed', layer: { op: 'conv2d', filters, kernel: 3, strides: 2, transpose: false } }, [x], {
      ...meta,
      name: names[k],
    }),
  );
  const layer =
    d.patchNorm === 'per-patch' ? { op: 'batchNorm' as const, perPatch: true } : { op: 'batchNorm' as const };
  const norm = conv.map((x) => b.add({ op: 'timeDistributed', layer }, [x], meta));
  return norm.map((x) => b.add({ op: 'timeDistributed', layer: { op: 'leakyRelu', alpha: 0.2 } }, [x], meta));
}

const discFilters = (d: DiscriminatorConfig, i: number) => d.filters * Math.min(8, 2 ** (i - 1));

/** `patchgan`: `layers` chained down blocks on the concatenated (image, input) tile. */
function patchganTrunk(b: GraphBuilder, d: DiscriminatorConfig, tiled: string): string {
  let x = tiled;
  for (let i = 1; i <= d.layers; i++) [x] = downBlocks(b, d, [x], discFilters(d, i), [`disc_conv2d_${i}`], i);
  return x;
}

/**
 * `seed`, the article's DCGAN_discriminator: one down block per stream (image, input), their concatenation, and
 * one more down block with the last of `layers` filter counts. The seed's loop builds that block once per count,
 * each time from the same two streams, so only the last is connected (Keras keeps only what reaches the output).
 */
function seedTrunk(b: GraphBuilder, d: DiscriminatorConfig, [image, raw]: string[]): string {
  const streams = downBlocks(b, d, [image, raw], discFilters(d, 1), ['disc_conv2d_1', 'raw_disc_conv2d_1'], 1);
  const both = b.add({ op: 'concat' }, streams, { part: 'trunk', level: d.layers });
  return downBlocks(b, d, [both], discFilters(d, d.layers), [`disc_conv2d_${d.layers}`], d.layers)[0];
}

function last(s: Shape): number {
  return s[s.length - 1];
}

/** "1024 = 512 up + 512 skip" */
export function channelArithmetic(layer: LayerNode): string | undefined {
  if (!layer.skip) return undefined;
  return `${last(layer.outputShape)} = ${layer.skip.upChannels} up + ${layer.skip.skipChannels} skip`;
}
