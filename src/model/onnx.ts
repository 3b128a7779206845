// The generator as an ONNX model (opset 13), written from its layer graph and its trained weights: no converter and
// no Python. Layout NCHW, as ONNX Runtime and PyTorch tooling expect: `input` [N, C, H, W] in [-1, 1], `output`
// [N, C, H, W]. Inference mode: BatchNormalization with its moving statistics, Dropout left out.
//
// The protobuf is written by hand (`Proto`): the handful of ONNX messages used here, from onnx.proto3.

import type { LayerNode, ModelGraph } from '../core/graph';
import { channelsFirstKernel, type WeightSource } from './weights';

/** Protobuf wire format: varints, length-delimited fields and packed repeated integers. */
class Proto {
  private readonly parts: Uint8Array[] = [];

  private varint(v: number): void {
    const bytes: number[] = [];
    let n = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(n & 0x7fn);
      n >>= 7n;
      if (n) b |= 0x80;
      bytes.push(b);
    } while (n);
    this.parts.push(Uint8Array.from(bytes));
  }

  int(field: number, v: number): this {
    this.varint((field << 3) | 0);
    this.varint(v);
    return this;
  }

  float(field: number, v: number): this {
    this.varint((field << 3) | 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.parts.push(b);
    return this;
  }

  bytes(field: number, data: Uint8Array | string | Proto): this {
    const b = typeof data === 'string' ? new TextEncoder().encode(data) : data instanceof Proto ? data.finish() : data;
    this.varint((field << 3) | 2);
    this.varint(b.length);
    this.parts.push(b);
    return this;
  }

  packedInts(field: number, values: readonly number[]): this {
    const inner = new Proto();
    for (const v of values) inner.varint(v);
    return this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of this.parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }
}

const FLOAT = 1; // TensorProto.DataType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

type Attr = [name: string, value: number | string | readonly number[], kind?: 'float'];

function attribute([name, value, kind]: Attr): Proto {
  const a = new Proto().bytes(1, name);
  if (typeof value === 'string') return a.bytes(4, value).int(20, ATTR.STRING);
  if (Array.isArray(value)) return a.packedInts(8, value as number[]).int(20, ATTR.INTS);
  if (kind === 'float') return a.float(2, value as number).int(20, ATTR.FLOAT);
  return a.int(3, value as number).int(20, ATTR.INT);
}

function node(op: string, name: string, inputs: string[], outputs: string[], attrs: Attr[] = []): Proto {
  const n = new Proto();
  for (const i of inputs) n.bytes(1, i);
  for (const o of outputs) n.bytes(2, o);
  n.bytes(3, name).bytes(4, op);
  for (const a of attrs) n.bytes(5, attribute(a));
  return n;
}

function tensor(name: string, dims: readonly number[], values: Float32Array): Proto {
  const t = new Proto().packedInts(1, dims).int(2, FLOAT).bytes(8, name);
  const raw = new Uint8Array(values.length * 4);
  const view = new DataView(raw.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return t.bytes(9, raw);
}

/** A float tensor's value info: [N, C, H, W] with a symbolic batch. */
function valueInfo(name: string, chw: readonly number[]): Proto {
  const shape = new Proto().bytes(1, new Proto().bytes(2, 'N'));
  for (const d of chw) shape.bytes(1, new Proto().int(1, d));
  const tensorType = new Proto().int(1, FLOAT).bytes(2, shape);
  return new Proto().bytes(1, name).bytes(2, new Proto().bytes(1, tensorType));
}

/** The generator's layers as ONNX nodes and initializers. */
class GraphWriter {
  readonly nodes: Proto[] = [];
  readonly initializers: Proto[] = [];
  /** The ONNX value that stands for a Keras layer's output (Dropout forwards its input's). */
  private readonly valueOf = new Map<string, string>();

  constructor(private readonly weight: WeightSource) {}

  private init(name: string, dims: readonly number[], values: Float32Array): string {
    this.initializers.push(tensor(name, dims, values));
    return name;
  }

  add(l: LayerNode): void {
    const inputs = l.inbound.map((i) => this.valueOf.get(i) ?? i);
    const out = l.name;
    this.valueOf.set(l.name, out);
    const op = l.op;
    if (op.op === 'input') return this.valueOf.set(l.name, 'input') as unknown as void;
    if (op.op === 'dropout') return this.valueOf.set(l.name, inputs[0]) as unknown as void;
    if (op.op === 'conv2d') return this.conv(l, inputs[0], op.kernel, op.strides, op.transpose);
    if (op.op === 'batchNorm') {
      const [gamma, beta, mean, variance] = ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((w) => {
        const v = this.weight(l.name, w);
        return this.init(`${l.name}/${w}`, [v.values.length], v.values);
      });
      this.nodes.push(
        node(
          'BatchNormalization',
          l.name,
          [inputs[0], gamma, beta, mean, variance],
          [out],
          [['epsilon', 1e-3, 'float']],
        ),
      );
    } else if (op.op === 'leakyRelu')
      this.nodes.push(node('LeakyRelu', l.name, inputs, [out], [['alpha', op.alpha, 'float']]));
    else if (op.op === 'activation') {
      const onnxOp = { relu: 'Relu', tanh: 'Tanh', sigmoid: 'Sigmoid', linear: 'Identity' }[op.fn];
      this.nodes.push(node(onnxOp, l.name, inputs, [out]));
    } else if (op.op === 'upSampling') {
      const scales = this.init(`${l.name}/scales`, [4], Float32Array.from([1, 1, op.size, op.size]));
      const attrs: Attr[] = [
        ['mode', 'nearest'],
        ['coordinate_transformation_mode', 'asymmetric'],
        ['nearest_mode', 'floor'],
      ];
      this.nodes.push(node('Resize', l.name, [inputs[0], '', scales], [out], attrs));
    } else if (op.op === 'concat') this.nodes.push(node('Concat', l.name, inputs, [out], [['axis', 1]]));
    else throw new Error(`ONNX export: the generator layer ${l.name} (${l.className}) has no ONNX form here`);
  }

  /**
   * Keras's `same` convolution: ONNX's SAME_UPPER pads as TensorFlow does (the extra pixel at the end). A transposed
   * one gives in * stride pixels: pads of (kernel - stride) split the same way, as the forward convolution's.
   */
  private conv(l: LayerNode, x: string, k: number, s: number, transpose: boolean): void {
    const kernel = channelsFirstKernel(this.weight(l.name, 'kernel'));
    const bias = this.weight(l.name, 'bias');
    const w = this.init(`${l.name}/kernel`, kernel.shape, kernel.values);
    const b = this.init(`${l.name}/bias`, [bias.values.length], bias.values);
    const shape: Attr[] = [
      ['kernel_shape', [k, k]],
      ['strides', [s, s]],
    ];
    if (!transpose) {
      this.nodes.push(node('Conv', l.name, [x, w, b], [l.name], [...shape, ['auto_pad', 'SAME_UPPER']]));
      return;
    }
    const total = Math.max(k - s, 0);
    const [before, after] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    this.nodes.push(
      node('ConvTranspose', l.name, [x, w, b], [l.name], [...shape, ['pads', [before, before, after, after]]]),
    );
  }

  output(name: string): string {
    return this.valueOf.get(name) ?? name;
  }
}

/** The ONNX model of a generator graph with these weights (by layer name and tfjs weight name). */
export function generatorOnnx(graph: ModelGraph, weight: WeightSource): Uint8Array {
  const writer = new GraphWriter(weight);
  for (const l of graph.layers) writer.add(l);
  const input = graph.layers[0];
  const last = graph.layers[graph.layers.length - 1];
  const chw = (s: readonly number[]) => [s[2], s[0], s[1]];
  const g = new Proto();
  for (const n of writer.nodes) g.bytes(1, n);
  g.bytes(2, graph.name);
  for (const t of writer.initializers) g.bytes(5, t);
  g.bytes(1, node('Identity', 'output', [writer.output(last.name)], ['output']));
  g.bytes(11, valueInfo('input', chw(input.outputShape)));
  g.bytes(12, valueInfo('output', chw(last.outputShape)));
  return new Proto()
    .int(1, 8) // IR version 8
    .bytes(2, 'p2p-ablation-lab')
    .bytes(7, g)
    .bytes(8, new Proto().bytes(1, '').int(2, 13)) // opset 13
    .finish();
}
