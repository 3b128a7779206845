/// <reference types="@webgpu/types" />
// Keras's Conv2D in the compiled WebGPU step (NHWC input, HWIO kernel, 'same' padding, bias): the forward pass
// and both gradients, each one implicit GEMM (gemm.ts) over its own gathers.
//   forward          y  (pixels x out)      = patches (pixels x taps)      times w  (taps x out), plus the bias
//   input gradient   dx (in pixels x in)    = dy gathered (in pixels x kernel taps x out) times w transposed
//   filter gradient  dw (taps x out)        = patches transposed (taps x pixels) times dy (pixels x out)
//   bias gradient    db (1 x out)           = ones (1 x pixels) times dy
// A tap is (ky, kx, input channel), in the kernel's memory order.

import { Gemm, type GemmSource } from './gemm';

export interface Conv2dShape {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

/** TensorFlow's 'same' padding: the output is ceil(size / stride), the padding split with the odd pixel after. */
export function samePadding(size: number, kernel: number, stride: number): { out: number; before: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, before: Math.floor(total / 2) };
}

/** The uniforms every convolution kernel reads, in the order of `ConvGeometry.uniforms`. */
const GEOMETRY = ['batch', 'height', 'width', 'inChannels', 'outHeight', 'outWidth', 'outChannels', 'kernel'];
GEOMETRY.push('stride', 'padTop', 'padLeft');

/** WGSL for the element (pixel m, tap t) of the input's patch matrix: zero in the padding. */
const PATCH = /* wgsl */ `
fn patchAt(m: u32, t: u32) -> f32 {
  let c = t % s.inChannels;
  let tap = t / s.inChannels;
  let ox = m % s.outWidth;
  let rest = m / s.outWidth;
  let oy = rest % s.outHeight;
  let n = rest / s.outHeight;
  let iy = i32(oy * s.stride + tap / s.kernel) - i32(s.padTop);
  let ix = i32(ox * s.stride + tap % s.kernel) - i32(s.padLeft);
  if (iy < 0 || ix < 0 || iy >= i32(s.height) || ix >= i32(s.width)) { return 0.0; }
  return x[((n * s.height + u32(iy)) * s.width + u32(ix)) * s.inChannels + c];
}
`;

export interface ConvGeometry {
  shape: Conv2dShape;
  outHeight: number;
  outWidth: number;
  /** Pixels of the output, over the batch. */
  pixels: number;
  /** Kernel taps times input channels: the reduction of the forward product. */
  taps: number;
  uniforms: number[];
}

export function convGeometry(shape: Conv2dShape): ConvGeometry {
  const rows = samePadding(shape.height, shape.kernel, shape.stride);
  const cols = samePadding(shape.width, shape.kernel, shape.stride);
  const { batch, height, width, inChannels, outChannels, kernel, stride } = shape;
  const uniforms = [batch, height, width, inChannels, rows.out, cols.out, outChannels, kernel];
  uniforms.push(stride, rows.before, cols.before);
  const pixels = batch * rows.out * cols.out;
  return { shape, outHeight: rows.out, outWidth: cols.out, pixels, taps: kernel * kernel * inChannels, uniforms };
}

const FORWARD: GemmSource = {
  label: 'conv2d forward',
  fields: GEOMETRY,
  bindings: [{ name: 'x' }, { name: 'w' }, { name: 'bias' }, { name: 'y', write: true }],
  functions: /* wgsl */ `
${PATCH}
fn a(m: u32, t: u32) -> f32 { return patchAt(m, t); }
fn b(t: u32, n: u32) -> f32 { return w[t * s.outChannels + n]; }
fn store(m: u32, n: u32, v: f32) { y[m * s.outChannels + n] = v + bias[n]; }
`,
};

/** Bindings: x, w, bias, y. */
export function conv2dForward(device: GPUDevice, g: ConvGeometry): Gemm {
  return new Gemm(device, FORWARD, { m: g.pixels, n: g.shape.outChannels, k: g.taps }, g.uniforms);
}

const INPUT_GRADIENT: GemmSource = {
  label: 'conv2d input gradient',
  fields: GEOMETRY,
  bindings: [{ name: 'dy' }, { name: 'w' }, { name: 'dx', write: true }],
  functions: /* wgsl */ `
// r = (kernel tap, output channel); the output pixel that read input pixel m through that tap, if any.
fn a(m: u32, r: u32) -> f32 {
  let co = r % s.outChannels;
  let tap = r / s.outChannels;
  let ix = m % s.width;
  let rest = m / s.width;
  let iy = rest % s.height;
  let n = rest / s.height;
  let ty = i32(iy + s.padTop) - i32(tap / s.kernel);
  let tx = i32(ix + s.padLeft) - i32(tap % s.kernel);
  if (ty < 0 || tx < 0 || u32(ty) % s.stride != 0u || u32(tx) % s.stride != 0u) { return 0.0; }
  let oy = u32(ty) / s.stride;
  let ox = u32(tx) / s.stride;
  if (oy >= s.outHeight || ox >= s.outWidth) { return 0.0; }
  return dy[((n * s.outHeight + oy) * s.outWidth + ox) * s.outChannels + co];
}
fn b(r: u32, c: u32) -> f32 {
  let co = r % s.outChannels;
  let tap = r / s.outChannels;
  return w[(tap * s.inChannels + c) * s.outChannels + co];
}
fn store(m: u32, c: u32, v: f32) { dx[m * s.inChannels + c] = v; }
`,
};

/** Bindings: dy, w, dx. */
export function conv2dInputGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  const { batch, height, width, inChannels, outChannels, kernel } = g.shape;
  const dims = { m: batch * height * width, n: inChannels, k: kernel * kernel * outChannels };
  return new Gemm(device, INPUT_GRADIENT, dims, g.uniforms);
}

const FILTER_GRADIENT: GemmSource = {
  label: 'conv2d filter gradient',
  fields: GEOMETRY,
  bindings: [{ name: 'x' }, { name: 'dy' }, { name: 'dw', write: true }],
  functions: /* wgsl */ `
${PATCH}
fn a(t: u32, m: u32) -> f32 { return patchAt(m, t); }
fn b(m: u32, n: u32) -> f32 { return dy[m * s.outChannels + n]; }
fn store(t: u32, n: u32, v: f32) { dw[t * s.outChannels + n] = v; }
`,
};

/** Bindings: x, dy, dw. */
export function conv2dFilterGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  return new Gemm(device, FILTER_GRADIENT, { m: g.taps, n: g.shape.outChannels, k: g.pixels }, g.uniforms);
}

const BIAS_GRADIENT: GemmSource = {
  label: 'conv2d bias gradient',
  fields: [],
  bindings: [{ name: 'dy' }, { name: 'db', write: true }],
  functions: /* wgsl */ `
fn a(row: u32, m: u32) -> f32 { return 1.0; }
fn b(m: u32, n: u32) -> f32 { return dy[m * s.n + n]; }
fn store(row: u32, n: u32, v: f32) { db[n] = v; }
`,
};

/** Bindings: dy, db. */
export function conv2dBiasGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  return new Gemm(device, BIAS_GRADIENT, { m: 1, n: g.shape.outChannels, k: g.pixels }, []);
}
