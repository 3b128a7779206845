/// <reference types="@webgpu/types" />
// One network's variables on the GPU, in flat arenas: the weights, their gradients (one arena per pass that
// computes them) and Adam's two moments, plus the BatchNorm moving statistics in an arena of their own. Every
// layer's variables sit at an offset aligned for binding, so a kernel binds exactly its layer's range, and Adam
// updates the whole arena in one dispatch (the padding between ranges stays zero). A layer's gamma and beta sit end
// to end, as do its moving mean and variance: BatchNorm binds each pair as one range.

import type { LayerNode, ModelGraph } from '../../core/graph';
import { checkBindable } from './layout';

/** A slice of a parameter arena (not an editor range: that is core/diagnostics.ts's Range). */
export interface ArenaSlice {
  /** In floats. */
  offset: number;
  count: number;
}

/** A Conv2D's or a Dense's variables: its kernel and its bias, in the trainable arenas. */
export interface KernelRanges {
  kind: 'kernel';
  kernel: ArenaSlice;
  bias: ArenaSlice;
}

/** A BatchNormalization's: gamma then beta in the trainable arenas, the moving mean then variance in their own. */
export interface NormRanges {
  kind: 'batchNorm';
  gb: ArenaSlice;
  moving: ArenaSlice;
}

/** A layer's ranges, by the kind of layer. */
export type LayerRanges = KernelRanges | NormRanges;

const arenaUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

function innerOp(node: LayerNode) {
  return node.op.op === 'timeDistributed' ? node.op.layer : node.op;
}

export class Parameters {
  readonly layers = new Map<string, LayerRanges>();
  /** Floats in the trainable arenas and in the moving-statistics arena, padding included. */
  readonly count: number;
  readonly movingCount: number;
  readonly weights: GPUBuffer;
  readonly first: GPUBuffer;
  readonly second: GPUBuffer;
  readonly moving: GPUBuffer;
  readonly gradients: GPUBuffer[];

  constructor(
    device: GPUDevice,
    readonly graph: ModelGraph,
    gradientArenas: number,
  ) {
    const align = device.limits.minStorageBufferOffsetAlignment / 4;
    let trainable = 0;
    let moving = 0;
    const take = (count: number, moving_: boolean): ArenaSlice => {
      const at = moving_ ? moving : trainable;
      const range = { offset: at, count };
      const next = Math.ceil((at + count) / align) * align;
      if (moving_) moving = next;
      else trainable = next;
      return range;
    };
    for (const node of graph.layers) {
      const op = innerOp(node);
      if (op.op === 'conv2d' || op.op === 'dense') {
        const units = op.op === 'conv2d' ? op.filters : op.units;
        const kernel = take(node.trainableParams - units, false);
        this.layers.set(node.name, { kind: 'kernel', kernel, bias: take(units, false) });
      } else if (op.op === 'batchNorm') {
        this.layers.set(node.name, {
          kind: 'batchNorm',
          gb: take(node.trainableParams, false),
          moving: take(node.nonTrainableParams, true),
        });
      }
    }
    this.count = Math.max(trainable, align);
    this.movingCount = Math.max(moving, align);
    // Adam binds each arena whole.
    checkBindable(device, this.count * 4, `${graph.name}'s arena of weights`);
    const arena = (floats: number) => device.createBuffer({ size: floats * 4, usage: arenaUsage() });
    this.weights = arena(this.count);
    this.first = arena(this.count);
    this.second = arena(this.count);
    this.moving = arena(this.movingCount);
    this.gradients = Array.from({ length: gradientArenas }, () => arena(this.count));
  }

  /** The ranges of a layer of the given kind. */
  ranges<K extends LayerRanges['kind']>(layer: string, kind: K): Extract<LayerRanges, { kind: K }> {
    const r = this.layers.get(layer);
    if (!r) throw new Error(`compiled step: layer ${layer} has no variables`);
    if (r.kind !== kind) throw new Error(`compiled step: layer ${layer} has ${r.kind} variables, not ${kind} ones`);
    return r as Extract<LayerRanges, { kind: K }>;
  }

  static binding(buffer: GPUBuffer, range: ArenaSlice): GPUBufferBinding {
    return { buffer, offset: range.offset * 4, size: range.count * 4 };
  }

  bytes(): number {
    return [this.weights, this.first, this.second, this.moving, ...this.gradients].reduce((sum, b) => sum + b.size, 0);
  }

  /** Zeroes Adam's moments and the gradients (a fresh optimizer). */
  resetMoments(encoder: GPUCommandEncoder): void {
    for (const b of [this.first, this.second, ...this.gradients]) encoder.clearBuffer(b);
  }

  destroy(): void {
    for (const b of [this.weights, this.first, this.second, this.moving, ...this.gradients]) b.destroy();
  }
}
