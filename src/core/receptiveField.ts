// Receptive fields in input pixels: how many pixels of the image one output value of a layer can see, and how far
// apart in pixels its neighbouring outputs are (the jump). A convolution of kernel k and stride s takes
// size + (k - 1) * jump and jump * s; nearest upsampling by u divides the jump; a transposed convolution of stride
// s sees ceil(k / s) inputs per output. Concatenations take the widest input. Pure, over the layer graph, so the
// hovers, the inlay hints and the discriminator's per-patch reading all come from one walk.

import type { LayerNode, LayerOp, ModelGraph } from './graph';

export interface Field {
  /** Input pixels one output value depends on, per side (padding may make part of it fall outside the image). */
  size: number;
  /** Input pixels between neighbouring outputs. */
  jump: number;
}

type Conv = Extract<LayerOp, { op: 'conv2d' }>;

/** The field after `op`, given its widest input's. */
function through(op: LayerOp, f: Field): Field {
  const inner = op.op === 'timeDistributed' ? op.layer : op;
  if (inner.op === 'upSampling') return { size: f.size, jump: f.jump / inner.size };
  if (inner.op !== 'conv2d') return f;
  if (inner.transpose) {
    const jump = f.jump / inner.strides;
    return { size: f.size + (Math.ceil(inner.kernel / inner.strides) - 1) * f.jump, jump };
  }
  return { size: f.size + (inner.kernel - 1) * f.jump, jump: f.jump * inner.strides };
}

/** A plain stack of convolutions (kernel, stride) from one input: each one's field. */
export function stackFields(stack: readonly Pick<Conv, 'kernel' | 'strides'>[]): Field[] {
  let f: Field = { size: 1, jump: 1 };
  return stack.map(
    ({ kernel, strides }) => (f = through({ op: 'conv2d', filters: 1, kernel, strides, transpose: false }, f)),
  );
}

/** Every layer's field in pixels of the graph's inputs, by layer name (a tile's pixels are the image's). */
export function receptiveFields(graph: ModelGraph): Map<string, Field> {
  const fields = new Map<string, Field>();
  for (const layer of graph.layers) {
    const inputs = layer.inbound.map((n) => fields.get(n)!).filter(Boolean);
    const widest = inputs.reduce<Field>((w, f) => (f.size > w.size ? f : w), { size: 1, jump: inputs[0]?.jump ?? 1 });
    fields.set(layer.name, through(layer.op, widest));
  }
  return fields;
}

const isConv = (l: LayerNode) => l.op.op === 'conv2d' || (l.op.op === 'timeDistributed' && l.op.layer.op === 'conv2d');

/** The convolutions of `graph` with their fields, in order (the encoder's, the discriminator trunk's). */
export function convolutionFields(graph: ModelGraph): { layer: LayerNode; field: Field }[] {
  const fields = receptiveFields(graph);
  return graph.layers.filter(isConv).map((layer) => ({ layer, field: fields.get(layer.name)! }));
}

/** "63 px", or "255 px (all of the 128 px image)" where the field covers more than the extent it reads. */
export function fieldText(size: number, extent: number, what: string): string {
  return size >= extent ? `${size} px (all of the ${extent} px ${what})` : `${size} px`;
}

/**
 * What one real/fake decision of the discriminator sees: each `disc_dense` unit classifies one patch x patch tile
 * (its Dense layer reads the whole tile), and the trunk's last convolution sees `trunk` px of it.
 */
export function discriminatorField(d: ModelGraph, patch: number): { patch: number; trunk: Field; lastConv: string } {
  const convs = convolutionFields(d);
  const last = convs[convs.length - 1];
  return { patch, trunk: last.field, lastConv: last.layer.name };
}

/** The inlay hint on `discriminator:`: "real/fake per 64x64 patch · its last conv sees 7x7 px". */
export function discriminatorFieldHint(d: ModelGraph, patch: number): string {
  const { trunk } = discriminatorField(d, patch);
  const side = Math.min(trunk.size, patch);
  return `real/fake per ${patch}x${patch} patch · its last conv sees ${side}x${side} px`;
}
