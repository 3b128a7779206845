/// <reference types="@webgpu/types" />
// Keras's Dense in the compiled WebGPU step: y (rows x units) = x (rows x inputs) times w (inputs x units), plus
// the bias, and its gradients (the bias's a row of the weights'), each the one tiled product of gemm.ts over plain
// row-major reads. The seed's discriminator has two (each patch's `disc_dense`, then `disc_output` over all
// patches); the softmax that ends each is the loss kernel's.

import { Gemm, UNSPLIT, type GemmSource } from './gemm';

export interface DenseShape {
  rows: number;
  inputs: number;
  units: number;
}

/** Plain row-major reads need nothing per row, column or reduction index but the index itself. */
const PLAIN =
  'alias Row = u32;\nalias Red = u32;\nalias Col = u32;\nfn row(m: u32) -> u32 { return m; }\n' +
  'fn red(k: u32) -> u32 { return k; }\nfn col(n: u32) -> u32 { return n; }';
/** The uniforms every Dense kernel reads. */
const uniforms = (d: DenseShape) => ({ rows: d.rows, inputs: d.inputs, units: d.units });

const FORWARD: GemmSource<'x' | 'w' | 'bias' | 'y'> = {
  label: 'dense forward',
  storage: { x: 'read', w: 'read', bias: 'read', y: 'write' },
  functions: /* wgsl */ `
${PLAIN}
fn a(r: u32, i: u32) -> f32 { return x[r * s.inputs + i]; }
fn b(i: u32, u: u32) -> f32 { return w[i * s.units + u]; }
fn store(r: u32, u: u32, v: f32) { y[r * s.units + u] = v + bias[u]; }
`,
};

/** Bindings: x, w, bias, y. */
export function denseForward(device: GPUDevice, d: DenseShape, options = UNSPLIT) {
  return new Gemm(device, FORWARD, { m: d.rows, n: d.units, k: d.inputs }, uniforms(d), options);
}

const INPUT_GRADIENT: GemmSource<'dy' | 'w' | 'dx'> = {
  label: 'dense input gradient',
  storage: { dy: 'read', w: 'read', dx: 'write' },
  functions: /* wgsl */ `
${PLAIN}
fn a(r: u32, u: u32) -> f32 { return dy[r * s.units + u]; }
fn b(u: u32, i: u32) -> f32 { return w[i * s.units + u]; }
fn store(r: u32, i: u32, v: f32) { dx[r * s.inputs + i] = v; }
`,
};

/** Bindings: dy, w, dx. */
export function denseInputGradient(device: GPUDevice, d: DenseShape, options = UNSPLIT) {
  return new Gemm(device, INPUT_GRADIENT, { m: d.rows, n: d.inputs, k: d.units }, uniforms(d), options);
}

// The bias gradient is one more row of the weight gradient's product: a row of ones times dy.
const WEIGHT_GRADIENT: GemmSource<'x' | 'dy' | 'dw' | 'db'> = {
  label: 'dense weight gradient',
  storage: { x: 'read', dy: 'read', dw: 'write', db: 'write' },
  functions: /* wgsl */ `
${PLAIN}
fn a(i: u32, r: u32) -> f32 {
  if (i == s.inputs) { return 1.0; }
  return x[r * s.inputs + i];
}
fn b(r: u32, u: u32) -> f32 { return dy[r * s.units + u]; }
fn store(i: u32, u: u32, v: f32) {
  if (i == s.inputs) { db[u] = v; } else { dw[i * s.units + u] = v; }
}
`,
};

/** Bindings: x, dy, dw, db. */
export function denseWeightGradient(device: GPUDevice, d: DenseShape, options = UNSPLIT) {
  return new Gemm(device, WEIGHT_GRADIENT, { m: d.inputs + 1, n: d.units, k: d.rows }, uniforms(d), options);
}
