// The generator as an ONNX model (opset 13), written from its layer graph and its trained weights: no converter and
// no Python. Layout NCHW, as ONNX Runtime and PyTorch tooling expect: `input` [N, C, H, W] in [-1, 1], `output`
// [N, C, H, W]. Inference mode: BatchNormalization with its moving statistics, Dropout left out.
//
// The messages are encoded by protobufjs from the fields of onnx.proto that this model uses (field numbers as there);
// onnx-proto, the whole schema generated for protobufjs 6, would add a second protobufjs and 254 kB to each bundle.

import type { LayerNode, ModelGraph } from '../core/graph';
import { Root, type Type } from 'protobufjs/light';
import { channelsFirstKernel, type WeightSource } from './weights';

const int64s = (id: number) => ({ rule: 'repeated', type: 'int64', id });
const strings = (id: number) => ({ rule: 'repeated', type: 'string', id });
/** onnx.ModelProto and what it holds, as far as this exporter writes them. */
const SCHEMA = Root.fromJSON({
  nested: {
    onnx: {
      nested: {
        ModelProto: {
          fields: {
            irVersion: { type: 'int64', id: 1 },
            producerName: { type: 'string', id: 2 },
            graph: { type: 'GraphProto', id: 7 },
            opsetImport: { rule: 'repeated', type: 'OperatorSetIdProto', id: 8 },
          },
        },
        OperatorSetIdProto: { fields: { domain: { type: 'string', id: 1 }, version: { type: 'int64', id: 2 } } },
        GraphProto: {
          fields: {
            node: { rule: 'repeated', type: 'NodeProto', id: 1 },
            name: { type: 'string', id: 2 },
            initializer: { rule: 'repeated', type: 'TensorProto', id: 5 },
            input: { rule: 'repeated', type: 'ValueInfoProto', id: 11 },
            output: { rule: 'repeated', type: 'ValueInfoProto', id: 12 },
          },
        },
        NodeProto: {
          fields: {
            input: strings(1),
            output: strings(2),
            name: { type: 'string', id: 3 },
            opType: { type: 'string', id: 4 },
            attribute: { rule: 'repeated', type: 'AttributeProto', id: 5 },
          },
        },
        AttributeProto: {
          fields: {
            name: { type: 'string', id: 1 },
            f: { type: 'float', id: 2 },
            i: { type: 'int64', id: 3 },
            s: { type: 'bytes', id: 4 },
            ints: int64s(8),
            type: { type: 'int32', id: 20 },
          },
        },
        TensorProto: {
          fields: {
            dims: int64s(1),
            dataType: { type: 'int32', id: 2 },
            name: { type: 'string', id: 8 },
            rawData: { type: 'bytes', id: 9 },
          },
        },
        ValueInfoProto: { fields: { name: { type: 'string', id: 1 }, type: { type: 'TypeProto', id: 2 } } },
        TypeProto: {
          fields: { tensorType: { type: 'Tensor', id: 1 } },
          nested: {
            Tensor: { fields: { elemType: { type: 'int32', id: 1 }, shape: { type: 'TensorShapeProto', id: 2 } } },
          },
        },
        TensorShapeProto: {
          fields: { dim: { rule: 'repeated', type: 'Dimension', id: 1 } },
          nested: {
            Dimension: { fields: { dimValue: { type: 'int64', id: 1 }, dimParam: { type: 'string', id: 2 } } },
          },
        },
      },
    },
  },
});
const MODEL: Type = SCHEMA.lookupType('onnx.ModelProto');

const FLOAT = 1; // TensorProto.DataType
const ATTR = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

type Attr = [name: string, value: number | string | readonly number[], kind?: 'float'];

function attribute([name, value, kind]: Attr): object {
  if (typeof value === 'string') return { name, s: new TextEncoder().encode(value), type: ATTR.STRING };
  if (Array.isArray(value)) return { name, ints: value, type: ATTR.INTS };
  if (kind === 'float') return { name, f: value, type: ATTR.FLOAT };
  return { name, i: value, type: ATTR.INT };
}

function node(opType: string, name: string, input: string[], output: string[], attrs: Attr[] = []): object {
  return { input, output, name, opType, attribute: attrs.map(attribute) };
}

function tensor(name: string, dims: readonly number[], values: Float32Array): object {
  const rawData = new Uint8Array(values.length * 4);
  const view = new DataView(rawData.buffer);
  values.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { dims, dataType: FLOAT, name, rawData };
}

/** A float tensor's value info: [N, C, H, W] with a symbolic batch. */
function valueInfo(name: string, chw: readonly number[]): object {
  const dim = [{ dimParam: 'N' }, ...chw.map((d) => ({ dimValue: d }))];
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim } } } };
}

/** The generator's layers as ONNX nodes and initializers. */
class GraphWriter {
  readonly nodes: object[] = [];
  readonly initializers: object[] = [];
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
  const model = {
    irVersion: 8,
    producerName: 'p2p-ablation-lab',
    graph: {
      node: [...writer.nodes, node('Identity', 'output', [writer.output(last.name)], ['output'])],
      name: graph.name,
      initializer: writer.initializers,
      input: [valueInfo('input', chw(input.outputShape))],
      output: [valueInfo('output', chw(last.outputShape))],
    },
    opsetImport: [{ domain: '', version: 13 }],
  };
  return MODEL.encode(MODEL.fromObject(model)).finish();
}
