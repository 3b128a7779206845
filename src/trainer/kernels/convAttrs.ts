// The attributes tfjs passes to its convolution gradient kernels, and the geometry a filter gradient computes from
// them: shared by this project's cpu and wasm kernels.

import type * as TF from '@tensorflow/tfjs';
import type { Tf } from '../../model/tf';

export interface ConvAttrs {
  strides: number | [number, number];
  pad: 'same' | 'valid' | number | TF.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: number | [number, number];
}

export type FilterGradientAttrs = ConvAttrs & { filterShape: [number, number, number, number] };

/** The convolution whose filter gradient is wanted; NHWC only, as every model here is. */
export function filterGradientInfo(
  tf: Tf,
  xShape: number[],
  a: FilterGradientAttrs,
  backendName: string,
): TF.backend_util.Conv2DInfo {
  if (a.dataFormat === 'NCHW') throw new Error(`Conv2DBackpropFilter (${backendName}): only NHWC is supported`);
  const shape = xShape as [number, number, number, number];
  return tf.backend_util.computeConv2DInfo(
    shape,
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
}
