// Kernels the tfjs wasm backend lacks for training (tensorflow/tfjs#8474): Conv2DBackpropFilter, computed as
// im2col in JS plus the backend's own (XNNPACK) BatchMatMul, in row chunks so the patch matrix stays small.

import type * as TF from '@tensorflow/tfjs';

type Tf = typeof TF;

/** Floats per im2col chunk (16 MiB): large enough for XNNPACK, small enough for the wasm heap. Tests lower it. */
export const wasmKernelOptions = { chunkFloats: 4 * 1024 * 1024 };

interface WasmBackend {
  makeOutput(shape: number[], dtype: 'float32'): TF.TensorInfo;
  typedArrayFromHeap(t: TF.TensorInfo): Float32Array;
  disposeData(dataId: object): boolean;
}

export function registerWasmTrainingKernels(tf: Tf): void {
  if (tf.getKernel('Conv2DBackpropFilter', 'wasm')) return;
  const batchMatMul = tf.getKernel('BatchMatMul', 'wasm');
  if (!batchMatMul) throw new Error('the wasm backend has no BatchMatMul kernel');

  tf.registerKernel({
    kernelName: 'Conv2DBackpropFilter',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmBackend;
      const { x, dy } = inputs as { x: TF.TensorInfo; dy: TF.TensorInfo };
      const { strides, pad, dataFormat, dimRoundingMode, filterShape } = attrs as unknown as {
        strides: number | [number, number];
        pad: 'same' | 'valid' | number;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
        filterShape: [number, number, number, number];
      };
      if (dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): only NHWC is supported');
      const info = tf.backend_util.computeConv2DInfo(
        x.shape as [number, number, number, number],
        filterShape,
        strides,
        1,
        pad,
        dimRoundingMode,
        false,
        'channelsLast',
      );
      const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
      const { strideHeight, strideWidth, dilationHeight, dilationWidth } = info;
      const padTop = info.padInfo.top;
      const padLeft = info.padInfo.left;
      const k = filterHeight * filterWidth * inChannels;
      const rows = batchSize * outHeight * outWidth;
      const rowsPerChunk = Math.max(1, Math.min(rows, Math.floor(wasmKernelOptions.chunkFloats / Math.max(k, outChannels))));

      const out = b.makeOutput([filterHeight, filterWidth, inChannels, outChannels], 'float32');
      const acc = new Float32Array(k * outChannels);
      for (let r0 = 0; r0 < rows; r0 += rowsPerChunk) {
        const n = Math.min(rowsPerChunk, rows - r0);
        const patches = b.makeOutput([1, n, k], 'float32');
        const dyChunk = b.makeOutput([1, n, outChannels], 'float32');
        // Views are taken after every allocation: growing the wasm heap detaches earlier ones.
        const xv = b.typedArrayFromHeap(x);
        const dyv = b.typedArrayFromHeap(dy);
        const pv = b.typedArrayFromHeap(patches);
        b.typedArrayFromHeap(dyChunk).set(dyv.subarray(r0 * outChannels, (r0 + n) * outChannels));
        for (let i = 0; i < n; i++) {
          const row = r0 + i;
          const bIdx = Math.floor(row / (outHeight * outWidth));
          const rem = row - bIdx * outHeight * outWidth;
          const oh = Math.floor(rem / outWidth);
          const ow = rem - oh * outWidth;
          let p = i * k;
          for (let kh = 0; kh < filterHeight; kh++) {
            const ih = oh * strideHeight - padTop + kh * dilationHeight;
            for (let kw = 0; kw < filterWidth; kw++) {
              const iw = ow * strideWidth - padLeft + kw * dilationWidth;
              if (ih < 0 || ih >= inHeight || iw < 0 || iw >= inWidth) {
                pv.fill(0, p, p + inChannels);
              } else {
                const src = ((bIdx * inHeight + ih) * inWidth + iw) * inChannels;
                pv.set(xv.subarray(src, src + inChannels), p);
              }
              p += inChannels;
            }
          }
        }
        const res = batchMatMul.kernelFunc({
          inputs: { a: patches, b: dyChunk },
          backend,
          attrs: { transposeA: true, transposeB: false },
        }) as TF.TensorInfo;
        const rv = b.typedArrayFromHeap(res);
        for (let j = 0; j < acc.length; j++) acc[j] += rv[j];
        b.disposeData(res.dataId);
        b.disposeData(patches.dataId);
        b.disposeData(dyChunk.dataId);
      }
      b.typedArrayFromHeap(out).set(acc);
      return out;
    },
  });
}
