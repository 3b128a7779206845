/// <reference types="@webgpu/types" />
// Keras's Dense in the compiled WebGPU step: y (rows x units) = x (rows x inputs) times w (inputs x units), plus
// the bias, and its gradients (the bias's a row of the weights'), each the one tiled product of gemm.ts over plain row-major reads. The seed's
// discriminator has two (each patch's `disc_dense`, then `disc_output` over all patches); the softmax that ends
// each is the loss kernel's.

import { Gemm, type GemmSource } from './gemm';

export interface DenseShape {
  rows: number;
  inputs: number;
  units: number;
}

const FIELDS = ['rows', 'inputs', 'units'];

/** Plain row-major reads need nothing per row, column or reduction index but the index itself. */
const PLAIN =
  'alias Row = u32;\nalias Red = u32;\nalias Col = u32;\nfn row(m: u32) -> u32 { return m; }\n' +
  'fn red(k: u32) -> u32 { return k; }\nfn col(n: u32) -> u32 { return n; }';
const values = (d: DenseShape) => [d.rows, d.inputs, d.units];

const FORWARD: GemmSource = {
  label: 'dense forward',
  fields: FIELDS,
  bindings: [{ name: 'x' }, { name: 'w' }, { name: 'bias' }, { name: 'y', write: true }],
  functions: /* wgsl */ `
${PLAIN}
fn a(r: u32, i: u32) -> f32 { return x[r * s.inputs + i]; }
fn b(i: u32, u: u32) -> f32 { return w[i * s.units + u]; }
fn store(r: u32, u: u32, v: f32) { y[r * s.units + u] = v + bias[u]; }
`,
};

/** Bindings: x, w, bias, y. */
export function denseForward(device: GPUDevice, d: DenseShape): Gemm {
  return new Gemm(device, FORWARD, { m: d.rows, n: d.units, k: d.inputs }, values(d));
}

const INPUT_GRADIENT: GemmSource = {
  label: 'dense input gradient',
  fields: FIELDS,
  bindings: [{ name: 'dy' }, { name: 'w' }, { name: 'dx', write: true }],
  functions: /* wgsl */ `
${PLAIN}
fn a(r: u32, u: u32) -> f32 { return dy[r * s.units + u]; }
fn b(u: u32, i: u32) -> f32 { return w[i * s.units + u]; }
fn store(r: u32, i: u32, v: f32) { dx[r * s.inputs + i] = v; }
`,
};

/** Bindings: dy, w, dx. */
export function denseInputGradient(device: GPUDevice, d: DenseShape): Gemm {
  return new Gemm(device, INPUT_GRADIENT, { m: d.rows, n: d.inputs, k: d.units }, values(d));
}

// The bias gradient is one more row of the weight gradient's product: a row of ones times dy.
const WEIGHT_GRADIENT: GemmSource = {
  label: 'dense weight gradient',
  fields: FIELDS,
  bindings: [{ name: 'x' }, { name: 'dy' }, { name: 'dw', write: true }, { name: 'db', write: true }],
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
export function denseWeightGradient(device: GPUDevice, d: DenseShape): Gemm {
  return new Gemm(device, WEIGHT_GRADIENT, { m: d.inputs + 1, n: d.units, k: d.rows }, values(d));
}
