// The activations the compiled step folds into its kernels, as WGSL: `activated(v)` and its derivative `slope(v)`.
// For ReLU and LeakyReLU (alpha > 0) the sign of the output is the sign of the input, so `slope` gives the same
// whether it is handed the input or the output: a backward pass can read whichever it kept.

export type Activation = { kind: 'linear' } | { kind: 'relu' } | { kind: 'leakyRelu'; alpha: number };

export function activationWgsl(a: Activation): string {
  if (a.kind === 'linear') return 'fn activated(v: f32) -> f32 { return v; }\nfn slope(v: f32) -> f32 { return 1.0; }';
  const alpha = a.kind === 'relu' ? '0.0' : a.alpha.toPrecision(9);
  return (
    `fn activated(v: f32) -> f32 { return select(v * ${alpha}, v, v > 0.0); }\n` +
    `fn slope(v: f32) -> f32 { return select(${alpha}, 1.0, v > 0.0); }`
  );
}
