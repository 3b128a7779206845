// Two kernels of the tfjs `cpu` backend (the pure-JavaScript reference) replaced for training:
//
// - ResizeNearestNeighborGrad: the stock kernel mis-assigns gradients when an image has more than one channel
//   or the batch more than one image (its values differ from the exact adjoint, the sums over each source
//   pixel's block, by up to 0.5 on unit-scale inputs; central finite differences of a generator loss agree with
//   the wasm backend, not with it). This one is the exact adjoint of the cpu forward kernel's index mapping.
// - Conv2DBackpropFilter: the stock kernel reads every element through TensorBuffer.get (an array per call),
//   88% of a tiny training step on `cpu`. This one is the same sum over flat typed arrays.
//
// Both are tested against the exact adjoint and against the stock kernels on random inputs. SplitV is replaced
// too (splitKernels.ts).

import type * as TF from '@tensorflow/tfjs';

import type { Tf } from '../../model/tf';
import { filterGradientInfo, type FilterGradientAttrs } from './convAttrs';
import { registerSplitKernel } from './splitKernels';

interface CpuBackend {
  readSync(dataId: object): Float32Array;
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): TF.TensorInfo;
}

export function registerCpuTrainingKernels(tf: Tf): void {
  replaceCpuKernel(tf, resizeNearestNeighborGradKernel);
  replaceCpuKernel(tf, conv2DBackpropFilterKernel(tf));
  registerSplitKernel(tf, 'cpu');
}

/** Each kernel is replaced once; calling again restores ours where another was registered since. */
function replaceCpuKernel(tf: Tf, kernel: TF.KernelConfig): void {
  const now = tf.getKernel(kernel.kernelName, 'cpu');
  if (now?.kernelFunc.name === kernel.kernelFunc.name) return;
  if (now) tf.unregisterKernel(kernel.kernelName, 'cpu');
  tf.registerKernel(kernel);
}

const resizeNearestNeighborGradKernel: TF.KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'cpu',
  kernelFunc: function resizeNearestNeighborGradCpu({ inputs, backend, attrs }) {
    const b = backend as unknown as CpuBackend;
    const { images, dy } = inputs as { images: TF.TensorInfo; dy: TF.TensorInfo };
    const { alignCorners, halfPixelCenters } = attrs as unknown as {
      alignCorners: boolean;
      halfPixelCenters: boolean;
    };
    const [batch, inH, inW, channels] = images.shape;
    const [, outH, outW] = dy.shape;
    const dyv = b.readSync(dy.dataId);
    const out = new Float32Array(batch * inH * inW * channels);
    const rows = nearestSources(inH, outH, alignCorners, halfPixelCenters);
    const cols = nearestSources(inW, outW, alignCorners, halfPixelCenters);
    for (let n = 0; n < batch; n++) {
      for (let y = 0; y < outH; y++) {
        const srcRow = (n * inH + rows[y]) * inW;
        for (let x = 0; x < outW; x++) {
          const src = (srcRow + cols[x]) * channels;
          const d = ((n * outH + y) * outW + x) * channels;
          for (let c = 0; c < channels; c++) out[src + c] += dyv[d + c];
        }
      }
    }
    return b.makeTensorInfo(images.shape as number[], 'float32', out);
  },
};

/** The forward kernel's mapping from an output pixel to its source pixel, along one axis. */
function nearestSources(inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): Int32Array {
  const scale = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const map = new Int32Array(outSize);
  for (let o = 0; o < outSize; o++) {
    const frac = halfPixelCenters ? scale * (o + 0.5) : scale * o;
    let s = Math.min(inSize - 1, alignCorners ? Math.round(frac) : Math.floor(frac));
    if (halfPixelCenters) s = Math.max(0, s);
    map[o] = s;
  }
  return map;
}

/** Built per `tf`, whose backend_util computes the convolution's geometry. */
function conv2DBackpropFilterKernel(tf: Tf): TF.KernelConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'cpu',
    kernelFunc: function conv2DBackpropFilterCpu({ inputs, backend, attrs }) {
      const b = backend as unknown as CpuBackend;
      const { x, dy } = inputs as { x: TF.TensorInfo; dy: TF.TensorInfo };
      const a = attrs as unknown as FilterGradientAttrs;
      const info = filterGradientInfo(tf, x.shape, a, 'cpu');
      const dw = filterGradient(b.readSync(x.dataId), b.readSync(dy.dataId), info);
      return b.makeTensorInfo(a.filterShape, 'float32', dw);
    },
  };
}

/**
 * dW[kh, kw, ci, co] = sum over (n, oh, ow) of x[n, oh*s + kh - pad, ow*s + kw - pad, ci] * dy[n, oh, ow, co],
 * summed in float64 per filter element.
 */
function filterGradient(xv: Float32Array, dyv: Float32Array, info: TF.backend_util.Conv2DInfo): Float32Array {
  const {
    batchSize,
    inHeight,
    inWidth,
    inChannels,
    outHeight,
    outWidth,
    outChannels,
    filterHeight,
    filterWidth,
    strideHeight,
    strideWidth,
  } = info;
  const top = info.padInfo.top;
  const left = info.padInfo.left;
  const dw = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
  const acc = new Float64Array(outChannels);
  for (let kh = 0; kh < filterHeight; kh++) {
    for (let kw = 0; kw < filterWidth; kw++) {
      for (let ci = 0; ci < inChannels; ci++) {
        acc.fill(0);
        for (let n = 0; n < batchSize; n++) {
          for (let oh = 0; oh < outHeight; oh++) {
            const ih = oh * strideHeight + kh - top;
            if (ih < 0 || ih >= inHeight) continue;
            for (let ow = 0; ow < outWidth; ow++) {
              const iw = ow * strideWidth + kw - left;
              if (iw < 0 || iw >= inWidth) continue;
              const xval = xv[((n * inHeight + ih) * inWidth + iw) * inChannels + ci];
              if (xval === 0) continue;
              const d = ((n * outHeight + oh) * outWidth + ow) * outChannels;
              for (let co = 0; co < outChannels; co++) acc[co] += xval * dyv[d + co];
            }
          }
        }
        const o = ((kh * filterWidth + kw) * inChannels + ci) * outChannels;
        for (let co = 0; co < outChannels; co++) dw[o + co] = acc[co];
      }
    }
  }
  return dw;
}
