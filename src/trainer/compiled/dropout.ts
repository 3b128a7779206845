// Dropout masks of the compiled step, from a counter-based generator: whether element i of a layer is kept at a
// step is a hash of (seed, step, i), so no mask is stored or uploaded, the backward pass recomputes the forward's
// mask, and a resumed run draws the same masks as an uninterrupted one. The hash is lowbias32 (Chris Wellons'
// integer hash search), chained over the three counters; the WGSL and the TypeScript twin give the same bits.

/** WGSL: `kept(i)`, 0 or 1 / (1 - rate), for element i at the step in `s.step`, with `s.seed` the layer's stream. */
export function dropoutWgsl(rate: number): string {
  const keep = 1 - rate;
  return /* wgsl */ `
fn lowbias32(v: u32) -> u32 {
  var x = v;
  x ^= x >> 16u;
  x *= 0x7feb352du;
  x ^= x >> 15u;
  x *= 0x846ca68bu;
  x ^= x >> 16u;
  return x;
}
fn kept(i: u32) -> f32 {
  let h = lowbias32(i ^ lowbias32(s.step ^ lowbias32(s.seed)));
  let u = f32(h >> 8u) / 16777216.0;
  return select(0.0, ${(1 / keep).toPrecision(9)}, u >= ${rate.toPrecision(9)});
}
`;
}

function lowbias32(v: number): number {
  let x = v >>> 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d) >>> 0;
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b) >>> 0;
  x ^= x >>> 16;
  return x >>> 0;
}

/** The TypeScript twin of `kept(i)`: whether element i is kept (tfjs's rule, kept when u >= rate). */
export function kept(seed: number, step: number, i: number, rate: number): boolean {
  const h = lowbias32((i ^ lowbias32((step ^ lowbias32(seed)) >>> 0)) >>> 0);
  return (h >>> 8) / 16777216 >= Math.fround(rate);
}
