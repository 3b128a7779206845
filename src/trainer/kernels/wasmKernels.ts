// Training kernels for the tfjs wasm backend, expressed through its XNNPACK-backed Conv2D and BatchMatMul:
//
// - Conv2DBackpropFilter (the backend has none, tensorflow/tfjs#8474): dW (K x C) = P^T (K x M) x dY (M x C),
//   where P is the im2col patch matrix built directly transposed (one row per kernel tap and input channel), so
//   the contraction runs over the inner dimension of both operands and the small dY is XNNPACK's packed weight.
//   The stock transposed-A matMul took about 20x longer for the same product.
// - Conv2DBackpropInput (the stock one is a scalar loop, about 12x slower than a forward convolution): a forward
//   convolution of dY with the filter flipped in space and its channels swapped. With a stride s, the input
//   gradient splits into s x s phases (rows and columns i = s * k + p), each a stride-1 convolution of dY with
//   the filter taps that land on that phase, so no multiply is spent on the zeros of a dilated dY.
//
// Both run in chunks so that no temporary grows past `chunkFloats`, and both are tested against `cpu`. SplitV (the
// Concatenate gradient) is replaced too: splitKernels.ts.

import type * as TF from '@tensorflow/tfjs';

import type { Tf } from '../../model/tf';
import { filterGradientInfo, type ConvAttrs, type FilterGradientAttrs } from './convAttrs';
import { registerSplitKernel } from './splitKernels';

/** Floats per temporary chunk (16 MiB): large enough for XNNPACK, small enough for the wasm heap. Tests lower it. */
export const wasmKernelOptions = { chunkFloats: 4 * 1024 * 1024 };

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

type Kernel = NonNullable<ReturnType<Tf['getKernel']>>;

export function registerWasmTrainingKernels(tf: Tf): void {
  registerSplitKernel(tf, 'wasm');
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')?.kernelFunc.name === 'conv2DBackpropFilterWasm') return;
  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
  const conv2D = tf.getKernel('Conv2D', 'wasm');
  if (!batchMatMul || !conv2D) throw new Error('the wasm backend has no BatchMatMul or Conv2D kernel');
  const stockInput = tf.getKernel('Conv2DBackpropInput', 'wasm');
  for (const name of ['Conv2DBackpropFilter', 'Conv2DBackpropInput'])
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');

  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: function conv2DBackpropFilterWasm({ inputs, backend, attrs }) {
      const { x, dy } = inputs as { x: TF.TensorInfo; dy: TF.TensorInfo };
      const info = filterGradientInfo(tf, x.shape, attrs as unknown as FilterGradientAttrs, 'wasm');
      return backpropFilter(backend as unknown as WasmBackend, batchMatMul, x, dy, info);
    },
  });

  tf.registerKernel({
    kernelName: 'Conv2DBackpropInput',
    backendName: 'wasm',
    kernelFunc: function conv2DBackpropInputWasm(args) {
      const { dy, filter } = args.inputs as { dy: TF.TensorInfo; filter: TF.TensorInfo };
      const a = args.attrs as unknown as ConvAttrs & { inputShape: [number, number, number, number] };
      const info = tf.backend_util.computeConv2DInfo(
        a.inputShape,
        filter.shape as [number, number, number, number],
        a.strides,
        1,
        a.pad,
        a.dimRoundingMode,
        false,
        'channelsLast',
      );
      const top = info.filterHeight - 1 - info.padInfo.top;
      const left = info.filterWidth - 1 - info.padInfo.left;
      if (a.dataFormat === 'NCHW' || top < 0 || left < 0) {
        if (!stockInput) throw new Error('Conv2DBackpropInput (wasm): unsupported padding');
        return stockInput.kernelFunc(args) as TF.TensorInfo;
      }
      return backpropInput(args.backend as unknown as WasmBackend, conv2D, dy, filter, info, top, left);
    },
  });
}

/** dW[kh, kw, ci, co] = sum over (n, oh, ow) of x[n, oh*s + kh - pad, ow*s + kw - pad, ci] * dy[n, oh, ow, co]. */
function backpropFilter(
  b: WasmBackend,
  batchMatMul: Kernel,
  x: TF.TensorInfo,
  dy: TF.TensorInfo,
  info: TF.backend_util.Conv2DInfo,
): TF.TensorInfo {
  const { batchSize, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const taps = filterHeight * filterWidth;
  const k = taps * inChannels;
  const perImage = outHeight * outWidth;
  const rows = batchSize * perImage;
  const rowsPerChunk = Math.max(
    1,
    Math.min(rows, Math.floor(wasmKernelOptions.chunkFloats / Math.max(k, outChannels))),
  );
  const xc = channelMajor(b.typedArrayFromHeap(x), info);
  const acc = new Float32Array(k * outChannels);
  for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
    const m = Math.min(rowsPerChunk, rows - r0);
    const pt = b.makeOutput([1, k, m], 'float32');
    const dyChunk = b.makeOutput([1, m, outChannels], 'float32');
    // Views are taken after every allocation: growing the wasm heap detaches earlier ones.
    const ptv = b.typedArrayFromHeap(pt);
    b.typedArrayFromHeap(dyChunk).set(b.typedArrayFromHeap(dy).subarray(r0 * outChannels, (r0 + m) * outChannels));
    writeTransposedPatches(ptv, xc, info, r0, m);
    accumulateProduct(b, batchMatMul, pt, dyChunk, acc);
    b.disposeData(pt.dataId);
    b.disposeData(dyChunk.dataId);
  }
  const out = b.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
  b.typedArrayFromHeap(out).set(acc);
  return out;
}

/** x channel-major ([ci][n][h][w]): every patch row is then a (strided) copy of one image row. */
function channelMajor(xv: Float32Array, info: TF.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels } = info;
  const plane = inHeight * inWidth;
  const xc = new Float32Array(xv.length);
  for (let n = 0; n < batchSize; n++) {
    for (let p = 0; p < plane; p++) {
      const src = (n * plane + p) * inChannels;
      for (let c = 0; c < inChannels; c++) xc[(c * batchSize + n) * plane + p] = xv[src + c];
    }
  }
  return xc;
}

/**
 * Rows r0 .. r0 + m of the im2col patch matrix P, written transposed into ptv (K x m): row tap * inChannels + ci
 * holds, for each output pixel, the input under that kernel tap and channel, or zero where it falls in the padding.
 */
function writeTransposedPatches(
  ptv: Float32Array,
  xc: Float32Array,
  info: TF.backend_util.Conv2DInfo,
  r0: number,
  m: number,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
  const padTop = info.padInfo.top;
  const padLeft = info.padInfo.left;
  const perImage = outHeight * outWidth;
  const plane = inHeight * inWidth;
  ptv.fill(0);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const tap = kh * filterWidth + kw;
      // Output columns whose input column is inside the image: ow in [owLo, owHi).
      const offW = kw * dilationWidth - padLeft;
      const owLo = Math.max(0, Math.ceil(-offW / strideWidth));
      const owHi = Math.min(outWidth, Math.floor((inWidth - 1 - offW) / strideWidth) + 1);
      for (let ci = 0; ci < inChannels; ci++) {
        const dst = (tap * inChannels + ci) * m - r0;
        const chan = ci * batchSize * plane;
        let r = r0;
        while (r < r0 + m) {
          // One output row (n, oh) at a time, clipped to the chunk.
          const n = Math.floor(r / perImage);
          const oh = Math.floor((r - n * perImage) / outWidth);
          const ow0 = r - n * perImage - oh * outWidth;
          const rowEnd = Math.min(r0 + m, r + (outWidth - ow0));
          const ih = oh * strideHeight + kh * dilationHeight - padTop;
          if (ih >= 0 && ih < inHeight) {
            const lo = Math.max(ow0, owLo);
            const hi = Math.min(ow0 + (rowEnd - r), owHi);
            const srcRow = chan + (n * inHeight + ih) * inWidth + offW;
            const out = dst + r - ow0;
            if (strideWidth === 1) {
              if (hi > lo) ptv.set(xc.subarray(srcRow + lo, srcRow + hi), out + lo);
            } else {
              for (let ow = lo; ow < hi; ow++) ptv[out + ow] = xc[srcRow + ow * strideWidth];
            }
          }
          r = rowEnd;
        }
      }
    }
  }
}

/** acc += pt x dyChunk, multiplied by the backend's BatchMatMul (XNNPACK). */
function accumulateProduct(
  b: WasmBackend,
  batchMatMul: Kernel,
  pt: TF.TensorInfo,
  dyChunk: TF.TensorInfo,
  acc: Float32Array,
): void {
  const res = batchMatMul.kernelFunc({
    inputs: { a: pt, b: dyChunk },
    backend: b as never,
    attrs: { transposeA: false, transposeB: false },
  }) as TF.TensorInfo;
  const rv = b.typedArrayFromHeap(res);
  for (let j = 0; j < acc.length; j++) acc[j] += rv[j];
  b.disposeData(res.dataId);
}

/**
 * dx = conv(dilate(dy, stride), W'), W'[kh, kw, co, ci] = W[K-1-kh, K-1-kw, ci, co], padded so that the output
 * is the input's size; images in chunks so the dilated copy stays small.
 */
function backpropInput(
  b: WasmBackend,
  conv2D: Kernel,
  dy: TF.TensorInfo,
  filter: TF.TensorInfo,
  info: TF.backend_util.Conv2DInfo,
  top: number,
  left: number,
): TF.TensorInfo {
  const { inHeight, inWidth, filterHeight, filterWidth, strideHeight, strideWidth } = info;
  const [dh, dw] = dilatedSize(info);
  const bottom = inHeight + filterHeight - 1 - dh - top;
  const right = inWidth + filterWidth - 1 - dw - left;

  const dilated = strideHeight > 1 || strideWidth > 1;
  if (dilated) {
    const phased = backpropInputByPhase(b, conv2D, dy, filter, info);
    if (phased) return phased;
  }
  const flipped = flipFilter(b, filter, info);
  const out = dilated
    ? convolveDilated(b, conv2D, dy, flipped, info, [top, bottom], [left, right])
    : convolveStride1(b, conv2D, dy, flipped, [top, bottom], [left, right]);
  b.disposeData(flipped.dataId);
  return out;
}

/** W'[kh, kw, co, ci] = W[K-1-kh, K-1-kw, ci, co]: the filter flipped in space, its channels swapped. */
function flipFilter(b: WasmBackend, filter: TF.TensorInfo, info: TF.backend_util.Conv2DInfo): TF.TensorInfo {
  const { inChannels, outChannels, filterHeight, filterWidth } = info;
  const flipped = b.makeOutput([filterHeight, filterWidth, outChannels, inChannels], 'float32');
  const wv = b.typedArrayFromHeap(filter);
  const fv = b.typedArrayFromHeap(flipped);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      const src = ((filterHeight - 1 - kh) * filterWidth + (filterWidth - 1 - kw)) * inChannels * outChannels;
      const dst = (kh * filterWidth + kw) * outChannels * inChannels;
      copyTapTransposed(wv, src, fv, dst, inChannels, outChannels);
    }
  }
  return flipped;
}

/** Copies one filter tap's [ci][co] block from `from` at src into `to` at dst as [co][ci]. */
function copyTapTransposed(
  from: Float32Array,
  src: number,
  to: Float32Array,
  dst: number,
  inChannels: number,
  outChannels: number,
): void {
  for (let ci = 0; ci < inChannels; ci++) {
    for (let co = 0; co < outChannels; co++) to[dst + co * inChannels + ci] = from[src + ci * outChannels + co];
  }
}

/** The backend's stride-1 NHWC convolution (XNNPACK), with explicit padding (before, after) per spatial axis. */
function convolveStride1(
  b: WasmBackend,
  conv2D: Kernel,
  x: TF.TensorInfo,
  filter: TF.TensorInfo,
  padH: [number, number],
  padW: [number, number],
): TF.TensorInfo {
  const pad: TF.backend_util.ExplicitPadding = [[0, 0], padH, padW, [0, 0]];
  return conv2D.kernelFunc({
    inputs: { x, filter },
    backend: b as never,
    attrs: { strides: 1, pad, dataFormat: 'NHWC', dilations: 1 } as never,
  }) as TF.TensorInfo;
}

/** conv(dilate(dy, stride), flipped), a chunk of images at a time so the dilated copy stays under `chunkFloats`. */
function convolveDilated(
  b: WasmBackend,
  conv2D: Kernel,
  dy: TF.TensorInfo,
  flipped: TF.TensorInfo,
  info: TF.backend_util.Conv2DInfo,
  padH: [number, number],
  padW: [number, number],
): TF.TensorInfo {
  const { batchSize, inHeight, inWidth, inChannels, outChannels } = info;
  const [dh, dw] = dilatedSize(info);
  const perImageIn = dh * dw * outChannels;
  const perImageOut = inHeight * inWidth * inChannels;
  const imagesPerChunk = Math.max(1, Math.min(batchSize, Math.floor(wasmKernelOptions.chunkFloats / perImageIn)));
  const out = b.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  for (let n0 = 0; n0 < batchSize; n0 += imagesPerChunk) {
    const count = Math.min(imagesPerChunk, batchSize - n0);
    const d = b.makeOutput([count, dh, dw, outChannels], 'float32');
    dilate(b.typedArrayFromHeap(d), b.typedArrayFromHeap(dy), info, n0, count);
    const res = convolveStride1(b, conv2D, d, flipped, padH, padW);
    b.typedArrayFromHeap(out).set(b.typedArrayFromHeap(res).subarray(0, count * perImageOut), n0 * perImageOut);
    b.disposeData(res.dataId);
    b.disposeData(d.dataId);
  }
  return out;
}

/** dy's height and width once dilated by the stride. */
function dilatedSize(info: TF.backend_util.Conv2DInfo): [number, number] {
  return [(info.outHeight - 1) * info.strideHeight + 1, (info.outWidth - 1) * info.strideWidth + 1];
}

/** Images n0 .. n0 + count of dy spread into dv with stride - 1 zeros between neighbouring pixels. */
function dilate(dv: Float32Array, yv: Float32Array, info: TF.backend_util.Conv2DInfo, n0: number, count: number): void {
  const { outHeight, outWidth, outChannels, strideHeight, strideWidth } = info;
  const [dh, dw] = dilatedSize(info);
  dv.fill(0);
  for (let n = 0; n < count; n++) {
    for (let oh = 0; oh < outHeight; oh++) {
      for (let ow = 0; ow < outWidth; ow++) {
        const src = (((n0 + n) * outHeight + oh) * outWidth + ow) * outChannels;
        const dst = ((n * dh + oh * strideHeight) * dw + ow * strideWidth) * outChannels;
        dv.set(yv.subarray(src, src + outChannels), dst);
      }
    }
  }
}

/** One axis of a phase: its first tap r, its tap and dx-row counts, and dy's padding before and after. */
interface PhaseAxis {
  r: number;
  taps: number;
  count: number;
  before: number;
  after: number;
}

interface Phase {
  py: number;
  px: number;
  ay: PhaseAxis;
  ax: PhaseAxis;
}

/**
 * dx for stride s > 1 as s*s stride-1 convolutions of dy, one per output phase (py, px): dx[s*i + py] takes the
 * taps kh = r, r + s, ... with r = (py + padTop) mod s, and reads dy[i + q - t] for tap r + s*t, q = (py +
 * padTop - r) / s. Undefined when a phase would need negative padding (the dilated path handles those).
 */
function backpropInputByPhase(
  b: WasmBackend,
  conv2D: Kernel,
  dy: TF.TensorInfo,
  filter: TF.TensorInfo,
  info: TF.backend_util.Conv2DInfo,
): TF.TensorInfo | undefined {
  const phases = planPhases(info);
  if (!phases) return undefined;
  const { batchSize, inHeight, inWidth, inChannels } = info;
  const out = b.makeOutput([batchSize, inHeight, inWidth, inChannels], 'float32');
  b.typedArrayFromHeap(out).fill(0);
  for (const phase of phases) {
    const { ay, ax } = phase;
    if (!ay.taps || !ax.taps || !ay.count || !ax.count) continue; // no tap reaches this phase: its gradient is zero
    const sub = phaseFilter(b, filter, info, ay, ax);
    const res = convolveStride1(b, conv2D, dy, sub, [ay.before, ay.after], [ax.before, ax.after]);
    scatterPhase(b, res, out, info, phase);
    b.disposeData(res.dataId);
    b.disposeData(sub.dataId);
  }
  return out;
}

/** The s*s phases in row-major order; undefined when one with taps would need negative padding. */
function planPhases(info: TF.backend_util.Conv2DInfo): Phase[] | undefined {
  const { inHeight, inWidth, outHeight, outWidth, filterHeight, filterWidth } = info;
  const { strideHeight: sh, strideWidth: sw } = info;
  const phases: Phase[] = [];
  for (let py = 0; py < sh; py++) {
    for (let px = 0; px < sw; px++) {
      const ay = phaseAxis(py, info.padInfo.top, sh, filterHeight, inHeight, outHeight);
      const ax = phaseAxis(px, info.padInfo.left, sw, filterWidth, inWidth, outWidth);
      if (ay.taps && ax.taps && (ay.before < 0 || ax.before < 0)) return undefined;
      phases.push({ py, px, ay, ax });
    }
  }
  return phases;
}

/** Phase p along an axis with padding `pad`, stride s, k taps, and sizes inSize (dx) and outSize (dy). */
function phaseAxis(p: number, pad: number, s: number, k: number, inSize: number, outSize: number): PhaseAxis {
  const r = (p + pad) % s;
  const taps = r < k ? Math.ceil((k - r) / s) : 0;
  const q = (p + pad - r) / s;
  const count = p < inSize ? Math.ceil((inSize - p) / s) : 0;
  const before = taps - 1 - q;
  const after = Math.max(0, count - outSize - before + taps - 1);
  return { r, taps, count, before, after };
}

/** The phase's taps r, r + s, ... in reverse order, channels swapped: a stride-1 filter [taps, taps, co, ci]. */
function phaseFilter(
  b: WasmBackend,
  filter: TF.TensorInfo,
  info: TF.backend_util.Conv2DInfo,
  ay: PhaseAxis,
  ax: PhaseAxis,
): TF.TensorInfo {
  const { inChannels, outChannels, filterWidth, strideHeight: sh, strideWidth: sw } = info;
  const sub = b.makeOutput([ay.taps, ax.taps, outChannels, inChannels], 'float32');
  const wv = b.typedArrayFromHeap(filter);
  const uv = b.typedArrayFromHeap(sub);
  for (let jh = 0; jh < ay.taps; jh++) {
    const kh = ay.r + sh * (ay.taps - 1 - jh);
    for (let jw = 0; jw < ax.taps; jw++) {
      const kw = ax.r + sw * (ax.taps - 1 - jw);
      const src = (kh * filterWidth + kw) * inChannels * outChannels;
      const dst = (jh * ax.taps + jw) * outChannels * inChannels;
      copyTapTransposed(wv, src, uv, dst, inChannels, outChannels);
    }
  }
  return sub;
}

/** Writes a phase's convolution `res` into dx (`out`) at rows s*i + py and columns s*j + px. */
function scatterPhase(
  b: WasmBackend,
  res: TF.TensorInfo,
  out: TF.TensorInfo,
  info: TF.backend_util.Conv2DInfo,
  { py, px, ay, ax }: Phase,
): void {
  const { batchSize, inHeight, inWidth, inChannels, strideHeight: sh, strideWidth: sw } = info;
  const rv = b.typedArrayFromHeap(res);
  const ov = b.typedArrayFromHeap(out);
  const [, rh, rw] = res.shape;
  for (let n = 0; n < batchSize; n++) {
    for (let i = 0; i < ay.count; i++) {
      const row = (n * inHeight + sh * i + py) * inWidth;
      const srcRow = (n * rh + i) * rw;
      for (let j = 0; j < ax.count; j++) {
        const src = (srcRow + j) * inChannels;
        ov.set(rv.subarray(src, src + inChannels), (row + sw * j + px) * inChannels);
      }
    }
  }
}
