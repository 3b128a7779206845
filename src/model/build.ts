// tfjs-layers models built by walking the core graph, layer for layer, with the graph's names: the numbers in
// the editor and the trained model cannot drift apart. tfjs is passed in so the trainer can choose its backend.

import type * as TF from '@tensorflow/tfjs';
import { dropoutMask, dropoutStream } from '../core/dropoutMask';
import type { LayerOp, ModelGraph } from '../core/graph';

import type { Tf } from './tf';
type SymbolicTensor = TF.SymbolicTensor;
type Layer = TF.layers.Layer;

/** Keras's initialisers (tfjs defaults to glorotNormal for convolutions). */
const KERNEL_INIT = 'glorotUniform';

function makeLayer(tf: Tf, op: Exclude<LayerOp, { op: 'input' | 'timeDistributed' }>, name: string): Layer {
  switch (op.op) {
    case 'conv2d': {
      const args = {
        filters: op.filters,
        kernelSize: op.kernel,
        strides: op.strides,
        padding: 'same' as const,
        kernelInitializer: KERNEL_INIT,
        name,
      };
      return op.transpose ? tf.layers.conv2dTranspose(args) : tf.layers.conv2d(args);
    }
    case 'batchNorm':
      // Keras defaults: momentum 0.99, epsilon 1e-3.
      return tf.layers.batchNormalization({ axis: -1, momentum: 0.99, epsilon: 1e-3, name });
    case 'leakyRelu':
      return tf.layers.leakyReLU({ alpha: op.alpha, name });
    case 'activation':
      return tf.layers.activation({ activation: op.fn, name });
    case 'upSampling':
      return tf.layers.upSampling2d({ size: [op.size, op.size], name });
    case 'dropout':
      return new (dropoutClass(tf))({ rate: op.rate, name });
    case 'concat':
      return tf.layers.concatenate({ axis: -1, name });
    case 'reshape':
      return tf.layers.reshape({ targetShape: [...op.target], name });
    case 'permute':
      return tf.layers.permute({ dims: [...op.dims], name });
    case 'flatten':
      return tf.layers.flatten({ name });
    case 'dense':
      return tf.layers.dense({ units: op.units, activation: op.activation, kernelInitializer: KERNEL_INIT, name });
  }
}

/**
 * TimeDistributed by the reshape trick, as Keras does for models of unknown batch size: (B, n, ...) becomes
 * (B*n, ...) for the wrapped layer and back. tfjs always unstacks into n separate calls (`K.rnn`), which on the
 * wasm backend cost more than half of a PatchGAN training step. Registered under the same class name, so
 * saved models load with tf.loadLayersModel after this module has run. Around a BatchNormalization with
 * per-patch statistics (the graph's `perPatch`), training normalises each patch position on its own.
 */
const reshapingTimeDistributed = new WeakMap<Tf, TimeDistributedClass>();

type TimeDistributedClass = new (args: { layer: Layer; name: string; perPatch?: boolean }) => Layer;

interface BatchNormVariables {
  gamma: TF.LayerVariable;
  beta: TF.LayerVariable;
  movingMean: TF.LayerVariable;
  movingVariance: TF.LayerVariable;
  momentum: number;
  epsilon: number;
}

function timeDistributedClass(tf: Tf): TimeDistributedClass {
  const known = reshapingTimeDistributed.get(tf);
  if (known) return known;
  const Base = Object.getPrototypeOf(tf.layers.timeDistributed({ layer: tf.layers.dense({ units: 1 }) }))
    .constructor as new (args: { layer: Layer; name: string }) => Layer & { layer: Layer };
  class ReshapingTimeDistributed extends Base {
    static className = 'TimeDistributed';
    private readonly perPatch: boolean;
    constructor(args: { layer: Layer; name: string; perPatch?: boolean }) {
      super(args);
      this.perPatch = args.perPatch ?? false;
    }
    call(inputs: TF.Tensor | TF.Tensor[], kwargs: Record<string, unknown>): TF.Tensor {
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        if (this.perPatch && kwargs.training)
          return perPatchBatchNorm(tf, this.layer as unknown as BatchNormVariables, x);
        const [batch, steps, ...rest] = x.shape;
        const y = this.layer.call(tf.reshape(x, [batch * steps, ...rest]), kwargs);
        const out = Array.isArray(y) ? y[0] : y;
        return tf.reshape(out, [batch, steps, ...out.shape.slice(1)]);
      });
    }
  }
  tf.serialization.registerClass(
    ReshapingTimeDistributed as unknown as TF.serialization.SerializableConstructor<TF.serialization.Serializable>,
  );
  reshapingTimeDistributed.set(tf, ReshapingTimeDistributed);
  return ReshapingTimeDistributed;
}

/**
 * BatchNormalization in training mode as the seed's per-patch calls of one patch model run it, on (batch, patches,
 * h, w, c): statistics per patch over the batch and the pixels, and the moving statistics updated once per patch, in
 * patch order, as tfjs-layers updates them on each call (moving -= (moving - batch) * (1 - momentum)).
 */
function perPatchBatchNorm(tf: Tf, bn: BatchNormVariables, x5: TF.Tensor): TF.Tensor {
  // As (batch, patches, pixels, c): tfjs-webgpu's kernels stop at rank 4.
  const [batch, patches, h, w, channels] = x5.shape;
  const x = tf.reshape(x5, [batch, patches, h * w, channels]);
  const { mean, variance } = tf.moments(x, [0, 2], true);
  const normed = tf.add(
    tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, bn.epsilon))), bn.gamma.read()),
    bn.beta.read(),
  );
  const decay = 1 - bn.momentum;
  const perPatch = (t: TF.Tensor) => tf.unstack(tf.reshape(t, [-1, channels]));
  const [means, variances] = [perPatch(mean), perPatch(variance)];
  for (const [variable, values] of [
    [bn.movingMean, means],
    [bn.movingVariance, variances],
  ] as const) {
    let moving = variable.read() as TF.Tensor;
    for (const v of values) moving = tf.sub(moving, tf.mul(tf.sub(moving, v), decay));
    variable.write(moving);
  }
  return tf.reshape(normed, x5.shape);
}

/** Which masks a dropout layer draws: the run's seed (with the layer's name) and the step. */
interface DropoutDraw {
  seed: number;
  step: number;
}

/** The draw a HashDropout layer holds, set through its model by setDropoutDraw. */
const DRAW = Symbol('dropoutDraw');

/** Sets the masks the next training-mode calls of `model`'s dropout layers draw (core/dropoutMask.ts). */
export function setDropoutDraw(model: TF.LayersModel, seed: number, step: number): void {
  const visit = (layers: readonly Layer[]) => {
    for (const layer of layers) {
      if (DRAW in layer) (layer as Layer & { [DRAW]: DropoutDraw })[DRAW] = { seed, step };
      const inner = (layer as Partial<TF.LayersModel>).layers;
      if (inner) visit(inner);
    }
  };
  visit(model.layers);
}

const hashDropout = new WeakMap<Tf, new (args: { rate: number; name: string }) => Layer>();

/**
 * Keras's Dropout with the masks of core/dropoutMask.ts instead of tfjs's random draws: the compiled WebGPU step
 * recomputes the same masks in its kernels, so every backend drops the same elements at the same step. Saved
 * under Keras's class name; a loaded model has the stock layer, which is the same at inference.
 */
function dropoutClass(tf: Tf): new (args: { rate: number; name: string }) => Layer {
  const known = hashDropout.get(tf);
  if (known) return known;
  const Base = Object.getPrototypeOf(tf.layers.dropout({ rate: 0.5 })).constructor as new (args: {
    rate: number;
    name: string;
  }) => Layer & { rate: number };
  class HashDropout extends Base {
    static className = 'Dropout';
    [DRAW]: DropoutDraw = { seed: 0, step: 0 };
    call(inputs: TF.Tensor | TF.Tensor[], kwargs: Record<string, unknown>): TF.Tensor {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (!kwargs.training || !(this.rate > 0 && this.rate < 1)) return x;
      const { seed, step } = this[DRAW];
      const stream = dropoutStream(seed, this.name);
      return tf.tidy(() => tf.mul(x, tf.tensor(dropoutMask(stream, step, x.size, this.rate), x.shape)));
    }
  }
  hashDropout.set(tf, HashDropout);
  return HashDropout;
}

/** Registers this project's layer classes with `tf`, for tf.loadLayersModel on saved checkpoints. */
export function registerLayers(tf: Tf): void {
  timeDistributedClass(tf);
}

/** A functional model whose layers are exactly the graph's, in its order, under its names. */
/** How a probe model doses its skips: scaled toward zero, or toward each channel's spatial mean. */
export type SkipDoseMode = 'scale' | 'mean';

/**
 * A skip tensor dosed by `alpha` (the probe's input `skip_doses`, one column per skip): alpha * x + (1 - alpha) * m,
 * m = 0 (`scale`) or each sample's per-channel mean over height and width (`mean`). No weights, so a probe model
 * loads a checkpoint of the model it probes; at alpha = 1 it passes x through exactly.
 */
function skipDoseLayer(tf: Tf, mode: SkipDoseMode, column: number, name: string): Layer {
  class SkipDose extends tf.layers.Layer {
    static className = 'SkipDose';
    computeOutputShape(shapes: TF.Shape[]): TF.Shape {
      return shapes[0];
    }
    call(inputs: TF.Tensor | TF.Tensor[]): TF.Tensor {
      const [x, doses] = inputs as TF.Tensor[];
      return tf.tidy(() => {
        const alpha = tf.reshape(tf.slice(doses, [0, column], [-1, 1]), [-1, 1, 1, 1]);
        const scaled = tf.mul(x, alpha);
        if (mode === 'scale') return scaled;
        return tf.add(scaled, tf.mul(tf.mean(x, [1, 2], true), tf.sub(1, alpha)));
      });
    }
  }
  return new SkipDose({ name });
}

/**
 * The model of `graph`. With `skipDoses`, a probe of the generator: one more input, `skip_doses` (batch, skips),
 * and each skip dosed by its column (in the graph's decoder order) before its concatenation.
 */
export function buildModel(
  tf: Tf,
  graph: ModelGraph,
  { skipDoses }: { skipDoses?: SkipDoseMode } = {},
): TF.LayersModel {
  const tensors = new Map<string, SymbolicTensor>();
  const inputs: SymbolicTensor[] = [];
  const skips = graph.layers.filter((l) => l.skip);
  const doses = skipDoses && tf.input({ shape: [skips.length], name: 'skip_doses' });
  const dosed = (node: ModelGraph['layers'][number], from: string, t: SymbolicTensor) => {
    if (!doses || node.skip?.from !== from) return t;
    const layer = skipDoseLayer(tf, skipDoses!, skips.indexOf(node), `${node.name}_skip_dose`);
    return layer.apply([t, doses]) as SymbolicTensor;
  };
  let last: SymbolicTensor | undefined;
  for (const node of graph.layers) {
    const op = node.op;
    let out: SymbolicTensor;
    if (op.op === 'input') {
      out = tf.input({ shape: [...node.outputShape], name: node.name });
      inputs.push(out);
    } else {
      const layer =
        op.op === 'timeDistributed'
          ? new (timeDistributedClass(tf))({
              layer: makeLayer(tf, op.layer, `${node.name}_inner`),
              name: node.name,
              perPatch: op.layer.op === 'batchNorm' && op.layer.perPatch,
            })
          : makeLayer(tf, op, node.name);
      const ins = node.inbound.map((n) => {
        const t = tensors.get(n);
        if (!t) throw new Error(`graph ${graph.name}: layer ${node.name} reads ${n}, which is not built yet`);
        return dosed(node, n, t);
      });
      out = layer.apply(ins.length === 1 ? ins[0] : ins) as SymbolicTensor;
    }
    tensors.set(node.name, out);
    last = out;
  }
  if (!last) throw new Error(`graph ${graph.name} has no layers`);
  return tf.model({ inputs: doses ? [...inputs, doses] : inputs, outputs: last, name: graph.name });
}
