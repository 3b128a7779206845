// The generator for PyTorch, written from its layer graph and its trained weights: `model.py`, a self-contained
// torch.nn.Module for exactly this config (Keras's layer names as its modules' names, TensorFlow's 'same' padding,
// Keras BatchNorm's epsilon and momentum, the skips and dropout as configured), and the weights in PyTorch's
// layouts as safetensors: a little-endian u64 header length, a JSON header of names, dtypes, shapes and byte
// ranges, then the raw tensors. model.py reads that format itself, so PyTorch alone runs it; `safetensors.torch`
// reads the same file. Layout NCHW: `input` [N, C, H, W] in [-1, 1], the output [N, C, H, W].

import type { LayerNode, ModelGraph } from '../core/graph';
import { channelsFirstKernel, type WeightSource } from './weights';

/** One tensor of a safetensors file: little-endian bytes of `dtype`, row-major in `shape`. */
export interface NamedTensor {
  name: string;
  dtype: 'F32' | 'I64';
  shape: readonly number[];
  data: Uint8Array;
}

/** The safetensors file of `tensors`, in order; `metadata` goes in the header's `__metadata__` (strings only). */
export function safetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length] };
    offset += t.data.length;
  }
  // The header is padded with spaces to a multiple of 8 bytes, so the tensors that follow stay aligned.
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(Math.ceil(json.length / 8) * 8).fill(0x20);
  head.set(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors) {
    out.set(t.data, at);
    at += t.data.length;
  }
  return out;
}

const f32 = (name: string, shape: readonly number[], values: Float32Array): NamedTensor => ({
  name,
  dtype: 'F32',
  shape,
  data: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
});

/** The generator's state dict: the tensors `Generator.load_state_dict` takes, by PyTorch's names and layouts. */
export function generatorStateDict(graph: ModelGraph, weight: WeightSource): NamedTensor[] {
  const tensors: NamedTensor[] = [];
  for (const l of graph.layers) {
    if (l.op.op === 'conv2d') {
      const kernel = channelsFirstKernel(weight(l.name, 'kernel'));
      const bias = weight(l.name, 'bias');
      tensors.push(
        f32(`${l.name}.weight`, kernel.shape, kernel.values),
        f32(`${l.name}.bias`, bias.shape, bias.values),
      );
    } else if (l.op.op === 'batchNorm') {
      const torchNames = { gamma: 'weight', beta: 'bias', moving_mean: 'running_mean', moving_variance: 'running_var' };
      for (const [keras, torch] of Object.entries(torchNames)) {
        const w = weight(l.name, keras);
        tensors.push(f32(`${l.name}.${torch}`, w.shape, w.values));
      }
      // PyTorch counts the batches its BatchNorm has seen (for momentum=None only); Keras keeps no such count.
      tensors.push({ name: `${l.name}.num_batches_tracked`, dtype: 'I64', shape: [], data: new Uint8Array(8) });
    }
  }
  return tensors;
}

const PYTHON_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const PYTHON_KEYWORDS = new Set([
  ...['False', 'None', 'True', 'and', 'as', 'assert', 'async', 'await', 'break', 'class', 'continue', 'def', 'del'],
  ...['elif', 'else', 'except', 'finally', 'for', 'from', 'global', 'if', 'import', 'in', 'is', 'lambda'],
  ...['nonlocal', 'not', 'or', 'pass', 'raise', 'return', 'try', 'while', 'with', 'yield'],
]);

function pythonName(name: string): string {
  if (!PYTHON_NAME.test(name) || PYTHON_KEYWORDS.has(name))
    throw new Error(`PyTorch export: the layer name ${name} is not a Python identifier`);
  return name;
}

/** The module a layer becomes in `Generator.__init__`, or undefined (the input, a concatenation). */
function moduleOf(l: LayerNode, channelsOf: (name: string) => number): string | undefined {
  const op = l.op;
  switch (op.op) {
    case 'input':
    case 'concat':
      return undefined;
    case 'conv2d': {
      const kind = op.transpose ? 'SameConvTranspose2d' : 'SameConv2d';
      return `${kind}(${channelsOf(l.inbound[0])}, ${op.filters}, ${op.kernel}, ${op.strides})`;
    }
    case 'batchNorm':
      return `nn.BatchNorm2d(${channelsOf(l.name)}, eps=1e-3, momentum=0.01)`;
    case 'leakyRelu':
      return `nn.LeakyReLU(${op.alpha})`;
    case 'activation':
      return { relu: 'nn.ReLU()', tanh: 'nn.Tanh()', sigmoid: 'nn.Sigmoid()', linear: 'nn.Identity()' }[op.fn];
    case 'upSampling':
      return `nn.Upsample(scale_factor=${op.size}, mode="nearest")`;
    case 'dropout':
      return `nn.Dropout(${op.rate})`;
    default:
      throw new Error(`PyTorch export: the generator layer ${l.name} (${l.className}) has no PyTorch form here`);
  }
}

/** `model.py` for the generator `graph`; `title` heads its docstring (the run and step it was exported from). */
export function generatorPython(graph: ModelGraph, title: string): string {
  const byName = new Map(graph.layers.map((l) => [l.name, l]));
  const channelsOf = (name: string) => byName.get(name)!.outputShape.at(-1)!;
  const modules: string[] = [];
  const forward: string[] = [];
  const input = pythonName(graph.layers[0].name);
  for (const l of graph.layers.slice(1)) {
    const name = pythonName(l.name);
    const args = l.inbound.map(pythonName);
    const module = moduleOf(l, channelsOf);
    if (module) modules.push(`        self.${name} = ${module}`);
    forward.push(`        ${name} = ${module ? `self.${name}(${args[0]})` : `torch.cat([${args.join(', ')}], 1)`}`);
  }
  const last = pythonName(graph.layers[graph.layers.length - 1].name);
  const [h, w, c] = graph.layers[0].outputShape;
  return PYTHON_TEMPLATE.replace('{title}', title)
    .replace('{input_shape}', `[N, ${c}, ${h}, ${w}]`)
    .replace('{modules}', modules.join('\n'))
    .replace('{input}', input)
    .replace('{forward}', forward.join('\n'))
    .replace('{output}', last);
}

const PYTHON_TEMPLATE = `"""{title}

A pix2pix generator as a torch.nn.Module, written by pix2pix Ablation Lab from its layer graph: the Keras layer
names are the module names. Input {input_shape} in [-1, 1] (NCHW); output NCHW.

    import model
    g = model.load("generator.safetensors")   # eval(): BatchNorm's moving statistics, no dropout
    y = g(x)

g.train() trains it as Keras does: batch statistics (epsilon 1e-3, moving averages with momentum 0.99, which is
PyTorch's momentum=0.01) and dropout where the config has it. Needs PyTorch alone (1.10 or later).
"""
import json
import struct

import torch
from torch import nn
import torch.nn.functional as F


def same_padding(size, kernel, stride):
    """TensorFlow's 'same' padding of one axis: the odd pixel goes after, not before."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """Keras Conv2D(padding='same')."""

    def __init__(self, in_channels, out_channels, kernel, stride):
        super().__init__(in_channels, out_channels, kernel, stride)

    def forward(self, x):
        top, bottom = same_padding(x.shape[2], self.kernel_size[0], self.stride[0])
        left, right = same_padding(x.shape[3], self.kernel_size[1], self.stride[1])
        return super().forward(F.pad(x, (left, right, top, bottom)))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """Keras Conv2DTranspose(padding='same'): stride times the input, cropped from the full output as TensorFlow does."""

    def __init__(self, in_channels, out_channels, kernel, stride):
        super().__init__(in_channels, out_channels, kernel, stride)

    def forward(self, x):
        y = super().forward(x)
        crops = []
        for axis in (2, 3):
            kernel, stride = self.kernel_size[axis - 2], self.stride[axis - 2]
            before = max(kernel - stride, 0) // 2
            size = x.shape[axis] * stride
            crops.append((before, size, max(before + size - y.shape[axis], 0)))
        (top, height, short_y), (left, width, short_x) = crops
        # A kernel smaller than its stride leaves the full output short of stride times the input: zeros, as in TF.
        y = F.pad(y, (0, short_x, 0, short_y))
        return y[:, :, top : top + height, left : left + width]


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
{modules}

    def forward(self, {input}):
{forward}
        return {output}


def read_safetensors(path):
    """The tensors of a safetensors file: a little-endian u64 header length, a JSON header, the raw tensors."""
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    # torch.frombuffer reads the machine's byte order: little-endian, as on every machine PyTorch ships for.
    dtypes = {"F32": torch.float32, "I64": torch.int64}
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        tensors[name] = torch.frombuffer(bytearray(data[begin:end]), dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return tensors


def load(path="generator.safetensors"):
    """The generator with the exported weights, in inference mode."""
    g = Generator()
    g.load_state_dict(read_safetensors(path))
    return g.eval()
`;
