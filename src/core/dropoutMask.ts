// Dropout masks from a counter-based generator, the same on every backend: whether element i of a dropout layer's
// output is kept at a step is a hash of (the layer's stream, the step, i). The stream comes from train.seed and the
// layer's name. So the compiled WebGPU step (which recomputes a mask in its kernels, storing and uploading none) and
// tfjs's layers (this module's masks, on the CPU) drop the same elements, a run moves between backends at a
// checkpoint without changing its training, and a resumed run draws what an uninterrupted one would.
// The hash is lowbias32 (Chris Wellons' integer hash search); the WGSL twin is trainer/compiled/dropout.ts.

export function lowbias32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** A dropout layer's stream: the seed's hash, chained over the layer's name. */
export function dropoutStream(seed: number, layer: string): number {
  let h = lowbias32(seed >>> 0);
  for (let i = 0; i < layer.length; i++) h = lowbias32(h ^ layer.charCodeAt(i));
  return h;
}

/** Whether element i is kept at `step` (tfjs's rule: kept when a uniform draw u >= rate). */
export function kept(stream: number, step: number, i: number, rate: number): boolean {
  const h = lowbias32((i ^ lowbias32((step ^ lowbias32(stream)) >>> 0)) >>> 0);
  return (h >>> 8) / 16777216 >= Math.fround(rate);
}

/** The mask of `count` elements: 0 where dropped, 1 / (1 - rate) where kept (in float32, as the WGSL has it). */
export function dropoutMask(stream: number, step: number, count: number, rate: number): Float32Array<ArrayBuffer> {
  const scale = Math.fround(1 / (1 - rate));
  const rateF = Math.fround(rate);
  const base = lowbias32((step ^ lowbias32(stream)) >>> 0);
  const mask = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    const h = lowbias32((i ^ base) >>> 0);
    mask[i] = (h >>> 8) / 16777216 >= rateF ? scale : 0;
  }
  return mask;
}
