// A trained network's weights as the exporters read them: by Keras layer name and tfjs weight name
// (`unet_conv2D_1`, `kernel`), with tfjs's shapes, and the reordering of a tensor's axes that each target layout needs.

/** A trained weight: its values and its tfjs shape. */
export interface Weight {
  values: Float32Array;
  shape: readonly number[];
}

/** A layer's weight by the layer's name and the weight's (`kernel`, `bias`, `gamma`, `moving_mean`, ...). */
export type WeightSource = (layer: string, name: string) => Weight;

/** `values` of a tfjs tensor of `shape`, its axes reordered by `perm`. */
export function permute(values: Float32Array, shape: readonly number[], perm: readonly number[]): Float32Array {
  const out = new Float32Array(values.length);
  const outShape = perm.map((p) => shape[p]);
  const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
  const index = new Array<number>(shape.length).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let d = 0; d < perm.length; d++) src += index[d] * strides[perm[d]];
    out[o] = values[src];
    for (let d = perm.length - 1; d >= 0 && ++index[d] === outShape[d]; d--) index[d] = 0;
  }
  return out;
}

/**
 * A convolution's kernel in the layout ONNX and PyTorch share: tfjs keeps Conv2D's as [kh, kw, in, out] and
 * Conv2DTranspose's as [kh, kw, out, in]; both take [out, in, kh, kw] and [in, out, kh, kw], the same reordering.
 */
export function channelsFirstKernel(kernel: Weight): Weight {
  const [kh, kw, a, b] = kernel.shape;
  return { values: permute(kernel.values, kernel.shape, [3, 2, 0, 1]), shape: [b, a, kh, kw] };
}
