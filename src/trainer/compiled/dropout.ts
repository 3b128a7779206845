// Dropout masks of the compiled step, in WGSL: the twin of core/dropoutMask.ts (the same bits), so no mask is
// stored or uploaded, the backward pass recomputes the forward's, and tfjs's layers on any other backend drop the
// same elements.

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
  return select(0.0, ${Math.fround(1 / keep).toPrecision(9)}, u >= ${Math.fround(rate).toPrecision(9)});
}
`;
}
