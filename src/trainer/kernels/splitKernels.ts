// SplitV, the gradient of every Concatenate (the U-Net's skips, the seed discriminator's two streams), as one
// strided copy per output on the `wasm` and `cpu` backends. The stock kernels slice each output through a
// generic path above rank 4 (TensorBuffer index arithmetic per element on both backends; the discriminator's
// patches are rank 5) and through one subarray per innermost row at rank 4: together 60% of a seed step on wasm.
// Tested against the stock kernels for every rank and axis.

import type * as TF from '@tensorflow/tfjs';

import type { Tf } from '../../model/tf';

type Values = Float32Array | Int32Array | Uint8Array;

interface WasmBackend {
  makeOutput(shape: number[], dtype: TF.DataType): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Values;
}

interface CpuBackend {
  readSync(dataId: object): Values;
  makeTensorInfo(shape: number[], dtype: TF.DataType, values: Values): TF.TensorInfo;
}

/** A backend's input values and fresh outputs, each with the typed array its values are written to. */
interface Buffers {
  values: Values;
  outs: TF.TensorInfo[];
  views: Values[];
}

/** wasm: every output is allocated before any heap view is taken, since an allocation may grow (and move) the heap. */
function wasmBuffers(backend: unknown, x: TF.TensorInfo, shapes: number[][]): Buffers {
  const b = backend as WasmBackend;
  const outs = shapes.map((shape) => b.makeOutput(shape, x.dtype));
  return { values: b.typedArrayFromHeap(x), outs, views: outs.map((out) => b.typedArrayFromHeap(out)) };
}

/** cpu: a tensor holds the very array it was made with, so it can be filled after. */
function cpuBuffers(backend: unknown, x: TF.TensorInfo, shapes: number[][]): Buffers {
  const b = backend as CpuBackend;
  const values = b.readSync(x.dataId);
  const Typed = values.constructor as new (n: number) => Values;
  const views = shapes.map((shape) => new Typed(shape.reduce((n, d) => n * d, 1)));
  return { values, outs: views.map((view, i) => b.makeTensorInfo(shapes[i], x.dtype, view)), views };
}

/** Below this many elements a copy loop beats a subarray view and `set`. */
const SHORT_RUN = 64;

/**
 * Copies the part of `x` that spans `offset .. offset + size` along `axis` into `out`: `outer` runs (the product
 * of the dimensions before the axis) of `size * inner` contiguous elements each.
 */
function copyAlongAxis(x: Values, shape: number[], axis: number, offset: number, out: Values): void {
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const run = out.length / outer;
  const stride = shape[axis] * inner;
  const start = offset * inner;
  for (let r = 0; r < outer; r++) {
    const from = r * stride + start;
    const to = r * run;
    if (run >= SHORT_RUN) out.set(x.subarray(from, from + run), to);
    else for (let i = 0; i < run; i++) out[to + i] = x[from + i];
  }
}

interface SplitArgs {
  x: TF.TensorInfo;
  axis: number;
  sizes: number[];
}

function splitArgs(tf: Tf, args: TF.NamedAttrMap | undefined, x: TF.TensorInfo): SplitArgs {
  const { numOrSizeSplits, axis } = args as unknown as { numOrSizeSplits: number | number[]; axis: number };
  const $axis = tf.util.parseAxisParam(axis, x.shape)[0];
  const sizes = tf.backend_util.prepareSplitSize(x as TF.Tensor, numOrSizeSplits, $axis);
  return { x, axis: $axis, sizes };
}

function outputShapes({ x, axis, sizes }: SplitArgs): number[][] {
  return sizes.map((size) => x.shape.map((d, i) => (i === axis ? size : d)));
}

/** Fills each output with its part of `values`, one strided copy each. */
function copySplit(values: Values, { x, axis, sizes }: SplitArgs, outs: Values[]): void {
  let offset = 0;
  sizes.forEach((size, i) => {
    copyAlongAxis(values, x.shape, axis, offset, outs[i]);
    offset += size;
  });
}

/** Replaces SplitV on `backendName` once (strings keep the stock kernel: they have no typed array). */
export function registerSplitKernel(tf: Tf, backendName: 'wasm' | 'cpu'): void {
  const stock = tf.getKernel('SplitV', backendName);
  if (stock?.kernelFunc.name === 'splitVStrided') return;
  if (stock) tf.unregisterKernel('SplitV', backendName);
  const buffers = backendName === 'wasm' ? wasmBuffers : cpuBuffers;
  tf.registerKernel({
    kernelName: 'SplitV',
    backendName,
    kernelFunc: function splitVStrided(args) {
      const x = (args.inputs as { x: TF.TensorInfo }).x;
      if (x.dtype === 'string' && stock) return stock.kernelFunc(args);
      const split = splitArgs(tf, args.attrs, x);
      const { values, outs, views } = buffers(args.backend, x, outputShapes(split));
      copySplit(values, split, views);
      return outs;
    },
  });
}
